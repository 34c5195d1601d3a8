"""Which on-chip score vae57 deploys (issue 15, section 2; README "vae57's score"): train the QAT vae57 with its
decoder quantized (``decoder_on_chip``) under a few variants and print, per signal, the AUC and the efficiency at
1 kHz (FPR 2.5e-5) of every candidate, on a *validation* sample only (SM and signal events from their own stream,
:func:`data.l1.l1_validation_events`; never the build's test sample), beside ae57's on the same events:

* ``mu2`` and ``reco`` (masked squared error, decoder on chip): the deployable models through the fast bit-exact
  emulator ("chip") and the float view (the QAT weights, quantizers off);
* ``kl`` (with the log-variance) and ``total`` (reco / 2 + beta kl, mu in place of the sample): offline only,
  float view and the QAT Keras model (its log-variance head is float);
* the analytic HLS estimate (hls/estimate.py, Latency strategy, 200 MHz) of each deployable candidate.

    .venv/bin/python -m benchmarks.vae57_scores --data .cache/data/l1_57_...seed42...h5 --variants seed=13 seed=14

A variant is ``key=value[,key=value]`` overriding :data:`models.vae57.VAE57_CONFIG` (seed, beta, latent, epochs,
free_bits) and ``mu=BITS`` (the mu quantizer's bits, integer bits kept); inputs (the default: log1p of the objects'
pT, MET's linear, ae57's port / ReLU / reconstruction widths, MET's term weighted 1/8 in ``reco``): ``linear=1``
(no log1p at all, unweighted), ``linear_met=1`` (the default's inputs, unweighted), ``log1p_met=1`` (the previous
default: log1p of MET's pT too, port quantized_bits(9, 2), ReLUs (10, 4), reconstruction (10, 3), unweighted),
``met_w=W`` (MET's weight in ``reco``, a power of two in (0, 1]; after the others).  Widths (QKeras bits, each
place's integer bits kept; after the input keys): ``w=BITS`` (kernels and biases), ``act=BITS`` (the ReLUs),
``out=BITS`` (the on-chip reconstruction).

Every variant also prints, per signal, the deployed ``reco`` chip against its float view at the working point, each
at its own threshold, paired: the build's efficiency check, here on validation events
(:func:`benchmarks.hgq_beta_scan.validation_efficiency_check`).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from models.vae21_select import VALIDATION_STREAM

KEYS = {"seed": int, "beta": float, "latent": int, "epochs": int, "mu": int, "free_bits": float, "linear": int,
        "linear_met": int, "log1p_met": int, "met_w": float, "w": int, "act": int, "out": int}
WIDTH_KEYS = {"w": ("weight", "bias"), "act": ("activation",), "out": ("output",)}
FPR_1KHZ = 2.5e-5


def parse_variant(spec: str) -> dict:
    over = {}
    for item in filter(None, spec.split(",")):
        k, _, val = item.partition("=")
        if k not in KEYS:
            raise ValueError(f"variant {spec!r}: {k!r} is not one of {', '.join(KEYS)}")
        over[k] = KEYS[k](val)
    return over


def variant_config(over: dict):
    from models.l1_common import L1_LOG1P_PT, L1_LOG_INPUT
    from models.vae57 import VAE57_CONFIG

    over = dict(over)
    mc = replace(VAE57_CONFIG, decoder_on_chip=True)
    places = {p: (b, i) for p, b, i in mc.quant.pairs}
    if "mu" in over:
        places["mu"] = (over.pop("mu"), places["mu"][1])
    linear, linear_met, log1p_met = over.pop("linear", 0), over.pop("linear_met", 0), over.pop("log1p_met", 0)
    if linear:  # every pT linear (ae57's widths, the default's), the score unweighted
        mc = replace(mc, log1p=(), score_weights=())
    elif linear_met:  # the default's inputs and widths, the score unweighted unless met_w says
        mc = replace(mc, score_weights=())
    elif log1p_met:  # the previous default: log1p of MET's pT too, its narrow port / ReLU / reconstruction widths
        places.update(input=L1_LOG_INPUT, activation=(10, 4), output=(10, 3))
        mc = replace(mc, log1p=L1_LOG1P_PT, score_weights=())
    if "met_w" in over:
        w = over.pop("met_w")
        mc = replace(mc, score_weights=() if w == 1 else (("MET_pt", w),))
    for key, where in WIDTH_KEYS.items():
        if key in over:
            bits = over.pop(key)
            places.update({p: (bits, places[p][1]) for p in where})
    from quantize.spec import QuantSpec

    mc = replace(mc, quant=QuantSpec(precision_places=mc.quant.precision_places, **places))
    return replace(mc, **over)


def rows(scores: dict[str, np.ndarray], fpr: float) -> dict:
    """Per signal: (AUC, efficiency at ``fpr``), and the number of SM events above the threshold."""
    from analysis import working_points as wp

    thr, n_above = wp.threshold_at_fpr(scores["background"], fpr)
    return {"n_above": n_above, **{s: (wp.auc(scores["background"], v), wp.efficiency(v, thr))
                                   for s, v in scores.items() if s != "background"}}


def show(label: str, r: dict) -> None:
    sig = [s for s in r if s != "n_above"]
    print(f"  {label:34s} " + " | ".join(f"{s} {r[s][0]:.3f} {r[s][1]:.2e}" for s in sig)
          + f" | mean eff {np.mean([r[s][1] for s in sig]):.2e} ({r['n_above']} SM above)", flush=True)


def estimate_line(model) -> str:
    from hls.config import HLSConfig
    from hls.estimate import describe_model, estimate

    e = estimate(describe_model(model), HLSConfig()).to_dict()
    return f"{e['ns']:.0f} ns, {e['LUT']} LUT, {e['DSP']} DSP"


def ae57_scores(ds, xs_raw: dict, cache_dir: Path, seed: int | None = None) -> dict:
    """ae57's on-chip score (fast emulator) on the validation events (its cached models when the key matches);
    ``seed``: another training seed than the default's."""
    from dataclasses import replace

    from emulation.fast import FastEmulator
    from models import ae57, l1_common
    from models.training import fit, train_pair

    mc = ae57.AE57Config() if seed is None else replace(ae57.AE57Config(), seed=seed)
    scale, xt, xv = l1_common.scaled(ds)
    cfg = SimpleNamespace(cache_dir=cache_dir, retrain=False)
    qae, _, _ = train_pair(cfg, "ae57", mc.to_dict(), ds, lambda q: ae57.build_ae(mc, q),
                           lambda m, q: fit(m, xt, xv, ae57.masked_sse_loss, mc), {})
    emu = FastEmulator(ae57.deployable_model(qae, mc))
    return {k: emu.predict((v / scale).astype(np.float32))[:, 0] for k, v in xs_raw.items()}


def study(ds, events: dict, over: dict, fpr: float, cache_dir: Path) -> None:
    from benchmarks.hgq_beta_scan import efficiency_check_line, validation_efficiency_check
    from emulation.fast import FastEmulator
    from models import l1_common
    from models import vae21 as v
    from models.training import train_pair
    from models.vae21_scores import float_scores

    mc = variant_config(over)
    tf = l1_common.log1p_transform(mc, ds.feature_names) or (lambda x: x)
    scale, xt, xv = l1_common.scaled(ds, tf)
    cfg = SimpleNamespace(cache_dir=cache_dir, retrain=False)
    qvae, twin, info = train_pair(cfg, "vae57", mc.to_dict(), ds, lambda q: v.build_vae(mc, q),
                                  lambda m, q: v.train_vae(m, mc, xt, xv), {})
    fview = v.float_view(qvae, mc)
    xs = {k: (tf(x) / scale).astype(np.float32) for k, x in events.items()}
    masked = v.masked_reco(mc, ds.feature_names)
    chip = {name: v.deployable_model(qvae, name, masked=masked) for name in ("mu2", "reco")}
    print(f"variant {over} (QAT {info['qat'].get('epochs_run')} epochs, from cache {info['from_cache']}):", flush=True)
    for name, model in chip.items():
        emu = FastEmulator(model)
        s = {k: emu.predict(x)[:, 0] for k, x in xs.items()}
        zero = float(np.mean(s["background"] == 0))
        show(f"{name} chip (emulator)", rows(s, fpr))
        print(f"    SM at score 0: {zero:.2%}; HLS estimate: {estimate_line(model)}", flush=True)
        if name == "reco":
            chip_reco = s
    for src, m in (("float view", fview), ("QAT Keras", qvae), ("float twin", twin)):
        f = {k: float_scores(m, x, masked=masked, beta=mc.beta) for k, x in xs.items()}
        for name in ("mu2", "reco", "kl", "total"):
            show(f"{name} {src}", rows({k: d[name] for k, d in f.items()}, fpr))
        if src == "float view":
            ec, _ = validation_efficiency_check(chip_reco, {k: d["reco"] for k, d in f.items()}, fpr)
            print("  reco chip vs float view: " + efficiency_check_line(ec), flush=True)


def main(argv=None) -> int:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="an L1 dataset file (data/l1.py layout, e.g. the build cache)")
    p.add_argument("--variants", nargs="+", default=["seed=13"])
    p.add_argument("--n-sm", type=int, default=800_000, help="SM validation events (20 above FPR 2.5e-5 at 800k)")
    p.add_argument("--n-signal", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=42, help="validation stream seed (the build's --seed)")
    p.add_argument("--fpr", type=float, default=FPR_1KHZ)
    p.add_argument("--cache-dir", type=Path, default=Path(".cache"))
    a = p.parse_args(argv)
    variants = [parse_variant(s) for s in a.variants]  # bad input fails before any training
    if not a.data.is_file():
        raise SystemExit(f"--data {a.data}: no such file")

    from data.l1 import l1_validation_events, read_l1_h5

    ds = read_l1_h5(a.data)
    events = l1_validation_events(a.seed, a.n_sm, a.n_signal, VALIDATION_STREAM)
    print(f"validation: {a.n_sm} SM, {a.n_signal} per signal, stream [{a.seed}, {VALIDATION_STREAM}]; "
          f"columns: signal AUC eff@FPR {a.fpr:g}", flush=True)
    show("ae57 chip (emulator)", rows(ae57_scores(ds, events, a.cache_dir), a.fpr))
    for over in variants:
        study(ds, events, over, a.fpr, a.cache_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
