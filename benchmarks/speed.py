#!/usr/bin/env python
"""Speed benchmark (issue 18; not a test): every figure with its goal beside it, in one run.

    .venv/bin/python benchmarks/speed.py [--skip-fresh] [--skip-cached] [--skip-emulator] [--events N]
                                         [--project DIR] [--json FILE]
                                         [--skip-l1] [--l1-cache DIR] [--skip-sweep]

1. **time to first firmware**: ``build_hls.py --model vae21`` with a fresh, empty cache directory and output
   (data generation and training included), wall time of the process; goal <= 60 s;
2. **cached build**: the same command again on the now filled cache; goal <= 20 s; each step's time from that
   build's own ``report.json`` (``timings_s`` and ``flow.steps_s``), the saturation pass and the report against
   their goal (<= 10 % of the cached build each);
3. **fast emulator**: ``emulation.bench`` on ``--events`` SM events streamed from HDF5 (every emulator in its own
   process); fast (2 threads) events/s (goal >= 1e7), fast / float Keras (goal >= 2), fast / float numpy (the
   memory-bound reference, no goal), and the fast emulator's mismatches against the C-simulation (goal 0);
4. **start-up**: ``build_hls.py --help``, ``check PROJECT`` and ``resources PROJECT`` in fresh interpreters:
   wall time and whether TensorFlow / Keras / hls4ml were imported (goal: none; ``check`` <= 10 s);
5. **cached L1 build**: ``build_hls.py --model vae57`` (RTL and yosys by default, the vae57hgq companion included)
   twice on ``--l1-cache`` (default: the repository's ``.cache``); the first run fills the cache if needed, the
   second is timed (goal <= 2 min) with the RTL build, RTL simulation and yosys times from its ``report.json``
   (``hardware.timings_s``), each on its own row;
6. **sweeps**: ``benchmarks/sweep_benchmark.py``'s 16-point PTQ sweep of vae21 with 1 and 2 workers: per-point
   process overhead relative to the point's own build (goal < 10 %) and the 1 -> 2 worker speed-up (no goal).

The machine's load (``os.getloadavg``) is printed before and after every part: on a shared machine the figures
are upper bounds of the times (lower bounds of the rates).  Builds run in a temporary directory (removed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
HEAVY = ("tensorflow", "keras", "hls4ml")
_WRAPPER = """
import json, sys
import build_hls
try:
    rc = build_hls.main(json.loads(sys.argv[1]))
except SystemExit as e:
    rc = e.code
print("STARTUP " + json.dumps({"rc": rc, "loaded": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def load() -> str:
    return "load %.2f %.2f %.2f (1/5/15 min, %d CPUs)" % (*os.getloadavg(), os.cpu_count())


def row(name: str, value: str, goal: str, ok: bool | None, source: str) -> dict:
    status = "n/a" if ok is None else ("met" if ok else "NOT met")
    print(f"| {name} | {value} | {goal} | {status} | {source} |", flush=True)
    return {"figure": name, "value": value, "goal": goal, "status": status, "source": source}


def run_build(args: list[str], cwd: Path) -> tuple[float, int, str]:
    """``build_hls.py ARGS`` in a fresh process; the fast emulator's compiled kernels cached in ``cwd`` too (empty
    for the first build)."""
    env = dict(os.environ, LHC_TRIGGER_KERNEL_CACHE=str(cwd / "kernels"))
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, str(ROOT / "build_hls.py"), *args], cwd=cwd, capture_output=True, text=True,
                       env=env)
    return time.perf_counter() - t0, p.returncode, p.stdout[-3000:] + p.stderr[-3000:]


def builds(tmp: Path, fresh: bool, cached: bool, rows: list) -> Path | None:
    cache, out = tmp / "cache", tmp / "vae21"
    args = ["--model", "vae21", "--cache-dir", str(cache), "--output", str(out)]
    if fresh:
        print(f"[speed] fresh build (empty cache) ... {load()}", flush=True)
        dt, rc, log = run_build(args, tmp)
        rows.append(row("time to first firmware (fresh cache)", f"{dt:.1f} s (exit {rc})", "<= 60 s", dt <= 60 and rc == 0,
                        "wall time of `build_hls.py --model vae21 --cache-dir EMPTY`"))
        if rc not in (0, 1):
            print(log)
            return None
    if not cached:
        return out if fresh else None
    print(f"[speed] cached build ... {load()}", flush=True)
    dt, rc, log = run_build(args, tmp)
    rows.append(row("cached vae21 build", f"{dt:.1f} s (exit {rc})", "<= 20 s", dt <= 20 and rc == 0,
                    "wall time of the same command, cache filled"))
    rep = out / "report" / "report.json"
    if not rep.is_file():
        print(log)
        return None
    r = json.loads(rep.read_text())
    steps = r.get("flow", {}).get("steps_s", {})
    total = sum(steps.values()) + (r["timings_s"].get("report", 0.0) if "report" not in steps else 0.0)
    rows.append(row("start-up and exit (outside the steps)", f"{dt - total:.1f} s", "-", None,
                    "wall time - sum(report.json flow.steps_s) - timings_s.report"))
    for k, v in r["timings_s"].items():
        goal, ok = ("<= 10 % of cached build", v <= 0.1 * dt) if k in ("saturation", "report") else ("-", None)
        rows.append(row(f"cached build: {k}", f"{v:.2f} s ({100 * v / dt:.0f} %)", goal, ok, "report.json timings_s"))
    for k, v in steps.items():
        rows.append(row(f"cached build step {k}", f"{v:.2f} s", "-", None, "report.json flow.steps_s"))
    return out


def emulator(project: Path, n: int, csim_events: int, rows: list) -> None:
    from emulation.bench import run_bench

    print(f"[speed] emulator benchmark on {n} events ... {load()}", flush=True)
    res = run_bench("vae21", n, project=project, csim_events=csim_events, with_rtl=False)
    e, ratios = res["emulators"], res["ratios"]
    src = f"emulation.bench, {n} events"
    for k in ("fast", "fast_1thread", "float", "float_numpy", "keras", "csim"):
        if e.get(k, {}).get("ok"):
            goal, ok = (">= 1e7 ev/s", e[k]["events_per_s"] >= 1e7) if k == "fast" else ("-", None)
            rows.append(row(f"{k} events/s", f"{e[k]['events_per_s']:,.0f}", goal, ok, src))
    for k, goal in (("fast_over_float_keras", 2.0), ("fast_over_float_numpy", None), ("fast_over_csim", None)):
        v = ratios.get(k)
        rows.append(row(k, f"{v:.2f}x" if v else "n/a", f">= {goal}x" if goal else "-",
                        (v >= goal) if (goal and v) else None, src))
    for k, v in res["agreement"].items():
        rows.append(row(f"{k} mismatches", f"{v['n_mismatched']} of {v['n_events']}", "0", v["n_mismatched"] == 0, src))


def startup(project: Path | None, rows: list) -> None:
    print(f"[speed] start-up ... {load()}", flush=True)
    cmds = [["--help"]] + ([["check", str(project)], ["resources", str(project)]] if project else [])
    for argv in cmds:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", _WRAPPER, json.dumps(argv)], cwd=ROOT, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        line = [ln for ln in p.stdout.splitlines() if ln.startswith("STARTUP ")]
        res = json.loads(line[-1][8:]) if line else {"rc": p.returncode, "loaded": ["?"]}
        name = "build_hls.py " + " ".join(a if not a.startswith("/") else Path(a).name for a in argv)
        goal = "<= 10 s, no TensorFlow" if argv[0] == "check" else "no TensorFlow"
        ok = not res["loaded"] and res["rc"] == 0 and (dt <= 10 if argv[0] == "check" else True)
        rows.append(row(name, f"{dt:.2f} s, exit {res['rc']}, imported: {', '.join(res['loaded']) or 'none'}", goal, ok,
                        "fresh interpreter, sys.modules at exit"))


def l1_build(tmp: Path, cache: Path, rows: list) -> None:
    args = ["--model", "vae57", "--cache-dir", str(cache), "--output", str(tmp / "vae57")]
    print(f"[speed] L1 build (fills {cache} if needed) ... {load()}", flush=True)
    dt0, rc0, log = run_build(args, tmp)
    print(f"[speed] L1 warm-up build: {dt0:.1f} s (exit {rc0}) ... {load()}", flush=True)
    dt, rc, log = run_build(args, tmp)
    rows.append(row("cached L1 build (vae57 + vae57hgq companion, RTL + yosys)", f"{dt:.1f} s (exit {rc})",
                    "<= 120 s", dt <= 120 and rc == 0, "wall time of `build_hls.py --model vae57`, cache filled"))
    rep = tmp / "vae57" / "report" / "report.json"
    if not rep.is_file():
        print(log)
        return
    r = json.loads(rep.read_text())
    hw = r.get("hardware", {}).get("timings_s", {})
    for k in ("rtl_build", "rtl_emulate", "yosys", "hls_estimate"):
        if k in hw:
            rows.append(row(f"cached L1 build: {k} (vae57)", f"{hw[k]:.2f} s ({100 * hw[k] / dt:.0f} %)", "-", None,
                            "report.json hardware.timings_s"))
    for k in ("keras_inference", "saturation", "report", "emulate", "csim_crosscheck"):
        if k in r.get("timings_s", {}):
            v = r["timings_s"][k]
            rows.append(row(f"cached L1 build: {k} (vae57)", f"{v:.2f} s ({100 * v / dt:.0f} %)", "-", None,
                            "report.json timings_s"))


def sweeps(tmp: Path, rows: list) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from sweep_benchmark import measure

    print(f"[speed] sweeps, 1 and 2 workers ... {load()}", flush=True)
    build = {"n_train": 150_000, "n_test_bkg": 20_000, "n_signal": 5_000, "fprs": [1e-3], "csim_events": 20_000,
             "min_spearman": 0.0, "cache_dir": str(tmp / "sweep-cache")}
    res = measure([1, 2], build, tmp / "sweeps", say=lambda s: print("[speed]   " + s.strip(), flush=True))
    src = "benchmarks/sweep_benchmark.measure, 16-point PTQ sweep of vae21"
    for w, v in sorted(res.items()):
        rows.append(row(f"sweep per-point overhead, {w} worker(s)", f"{v['per_point_overhead_pct']:.1f} % of the point "
                        f"({v['points_per_min']:.2f} points/min, {v['points_ok']}/{v['points']} ok)", "< 10 %",
                        v["per_point_overhead_pct"] < 10, src))
        if "speedup" in v:
            rows.append(row(f"sweep speed-up 1 -> {w} workers", f"{v['speedup']:.2f}x (ideal {w}x)", "-", None, src))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--skip-fresh", action="store_true", help="no build with an empty cache (the slowest part)")
    ap.add_argument("--skip-cached", action="store_true", help="no cached build")
    ap.add_argument("--skip-emulator", action="store_true")
    ap.add_argument("--project", type=Path, help="a built vae21 project for the emulator and start-up parts "
                    "(default: the one the builds wrote; with both builds skipped: firmware_projects/vae21)")
    ap.add_argument("--events", type=int, default=2_000_000, help="emulator benchmark events")
    ap.add_argument("--csim-events", type=int, default=200_000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--skip-l1", action="store_true", help="no cached L1 (vae57) build")
    ap.add_argument("--l1-cache", type=Path, default=ROOT / ".cache",
                    help="data/model cache of the L1 builds (default: the repository's .cache)")
    ap.add_argument("--skip-sweep", action="store_true", help="no sweep benchmark")
    a = ap.parse_args(argv)
    rows: list = []
    print(f"[speed] start: {load()}")
    print("| figure | value | goal | status | source |\n|---|---|---|---|---|", flush=True)
    with tempfile.TemporaryDirectory(prefix="speedbench-") as tmp:
        project = a.project
        if not (a.skip_fresh and a.skip_cached):
            project = builds(Path(tmp), not a.skip_fresh, not a.skip_cached, rows) or project
        project = project or ROOT / "firmware_projects" / "vae21"
        if not (project / "metadata.json").is_file():
            print(f"[speed] no project in {project}: emulator and check/resources parts not run")
            project = None
        if project and not a.skip_emulator:
            emulator(project, a.events, a.csim_events, rows)
        startup(project, rows)
        if not a.skip_l1:
            l1_build(Path(tmp), a.l1_cache, rows)
        if not a.skip_sweep:
            sweeps(Path(tmp), rows)
    print(f"[speed] end: {load()}")
    if a.json:
        a.json.write_text(json.dumps({"rows": rows, "load_end": os.getloadavg()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
