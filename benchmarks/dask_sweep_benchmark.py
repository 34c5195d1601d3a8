#!/usr/bin/env python
"""Speed-up of a sweep on a real Dask cluster (not a test): the same PTQ sweep through ``--scheduler`` with 1
and then 2 single-threaded workers, each a separately started ``dask worker`` process that cannot import this
checkout (:class:`sweep.cluster.ProcessCluster`), each time into a fresh sweep folder.  The trained model and the
data are cached first by a one-point warm-up sweep, so the figure is the sweep itself.

    .venv/bin/python benchmarks/dask_sweep_benchmark.py [--precision 8,10] [--out DIR] [build options...]

Defaults: the issue's command, ``--model vae21 --mode ptq --precision 8,10 --reuse-factor 1`` on the embedded
default event counts.  Extra arguments are passed to ``build_hls.py sweep`` (e.g. ``--n-test-bkg 200000``).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _sweep(address: str, out: Path, cache: Path, precision: str, extra: list[str]) -> float:
    import build_hls

    t0 = time.perf_counter()
    rc = build_hls.main(["sweep", "--model", "vae21", "--mode", "ptq", "--precision", precision, "--reuse-factor", "1",
                         "--scheduler", address, "--output", str(out), "--cache-dir", str(cache), *extra])
    if rc != 0:
        raise SystemExit(f"sweep into {out} exited {rc}")
    return time.perf_counter() - t0


def main() -> int:
    from sweep.cluster import ProcessCluster

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--precision", default="8,10")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--out", type=Path, help="work folder (default: a temporary one, removed afterwards)")
    args, extra = ap.parse_known_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="dask-sweep-bench-"))
    cache = work / "cache"
    times = {}
    try:
        with ProcessCluster(work / "warm-cluster", 1) as c:
            print(f"[bench] warm-up (trains and caches the model): {_sweep(c.address, work / 'warm', cache, '9', extra):.1f} s")
        for n in (int(w) for w in args.workers.split(",")):
            with ProcessCluster(work / f"cluster{n}", n) as c:
                assert not c.worker_sees_project
                times[n] = _sweep(c.address, work / f"sweep{n}", cache, args.precision, extra)
            print(f"[bench] {n} worker(s): {times[n]:.1f} s for the precisions {args.precision}")
    finally:
        if args.out is None:
            shutil.rmtree(work, ignore_errors=True)
    base = times[min(times)]
    print("\nworkers | sweep wall time [s] | speed-up")
    for n, t in times.items():
        print(f"{n:7d} | {t:19.1f} | {base / t:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
