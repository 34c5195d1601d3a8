"""CWoLa fit statistics: goodness-of-fit p-values, the Poisson deviance, the tightest cut's pseudo-experiments,
which windows interpolate their SR background (the window-0 fix), and the null p-value summary."""

import math

import numpy as np
import pytest

from analysis import cwola as h
from analysis.cwola_stats import null_pvalue_summary, pseudo_experiments, tightest_cut_toys


def test_gof_pvalue_closed_form_and_scipy():
    from scipy.stats import chi2

    assert h.gof_pvalue(4.0, 2) == pytest.approx(math.exp(-2.0))  # chi2 with 2 dof: sf(x) = exp(-x / 2)
    assert h.gof_pvalue(30.0, 20) == pytest.approx(chi2.sf(30.0, 20))
    assert math.isnan(h.gof_pvalue(3.0, 0))


def test_poisson_deviance_known_value():
    assert h.poisson_deviance([0, 2], [1, 1]) == pytest.approx(2 * (1 + (-1 + 2 * math.log(2))))
    assert h.poisson_deviance([5, 7], [5, 7]) == 0.0


def _spectrum(total=20_000, seed=3):
    ws = h.make_windows(3449, 4800)
    edges = h.fit_edges(ws, 2968, 6900)
    shape = h._bin_integrals(np.array([0.0, 9.0, 5.0, 0.0]), edges)
    mu = shape * total / shape.sum()
    return ws, edges, np.random.default_rng(seed).poisson(mu).astype(float)


def test_fit_reports_gof_pvalues_consistent_with_its_statistics():
    from scipy.stats import chi2

    ws, edges, k = _spectrum()
    use = ~h.sr_bins(edges, ws[1])
    f = h.fit_dijet(k, edges, use)
    mu = f.expected(edges)[use]
    assert f.deviance == pytest.approx(h.poisson_deviance(k[use], mu))
    assert f.chi2_pvalue == pytest.approx(chi2.sf(np.sum((k[use] - mu) ** 2 / mu), use.sum() - 4))
    assert 0.001 < f.deviance_pvalue < 1  # a spectrum drawn from the fit function: an acceptable fit


def test_pseudo_experiments_pulls_on_a_known_spectrum():
    """Toys from a fit to a smooth spectrum with ~20k events: the fit's db describes the spread (std/db ~ 1) and
    the pulls are standard normal within the statistics of 200 toys (width error ~0.05)."""
    ws, edges, k = _spectrum()
    sr = h.sr_bins(edges, ws[1])
    f = h.fit_dijet(k, edges, ~sr)
    t = pseudo_experiments(f, k, edges, ~sr, sr, n_toys=200, seed=11)
    assert t["n_failed"] == 0
    assert abs(t["pull_mean"]) < 0.25 and 0.8 < t["pull_width"] < 1.2 and 0.8 < t["pull_width_robust"] < 1.2
    assert 0.8 < t["spread_ratio"] < 1.25
    assert 0.0 <= t["deviance_pvalue_toys"] <= 1.0
    assert pseudo_experiments(f, k, edges, ~sr, sr, 10, 3) == pseudo_experiments(f, k, edges, ~sr, sr, 10, 3)  # seeded
    row = {"counts": k.tolist(), "b_sr": 1.0}
    assert tightest_cut_toys(row, edges, sr, 5, 1)["n_toys"] == 5
    assert tightest_cut_toys({**row, "b_sr": None}, edges, sr, 5, 1) is None
    with pytest.raises(ValueError, match="at least 2 toys"):
        pseudo_experiments(f, k, edges, ~sr, sr, n_toys=1, seed=0)


def test_window0_fix_every_default_sr_background_is_interpolated():
    from flow.config import CWoLaOptions

    edges_old = h.fit_edges(h.make_windows(3200, 4800), 2968, 6900)
    old0 = h.fit_sides(edges_old, h.make_windows(3200, 4800)[0])
    assert old0["n_fit_bins_below_sr"] == 0 and old0["background_estimate"] == "extrapolated"
    o = CWoLaOptions()
    ws = h.make_windows(o.first_center, o.last_center)
    edges = h.fit_edges(ws, *o.fit_range)
    sides = [h.fit_sides(edges, w) for w in ws]
    assert all(s["background_estimate"] == "interpolated" for s in sides)
    assert sides[0]["n_fit_bins_below_sr"] == h.MIN_SIDE_BINS
    assert ws[0].sr[0] < 3500 < ws[0].sr[1]  # the W' (3.5 TeV) still sits inside the first SR


def test_null_pvalue_summary_uniform_and_not():
    rng = np.random.default_rng(0)
    p = rng.random(4000)
    s = null_pvalue_summary(np.where(p < 0.5, p, 0.5))  # the one-sided test's null distribution
    assert abs(s["fraction_excess"] - 0.5) < 0.04 and s["ks_2p0_vs_uniform"]["pvalue"] > 0.01
    assert abs(s["fraction_p0_at_most"]["0.05"] - 0.05) < 0.015
    bad = null_pvalue_summary(0.5 * rng.random(400) ** 3)  # p-values piled up near 0
    assert bad["ks_2p0_vs_uniform"]["pvalue"] < 1e-6
    with pytest.raises(ValueError, match="no local p-values"):
        null_pvalue_summary([None])


def test_hunt_rows_carry_the_goodness_of_fit():
    ws, edges, k = _spectrum(total=5000, seed=4)
    centres = np.sqrt(edges[:-1] * edges[1:])
    mjj = np.repeat(centres, k.astype(int))  # events at their bin centres: the histogram is k again
    row = h.hunt_window(mjj, None, ws[2], edges, cuts=(1.0,))[0]
    assert row["counts"] == k.astype(int).tolist()
    assert row["fit_ndf"] == int(np.count_nonzero(~h.sr_bins(edges, ws[2]))) - 4
    assert row["fit_chi2_pvalue"] == pytest.approx(h.gof_pvalue(row["fit_chi2"], row["fit_ndf"]))
    assert 0.0 < row["fit_deviance_pvalue"] <= 1.0
