"""The full statistical uncertainty of the emulator-vs-float-view efficiency difference at a working point.

``analysis.working_points.paired_efficiency_difference`` gives the paired (McNemar) uncertainty from the signal
events only; at a working point whose threshold rests on a handful of SM events (vae21 at ~30 SM events/day: 10
of 2.1M) the thresholds' own fluctuation dominates.  Here both samples are resampled together (Poisson bootstrap,
weight 1 per event on average): the SM events set both thresholds (emulator and float view, each on its own
score, same weights: paired), the signal events both selections (same weights: paired).  Only the top of the SM
sample can set a threshold, so only it is resampled (every event beyond it would need the weight of thousands of
events above it to matter)."""

from __future__ import annotations

import math

import numpy as np

N_BOOT = 400
SEED = 20261204


def _top(bkg_a: np.ndarray, bkg_b: np.ndarray, n_allowed: int) -> np.ndarray:
    k = min(len(bkg_a), max(1000, 100 * n_allowed))
    return np.union1d(np.argsort(-bkg_a)[:k], np.argsort(-bkg_b)[:k])


def _threshold(desc_scores: np.ndarray, desc_weights: np.ndarray, n_allowed: int) -> float:
    """The score of the first event (highest first) at which the weight above reaches beyond ``n_allowed``: with
    unit weights, ``threshold_at_fpr``'s threshold (the (n_allowed + 1)-th highest score)."""
    j = int(np.searchsorted(np.cumsum(desc_weights), n_allowed, side="right"))
    return float(desc_scores[min(j, len(desc_scores) - 1)])


def rel_diff_bootstrap(bkg_emu, bkg_view, sig_emu: dict, sig_view: dict, fpr: float, n_boot: int = N_BOOT,
                       seed: int = SEED) -> dict:
    """Per signal: the bootstrap standard deviation of (eff_emu - eff_view) / eff_view with both thresholds
    re-derived at ``fpr`` from the resampled SM events, its 16-84 % interval, and the fraction of resamples in
    which it is undefined (the float view selects none while the emulator selects some)."""
    bkg_emu, bkg_view = np.asarray(bkg_emu, np.float64), np.asarray(bkg_view, np.float64)
    if len(bkg_emu) != len(bkg_view):
        raise ValueError("emulator and float view need the same SM events")
    n_allowed = int(math.floor(fpr * len(bkg_emu)))
    if n_allowed < 1:
        raise ValueError(f"FPR {fpr:g} needs more than {len(bkg_emu)} SM events")
    idx = _top(bkg_emu, bkg_view, n_allowed)
    te, tv = bkg_emu[idx], bkg_view[idx]
    oe, ov = np.argsort(-te, kind="stable"), np.argsort(-tv, kind="stable")
    rng = np.random.default_rng(seed)
    rels = {s: np.full(n_boot, np.nan) for s in sig_emu}
    for b in range(n_boot):
        w = rng.poisson(1.0, len(idx)).astype(np.float64)
        t_e, t_v = _threshold(te[oe], w[oe], n_allowed), _threshold(tv[ov], w[ov], n_allowed)
        for s in sig_emu:
            ws = rng.poisson(1.0, len(sig_emu[s]))
            ne, nv = np.sum(ws * (sig_emu[s] > t_e)), np.sum(ws * (sig_view[s] > t_v))
            rels[s][b] = (ne - nv) / nv if nv else (0.0 if ne == 0 else np.nan)
    out = {}
    for s, r in rels.items():
        ok = r[~np.isnan(r)]
        out[s] = {"std": float(np.std(ok)) if len(ok) > 1 else None,
                  "p16": float(np.percentile(ok, 16)) if len(ok) else None,
                  "p84": float(np.percentile(ok, 84)) if len(ok) else None,
                  "fraction_undefined": float(1 - len(ok) / n_boot)}
    return {"n_boot": n_boot, "seed": seed, "n_background_above": n_allowed, "signals": out,
            "source": "Poisson bootstrap of the SM and signal test events, both thresholds re-derived (paired)"}
