"""Statistics checks of the CWoLa hunt's background fit (numpy / scipy / iminuit; no TensorFlow).

Pseudo-experiments.  The fit's background prediction in the SR, b +- db, comes from the fit covariance (HESSE) at
the best fit.  At the tightest cuts the selected spectrum has a few events per bin, where the asymptotic error
may not describe the real spread.  :func:`pseudo_experiments` checks it: toy spectra are drawn from the fitted
function (Poisson per bin), each is refitted exactly as the data were, and the SR prediction of each refit is
compared with the function the toys came from:

- ``spread_ratio`` = std(b_toy) / db_fit: 1 when the fit's db describes the prediction's real spread;
- pulls (b_toy - b_true) / db_toy: mean ~0 (no bias), width ~1 (db right on average); ``pull_width_robust`` is half
  the 16-84 % quantile range (insensitive to the rare toy whose refit returns a tiny db at a few events per bin);
- ``deviance_pvalue_toys``: the fraction of toys whose Poisson deviance is at least the data's (a goodness of fit
  that does not rely on Wilks' asymptotics at low counts).

The null-hunt summary (:func:`null_pvalue_summary`) compares the local p-values of a background-only hunt with
their expected distribution: the discovery test is one-sided (deficits give p0 = 0.5), so under the null
P(p0 <= a) = a for a < 0.5 and about half of the cells are deficits; given an excess, 2 p0 is uniform.
"""

from __future__ import annotations

import numpy as np

from .cwola import FitResult, fit_dijet, poisson_deviance

PVALUE_LEVELS = (0.001, 0.01, 0.05, 0.1, 0.25)


def pseudo_experiments(fit: FitResult, counts: np.ndarray, edges: np.ndarray, use_bins: np.ndarray,
                       sr_mask: np.ndarray, n_toys: int, seed: int) -> dict:
    """Toys from ``fit`` (the fit of ``counts`` in ``use_bins``), refitted; spread and pulls of the SR prediction."""
    if n_toys < 2:
        raise ValueError(f"pseudo-experiments need at least 2 toys, got {n_toys}")
    use, sr = np.asarray(use_bins, bool), np.asarray(sr_mask, bool)
    mu = fit.expected(edges)
    b_true, db_fit = fit.prediction(edges, sr)
    d_obs = poisson_deviance(np.asarray(counts, np.float64)[use], mu[use])
    rng = np.random.default_rng(seed)
    b, db, dev, failed = [], [], [], 0
    for _ in range(n_toys):
        k = rng.poisson(mu).astype(np.float64)
        try:
            f = fit_dijet(k, edges, use)
        except (RuntimeError, ValueError):
            failed += 1
            continue
        bt, dbt = f.prediction(edges, sr)
        b.append(bt)
        db.append(dbt)
        dev.append(f.deviance)
    b, db, dev = np.array(b), np.array(db), np.array(dev)
    out = {"n_toys": n_toys, "n_failed": failed, "seed": seed, "b_true": b_true, "db_fit": db_fit,
           "deviance_data": d_obs}
    if len(b) < 2:
        return {**out, "spread_ratio": None, "pull_mean": None, "pull_width": None, "deviance_pvalue_toys": None}
    ok = db > 0
    pulls = (b[ok] - b_true) / db[ok]
    std_b = float(np.std(b, ddof=1))
    return {**out, "std_b_toys": std_b, "mean_b_toys": float(np.mean(b)), "mean_db_toys": float(np.mean(db)),
            "spread_ratio": std_b / db_fit if db_fit > 0 else None,
            "pull_mean": float(np.mean(pulls)) if len(pulls) else None,
            "pull_width": float(np.std(pulls, ddof=1)) if len(pulls) > 1 else None,
            "pull_mean_error": float(np.std(pulls, ddof=1) / np.sqrt(len(pulls))) if len(pulls) > 1 else None,
            "pull_width_robust": float(np.diff(np.quantile(pulls, [0.1587, 0.8413]))[0] / 2) if len(pulls) > 1 else None,
            "deviance_pvalue_toys": float(np.mean(dev >= d_obs))}


def null_pvalue_summary(p0: np.ndarray) -> dict:
    """Local p-values of a background-only hunt against their null distribution (see the module docstring)."""
    from scipy.stats import kstest

    p0 = np.asarray([p for p in p0 if p is not None and np.isfinite(p)], np.float64)
    if len(p0) == 0:
        raise ValueError("no local p-values to summarise")
    exc = p0[p0 < 0.5]
    ks = kstest(2.0 * exc, "uniform") if len(exc) >= 2 else None
    return {
        "n_cells": int(len(p0)), "n_excess": int(len(exc)), "fraction_excess": float(len(exc) / len(p0)),
        "fraction_p0_at_most": {f"{a:g}": float(np.mean(p0 <= a)) for a in PVALUE_LEVELS},
        "expected_fraction": {f"{a:g}": a for a in PVALUE_LEVELS},
        "quantiles_2p0_given_excess": ({f"{q:g}": float(np.quantile(2.0 * exc, q)) for q in (0.1, 0.25, 0.5, 0.75, 0.9)}
                                       if len(exc) else None),
        "ks_2p0_vs_uniform": ({"statistic": float(ks.statistic), "pvalue": float(ks.pvalue)} if ks is not None
                              else None),
    }




def tightest_cut_toys(row: dict, edges: np.ndarray, sr_mask: np.ndarray, n_toys: int, seed: int) -> dict | None:
    """:func:`pseudo_experiments` for one hunt row (:func:`analysis.cwola.hunt_window`): its spectrum refitted
    outside the SR, toys from that fit.  None when the row's fit failed."""
    if row.get("b_sr") is None or n_toys == 0:
        return None
    counts = np.asarray(row["counts"], np.float64)
    use = ~np.asarray(sr_mask, bool)
    return pseudo_experiments(fit_dijet(counts, edges, use), counts, edges, use, sr_mask, n_toys, seed)


__all__ = ["pseudo_experiments", "tightest_cut_toys", "null_pvalue_summary", "PVALUE_LEVELS"]
