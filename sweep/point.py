"""One sweep point, run in its own process: ``python -m sweep.point POINT_DIR``.

``POINT_DIR/point.json`` holds the point's BuildConfig (written by the sweep); the point writes
``POINT_DIR/result.json`` (status ok / failed, the error and traceback, the time spent inside ``run_build``)
and its log to ``POINT_DIR/log.txt``.  The report itself is ``POINT_DIR/project/report/report.json``.
A point that dies without writing ``result.json`` (segfault, killed, out of memory) is recorded as crashed
by the sweep.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from pathlib import Path

RESULT = "result.json"
STEPS = "steps.json"  # the steps of the point's build done so far (the sweep starts followers after training)
# the step after which a family's models are trained (or loaded) and cached
TRAINED_AFTER = ("prepare", "cwola_train", "import_model")
POINT = "point.json"
LOG = "log.txt"


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)


LOCK = ".lock"  # flock'ed by the process running the point (released by the kernel when it dies)


def lock_point(point_dir: Path) -> int | None:
    """The point's lock (an fd to keep open), or None when another live process holds it."""
    import fcntl

    fd = os.open(Path(point_dir) / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def lock_holder(point_dir: Path) -> int | None:
    """pid of the live process running the point (None: nobody)."""
    if not (Path(point_dir) / LOCK).exists():
        return None
    fd = lock_point(point_dir)
    if fd is not None:
        os.close(fd)
        return None
    try:
        return int((Path(point_dir) / LOCK).read_text().strip() or 0) or -1
    except (OSError, ValueError):
        return -1


def die_with(parent_pid: int, every_s: float = 1.0) -> None:
    """SIGTERM this process when ``parent_pid`` (the sweep) is gone: prctl(PR_SET_PDEATHSIG) for the direct
    parent, and a watchdog thread for the sweep itself (the direct parent may be a forkserver)."""
    import ctypes
    import signal
    import threading

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass

    def watch():
        while True:
            time.sleep(every_s)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os.kill(os.getpid(), signal.SIGTERM)
                return
            except PermissionError:
                pass

    threading.Thread(target=watch, name="sweep-watchdog", daemon=True).start()


def build_config_from_dict(d: dict):
    from flow.config import BuildConfig

    return BuildConfig.from_dict(d)


def run_point(point_dir: Path, redirect: bool = True) -> int:
    """Run the point described by ``point_dir/point.json``; always leaves ``result.json`` unless killed."""
    point_dir = Path(point_dir)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if redirect:  # the point's output (Python and C level) goes to its log, not to the sweep's terminal
        fd = os.open(point_dir / LOG, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.close(fd)
    spec = json.loads((point_dir / POINT).read_text())
    lock = lock_point(point_dir)
    if lock is None:  # never two processes in one point directory
        print(f"point {point_dir} is already being run by process {lock_holder(point_dir)}; not started again",
              file=sys.stderr)
        return 3
    import signal

    def _terminated(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    import threading

    if threading.current_thread() is threading.main_thread():  # a point process (not a Dask worker thread)
        signal.signal(signal.SIGTERM, _terminated)  # the build's transaction cleans up; result.json says so
        if spec.get("sweep_pid") and spec.get("sweep_host") == os.uname().nodename:  # not on a remote worker
            die_with(int(spec["sweep_pid"]))
    res = {"hash": spec["hash"], "pid": os.getpid(), "host": os.uname().nodename}
    t0 = time.perf_counter()
    rc = 0
    try:
        from flow import run_build

        cfg = build_config_from_dict(spec["build_config"])
        report, ok = run_build(cfg, on_step=lambda name, b: _write_json(point_dir / STEPS, {"done": list(b.done)}))
        res.update(status="ok", checks_passed=bool(ok), report=str(Path(report["hls"]["project_dir"]) / "report" / "report.json"))
    except KeyboardInterrupt as exc:
        res.update(status="interrupted", error=f"interrupted ({exc or 'Ctrl-C'})")
        rc = 130
    except BaseException as exc:  # noqa: BLE001  (a point's failure is recorded, never raised into the sweep)
        res.update(status="failed", error=f"{exc.__class__.__name__}: {exc}", traceback=traceback.format_exc())
        rc = 1
    res["run_build_s"] = time.perf_counter() - t0
    _write_json(point_dir / RESULT, res)
    sys.stdout.flush()
    sys.stderr.flush()
    return rc


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    sys.exit(run_point(Path(sys.argv[1])))
