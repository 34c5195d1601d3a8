"""Why a signal is (not) selected by vae21 at ~30 SM events/day: per score, its events above the threshold, and per
feature, where its events and the SM tail sit (issue 15: h0_tautau's 0 efficiency).

``python benchmarks/vae21_signal_tail.py [--signal h0_tautau] [--seed 42] [--model vae21|vae21gauss]
[--source float_view|float_twin] [--output DIR]`` runs a default ``vae21`` build
(cached data and models are reused; ``--output`` defaults to a temporary directory, the project is never
committed) through :func:`flow.run_build` and stops after its ``reference`` step.  Threshold = the score of the
(K+1)-th highest SM test event, K = 10 (the build's ~30/day on 2.1M SM test events).  Prints: for the float twin's
reco / KL / total / mu2, the float view's reco and the deployed emulator score, the number of events of every
signal above its threshold; the signal's reco quantiles and how many SM events lie above them; per feature, the
mean reconstruction NLL term (models.vae21_scores.feature_terms: w_j (x_j - x_hat_j)^2 of a Gaussian feature, the
Poisson / Bernoulli term of a discrete one) of the K highest SM events and of the 50 highest signal events, of the
float view (default) or the float twin, the signal's and the SM's medians (standardised) and the fraction of signal events outside the SM's
0.005-99.995 % range.  Minutes (one cached build up to the reference step).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

K = 10


class _Stop(Exception):
    pass


def _thr(bkg: np.ndarray) -> float:
    return float(np.sort(bkg)[-(K + 1)])


def _counts(b) -> None:
    off = b.family_state["offline"]
    sigs = [k for k in b.xs if k != "background"]
    print(f"SM test events {len(b.xs['background'])}; threshold = score of the {K + 1}th highest SM event")
    for sc in ("reco", "kl", "total", "mu2", "view_reco"):
        if sc in off["background"]:
            t = _thr(off["background"][sc])
            print(f"float twin {sc:9s} (threshold {t:.4g}): " +
                  ", ".join(f"{s} {int(np.sum(off[s][sc] > t))}/{len(off[s][sc])}" for s in sigs))
    t = _thr(b.s_emu["background"])
    print("emulator, deployed score: " + ", ".join(f"{s} {int(np.sum(b.s_emu[s] > t))}" for s in sigs))


def _features(b, signal: str, model: str = "float_view") -> None:
    from data.features import HLT21_FEATURES
    from models.vae21_scores import feature_terms

    vae = b.prepared.extras["twin" if model == "float_twin" else "float_view"]
    head = vae.get_layer("reco_scale") if "reco_scale" in [l.name for l in vae.layers] else None
    xb, xs = b.xs["background"], b.xs[signal]

    def contrib(x):  # per-feature reconstruction NLL terms (models.vae21_scores.feature_terms)
        return feature_terms(head, x.astype(np.float64), vae.predict(x, batch_size=65536, verbose=0).astype(np.float64))

    tb, ts = contrib(xb), contrib(xs)
    sb, ss = tb.sum(axis=1), ts.sum(axis=1)
    print(f"{model} reco: threshold {_thr(sb):.4g}, {int(np.sum(ss > _thr(sb)))} {signal} events above; {signal} "
          f"median {np.median(ss):.4g}, max {ss.max():.4g}; SM median {np.median(sb):.4g}")
    for q, v in (("max", ss.max()), ("99.9th pct", np.percentile(ss, 99.9)), ("99th pct", np.percentile(ss, 99))):
        k = int(np.sum(sb > v))
        print(f"{signal} reco {q} {v:.4g}: {k} SM test events above (x {k / K:.1f} the 30/day rate)")
    cb, cs = tb[np.argsort(sb)[-K:]], ts[np.argsort(ss)[-50:]]
    lo, hi = np.percentile(xb, 0.005, axis=0), np.percentile(xb, 99.995, axis=0)
    print(f"| feature | SM top-{K} NLL term | {signal} top-50 NLL term | {signal} median | SM median | "
          f"{signal} outside SM range |\n|---|---|---|---|---|---|")
    for j, name in enumerate(HLT21_FEATURES):
        out = np.mean((xs[:, j] > hi[j]) | (xs[:, j] < lo[j]))
        print(f"| {name} | {cb[:, j].mean():.3g} | {cs[:, j].mean():.3g} | {np.median(xs[:, j]):.3f} | "
              f"{np.median(xb[:, j]):.3f} | {out:.4f} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--signal", default="h0_tautau")
    ap.add_argument("--seed", type=int, default=42, help="the build's data seed")
    ap.add_argument("--model", default="vae21", choices=("vae21", "vae21gauss"))
    ap.add_argument("--source", default="float_view", choices=("float_view", "float_twin"),
                    help="the float model whose per-feature NLL terms are tabulated")
    ap.add_argument("--output", default=None, help="project directory (default: a temporary one)")
    a = ap.parse_args(argv)
    from data.generator import BSM_SIGNALS

    if a.signal not in BSM_SIGNALS:
        raise SystemExit(f"--signal must be one of {sorted(BSM_SIGNALS)}")
    from build_hls import _add_build_args, config_from_args
    from flow import run_build

    def hook(name, b):
        if name == "reference":
            _counts(b)
            _features(b, a.signal, a.source)
            raise _Stop()

    with tempfile.TemporaryDirectory() as tmp:
        p = argparse.ArgumentParser()
        _add_build_args(p)
        cfg = config_from_args(p.parse_args(["--model", a.model, "--seed", str(a.seed),
                                             "--output", a.output or str(Path(tmp) / "vae21")]))
        try:
            run_build(cfg, on_step=hook)
        except _Stop:
            return 0
    raise SystemExit("the build ended before its reference step")


if __name__ == "__main__":
    raise SystemExit(main())
