"""CWoLa hunt bookkeeping (windows, nested folds, no leakage), the dijet fit and the significance on toys."""

import numpy as np
import pytest

from analysis import cwola as h
from analysis.cwola import _bin_integrals


def test_windows_on_grid_and_adjacent():
    ws = h.make_windows(3200, 4800)
    assert len(ws) == 6 and ws[0].center == 3200
    edges = h.fit_edges(ws, 2900, 6900)
    for w in ws:
        assert w.sb_low[1] == w.sr[0] and w.sr[1] == w.sb_high[0]
        assert np.isclose(np.log(w.sr[1] / w.sr[0]), 2 * h.HALF_WIDTH)
        for e in (w.sr[0], w.sr[1]):
            assert np.min(np.abs(edges / e - 1)) < 1e-9  # SR edges are bin edges
        assert h.sr_bins(edges, w).sum() == 6
        mjj = np.array([w.sr[0] - 1, w.sr[0], w.center, w.sr[1] - 1e-6, w.sr[1], w.sb_high[1]])
        sr, sb = w.masks(mjj)
        np.testing.assert_array_equal(sr, [0, 1, 1, 1, 0, 0])
        np.testing.assert_array_equal(sb, [1, 0, 0, 0, 1, 0])
    with pytest.raises(ValueError, match="window centres"):
        h.make_windows(4000, 3000)


def test_nested_folds_no_leakage():
    from models.cwola_hunt import best_per_pair as _best_per_pair, ensemble_scores as _ensemble_scores

    n, k = 5000, 5
    folds = h.assign_folds(n, k, seed=3)
    assert np.bincount(folds).tolist() == [1000] * 5
    plan = h.nested_plan(k, n_init=2)
    assert len(plan) == 5 * 4 * 2
    inw = np.random.default_rng(1).random(n) < 0.6
    masks = h.training_masks(folds, plan, inw)
    rng = np.random.default_rng(2)
    scored_by = _best_per_pair(plan, rng.random(len(plan)))
    assert all(len(v) == k - 1 for v in scored_by.values())
    assert h.check_no_leakage(folds, plan, masks, scored_by) == 0
    for j, (t, v, _) in enumerate(plan):  # train, val and test are disjoint
        tr, va = masks[j]
        assert not np.any(tr & va) and not np.any((tr | va) & (folds == t)) and np.all(folds[va] == v)
    # every event is scored exactly once per network of its own test fold
    seen = []
    _ensemble_scores(folds, scored_by, lambda j, rows: seen.append((j, rows)) or np.zeros(len(rows)))
    count = np.zeros(n, int)
    for j, rows in seen:
        assert np.all(folds[rows] == plan[j][0])
        assert not np.any(masks[j][0][rows] | masks[j][1][rows])
        count[rows] += 1
    assert np.all(count == k - 1)
    # the check can fail: score fold 0 with a network that trained on it
    bad = dict(scored_by)
    bad[0] = [next(j for j, (t, v, _) in enumerate(plan) if t == 1 and v == 2)]
    assert h.check_no_leakage(folds, plan, masks, bad) > 0


def test_balanced_weights():
    is_sr = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 1], bool)
    use = np.array([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], bool)
    w = h.balanced_weights(is_sr, use)
    assert np.isclose(w[is_sr & use].sum(), w[~is_sr & use].sum()) and w[~use].sum() == 0
    with pytest.raises(ValueError, match="0 SR"):
        h.balanced_weights(np.zeros(10, bool), use)


def _toy(rng, n_total=400_000, params=(0.0, 9.0, 5.0, 0.2)):
    ws = h.make_windows(3200, 4800)
    edges = h.fit_edges(ws, 2900, 6900)
    mu = _bin_integrals(np.array(params), edges)
    mu *= n_total / mu.sum()
    return ws, edges, mu


def test_fit_recovers_known_spectrum():
    rng = np.random.default_rng(7)
    ws, edges, mu = _toy(rng)
    pulls = []
    for _ in range(5):
        k = rng.poisson(mu)
        m = h.sr_bins(edges, ws[3])
        fit = h.fit_dijet(k, edges, ~m)
        assert fit.valid and fit.chi2 / fit.ndf < 2.0
        b, db = fit.prediction(edges, m)
        pulls.append((b - mu[m].sum()) / db)
        assert db > 0
    assert np.all(np.abs(pulls) < 4), pulls


@pytest.mark.parametrize("n,b,sb", [(1200, 1000, 30.0), (130, 100, 5.0), (30, 20, 2.0), (1200, 1000, 0.0)])
def test_significance_known_answers(n, b, sb):
    p0, z = h.discovery_significance(n, b, sb)
    assert z == pytest.approx(h.asimov_z(n - b, b, sb), rel=1e-4)
    assert p0 == pytest.approx(__import__("scipy.stats").stats.norm.sf(z), rel=1e-6)


def test_significance_deficit_and_uncertainty_monotonic():
    assert h.discovery_significance(90, 100, 5)[1] == 0.0
    z = [h.discovery_significance(1200, 1000, s)[1] for s in (1.0, 10.0, 50.0, 100.0)]
    assert all(a > b for a, b in zip(z, z[1:]))


def test_hunt_finds_injected_bump_and_not_on_background():
    """Mean Z over 20 signal toys within 4 standard errors (per-toy Z has unit spread) of the Asimov expectation
    Z_A(s, b, sigma_b), sigma_b the fit's uncertainty on the noiseless spectrum; no background toy above 3."""
    rng = np.random.default_rng(11)
    ws, edges, mu = _toy(rng, n_total=300_000)
    c = np.sqrt(edges[:-1] * edges[1:])
    w = ws[2]
    m = h.sr_bins(edges, w)
    bump = 1500 * np.exp(-0.5 * ((c - w.center) / (0.045 * w.center)) ** 2)
    bump *= 1500 / bump.sum()
    zs_bkg, zs_sig = [], []
    for _ in range(20):
        for lam, out in ((mu, zs_bkg), (mu + bump, zs_sig)):
            k = rng.poisson(lam)
            mjj = np.repeat(c, k)  # events at bin centres: histogramming gives back k
            r = h.hunt_window(mjj, None, w, edges, cuts=(1.0,))[0]
            assert r["n_sr"] == int(k[m].sum())
            out.append(r["z"])
    _, db = h.fit_dijet(mu, edges, ~m).prediction(edges, m)
    expected = h.asimov_z(bump[m].sum(), mu[m].sum(), db)
    assert abs(np.mean(zs_sig) - expected) < 4 / np.sqrt(20), (np.mean(zs_sig), expected)
    assert max(zs_bkg) < 3.0


def test_threshold_for_efficiency():
    s = np.arange(1000.0)
    assert np.sum(s > h.threshold_for_efficiency(s, 0.01)) == 10
    assert h.threshold_for_efficiency(s, 1.0) == -np.inf
