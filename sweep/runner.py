"""Run a sweep: every valid point in its own process and directory, resumable, with progress on the terminal.

Layout of ``<sweep_dir>``::

    sweep.json                  the spec, tool versions, every point (hash, axis values, invalid reason)
    points/<hash>/point.json    the point's BuildConfig and its run record (status, wall time, error)
    points/<hash>/result.json   written by the point's own process (ok / failed + traceback)
    points/<hash>/log.txt       the point's output
    points/<hash>/project/      the hls4ml project and its report/ (report.json, report.md, plots)
    results.parquet, results.csv, pareto.md, pareto_*.png

Executors: a local pool (``workers`` points at a time, each a fresh process forked from a pre-warmed
``forkserver`` that has TensorFlow/hls4ml imported once, so a point does not pay the ~5-8 s import) and Dask
distributed (``scheduler`` address; the code is shipped to the workers, see :mod:`sweep.remote`; each task
runs ``python -m sweep.point DIR`` in a subprocess on the worker; the sweep folder must be on a filesystem the
workers share).

Resuming: a point whose ``point.json`` says ok (or failed/crashed, unless ``retry_failed``) is not run again;
interrupted or never-started points are.  Scheduling: points that share a trained model (same
``training_key``) wait until the first of them has trained (or loaded) and cached it (its build's ``prepare``
step, recorded in ``points/<hash>/steps.json``), so each model is trained once and the rest run concurrently;
when nothing is cached yet the very first point runs alone until then (it also generates the shared data cache).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import types
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from flow.config import ROOT
from hls.project import tool_versions

from .point import LOG, POINT, RESULT, STEPS, TRAINED_AFTER, _write_json
from .spec import Point, SpecError, SweepSpec, expand, invalid_summary

DONE_OK = "ok"
DONE_BAD = ("failed", "crashed")


@dataclass
class SweepResult:
    sweep_dir: Path
    table: object  # pandas.DataFrame
    pareto: dict
    interrupted: bool
    n_run: int

    @property
    def counts(self) -> dict:
        return self.table["status"].value_counts().to_dict() if len(self.table) else {}


# ------------------------------------------------------------------------------------------------ executors
def _child_entry(point_dir: str) -> None:
    from sweep.point import run_point

    sys.exit(run_point(Path(point_dir)))


class LocalExecutor:
    """``workers`` points at a time, each in a new process forked from a pre-warmed forkserver."""

    name = "local"

    def __init__(self, workers: int):
        import multiprocessing as mp

        if workers < 1:
            raise ValueError(f"--workers must be >= 1, got {workers}")
        self.capacity = workers
        self._ctx = mp.get_context("forkserver")
        try:
            self._ctx.set_forkserver_preload(["sweep._warm"])
        except Exception:  # noqa: BLE001 (already running: preload is a speed-up only)
            pass
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sweep-point")
        self._procs: dict[str, object] = {}
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"local process pool, {self.capacity} worker(s)"

    def _run(self, key: str, point_dir: str):
        t0 = time.perf_counter()
        p = self._ctx.Process(target=_child_entry, args=(point_dir,), name=f"sweep-point-{key}")
        p.start()
        with self._lock:
            self._procs[key] = p
        p.join()
        with self._lock:
            self._procs.pop(key, None)
        return p.exitcode, time.perf_counter() - t0, os.uname().nodename

    def submit(self, key: str, point_dir: Path):
        return self._pool.submit(self._run, key, str(point_dir))

    def stop_running(self, grace_s: float = 15.0) -> None:
        """After Ctrl-C: the points got SIGINT too (same process group) and record themselves as interrupted;
        whatever is still alive after ``grace_s`` is terminated."""
        import signal

        t0 = time.time()
        forwarded = False
        while time.time() < t0 + grace_s:
            with self._lock:
                alive = [p for p in self._procs.values() if p.is_alive()]
            if not alive:
                break
            if not forwarded and time.time() > t0 + 3.0:  # SIGINT did not reach them (not a terminal Ctrl-C)
                for p in alive:
                    try:
                        os.kill(p.pid, signal.SIGINT)
                    except ProcessLookupError:
                        pass
                forwarded = True
            time.sleep(0.2)
        with self._lock:
            for p in self._procs.values():
                if p.is_alive():
                    p.terminate()
        self.close()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Points as tasks on an existing Dask cluster (``--scheduler tcp://host:8786``).

    The workers need not have this project: the task functions are pickled by value (:mod:`sweep.remote`) and
    the code is scattered to them as a zip.  At connect time every worker is probed (packages and versions,
    g++, the sweep folder visible and writable) and a worker that cannot run a point stops the sweep before
    any point is submitted, with what is missing and where."""

    name = "dask"

    def __init__(self, address, sweep_dir: Path):
        import cloudpickle
        from distributed import Client

        from sweep import remote

        cloudpickle.register_pickle_by_value(remote)
        self.client = address if hasattr(address, "submit") else Client(address, timeout="30s")
        self._own = not hasattr(address, "submit")
        n = sum(self.client.nthreads().values())
        if n < 1:
            raise RuntimeError(f"Dask scheduler {self.client.scheduler.address} has no workers")
        self.capacity = n
        try:
            self._check_workers(Path(sweep_dir))
        except BaseException:
            self.close()
            raise
        archive, self.digest = remote.code_archive(ROOT)
        self.archive = self.client.scatter(archive, broadcast=True)
        # a copy of the task function under a name the module does not have: plain pickle (which would send a
        # reference the workers cannot resolve) refuses it, and Dask falls back to cloudpickle, by value
        f = remote.run_point
        self._task = types.FunctionType(f.__code__, f.__globals__, "run_point_by_value", f.__defaults__)

    def _check_workers(self, sweep_dir: Path) -> None:
        from sweep import remote

        sweep_dir.mkdir(parents=True, exist_ok=True)
        mine = remote.worker_probe(str(sweep_dir))
        bad = {w: remote.problems(p, mine) for w, p in self.client.run(remote.worker_probe, str(sweep_dir)).items()}
        bad = {w: v for w, v in bad.items() if v}
        if bad:
            raise RuntimeError("Dask workers cannot run the sweep's points: " + "; ".join(
                f"worker {w}: " + ", ".join(v) for w, v in sorted(bad.items())))

    def describe(self) -> str:
        return (f"Dask scheduler {self.client.scheduler.address}, {self.capacity} worker thread(s), "
                f"code shipped as a zip ({self.digest})")

    def submit(self, key: str, point_dir: Path):
        return self.client.submit(self._task, str(point_dir), self.archive, self.digest,
                                  key=f"sweep-point-{key}-{time.time_ns()}", pure=False, retries=0)

    def stop_running(self, grace_s: float = 0.0) -> None:
        self.close()

    def close(self) -> None:
        if self._own:
            self.client.close()


# ------------------------------------------------------------------------------------------------ records
def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _load_record(pdir: Path, p: Point) -> dict | None:
    rec = _read_json(pdir / POINT)
    if rec is None or rec.get("hash") != p.hash:
        return None
    if rec.get("status") in ("running", "interrupted"):
        res = _read_json(pdir / RESULT)  # a point that finished after the sweep stopped (e.g. on Dask)
        if res is not None and res.get("hash") == p.hash and res.get("status") == DONE_OK:
            rec = _merge_result(rec, res)
            _write_json(pdir / POINT, rec)
    return rec


ORPHANED = "orphaned"  # a point whose process outlived its sweep and still runs: not started a second time


def _mark_orphans(sdir: Path, records: dict, log) -> None:
    """Points left 'running' by a sweep that died: re-run when their process is gone (said so); marked
    orphaned, and not started again, while a process still holds the point's lock."""
    from sweep.point import lock_holder

    for h, rec in records.items():
        if not rec or rec.get("status") not in ("running", ORPHANED):
            continue
        pid = lock_holder(sdir / "points" / h)
        if pid is not None:
            rec.update(status=ORPHANED, error=f"still running from an earlier sweep (pid {pid}); not started again")
            log(f"[sweep] {h}: orphaned, its process {pid} from an earlier sweep still runs; left alone")
        else:
            rec["orphaned_from"] = rec.get("started")
            log(f"[sweep] {h}: left running by an earlier sweep (started {rec.get('started')}) whose process is "
                "gone; run again")
        _write_json(sdir / "points" / h / POINT, rec)


def _merge_result(rec: dict, res: dict) -> dict:
    rec = dict(rec)
    for k in ("status", "error", "traceback", "checks_passed", "run_build_s", "report", "pid", "host"):
        if k in res:
            rec[k] = res[k]
    return rec


def _needs_run(rec: dict | None, retry_failed: bool) -> bool:
    if rec is None:
        return True
    st = rec.get("status")
    if st == DONE_OK:
        return False
    if st in DONE_BAD:
        return retry_failed
    if st == ORPHANED:
        return False
    return True  # pending / running (stale) / interrupted


def _tail(path: Path, n: int = 8) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except FileNotFoundError:
        return ""


# ------------------------------------------------------------------------------------------------ the sweep
class _Progress:
    def __init__(self, total: int, already: int, capacity: int, log):
        self.total, self.already, self.capacity, self.log = total, already, capacity, log
        self.t0 = time.time()
        self.walls: list[float] = []
        self.failed = 0
        self.last = 0.0

    def line(self, running, pending: int) -> str:
        """``running``: elapsed seconds of each running point."""
        done = self.already + len(self.walls)
        el = time.time() - self.t0
        eta = "n/a"
        if self.walls:
            per = sum(self.walls) / len(self.walls)
            left = per * pending + sum(max(per - e, 0.1 * per) for e in running)
            eta = _dur(left / max(1, min(self.capacity, pending + len(running))))
        running = len(running)
        return (f"[sweep] {done}/{self.total} done ({self.failed} failed), {running} running, {pending} pending"
                f" | elapsed {_dur(el)} | ETA {eta}")

    def maybe(self, running, pending: int, force: bool = False, every: float = 30.0):
        if force or time.time() - self.last >= every:
            self.log(self.line(running, pending))
            self.last = time.time()


def _dur(s: float) -> str:
    s = int(round(s))
    return f"{s // 3600}h{s % 3600 // 60:02d}m" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def _print(msg: str) -> None:
    print(msg, flush=True)


def run_sweep(spec: SweepSpec, log=_print, executor=None) -> SweepResult:
    """Run (or resume) ``spec``.  Returns the table and Pareto analysis; on Ctrl-C the table is written
    consistently (interrupted points marked) and ``interrupted`` is True."""
    points = expand(spec)
    bad = [p for p in points if p.invalid]
    if bad and not spec.skip_invalid:
        raise SpecError(invalid_summary(points) + "\nFix the axes, or pass --skip-invalid (execution.skip_invalid: true) "
                        "to run the valid points and record the invalid ones in the table with the reason.")
    if bad:
        log(invalid_summary(points) + "\n(recorded in the table as 'invalid'; not run)")
    sdir = spec.sweep_dir()
    (sdir / "points").mkdir(parents=True, exist_ok=True)
    versions = tool_versions()
    _write_json(sdir / "sweep.json", {
        "spec": spec.to_dict(), "versions": versions,
        "points": [{"hash": p.hash, "values": p.values, "invalid": p.invalid} for p in points],
    })
    valid = [p for p in points if not p.invalid]
    records = {p.hash: _load_record(sdir / "points" / p.hash, p) for p in valid}
    _mark_orphans(sdir, records, log)
    todo = [p for p in valid if _needs_run(records[p.hash], spec.retry_failed)]
    reports: dict[str, dict] = {}

    def table():
        return _table(points, records, reports, sdir)

    n_skip = len(valid) - len(todo)
    log(f"[sweep] {len(points)} points in {sdir}: {len(bad)} invalid, {n_skip} already done (skipped), "
        f"{len(todo)} to run")
    interrupted = False
    n_run = 0
    if todo:
        sched = _Scheduler(spec, sdir, versions, valid, todo, records, table, executor, log)
        sched.run()
        interrupted, n_run = sched.interrupted, sched.n_run
    df = table()
    info = _write_pareto(spec, df, sdir, log)
    return SweepResult(sdir, df, info, interrupted, n_run)


def _table(points: list[Point], records: dict, reports: dict, sdir: Path):
    """Write results.parquet / results.csv from the records (report.json of ok points read once, cached in
    ``reports``) and return the DataFrame."""
    from .table import point_row, write_table

    rows = []
    for p in points:
        rec = records.get(p.hash)
        rep = None
        if rec is not None and rec.get("status") == DONE_OK:
            if p.hash not in reports:
                rep_path = sdir / "points" / p.hash / "project" / "report" / "report.json"
                reports[p.hash] = _read_json(rep_path)
            rep = reports[p.hash]
        rows.append(point_row(p, rec, rep))
    return write_table(rows, sdir)


def _write_pareto(spec: SweepSpec, df, sdir: Path, log) -> dict:
    from .pareto import analyse, pareto_markdown, pareto_plots, reuse_markdown, reuse_plot

    info = analyse(df, spec.pareto, spec.budgets)
    md = pareto_markdown(df, info, title=f"Sweep {spec.name} ({spec.model})")
    rmd = reuse_markdown(df)
    (sdir / "pareto.md").write_text(md + ("\n" + rmd if rmd else ""))
    try:
        pareto_plots(df, info, sdir)
        reuse_plot(df, sdir)
    except Exception as exc:  # noqa: BLE001 (a plot never loses the table)
        log(f"[sweep] plots failed: {exc}")
    return info


class _Scheduler:
    """Runs the ``todo`` points on an executor: at most ``capacity`` at a time, points sharing a training key
    after their leader, the very first point alone when nothing is done yet.  ``records`` (shared with the
    caller) is updated and every point.json written as points start and finish; ``table()`` is rewritten
    whenever a point finishes.  Creates (and closes) its own executor when none is given."""

    def __init__(self, spec: SweepSpec, sdir: Path, versions: dict, valid: list[Point], todo: list[Point],
                 records: dict, table, executor, log):
        self.sdir, self.versions, self.records, self.table, self.log = sdir, versions, records, table, log
        self.own_executor = executor is None
        if executor is None:
            executor = DaskExecutor(spec.scheduler, spec.sweep_dir()) if spec.scheduler else LocalExecutor(spec.workers)
        self.executor = executor
        log(f"[sweep] executor: {executor.describe()}")
        self.progress = _Progress(len(valid), len(valid) - len(todo), executor.capacity, log)
        todo_hashes = {p.hash for p in todo}
        self.progress.failed = sum(1 for h, r in records.items()
                                   if r and r.get("status") in DONE_BAD and h not in todo_hashes)
        ok_groups = {p.training_key for p in valid if (records[p.hash] or {}).get("status") == DONE_OK}
        self.leaders: dict[str, str] = {}
        for p in todo:
            if p.training_key not in ok_groups:
                self.leaders.setdefault(p.training_key, p.hash)
        self.first = todo[0].hash if not ok_groups and len(self.leaders) > 1 else None
        self.finished: set[str] = set()
        self.pending = list(todo)
        self.running: dict[str, tuple] = {}  # hash -> (future, point, perf_counter at launch)
        self.n_run = 0
        self.interrupted = False

    def run(self) -> None:
        try:
            self.loop()
        except KeyboardInterrupt:
            self.interrupt()
        finally:
            if self.own_executor:
                self.executor.close()

    def ready(self, p: Point) -> bool:
        if (self.first is not None and p.hash != self.first and self.first not in self.finished
                and not self.trained(self.first)):
            return False
        lead = self.leaders.get(p.training_key)
        return lead is None or lead == p.hash or lead in self.finished or self.trained(lead)

    def trained(self, h: str) -> bool:
        """The point ``h`` has trained (or loaded) and cached its model: the points sharing it can start."""
        steps = _read_json(self.sdir / "points" / h / STEPS) or {}
        return any(s in steps.get("done", ()) for s in TRAINED_AFTER)

    def loop(self) -> None:
        while self.pending or self.running:
            self.launch_ready()
            changed = self.poll()
            now = time.perf_counter()
            run_el = [now - t0 for (_, _, t0) in self.running.values()]
            if changed:
                self.table()
                self.progress.maybe(run_el, len(self.pending), force=True)
            else:
                self.progress.maybe(run_el, len(self.pending))
                time.sleep(0.2)

    def launch_ready(self) -> None:
        for p in list(self.pending):
            if len(self.running) >= self.executor.capacity:
                break
            if self.ready(p):
                self.pending.remove(p)
                self.launch(p)

    def poll(self) -> bool:
        """Finalize every finished point; True if any did."""
        changed = False
        for h, (fut, p, t0) in list(self.running.items()):
            if fut.done():
                del self.running[h]
                try:
                    ec, wall, host = fut.result()
                    self.finalize(p, ec, wall, host)
                except Exception as exc:  # noqa: BLE001 (executor-level failure: a lost worker...)
                    self.finalize(p, None, time.perf_counter() - t0, None,
                                  error=f"executor error: {exc.__class__.__name__}: {exc}")
                self.n_run += 1
                changed = True
        return changed

    def launch(self, p: Point) -> None:
        pdir = self.sdir / "points" / p.hash
        pdir.mkdir(parents=True, exist_ok=True)
        (pdir / RESULT).unlink(missing_ok=True)
        (pdir / STEPS).unlink(missing_ok=True)
        rec = {"hash": p.hash, "values": p.values, "training_key": p.training_key,
               "build_config": p.config.to_dict(), "versions": self.versions, "status": "running",
               "sweep_pid": os.getpid(), "sweep_host": os.uname().nodename,  # the point dies with the sweep
               "started": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        _write_json(pdir / POINT, rec)
        self.records[p.hash] = rec
        self.running[p.hash] = (self.executor.submit(p.hash, pdir), p, time.perf_counter())
        self.log(f"[sweep] start  {p.hash}  {_label(p.values)}")

    def finalize(self, p: Point, exit_code, wall, host, error=None) -> None:
        pdir = self.sdir / "points" / p.hash
        rec = dict(self.records[p.hash])
        res = _read_json(pdir / RESULT)
        if res is not None and res.get("hash") == p.hash:
            rec = _merge_result(rec, res)
        else:
            sig = f" (signal {-exit_code})" if isinstance(exit_code, int) and exit_code < 0 else ""
            rec.update(status="crashed", error=error or (
                f"point process ended with exit code {exit_code}{sig} without a result; last log lines:\n"
                + _tail(pdir / LOG)))
        rec.update(exit_code=exit_code, wall_s=wall, finished=time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        if host and "host" not in rec:
            rec["host"] = host
        self.records[p.hash] = rec
        _write_json(pdir / POINT, rec)
        self.finished.add(p.hash)
        if rec["status"] in DONE_BAD:
            self.progress.failed += 1
        self.progress.walls.append(wall)
        st = rec["status"] + ("" if rec.get("checks_passed", True) else " (agreement checks failed)")
        err = f": {rec['error'].splitlines()[0]}" if rec["status"] != DONE_OK and rec.get("error") else ""
        self.log(f"[sweep] {'done ' if rec['status'] == DONE_OK else 'FAIL '} {p.hash}  {_label(p.values)}  "
                 f"{st} in {wall:.1f} s{err}")

    def interrupt(self) -> None:
        """Ctrl-C: stop the running points (the executor closes itself), mark them interrupted unless they
        finished ok meanwhile."""
        self.interrupted = True
        self.log("[sweep] interrupted: stopping running points, writing a consistent table")
        self.executor.stop_running()
        for h, (fut, p, t0) in self.running.items():
            pdir = self.sdir / "points" / h
            res = _read_json(pdir / RESULT)
            rec = dict(self.records[h])
            if res is not None and res.get("hash") == h and res.get("status") == DONE_OK:
                rec = _merge_result(rec, res)
                rec["wall_s"] = time.perf_counter() - t0
            else:
                rec.update(status="interrupted", error="interrupted (Ctrl-C); re-run the sweep to resume")
            self.records[h] = rec
            _write_json(pdir / POINT, rec)
        self.own_executor = False


def _label(v: dict) -> str:
    return " ".join(f"{k}={x}" for k, x in v.items())
