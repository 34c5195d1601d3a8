"""rel_diff_bootstrap against a brute-force reference written from its definition (issue 22's mutation run executes
these per mutant): the resampled events are the union of each score's top k = min(N, max(1000, 100 n_allowed)) SM
events; per resample the threshold is the highest SM score t whose weight at or above t exceeds n_allowed (the
lowest score if none), signal selections are weighted counts of score > t, the relative difference is (ne - nv) / nv
(0 when both are 0, undefined when only the float view selects none), summarised by its std and 16/84 % percentiles."""

import math

import numpy as np
import pytest

from analysis.eff_bootstrap import _threshold, rel_diff_bootstrap


def _thr(scores, w, n_allowed):
    u = np.unique(scores)[::-1]
    above = (scores[None, :] >= u[:, None]) @ w  # weight at or above each distinct score
    ok = u[above > n_allowed]
    return float(ok[0]) if len(ok) else float(scores.min())


def _reference(be, bv, se, sv, fpr, n_boot, seed):
    n = len(be)
    n_allowed = math.floor(fpr * n)
    k = min(n, max(1000, 100 * n_allowed))
    top = set(np.flatnonzero(be >= np.sort(be)[-k])) | set(np.flatnonzero(bv >= np.sort(bv)[-k]))
    idx = np.array(sorted(top))
    rng = np.random.default_rng(seed)
    rel = {s: [] for s in se}
    for _ in range(n_boot):
        w = rng.poisson(1.0, len(idx)).astype(float)
        te, tv = _thr(be[idx], w, n_allowed), _thr(bv[idx], w, n_allowed)
        for s in se:
            ws = rng.poisson(1.0, len(se[s]))
            ne, nv = float(np.sum(ws * (se[s] > te))), float(np.sum(ws * (sv[s] > tv)))
            rel[s].append((ne - nv) / nv if nv > 0 else (0.0 if ne == 0 else None))
    return n_allowed, len(idx), rel


def _sample(seed=0, n=3000):
    rng = np.random.default_rng(seed)
    bv = rng.exponential(size=n)
    be = bv + rng.normal(0, 0.05, n)
    hi = np.argsort(-be)[:30]
    be[hi[8:16]] = be[hi[10]]  # ties among the SM events that set the emulator's threshold
    se = {"a": rng.exponential(size=40) + 3.0, "b": np.full(20, 9.0), "c": np.array([9.0, 9.0])}
    sv = {"a": se["a"] + rng.normal(0, 0.05, 40), "b": np.zeros(20), "c": np.array([0.0, 9.0])}
    se["a"][:5] = be[hi[10]]  # signal events exactly at a threshold value: score > t excludes them
    sv["a"][:5] = np.sort(bv)[-13]
    return be, bv, se, sv


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bootstrap_matches_the_brute_force_reference(seed):
    be, bv, se, sv = _sample()
    fpr = 12.5 / len(be)  # n_allowed = 12: k = 1200 SM events per score
    got = rel_diff_bootstrap(be, bv, se, sv, fpr, n_boot=12, seed=seed)
    n_allowed, n_idx, ref = _reference(be, bv, se, sv, fpr, 12, seed)
    assert n_allowed == 12 and n_idx > 1200
    assert set(got) == {"n_boot", "seed", "n_background_above", "signals", "source"}
    assert got["n_boot"] == 12 and got["seed"] == seed and got["n_background_above"] == 12
    assert "bootstrap" in got["source"]
    for s, r in ref.items():
        ok = np.array([x for x in r if x is not None])
        g = got["signals"][s]
        assert g["fraction_undefined"] == pytest.approx(1 - len(ok) / 12, abs=1e-12), s
        if len(ok) > 1:
            assert g["std"] == pytest.approx(np.sqrt(np.mean((ok - ok.mean()) ** 2)), rel=1e-9, abs=1e-12), s
        else:
            assert g["std"] is None, s
        if len(ok):
            assert g["p16"] == pytest.approx(np.percentile(ok, 16), rel=1e-9, abs=1e-12), s
            assert g["p84"] == pytest.approx(np.percentile(ok, 84), rel=1e-9, abs=1e-12), s
        else:
            assert g["p16"] is None and g["p84"] is None, s
    b = got["signals"]["b"]  # the float view never selects, the emulator always does (when a weight is > 0)
    assert b["std"] is None and b["p16"] is None and b["fraction_undefined"] == 1.0


def test_bootstrap_summaries_with_one_or_two_defined_resamples():
    be, bv, se, sv = _sample()
    fpr = 12.5 / len(be)
    seen = set()
    for seed in range(12):
        n_def = sum(x is not None for x in _reference(be, bv, se, sv, fpr, 2, seed)[2]["c"])
        g = rel_diff_bootstrap(be, bv, se, sv, fpr, n_boot=2, seed=seed)["signals"]["c"]
        assert (g["std"] is None) == (n_def < 2) and (g["p16"] is None) == (n_def == 0)
        seen.add(n_def)
    assert {1, 2} <= seen


def test_threshold_by_definition_and_limits():
    d = np.array([5.0, 4.0, 4.0, 3.0, 1.0])
    assert _threshold(d, np.ones(5), 1) == 4.0 and _threshold(d, np.ones(5), 3) == 3.0
    assert _threshold(d, np.array([2.0, 0, 0, 1, 1]), 1) == 5.0  # the top event's weight 2 exceeds 1 by itself
    assert _threshold(d, np.array([1.0, 0, 0, 0, 0]), 1) == 1.0  # no weight beyond n_allowed: the lowest score
    assert _threshold(d, np.zeros(5), 2) == 1.0
    be, bv, _, _ = _sample(n=1500)
    r = rel_diff_bootstrap(be, bv, {"s": np.ones(3)}, {"s": np.ones(3)}, 1.0 / 1500, n_boot=3)
    assert r["n_background_above"] == 1 and r["seed"] == 20261204 and r["n_boot"] == 3  # one SM event allowed
    # n_allowed = 1: k = max(1000, 100) = 1000 SM events per score, against the reference
    se, sv = {"s": np.linspace(5.0, 9.0, 60)}, {"s": np.linspace(5.0, 9.0, 60) + 0.01}
    got = rel_diff_bootstrap(be, bv, se, sv, 1.5 / 1500, n_boot=4, seed=5)["signals"]["s"]
    n_allowed, n_idx, ref = _reference(be, bv, se, sv, 1.5 / 1500, 4, 5)
    ok = np.array([x for x in ref["s"] if x is not None])
    assert n_allowed == 1 and 1000 < n_idx < 1500 and len(ok) == 4 and np.std(ok) > 0
    assert got["std"] == pytest.approx(np.std(ok), rel=1e-9, abs=1e-12)
    assert got["p16"] == pytest.approx(np.percentile(ok, 16), rel=1e-9, abs=1e-12)
    with pytest.raises(ValueError, match="^emulator and float view need the same SM events$"):
        rel_diff_bootstrap(be, bv[:-1], {}, {}, 0.01)
