#!/usr/bin/env python
"""Same seed, same model: train a model twice, each in its own fresh process and cache, and compare every
trained weight bit for bit.

    python benchmarks/reproducible_training.py --model vae21 --n-train 20000 --epochs 5

Prints, per weight file, the number of arrays and how many differ (0 = bit-identical), and exits 1 when any
differs.  Each run calls the build's own data and prepare steps (``flow.steps``), i.e. the same training path
as ``build_hls.py --retrain``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
from flow.config import BuildConfig
from models.training import configure_determinism
cfg = BuildConfig(model={model!r}, cache_dir={cache!r}, n_train={n_train}, n_test_bkg=20000, n_signal=100, fprs=(1e-3,),
                  epochs={epochs}, retrain=True, seed={seed}, companion=False)
print(json.dumps(configure_determinism(cfg.seed)))
import flow.steps
from flow.build import new_build, run_flow
b = new_build(cfg)
run_flow(b, ["data", "prepare"])
print("CACHE", b.prepared.description["training"]["cache_dir"])
"""


def _train(model: str, cache: Path, n_train: int, epochs: int, seed: int) -> Path:
    code = _CHILD.format(root=str(ROOT), model=model, cache=str(cache), n_train=n_train, epochs=epochs, seed=seed)
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(f"training run failed:\n{r.stderr[-3000:]}")
    print(f"  run in {cache}: {r.stdout.splitlines()[0]}")
    return Path(next(l.split(" ", 1)[1] for l in r.stdout.splitlines() if l.startswith("CACHE ")))


def _arrays(path: Path) -> dict:
    import h5py
    import numpy as np

    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, np.asarray(o[()])) if isinstance(o, h5py.Dataset) else None)
    return out


def compare(a: Path, b: Path) -> dict:
    res = {}
    for wa in sorted(a.glob("*.weights.h5")):
        x, y = _arrays(wa), _arrays(b / wa.name)
        differ = [k for k in x if k not in y or x[k].shape != y[k].shape or x[k].tobytes() != y[k].tobytes()]
        res[wa.name] = {"n_arrays": len(x), "n_differ": len(differ), "differ": differ[:5]}
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="vae21")
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="repro-") as tmp:
        dirs = [_train(args.model, Path(tmp) / f"run{i}", args.n_train, args.epochs, args.seed) for i in (1, 2)]
        res = compare(*dirs)
    for name, r in res.items():
        print(f"{name}: {r['n_arrays']} arrays, {r['n_differ']} differ" + (f" ({r['differ']})" if r["n_differ"] else ""))
    same = bool(res) and all(r["n_differ"] == 0 for r in res.values())
    print(f"{args.model} (seed {args.seed}, {args.n_train} events, {args.epochs} epochs): "
          + ("bit-identical across two processes" if same else "NOT reproducible"))
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "identical": same, "files": res}, indent=2))
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
