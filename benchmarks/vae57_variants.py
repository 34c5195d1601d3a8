"""How vae57's input compression and KL weight were chosen (README, "vae57's score"): train the float vae57 (its
architecture, masked loss and seed) on the cached L1 training split under several variants and print, per signal,
the AUC of sum(mu^2) and its efficiency at FPR 1e-3, on a *validation* sample only: the SM validation split
(never the test background) and signal events generated here from their own seed (never the build's test signals).

    .venv/bin/python -m benchmarks.vae57_variants --data .cache/data/l1_57_...h5 \\
        --variants linear:beta=0.2 log1p:beta=0.2 log1p:beta=1 log1p:beta=2 log1p:beta=1,latent=4

A variant is ``linear`` or ``log1p`` (log1p of the 19 pT fields upstream of the port) with ``:key=value`` overrides
of :class:`models.vae21.VAE21Config` (beta, latent, epochs, seed) and ``qat=1`` (the quantization-aware model with
vae57's widths instead of the float one).  The rule: the best mean efficiency over the signals.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from pathlib import Path

import numpy as np

VALIDATION_SIGNAL_SEED = 777  # not a build seed: the build's test signals come from data.l1's SeedSequence([seed, 57])


def _variant(spec: str):
    kind, _, kv = spec.partition(":")
    if kind not in ("linear", "log1p"):
        raise ValueError(f"variant {spec!r}: start with 'linear' or 'log1p'")
    over = {}
    for item in filter(None, kv.split(",")):
        k, _, val = item.partition("=")
        if k not in ("beta", "latent", "epochs", "seed", "qat"):
            raise ValueError(f"variant {spec!r}: {k!r} is not one of beta, latent, epochs, seed, qat")
        over[k] = float(val) if k == "beta" else int(val)
    return kind, over


def main(argv=None) -> int:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="an L1 dataset file (data/l1.py layout, e.g. the build cache)")
    p.add_argument("--variants", nargs="+", default=["linear:beta=0.2", "log1p:beta=0.2", "log1p:beta=1"])
    p.add_argument("--n-signal", type=int, default=5000)
    p.add_argument("--fpr", type=float, default=1e-3)
    a = p.parse_args(argv)
    variants = {s: _variant(s) for s in a.variants}  # bad input fails before any training

    from analysis import working_points as wp
    from data.generator import generate
    from data.l1 import BSM_SIGNALS, l1_particles, particles_to_features, read_l1_h5
    from models import l1_common
    from models import vae21 as v
    from models.vae57 import VAE57_CONFIG

    ds = read_l1_h5(a.data)
    rng = np.random.default_rng(VALIDATION_SIGNAL_SEED)
    val_sig = {n: particles_to_features(l1_particles(generate(n, a.n_signal, rng), rng)) for n in BSM_SIGNALS}
    for spec, (kind, over) in variants.items():
        qat = bool(over.pop("qat", 0))
        mc = replace(VAE57_CONFIG, log1p=VAE57_CONFIG.log1p if kind == "log1p" else (), **over)
        tf = l1_common.log1p_transform(mc, ds.feature_names) or (lambda x: x)
        scale, xt, xv = l1_common.scaled(ds, tf)
        m = v.build_vae(mc, quantized=qat)
        v.train_vae(m, mc, xt, xv)
        enc = v.encoder_mu_model(m)

        def score(x):
            return np.sum(enc.predict(x.astype(np.float32), batch_size=65536, verbose=0)[0].astype(np.float64) ** 2, 1)

        s_bkg = score(xv)  # the SM validation split
        thr, n_above = wp.threshold_at_fpr(s_bkg, a.fpr)
        res = {n: (wp.auc(s_bkg, s := score(tf(x) / scale)), wp.efficiency(s, thr)) for n, x in val_sig.items()}
        mean_eff = float(np.mean([e for _, e in res.values()]))
        print(f"{spec}: mean eff@{a.fpr:g} {mean_eff:.4f} ({n_above} SM validation events above); " + "; ".join(
            f"{n} AUC {r[0]:.3f} eff {r[1]:.4f}" for n, r in res.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
