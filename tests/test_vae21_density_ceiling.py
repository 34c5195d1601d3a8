"""benchmarks/vae21_density_ceiling.py: density-based anomaly scores (Mahalanobis, Gaussian mixture) select what
lies where the SM density is low, including events inside every feature's SM range, and nothing that is drawn like
the SM; integer-valued features are dequantised; the summary counts selected events and the SM events above a
signal's highest event."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.vae21_density_ceiling import dequantise, density_scores, integer_valued, summary


def _sm(rng, n):
    x = rng.normal(0, 1, n)
    y = x + rng.normal(0, 0.05, n)  # a near-deterministic relation, as pt_mu_tot = lep_pt in most events
    k = rng.poisson(2.0, n).astype(np.float64)  # a count
    return np.column_stack([x, y, k])


def test_integer_columns_are_dequantised_and_the_rest_untouched():
    rng = np.random.default_rng(1)
    raw = _sm(rng, 2000)
    cols = integer_valued(raw)
    assert cols.tolist() == [False, False, True]
    d = dequantise(raw, cols, np.random.default_rng(2))
    assert np.array_equal(d[:, :2], raw[:, :2]) and np.all((d[:, 2] >= raw[:, 2]) & (d[:, 2] < raw[:, 2] + 1))
    assert len(np.unique(d[:, 2])) == len(d)


def test_density_scores_find_a_broken_correlation_inside_the_marginals():
    """A signal with x and y each inside the SM's range but y far from x: invisible to each feature alone (its
    largest standardised value stays below the SM's), found by Mahalanobis and the mixture; an SM-like sample is
    not selected beyond the false-positive rate."""
    rng = np.random.default_rng(3)
    train, bkg = _sm(rng, 20000), _sm(rng, 100000)
    x = rng.choice([-1, 1], 2000) * rng.uniform(0.5, 1, 2000)  # |y - x| >= 1: 20 sigma off the relation
    broken = np.column_stack([x, -x + rng.normal(0, 0.05, 2000), rng.poisson(2.0, 2000)])
    assert np.abs(broken[:, :2]).max() < np.abs(bkg[:, :2]).max()
    events = {"background": bkg, "broken": broken, "sm_like": _sm(rng, 2000)}
    scores = density_scores(train, events, None, components=(4,), seed=5)
    assert set(scores) == {"mahalanobis", "gmm4"}
    fpr = 1e-3  # 100 SM events above
    for name, s in scores.items():
        r = summary(s, fpr)
        assert r["n_sm_above"] == 100
        assert r["signals"]["broken"]["auc"] > 0.99 and r["signals"]["broken"]["selected"] > 1000, name
        assert r["signals"]["sm_like"]["selected"] <= 10 and 0.45 < r["signals"]["sm_like"]["auc"] < 0.55, name
    kept = density_scores(train, events, None, components=(), seed=5, dequantised=False)["mahalanobis"]
    assert not np.array_equal(kept["background"], scores["mahalanobis"]["background"])  # the count not dequantised
    assert summary(kept, fpr)["signals"]["broken"]["selected"] > 1000


def test_summary_counts():
    bkg = np.arange(1000, dtype=np.float64)  # FPR 0.005: 5 events above 994
    r = summary({"background": bkg, "s": np.array([995.0, 999.5, 10.0, 994.0])}, 0.005)
    assert r["n_sm_above"] == 5
    assert r["signals"]["s"]["selected"] == 2 and r["signals"]["s"]["sm_above_highest"] == 0
    r = summary({"background": bkg, "s": np.array([990.5])}, 0.005)
    assert r["signals"]["s"]["selected"] == 0 and r["signals"]["s"]["sm_above_highest"] == 9
    assert r["signals"]["s"]["auc"] == pytest.approx(0.991)
