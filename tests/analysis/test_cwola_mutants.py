"""Independent known answers for small cwola.py helpers (kills mutation-test survivors, issue 22).

References: scipy quad for the bin integrals, scipy's chi2 survival function and hand-computed Poisson
deviances, hand-counted balanced weights, the known-background Asimov Z of Cowan et al. evaluated by hand.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import chi2

from analysis.cwola import _bin_integrals, asimov_z, balanced_weights, gof_pvalue, poisson_deviance
from data.dijet import dijet_function


def test_balanced_weights_hand_counted():
    is_sr = np.array([True, True, False, False, False, True])
    use = np.array([True, True, True, True, True, False])
    w = balanced_weights(is_sr, use)
    # 5 used events: 2 SR share 0.5*5, 3 SB share 0.5*5; the unused event gets 0
    np.testing.assert_allclose(w, [1.25, 1.25, 5 / 6, 5 / 6, 5 / 6, 0.0])
    # one SB event is enough (not an empty window)
    w1 = balanced_weights(np.array([True, False]), np.array([True, True]))
    np.testing.assert_allclose(w1, [1.0, 1.0])
    with pytest.raises(ValueError):
        balanced_weights(np.array([True, True]), np.array([True, True]))


def test_bin_integrals_match_quad():
    params = np.array([math.log(3.0), 8.0, 4.0, 0.1])
    edges = np.array([2600.0, 2900.0, 3300.0, 3800.0])
    got = _bin_integrals(params, edges)
    ref = [3.0 * quad(lambda m: dijet_function(m, 1.0, *params[1:]), a, b)[0] for a, b in zip(edges[:-1], edges[1:])]
    assert got.shape == (3,)
    np.testing.assert_allclose(got, ref, rtol=1e-3)


def test_poisson_deviance_hand_values():
    # single bin k = 4, mu = 2: 2 * (2 - 4 + 4 ln 2)
    assert poisson_deviance([4], [2]) == pytest.approx(2 * (2 - 4 + 4 * math.log(2)), rel=1e-12)
    # empty bin contributes 2 mu
    assert poisson_deviance([0, 3], [1.5, 3]) == pytest.approx(3.0, rel=1e-12)
    assert poisson_deviance([5, 7], [5, 7]) == pytest.approx(0.0, abs=1e-12)


def test_gof_pvalue_vs_chi2():
    assert gof_pvalue(3.0, 2) == pytest.approx(math.exp(-1.5), rel=1e-12)  # chi2 with 2 dof: exp(-x/2)
    assert gof_pvalue(10.0, 5) == pytest.approx(chi2.sf(10.0, 5), rel=1e-12)
    assert gof_pvalue(1.0, 1) == pytest.approx(0.31731050786291415, rel=1e-9)
    assert math.isnan(gof_pvalue(1.0, 0))
    assert math.isnan(gof_pvalue(float("nan"), 3))
    assert not math.isnan(gof_pvalue(1.0, 1))


def test_asimov_z_hand_values():
    # s = 10, b = 100, known b: sqrt(2 (110 ln 1.1 - 10))
    assert asimov_z(10, 100) == pytest.approx(math.sqrt(2 * (110 * math.log(1.1) - 10)), rel=1e-12)
    # large b limit tends to s / sqrt(b)
    assert asimov_z(10, 1e6) == pytest.approx(0.01, rel=1e-3)
    # an uncertainty on b lowers Z; tiny uncertainty recovers the known-b value
    assert asimov_z(10, 100, 5.0) < asimov_z(10, 100)
    assert asimov_z(10, 100, 1e-3) == pytest.approx(asimov_z(10, 100), rel=1e-4)


# ---- the fit, its covariance and the SR prediction (references: closed forms, an analytic Jacobian, Asimov data) --
from analysis import cwola as h  # noqa: E402
from data.dijet import SQRT_S  # noqa: E402


def _grid():
    ws = h.make_windows(3200, 4800)
    return ws, h.fit_edges(ws, 2900, 6900)


def _quad_bins(g, edges):
    return np.array([quad(g, a, b, epsrel=1e-12)[0] for a, b in zip(edges[:-1], edges[1:])])


def _analytic_jacobian(params, edges, n_free):
    """d(bin integral)/d(ln p0, p1, p2, p3) by quad of the analytic derivatives of p0 (1-x)^p1 x^-(p2 + p3 ln x)."""
    p0 = math.exp(params[0])
    f = lambda m: p0 * dijet_function(m, 1.0, *params[1:])  # noqa: E731
    lx = lambda m: math.log(m / SQRT_S)  # noqa: E731
    ders = [f, lambda m: math.log(1 - m / SQRT_S) * f(m), lambda m: -lx(m) * f(m), lambda m: -lx(m) ** 2 * f(m)]
    return np.stack([_quad_bins(d, edges) for d in ders[:n_free]], axis=1)


@pytest.mark.parametrize("n_free", [1, 3, 4])
def test_fisher_covariance_against_analytic_fisher_information(n_free):
    ws, edges = _grid()
    params = np.array([math.log(2e5 / 27.0), 9.0, 5.0, 0.2 if n_free == 4 else 0.0])
    use = ~h.sr_bins(edges, ws[3])
    cov = h.fisher_covariance(params, edges, use, n_free)
    assert cov.shape == (4, 4)
    mu = 2e5 / 27.0 * _quad_bins(lambda m: dijet_function(m, 1.0, *params[1:]), edges)[use]
    jac = _analytic_jacobian(params, edges, n_free)[use]
    ref = np.linalg.inv(jac.T @ (jac / mu[:, None]))
    np.testing.assert_allclose(cov[:n_free, :n_free], ref, rtol=2e-4, atol=0)
    assert np.all(cov[n_free:, :] == 0) and np.all(cov[:, n_free:] == 0)
    if n_free == 1:  # only the normalisation free: var(ln p0) = 1 / (expected events in the fitted bins)
        assert cov[0, 0] == pytest.approx(1.0 / mu.sum(), rel=1e-7)


def test_prediction_propagates_a_known_covariance():
    ws, edges = _grid()
    params = np.array([math.log(1e4), 9.0, 5.0, 0.2])
    sr = h.sr_bins(edges, ws[3])
    f = lambda m: 1e4 * dijet_function(m, 1.0, *params[1:])  # noqa: E731
    b_ref = _quad_bins(f, edges)[sr].sum()
    # ln p0 with sigma 0.1: db = b * 0.1 exactly (d b / d ln p0 = b)
    fit = h.FitResult(params, np.diag([0.01, 0.0, 0.0, 0.0]), True, 0.0, 0.0, 1)
    b, db = fit.prediction(edges, sr)
    assert b == pytest.approx(b_ref, rel=1e-6) and db == pytest.approx(0.1 * b_ref, rel=1e-6)
    # p1 with sigma 0.05: db = |integral over the SR of ln(1 - x) f| * 0.05
    fit = h.FitResult(params, np.diag([0.0, 0.0025, 0.0, 0.0]), True, 0.0, 0.0, 1)
    d1 = _quad_bins(lambda m: math.log(1 - m / SQRT_S) * f(m), edges)[sr].sum()
    assert fit.prediction(edges, sr)[1] == pytest.approx(abs(d1) * 0.05, rel=1e-5)
    # p3 with sigma 0.01 (the last parameter takes part too): d b / d p3 = integral of -ln(x)^2 f
    fit = h.FitResult(params, np.diag([0.0, 0.0, 0.0, 1e-4]), True, 0.0, 0.0, 1)
    d3 = _quad_bins(lambda m: -math.log(m / SQRT_S) ** 2 * f(m), edges)[sr].sum()
    assert fit.prediction(edges, sr)[1] == pytest.approx(abs(d3) * 0.01, rel=1e-5)
    # a covariance with a negative direction (numerical noise) gives db = 0, not nan
    fit = h.FitResult(params, np.diag([-0.01, 0.0, 0.0, 0.0]), True, 0.0, 0.0, 1)
    assert fit.prediction(edges, sr)[1] == 0.0


# truths away from fit_dijet's starting points (a start at the truth would hide a p3 left free)
@pytest.mark.parametrize("n_params,truth", [(4, (9.5, 5.2, 0.1)), (3, (8.0, 5.5, 0.0))])
def test_fit_on_asimov_data_returns_the_truth(n_params, truth):
    """Counts = the expected spectrum of known parameters: the maximum-likelihood fit reproduces it (SR prediction,
    zero chi2 and deviance), its nll is sum(mu - k ln mu) at the truth, ndf = fitted bins - free parameters."""
    ws, edges = _grid()
    sr = h.sr_bins(edges, ws[3])
    p = np.array([0.0, *truth])
    mu = 2e5 * _quad_bins(lambda m: dijet_function(m, 1.0, *truth), edges)
    mu /= mu.sum()
    mu *= 2e5
    fit = h.fit_dijet(mu, edges, ~sr, n_params=n_params)
    assert fit.valid and fit.ndf == int(np.count_nonzero(~sr)) - n_params
    assert fit.params.shape == (4,) and (n_params == 4 or fit.params[3] == 0.0)
    b, db = fit.prediction(edges, sr)
    assert b == pytest.approx(mu[sr].sum(), rel=2e-4)
    k = mu[~sr]
    assert fit.nll == pytest.approx(float(np.sum(k - k * np.log(k))), abs=1e-2)
    assert 0 <= fit.chi2 < 1e-2 and 0 <= fit.deviance < 1e-2
    # the fit's covariance is the expected Fisher information's inverse at the fitted point (analytic Jacobian)
    jac = _analytic_jacobian(fit.params, edges, n_params)[~sr]
    mu_fit = math.exp(fit.params[0]) * _quad_bins(lambda m: dijet_function(m, 1.0, *fit.params[1:]), edges)[~sr]
    np.testing.assert_allclose(fit.cov[:n_params, :n_params], np.linalg.inv(jac.T @ (jac / mu_fit[:, None])),
                               rtol=1e-3)
    assert np.all(fit.cov[n_params:, :] == 0)
    del p, db


def test_fit_statistics_on_poisson_data_recomputed_by_hand():
    """On a Poisson draw: chi2 = sum (k - mu)^2 / mu, deviance = 2 sum(mu - k + k ln(k / mu)) and
    nll = sum(mu - k ln mu) at the fitted parameters, written out here; the fit is a minimum of that nll."""
    ws, edges = _grid()
    sr = h.sr_bins(edges, ws[2])
    use = ~sr
    mu_true = _quad_bins(lambda m: dijet_function(m, 1.0, 9.0, 5.0, 0.2), edges)
    mu_true *= 3e3 / mu_true.sum()
    k_all = np.random.default_rng(5).poisson(mu_true).astype(float)
    fit = h.fit_dijet(k_all, edges, use)
    k = k_all[use]
    lin = lambda prm: math.exp(prm[0]) * _quad_bins(lambda m: dijet_function(m, 1.0, *prm[1:]), edges)[use]  # noqa: E731
    mu = lin(fit.params)
    assert fit.chi2 == pytest.approx(float(np.sum((k - mu) ** 2 / mu)), rel=1e-5)  # quad vs 3-point Simpson
    klog = np.array([ki * math.log(ki / m) if ki > 0 else 0.0 for ki, m in zip(k, mu)])
    assert fit.deviance == pytest.approx(float(2 * np.sum(mu - k + klog)), rel=1e-5)
    nll = lambda prm: float(np.sum(lin(prm) - k * np.log(lin(prm))))  # noqa: E731
    assert fit.nll == pytest.approx(nll(fit.params), abs=1e-2)
    for i in range(4):
        for step in (-1e-2, 1e-2):
            q = fit.params.copy()
            q[i] += step * max(1.0, abs(q[i])) * 0.1
            assert nll(q) > fit.nll - 1e-3
    assert fit.ndf == int(use.sum()) - 4 and fit.valid
    assert fit.chi2_pvalue == pytest.approx(chi2.sf(fit.chi2, fit.ndf), rel=1e-9)
    assert fit.deviance_pvalue == pytest.approx(chi2.sf(fit.deviance, fit.ndf), rel=1e-9)
    with pytest.raises(ValueError, match="^no events in the fit range"):
        h.fit_dijet(np.zeros_like(k_all), edges, use)
    # a 0/1 integer mask selects bins like the boolean one
    f01 = h.fit_dijet(k_all, edges, use.astype(int).tolist())
    assert f01.ndf == fit.ndf and f01.chi2 == pytest.approx(fit.chi2, rel=1e-9)


def test_threshold_for_efficiency_counts_by_hand():
    s = np.random.default_rng(3).permutation(1000).astype(float)  # 0..999 shuffled, no ties
    for eff, kept in ((0.01, 10), (0.5, 500), (0.0123, 12), (0.0, 0), (0.0004, 0), (0.9985, 998), (0.9996, 1000),
                      (1.0, 1000), (2.0, 1000)):
        assert int(np.sum(s > h.threshold_for_efficiency(s, eff))) == kept, eff
    assert h.threshold_for_efficiency(s, 0.01) == 989.0  # the 11th highest score: 10 lie above it
    assert h.threshold_for_efficiency(s, 1.0) == -np.inf
    assert h.threshold_for_efficiency(np.arange(10), 0.3) == 6.0  # integer scores
    with pytest.raises(ValueError, match=">= 0"):
        h.threshold_for_efficiency(s, -0.1)


def test_hunt_window_rows_recomputed_from_their_parts():
    """Events at bin centres (histogramming returns the drawn counts), scores independent of mjj: each row's
    selection, counts, fit and significance equal those computed here from the selected events."""
    from scipy.stats import norm

    ws, edges = _grid()
    w = ws[3]
    sr = h.sr_bins(edges, w)
    c = np.sqrt(edges[:-1] * edges[1:])
    mu = _quad_bins(lambda m: dijet_function(m, 1.0, 9.0, 5.0, 0.2), edges)
    mu *= 2e4 / mu.sum()
    rng = np.random.default_rng(9)
    k = rng.poisson(mu + 150.0 * sr / sr.sum())
    mjj = np.repeat(c, k)
    scores = rng.random(len(mjj))
    rows = h.hunt_window(mjj, scores, w, edges, cuts=(1.0, 0.5, 0.0))
    assert [r["efficiency"] for r in rows] == [1.0, 0.5, 0.0]
    keys = {"efficiency", "threshold", "n_selected", "counts", "n_sr", "b_sr", "db_sr", "p0", "z", "excess",
            "fit_chi2", "fit_ndf", "fit_params", "fit_valid", "fit_chi2_pvalue", "fit_deviance",
            "fit_deviance_pvalue"}
    for r, sel in ((rows[0], np.ones(len(mjj), bool)), (rows[1], scores > rows[1]["threshold"])):
        assert set(r) == keys
        counts = np.histogram(mjj[sel], bins=edges)[0]
        assert r["n_selected"] == int(sel.sum()) and r["counts"] == counts.tolist()
        fit = h.fit_dijet(counts, edges, ~sr)
        b, db = fit.prediction(edges, sr)
        n = int(counts[sr].sum())
        assert r["n_sr"] == n and r["b_sr"] == pytest.approx(b, rel=1e-9) and r["db_sr"] == pytest.approx(db, rel=1e-9)
        assert r["excess"] == pytest.approx(n - b, rel=1e-9) and n > b
        assert r["fit_ndf"] == int(np.count_nonzero(~sr)) - 4 and r["fit_valid"] is True
        assert r["fit_params"] == pytest.approx(fit.params.tolist(), rel=1e-9)
        assert r["fit_chi2"] == pytest.approx(fit.chi2, rel=1e-9)
        assert r["fit_deviance"] == pytest.approx(fit.deviance, rel=1e-9)
        assert r["fit_chi2_pvalue"] == pytest.approx(chi2.sf(r["fit_chi2"], r["fit_ndf"]), rel=1e-9)
        assert r["fit_deviance_pvalue"] == pytest.approx(chi2.sf(r["fit_deviance"], r["fit_ndf"]), rel=1e-9)
        p0, z = h.discovery_significance(n, b, db)
        assert r["p0"] == pytest.approx(p0, rel=1e-6) and r["z"] == pytest.approx(z, rel=1e-6)
        assert r["z"] == pytest.approx(norm.isf(r["p0"]), rel=1e-6) and r["z"] > 0.5
    assert rows[0]["threshold"] is None and rows[0]["counts"] == k.tolist()
    assert rows[1]["n_selected"] == round(0.5 * len(mjj))
    # a cut keeping no event: the row says why and carries no prediction
    r = rows[2]
    assert r["n_selected"] == 0 and r["n_sr"] == 0 and "no events" in r["error"]
    assert r["b_sr"] is None and r["db_sr"] is None and r["p0"] is None and r["z"] is None
    # no scores: every cut is the whole spectrum
    r = h.hunt_window(mjj, None, w, edges, cuts=(0.5,))[0]
    assert r["threshold"] is None and r["n_selected"] == len(mjj) and r["efficiency"] == 0.5


def test_discovery_significance_edges_by_hand():
    """No excess: p0 = 1/2 and Z = 0 exactly; a small excess with pyhf gives 0 < Z < 1 (on/off likelihood ratio
    by hand); a huge excess on a known background keeps the closed-form (finite) Z; b <= 0 is refused."""
    from scipy.stats import norm

    assert h.discovery_significance(100, 100, 5.0) == (0.5, 0.0)
    assert h.discovery_significance(100, 100, 0.0) == (0.5, 0.0)
    assert h.discovery_significance(80, 100, 5.0) == (0.5, 0.0)
    # n = 105, b = 100 +- 5: tau = b / db^2 = 4, m = 400
    n, b, tau = 105.0, 100.0, 4.0
    bh, bhh = b, (n + tau * b) / (1 + tau)
    q0 = 2 * ((n * math.log(n) - n + tau * b * math.log(tau * b) - tau * b)
              - (n * math.log(bhh) - bhh + tau * b * math.log(tau * bhh) - tau * bhh))
    p0, z = h.discovery_significance(n, b, 5.0)
    assert z == pytest.approx(math.sqrt(q0), rel=2e-4) and 0 < z < 1 and p0 == pytest.approx(norm.sf(z), rel=1e-9)
    del bh
    # known background: Z = sqrt(2 (n ln(n / b) - (n - b))), finite even where p0 underflows
    _, z = h.discovery_significance(1e4, 1e3, 0.0)
    assert z == pytest.approx(math.sqrt(2 * (1e4 * math.log(10.0) - 9e3)), rel=1e-12)
    p0, z = h.discovery_significance(1200, 1000, 0.0)
    assert z == pytest.approx(math.sqrt(2 * (1200 * math.log(1.2) - 200)), rel=1e-12)
    assert p0 == pytest.approx(norm.sf(z), rel=1e-12)
    # with an uncertainty, pyhf's p0 is floored at 1e-300 (Z = 37.05) instead of underflowing to 0
    p0, z = h.discovery_significance(1e4, 1e3, 10.0)
    assert p0 == 1e-300 and z == pytest.approx(norm.isf(1e-300), rel=1e-12)
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match="must be > 0"):
            h.discovery_significance(10, bad, 1.0)


def test_fit_on_degenerate_spectra_stays_within_its_limits():
    """One event, or all events in the last bin: the likelihood has no interior maximum, the shape parameters end
    at their documented limits (p1 in [-50, 200], p2 in [-50, 50], p3 in [-10, 10]); a single bin holding 1e9
    events in a falling-spectrum fit converges from no starting point."""
    ws, edges = _grid()
    use = ~h.sr_bins(edges, ws[3])
    n = len(use)
    one = h.fit_dijet(np.eye(n)[0], edges, use)  # a single event is enough to fit
    last = h.fit_dijet(50 * np.eye(n)[-1], edges, use)
    for f in (one, last):
        assert f.valid and -50 <= f.params[1] <= 200 and -50 <= f.params[2] <= 50 and -10 <= f.params[3] <= 10
    assert one.params[3] == pytest.approx(-10, abs=1e-3)
    assert last.params[1:] == pytest.approx([-50, -50, 10], abs=1e-3)
    with pytest.raises(RuntimeError, match="^dijet fit did not converge from any starting point$"):
        h.fit_dijet(1e9 * np.eye(n)[5], edges, use)


def test_fisher_covariance_defaults_integer_parameters_and_low_counts():
    ws, edges = _grid()
    use = ~h.sr_bins(edges, ws[3])
    p = [0, 9, 5, 0]  # integers: the finite-difference steps must not be truncated
    cov = h.fisher_covariance(p, edges, use)  # default: all 4 parameters free
    np.testing.assert_allclose(cov, h.fisher_covariance(np.array(p, float), edges, use, 4), rtol=1e-9)
    jac = _analytic_jacobian(np.array(p, float), edges, 4)[use]
    mu = _quad_bins(lambda m: dijet_function(m, 1.0, 9.0, 5.0, 0.0), edges)[use]
    np.testing.assert_allclose(cov, np.linalg.inv(jac.T @ (jac / mu[:, None])), rtol=2e-4)
    # ~40 events: most bins expect < 1 event; var(ln p0) is still 1 / (expected events)
    lnp0 = math.log(40.0 / mu.sum())
    mu40 = 40.0 * mu / mu.sum()
    assert np.count_nonzero(mu40 < 1) > 10
    assert h.fisher_covariance(np.array([lnp0, 9.0, 5.0, 0.0]), edges, use, 1)[0, 0] == pytest.approx(1 / 40.0,
                                                                                                     rel=1e-6)


def test_poisson_deviance_and_gof_silent_and_strict():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # empty bins: no divide-by-zero / invalid warnings from k ln(k / mu)
        assert poisson_deviance([0, 3, 0], [1.5, 3, 0.25]) == pytest.approx(3.5, rel=1e-12)
        assert poisson_deviance(np.array([1, 2]), np.array([2, 2])) == pytest.approx(2 * (1 - math.log(2)), rel=1e-12)
    assert math.isnan(gof_pvalue(float("inf"), 3)) and math.isnan(gof_pvalue(2.0, -1))


def test_asimov_z_small_uncertainty_branch_and_known_b_switch():
    # sigma_b = 0.5 on b = 4 (tau = 16): still the on/off likelihood ratio, not the known-background formula
    s, b, sb = 6.0, 4.0, 0.5
    tau = b / sb**2
    n, m = s + b, tau * b
    bhh = (n + m) / (1 + tau)
    q0 = 2 * ((n * math.log(n) - n + m * math.log(m) - m) - (n * math.log(bhh) - bhh + m * math.log(tau * bhh) - tau * bhh))
    assert asimov_z(s, b, sb) == pytest.approx(math.sqrt(q0), rel=1e-9)
    assert asimov_z(s, b, sb) < asimov_z(s, b)
    # db < 1e-4 b takes the known-background closed form exactly; b = 0.5 is a valid background
    assert h.discovery_significance(1200, 1000, 0.05)[1] == pytest.approx(math.sqrt(2 * (1200 * math.log(1.2) - 200)),
                                                                          rel=1e-13)
    assert h.discovery_significance(1200, 1000, 0.5)[1] < h.discovery_significance(1200, 1000, 0.05)[1]
    assert h.discovery_significance(3, 0.5, 0.0)[1] == pytest.approx(math.sqrt(2 * (3 * math.log(6) - 2.5)), rel=1e-12)


def test_threshold_for_efficiency_is_the_order_statistic():
    rng = np.random.default_rng(4)
    for _ in range(30):
        n = int(rng.integers(5, 60))
        s = rng.normal(size=n)
        eff = float(rng.uniform(0.0, 0.95))
        k = int(round(eff * n))
        t = h.threshold_for_efficiency(s, eff)
        if k < n:
            assert t == np.sort(s)[n - k - 1] and int(np.sum(s > t)) == k
