#!/usr/bin/env python
"""Sweep throughput benchmark (not a test): a 16-point PTQ sweep of vae21 (precision 6..13 x strategy
Latency/Resource, reuse factor 1) run with 1 and then 2 local workers, each time into a fresh sweep
directory, with the trained model and the data already cached (a 1-point warm-up sweep trains/caches them
first, so the measurement is the sweep itself).

Prints, per worker count: points per minute, the speed-up, and where a point's time goes:
- ``compile+emulate``: the point's own C-sim compile, conversion, emulation and C-sim cross-check;
- ``rest of run_build``: data load, Keras inference (quantized model, float view, twin), saturation, report;
- ``sweep overhead``: the point's process wall time seen by the sweep minus the time inside ``run_build``
  (process start from the pre-warmed forkserver, result bookkeeping), and the sweep's total
  ``workers x elapsed - sum(run_build)`` relative to ``sum(run_build)`` (idle slots, scheduling, table writes).

    .venv/bin/python benchmarks/sweep_benchmark.py [--workers 1,2] [--out DIR] [--n-test-bkg 20000 ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(workers: list[int], build: dict, work: Path, say=print) -> dict:
    """The 16-point sweep once per worker count (after a 1-point warm-up): per worker count points/min, the mean
    per-point process overhead relative to run_build, the sweep's total overhead, and the speed-ups."""
    from sweep.runner import run_sweep
    from sweep.spec import SweepSpec

    quiet = lambda s: None  # noqa: E731
    t0 = time.time()
    run_sweep(SweepSpec(output=work / "warmup", axes={"mode": ("ptq",), "precision": (8,)}, build=build), log=quiet)
    say(f"warm-up (data + trained model cached): {time.time() - t0:.0f} s")
    axes = {"mode": ("ptq",), "precision": tuple(range(6, 14)), "strategy": ("Latency", "Resource")}
    results: dict = {}
    for w in workers:
        d = work / f"w{w}"
        shutil.rmtree(d, ignore_errors=True)
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        res = run_sweep(SweepSpec(output=d, axes=axes, build=build, workers=w), log=quiet)
        el = time.perf_counter() - t0
        df = res.table
        ok = df[df["status"] == "ok"]
        own = ok[["time_convert_s", "time_compile_s", "time_emulate_s", "time_csim_crosscheck_s"]].sum(axis=1)
        per_point_over = (ok["wall_s"] - ok["run_build_s"])
        total_over = (w * el - ok["run_build_s"].sum()) / ok["run_build_s"].sum()
        results[w] = {"points_ok": len(ok), "points": len(df), "elapsed_s": el, "points_per_min": len(ok) / el * 60,
                      "per_point_overhead_pct": 100 * per_point_over.sum() / ok["run_build_s"].sum(),
                      "total_overhead_pct": 100 * total_over, "load_start": load0, "load_end": os.getloadavg()[0]}
        say(f"\nworkers={w}: {len(ok)}/{len(df)} points ok in {el:.0f} s -> {results[w]['points_per_min']:.2f} "
            f"points/min (load average {load0:.1f} at start, {os.getloadavg()[0]:.1f} at end, {os.cpu_count()} cores)")
        say(f"  per point (mean): wall {ok['wall_s'].mean():.1f} s = run_build {ok['run_build_s'].mean():.1f} s "
            f"[compile+emulate {own.mean():.1f} s, rest of run_build {(ok['run_build_s'] - own).mean():.1f} s] "
            f"+ process/bookkeeping {per_point_over.mean():.2f} s ({results[w]['per_point_overhead_pct']:.1f}% of run_build)")
        say(f"  sweep overhead: workers x elapsed - sum(run_build) = {100 * total_over:.1f}% of sum(run_build)")
    ws = sorted(results)
    for w in ws[1:]:
        results[w]["speedup"] = results[w]["points_per_min"] / results[ws[0]]["points_per_min"]
        say(f"speed-up {ws[0]} -> {w} workers: {results[w]['speedup']:.2f}x (ideal {w / ws[0]:.0f}x)")
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--out", type=Path, help="work directory (default: a temporary one, removed afterwards)")
    ap.add_argument("--n-train", type=int, default=150_000)
    ap.add_argument("--n-test-bkg", type=int, default=20_000)
    ap.add_argument("--n-signal", type=int, default=5_000)
    ap.add_argument("--fpr", type=float, default=1e-3)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--csim-events", type=int, default=20_000)
    ap.add_argument("--cache-dir", type=Path, default=None, help="shared data/model cache (default .cache/)")
    a = ap.parse_args()

    work = a.out or Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    build = {"n_train": a.n_train, "n_test_bkg": a.n_test_bkg, "n_signal": a.n_signal, "fprs": [a.fpr],
             "csim_events": a.csim_events, "min_spearman": 0.0}
    if a.epochs:
        build["epochs"] = a.epochs
    if a.cache_dir:
        build["cache_dir"] = str(a.cache_dir)
    measure([int(x) for x in a.workers.split(",")], build, work)
    if a.out is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
