#!/usr/bin/env python
"""Why the emulator's signal efficiency at the L1 1 kHz working point differs from the float view's (issue 16,
item 8): the difference split into weight rounding and fixed-point arithmetic, with the threshold statistics.

    python benchmarks/l1_efficiency_decomposition.py --model ae57 [--seed 42]

Uses the build's own data and prepare steps (cached data and trained model when present) and scores every
SM test event and signal event with three models at FPR 2.5e-5 (1 kHz of 40 MHz), each at its own threshold:
- float view: the QAT model's float (shadow) weights, every quantizer off (what the build's check compares to);
- quantized-weight float model: the same with the *quantized* kernels and biases, activations unquantized;
- emulator: the bit-exact fixed-point model (the firmware).
Also printed: SM events above each threshold, SM events tied with the emulator's threshold (score
quantization), and the binomial uncertainty of a signal efficiency.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FPR_1KHZ = 2.5e-5


def _quantized_weight_model(prepared, build_fn):
    from models.build_util import copy_weights_by_name

    mc, qat = prepared.extras["model_config"], prepared.extras["qat"]
    fq = copy_weights_by_name(build_fn(mc, quantized=False), qat)
    for layer in qat.layers:
        if hasattr(layer, "qkernel"):
            t = fq.get_layer(layer.name)
            t.kernel.assign(np.asarray(layer.qkernel, np.float32))
            if getattr(layer, "qbias", None) is not None and getattr(t, "bias", None) is not None:
                t.bias.assign(np.asarray(layer.qbias, np.float32))
    return fq


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="ae57", choices=["ae57"])
    p.add_argument("--seed", type=int, default=42, help="data seed (as build_hls.py --seed)")
    p.add_argument("--cache-dir", type=Path, default=ROOT / ".cache")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)

    import flow.steps  # noqa: F401
    from analysis.working_points import threshold_at_fpr
    from emulation.fast import FastEmulator
    from flow.build import new_build, run_flow
    from flow.config import BuildConfig
    from models.ae57 import build_ae, masked_sse_np

    b = new_build(BuildConfig(model=args.model, seed=args.seed, cache_dir=args.cache_dir, companion=False))
    run_flow(b, ["data", "prepare"])
    samples = {"background": b.test_ds.x_test_bkg, **b.test_ds.x_test_signal}
    xs = {k: ((v - b.mean) / b.std).astype(np.float32) for k, v in samples.items()}
    fq = _quantized_weight_model(b.prepared, build_ae)
    emu = FastEmulator(b.deploy)
    s_view, _, _ = b.prepared.reference_scores(xs)
    scores = {"float_view": s_view,
              "quantized_weights": {k: masked_sse_np(v, fq.predict(v, batch_size=65536, verbose=0)) for k, v in xs.items()},
              "emulator": {k: emu.predict(v)[:, 0] for k, v in xs.items()}}
    n_sm = len(xs["background"])
    out = {"model": args.model, "seed": args.seed, "n_sm": n_sm, "fpr": FPR_1KHZ, "models": {},
           "training": b.prepared.description.get("training", {}).get("cache_dir")}
    for name, s in scores.items():
        t, n_above = threshold_at_fpr(s["background"], FPR_1KHZ)
        effs = {k: float(np.mean(v > t)) for k, v in s.items() if k != "background"}
        out["models"][name] = {"threshold": t, "n_sm_above": n_above,
                               "n_sm_tied_at_threshold": int(np.count_nonzero(s["background"] == t)), "eff": effs}
    m = out["models"]
    print(f"{args.model}, data seed {args.seed}: {n_sm} SM test events, FPR {FPR_1KHZ:g} (1 kHz)")
    for name, d in m.items():
        print(f"  {name:18s} threshold {d['threshold']:.6g}, SM above {d['n_sm_above']}, "
              f"SM tied at the threshold {d['n_sm_tied_at_threshold']}")
    print(f"  {'signal':12s} {'eff view':>9s} {'eff qW':>9s} {'eff emu':>9s} {'emu/view-1':>11s} {'qW/view-1':>10s} "
          f"{'emu/qW-1':>9s} {'binom. rel':>10s}")
    for sig in m["emulator"]["eff"]:
        ev, eq, ee = (m[k]["eff"][sig] for k in ("float_view", "quantized_weights", "emulator"))
        n_sig = len(xs[sig])
        rel = (lambda a, c: a / c - 1 if c > 0 else float("nan"))
        err = np.sqrt(ev * (1 - ev) / n_sig) / ev if ev > 0 else float("nan")
        print(f"  {sig:12s} {ev:9.4f} {eq:9.4f} {ee:9.4f} {rel(ee, ev):+11.1%} {rel(eq, ev):+10.1%} {rel(ee, eq):+9.1%} "
              f"{err:10.1%}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
