"""Fast known answers for analysis/cwola_stats.py (the mutation run of issue 22 executes them per mutant):
pseudo-experiments recomputed by hand from the same seeded draws, the failure bookkeeping where toys are empty, and
the null p-value summary on a hand-sized sample (fractions counted by hand, KS against scipy's exact kstwo)."""

import math

import numpy as np
import pytest
from scipy.stats import kstwo

from analysis import cwola as h
from analysis.cwola_stats import PVALUE_LEVELS, null_pvalue_summary, pseudo_experiments, tightest_cut_toys


def _setup(total):
    ws = h.make_windows(3200, 4800)
    edges = h.fit_edges(ws, 2900, 6900)
    sr = h.sr_bins(edges, ws[3])
    shape = h._bin_integrals(np.array([0.0, 9.0, 5.0, 0.2]), edges)
    return edges, sr, shape * (total / shape.sum())


def test_pseudo_experiments_recomputed_by_hand():
    edges, sr, mu = _setup(2e4)
    k = np.random.default_rng(1).poisson(mu).astype(float)
    fit = h.fit_dijet(k, edges, ~sr)
    t = pseudo_experiments(fit, k, edges, ~sr, sr, n_toys=4, seed=7)
    m = fit.expected(edges)
    b_true, db_fit = fit.prediction(edges, sr)
    rng = np.random.default_rng(7)
    b, db, dev = [], [], []
    for _ in range(4):
        f = h.fit_dijet(rng.poisson(m).astype(float), edges, ~sr)
        b.append(f.prediction(edges, sr)[0])
        db.append(f.prediction(edges, sr)[1])
        dev.append(f.deviance)
    b, db, dev = map(np.array, (b, db, dev))
    pulls = (b - b_true) / db
    ku, mu_u = k[~sr], m[~sr]
    d_obs = 2 * sum(mi - ki + (ki * math.log(ki / mi) if ki > 0 else 0.0) for ki, mi in zip(ku, mu_u))
    sd = math.sqrt(sum((x - b.mean()) ** 2 for x in b) / 3)
    sp = math.sqrt(sum((x - pulls.mean()) ** 2 for x in pulls) / 3)
    expect = {"n_toys": 4, "n_failed": 0, "seed": 7, "b_true": b_true, "db_fit": db_fit, "deviance_data": d_obs,
              "std_b_toys": sd, "mean_b_toys": b.mean(), "mean_db_toys": db.mean(), "spread_ratio": sd / db_fit,
              "pull_mean": pulls.mean(), "pull_width": sp, "pull_mean_error": sp / 2.0,
              "pull_width_robust": (np.quantile(pulls, 0.8413) - np.quantile(pulls, 0.1587)) / 2,
              "deviance_pvalue_toys": float(np.mean(dev >= d_obs))}
    assert set(t) == set(expect)
    for key, v in expect.items():
        assert t[key] == pytest.approx(v, rel=1e-6), key
    assert 0 < t["deviance_pvalue_toys"] < 1  # some toys fit worse than the data, some better
    # the row wrapper refits the row's counts outside the SR and draws the same toys
    row = {"counts": k.tolist(), "b_sr": 1.0}
    assert tightest_cut_toys(row, edges, sr, 4, 7) == t
    assert tightest_cut_toys(row, edges, sr, 0, 7) is None
    assert tightest_cut_toys({**row, "b_sr": None}, edges, sr, 4, 7) is None
    # two toys are enough for a spread
    t2 = pseudo_experiments(fit, k, edges, ~sr, sr, n_toys=2, seed=7)
    assert t2["pull_width"] == pytest.approx(abs(pulls[0] - pulls[1]) / math.sqrt(2), rel=1e-6)
    assert t2["spread_ratio"] == pytest.approx(abs(b[0] - b[1]) / math.sqrt(2) / db_fit, rel=1e-6)
    assert t2["pull_mean_error"] == pytest.approx(abs(pulls[0] - pulls[1]) / 2, rel=1e-6)
    # two pulls: the 15.87 / 84.13 % quantiles interpolate linearly between them
    assert t2["pull_width_robust"] == pytest.approx(abs(pulls[0] - pulls[1]) * (0.8413 - 0.1587) / 2, rel=1e-6)
    for n in (1, 0):
        with pytest.raises(ValueError, match="at least 2 toys"):
            pseudo_experiments(fit, k, edges, ~sr, sr, n_toys=n, seed=0)


def test_pseudo_experiments_count_failed_toys():
    """A fit of 0.02 expected events: toys with no event in the fit range cannot be fitted and are counted."""
    edges, sr, mu = _setup(0.02)
    fit = h.FitResult(np.array([math.log(0.02 / h._bin_integrals(np.array([0.0, 9.0, 5.0, 0.2]), edges).sum()),
                                9.0, 5.0, 0.2]), np.zeros((4, 4)), True, 0.0, 0.0, 1)
    t = pseudo_experiments(fit, np.zeros(len(mu)), edges, ~sr, sr, n_toys=6, seed=2)
    rng = np.random.default_rng(2)
    empty = sum(int(rng.poisson(fit.expected(edges))[~sr].sum() == 0) for _ in range(6))
    assert empty == 6 and t["n_failed"] == 6 and t["n_toys"] == 6 and t["seed"] == 2
    assert t["spread_ratio"] is None and t["pull_mean"] is None and t["pull_width"] is None
    assert t["deviance_pvalue_toys"] is None and "std_b_toys" not in t
    assert t["b_true"] == pytest.approx(fit.expected(edges)[sr].sum(), rel=1e-12) and t["db_fit"] == 0.0
    assert t["deviance_data"] == pytest.approx(2 * fit.expected(edges)[~sr].sum(), rel=1e-12)  # k = 0: 2 sum mu


def test_null_pvalue_summary_by_hand():
    s = null_pvalue_summary([0.01, 0.2, 0.5, 0.5, 0.04, None, float("nan")])
    assert s["n_cells"] == 5 and s["n_excess"] == 3 and s["fraction_excess"] == pytest.approx(0.6)
    assert s["fraction_p0_at_most"] == pytest.approx({"0.001": 0.0, "0.01": 0.2, "0.05": 0.4, "0.1": 0.4,
                                                      "0.25": 0.6})
    assert s["expected_fraction"] == {f"{a:g}": a for a in PVALUE_LEVELS} and PVALUE_LEVELS[0] == 0.001
    # 2 p0 of the excesses: 0.02, 0.08, 0.4; linear-interpolated quantiles
    assert s["quantiles_2p0_given_excess"] == pytest.approx({"0.1": 0.032, "0.25": 0.05, "0.5": 0.08, "0.75": 0.24,
                                                             "0.9": 0.336})
    # KS distance to U(0, 1): max(1/3 - 0.02, 2/3 - 0.08, 1 - 0.4) = 0.6, exact two-sided p-value for n = 3
    assert s["ks_2p0_vs_uniform"]["statistic"] == pytest.approx(0.6)
    assert s["ks_2p0_vs_uniform"]["pvalue"] == pytest.approx(kstwo.sf(0.6, 3), rel=1e-9)
    one = null_pvalue_summary([0.5, 0.1])
    assert one["n_excess"] == 1 and one["ks_2p0_vs_uniform"] is None
    assert one["quantiles_2p0_given_excess"] == pytest.approx({f"{q:g}": 0.2 for q in (0.1, 0.25, 0.5, 0.75, 0.9)})
    two = null_pvalue_summary([0.1, 0.3])
    assert two["ks_2p0_vs_uniform"] is not None and two["fraction_excess"] == 1.0
    none = null_pvalue_summary([0.5, 0.5])
    assert none["n_excess"] == 0 and none["quantiles_2p0_given_excess"] is None and none["ks_2p0_vs_uniform"] is None
    for bad in ([None], [], [float("nan")]):
        with pytest.raises(ValueError, match="no local p-values"):
            null_pvalue_summary(bad)


def test_pseudo_experiment_bookkeeping_with_known_refits(monkeypatch):
    """The refits replaced by fits of known outcome (normalisation shifted by delta, its sigma known): b_toy =
    b_true e^delta, db_toy = b_toy sigma; toys with db = 0 carry no pull; a toy whose deviance equals the data's
    counts as 'at least'; 0/1 integer masks are masks."""
    import analysis.cwola_stats as cs

    edges, sr, mu = _setup(2e3)
    k = np.round(mu)
    truth = np.array([math.log(2e3 / h._bin_integrals(np.array([0.0, 9.0, 5.0, 0.2]), edges).sum()), 9.0, 5.0, 0.2])
    b_true = float(h._bin_integrals(truth, edges)[sr].sum())
    d_hand = 2 * sum(m - x + (x * math.log(x / m) if x > 0 else 0.0) for x, m in zip(k[~sr], mu[~sr]))
    d_obs = h.poisson_deviance(k[~sr], h._bin_integrals(truth, edges)[~sr])  # bit-equal to the data's: a true tie

    def run(plan, sigma_fit, n_toys=None):
        it = iter(plan)

        def fake(counts, edges_, use):
            d, s, dev = next(it)
            cov = np.zeros((4, 4))
            cov[0, 0] = s**2
            return h.FitResult(truth + np.array([d, 0, 0, 0]), cov, True, 0.0, 0.0, 1, dev)

        monkeypatch.setattr(cs, "fit_dijet", fake)
        cov = np.zeros((4, 4))
        cov[0, 0] = sigma_fit**2
        fit = h.FitResult(truth, cov, True, 0.0, 0.0, 1)
        return pseudo_experiments(fit, k, edges, (~sr).astype(int).tolist(), sr.astype(int).tolist(),
                                  n_toys or len(plan), seed=1)

    plan = [(0.1, 0.0, d_obs), (-0.05, 0.02, d_obs + 1), (0.02, 1e-4, d_obs - 1), (0.0, 0.01, d_obs)]
    t = run(plan, sigma_fit=0.5 / b_true)  # db_fit = 0.5 events
    b = b_true * np.exp([p[0] for p in plan])
    db = b * np.array([p[1] for p in plan])
    pulls = (b[1:] - b_true) / db[1:]
    assert t["b_true"] == pytest.approx(b_true, rel=1e-12) and t["db_fit"] == pytest.approx(0.5, rel=1e-6)
    assert t["deviance_data"] == d_obs and d_obs == pytest.approx(d_hand, rel=1e-9)
    assert t["deviance_pvalue_toys"] == 0.75  # d_obs, d_obs + 1 and the tie d_obs, not d_obs - 1
    assert t["mean_b_toys"] == pytest.approx(b.mean(), rel=1e-9) and t["mean_db_toys"] == pytest.approx(db.mean(), rel=1e-6)
    assert t["spread_ratio"] == pytest.approx(np.std(b, ddof=1) / 0.5, rel=1e-6)
    assert t["pull_mean"] == pytest.approx(pulls.mean(), rel=1e-6)
    assert t["pull_width"] == pytest.approx(np.std(pulls, ddof=1), rel=1e-6)
    assert t["pull_mean_error"] == pytest.approx(np.std(pulls, ddof=1) / math.sqrt(3), rel=1e-6)
    # one toy with db > 0: a pull mean but no width; none: no pull at all; db_fit = 0: no spread ratio
    t1 = run([(0.1, 0.0, 1.0), (0.05, 0.01, 1.0)], sigma_fit=0.0)
    assert t1["pull_mean"] == pytest.approx(((b_true * math.exp(0.05)) - b_true) / (b_true * math.exp(0.05) * 0.01),
                                            rel=1e-6)
    assert t1["pull_width"] is None and t1["pull_mean_error"] is None and t1["pull_width_robust"] is None
    assert t1["spread_ratio"] is None and t1["db_fit"] == 0.0
    t0 = run([(0.1, 0.0, 1.0), (0.05, 0.0, 1.0)], sigma_fit=1.0)
    assert t0["pull_mean"] is None and t0["pull_width"] is None and t0["std_b_toys"] > 0
    # the row wrapper takes 0/1 integer SR masks too
    monkeypatch.setattr(cs, "fit_dijet", h.fit_dijet)
    row = {"counts": k.tolist(), "b_sr": 1.0}
    assert (tightest_cut_toys(row, edges, sr.astype(int).tolist(), 2, 5)
            == tightest_cut_toys(row, edges, sr, 2, 5))
    with pytest.raises(ValueError, match="^no local p-values to summarise$"):
        null_pvalue_summary([])
