"""benchmarks/vae21_likelihoods.py: the per-feature NLL (Gaussian / Poisson / Bernoulli) against closed forms."""

import math

import numpy as np
import pytest


def _mod():
    from benchmarks import vae21_likelihoods

    return vae21_likelihoods


def test_per_feature_nll_matches_closed_forms():
    m = _mod()
    rng = np.random.default_rng(3)
    kinds = np.array([0, 1, 2])
    layer = m._nll_layer(kinds)
    y = np.stack([rng.normal(size=8), rng.poisson(2.0, 8), rng.integers(0, 2, 8)], 1).astype(np.float32)
    p = rng.normal(size=(8, 3)).astype(np.float32)
    nll = np.asarray(layer([y, p]))
    sig = 1.0  # log_sigma initialised at 0
    g = 0.5 * (y[:, 0] - p[:, 0]) ** 2 / sig ** 2 + math.log(sig) + 0.5 * math.log(2 * math.pi)
    po = np.exp(p[:, 1]) - y[:, 1] * p[:, 1] + np.array([math.lgamma(k + 1) for k in y[:, 1]])
    be = np.log1p(np.exp(p[:, 2])) - y[:, 2] * p[:, 2]
    np.testing.assert_allclose(nll, np.stack([g, po, be], 1), rtol=1e-5, atol=1e-5)


def test_targets_map_charge_to_bernoulli_and_keep_raw_counts():
    m = _mod()
    from data.features import HLT21_FEATURES

    n = len(HLT21_FEATURES)
    raw = np.full((2, n), 3.0, np.float32)
    raw[:, HLT21_FEATURES.index("lep_charge")] = [-1, 1]
    xs = np.zeros((2, n), np.float32)
    kinds = np.array([2 if f in m.BOOLS else 1 if f in m.COUNTS else 0 for f in HLT21_FEATURES])
    y = m._targets(raw, xs, kinds)
    assert list(y[:, HLT21_FEATURES.index("lep_charge")]) == [0.0, 1.0]
    assert list(y[:, HLT21_FEATURES.index("n_mu")]) == [3.0, 3.0]
    assert list(y[:, HLT21_FEATURES.index("lep_pt")]) == [0.0, 0.0]


def test_bad_sizes_fail_before_work():
    with pytest.raises(SystemExit):
        _mod().main(["--epochs", "0"])


def test_hurdle_nll_matches_formula_for_z0_and_z1():
    """kinds [Gaussian, hurdle]: y = (x0, x1, z1), p = (mu0, mu1, l1); the hurdle term is
    softplus(l) - z l + z [(x - mu)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2] (sigma = 1 at initialisation)."""
    m = _mod()
    layer = m._nll_layer(np.array([0, 3]))
    #            x0    x1    z1         mu0   mu1   l1
    y = np.array([[0.3, -1.2, 0.0], [0.3, 2.5, 1.0], [-0.4, 0.7, 1.0], [1.0, -1.2, 0.0]], np.float32)
    p = np.array([[0.1, 0.8, 1.5], [0.1, 0.8, 1.5], [0.2, -0.3, -2.0], [0.0, 5.0, -0.7]], np.float32)
    nll = np.asarray(layer([y, p]), np.float64)
    half_log_2pi = 0.5 * math.log(2 * math.pi)
    for i in range(4):
        x, z, mu, lg = float(y[i, 1]), float(y[i, 2]), float(p[i, 1]), float(p[i, 2])
        softplus = math.log1p(math.exp(lg))
        want = softplus - z * lg + z * ((x - mu) ** 2 / 2.0 + 0.0 + half_log_2pi)
        assert nll[i, 1] == pytest.approx(want, rel=1e-6, abs=1e-6)
        # the Gaussian column is untouched by the extra hurdle columns
        assert nll[i, 0] == pytest.approx(0.5 * (y[i, 0] - p[i, 0]) ** 2 + half_log_2pi, rel=1e-6, abs=1e-6)
    # z = 0: -log(1 - pi) only, independent of x and mu (rows 0 and 3 differ in mu, row 0's value is known)
    assert nll[0, 1] == pytest.approx(math.log1p(math.exp(1.5)), rel=1e-6)
    # z = 1 with x = mu: -log(pi) + log(2 pi) / 2
    layer2 = m._nll_layer(np.array([3]))
    v = float(np.asarray(layer2([np.array([[0.5, 1.0]], np.float32), np.array([[0.5, 0.0]], np.float32)]))[0, 0])
    assert v == pytest.approx(math.log(2.0) + half_log_2pi, rel=1e-6)


def test_hurdle_features_chosen_by_zero_fraction_and_targets_carry_z():
    m = _mod()
    raw = np.array([[0.0, 0.0, 0.0, 1.0], [0.0, 3.0, 2.0, 1.0], [0.0, 0.0, 5.0, 0.0], [4.0, 1.0, 7.0, 2.0]])
    zf = m.zero_fractions(raw)
    np.testing.assert_allclose(zf, [0.75, 0.5, 0.25, 0.25])
    kinds = np.array([0, 1, 0, 0])  # feature 1 is a Poisson count: never turned hurdle
    k3 = m.hurdle_kinds(kinds, zf, 0.3)
    assert list(k3) == [3, 1, 0, 0]
    assert list(m.hurdle_kinds(kinds, zf, 0.2)) == [3, 1, 3, 3]


def test_targets_append_hurdle_indicators():
    m = _mod()
    from data.features import HLT21_FEATURES

    n = len(HLT21_FEATURES)
    raw = np.ones((3, n), np.float32)
    je, jm = HLT21_FEATURES.index("m_ele"), HLT21_FEATURES.index("m_mu")
    raw[:, je] = [0.0, 91.0, 0.0]
    raw[:, jm] = [30.0, 0.0, 0.0]
    kinds = np.array([2 if f in m.BOOLS else 1 if f in m.COUNTS else 0 for f in HLT21_FEATURES])
    kinds[[je, jm]] = 3
    xs = np.zeros((3, n), np.float32)
    y = m._targets(raw, xs, kinds)
    assert y.shape == (3, n + 2)
    first, second = sorted([je, jm])  # z columns in feature order
    z = {first: y[:, n], second: y[:, n + 1]}
    assert list(z[je]) == [0.0, 1.0, 0.0]
    assert list(z[jm]) == [1.0, 0.0, 0.0]


def test_het_nll_uses_per_event_log_sigma_with_floor():
    """het: y = (x0 Gaussian, x1 Poisson, x2 hurdle, z2), p = (mu0, log-rate1, mu2, l2), s = per-event log sigma per
    feature; Gaussian / hurdle terms use sigma = exp(max(s, log 0.05)) per event, the Poisson term ignores s."""
    m = _mod()
    layer = m._nll_layer(np.array([0, 1, 3]), het=True)
    assert not layer.weights or all("log_sigma" not in w.name for w in layer.weights)
    y = np.array([[0.3, 2.0, 1.1, 1.0], [-1.0, 0.0, 0.4, 0.0], [2.0, 5.0, -0.5, 1.0]], np.float32)
    p = np.array([[0.1, 0.5, 0.9, 0.3], [0.4, -1.0, 0.0, 2.0], [-0.2, 1.2, 0.1, -1.0]], np.float32)
    s = np.array([[0.7, 3.0, -0.4], [-5.0, 0.0, 1.3], [-2.0, -9.0, -4.0]], np.float32)  # -5, -4 below the floor
    nll = np.asarray(layer([y, p, s]), np.float64)
    h = 0.5 * math.log(2 * math.pi)
    floor = math.log(0.05)
    for i in range(3):
        ls0, ls2 = max(float(s[i, 0]), floor), max(float(s[i, 2]), floor)
        g0 = (y[i, 0] - p[i, 0]) ** 2 / (2 * math.exp(2 * ls0)) + ls0 + h
        assert nll[i, 0] == pytest.approx(g0, rel=1e-5, abs=1e-5)
        po = math.exp(p[i, 1]) - y[i, 1] * p[i, 1] + math.lgamma(y[i, 1] + 1)
        assert nll[i, 1] == pytest.approx(po, rel=1e-5, abs=1e-5)
        x, z, mu, lg = float(y[i, 2]), float(y[i, 3]), float(p[i, 2]), float(p[i, 3])
        want = math.log1p(math.exp(lg)) - z * lg + z * ((x - mu) ** 2 / (2 * math.exp(2 * ls2)) + ls2 + h)
        assert nll[i, 2] == pytest.approx(want, rel=1e-5, abs=1e-5)
    # row 1, feature 0: s = -5 is clipped to log 0.05 (sigma 0.05): (1.4)^2 / (2 * 0.0025) + log 0.05 + h
    assert nll[1, 0] == pytest.approx(1.4 ** 2 / 0.005 + floor + h, rel=1e-5)


def test_het_model_starts_at_unit_width_and_scores_carry_it():
    m = _mod()
    kinds = np.array([0, 1, 2, 3])
    train, score = m.build(kinds, seed=5, het=True)
    assert np.all(score.get_layer("log_sigma").get_weights()[0] == 0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4)).astype(np.float32)
    y = np.concatenate([x, rng.integers(0, 2, (6, 1)).astype(np.float32)], axis=1)
    res = m.scores(score, x, y)
    np.testing.assert_allclose(res["_ls"], 0.0, atol=0)  # sigma = 1 for every event before training
    np.testing.assert_allclose(res["reco"], res["_nll"].sum(1), rtol=1e-6)


def test_unknown_model_fails_before_work():
    with pytest.raises(SystemExit):
        _mod().main(["--models", "mixed,nonesuch"])


@pytest.mark.parametrize("nu", [2.0, 5.0])
def test_student_t_nll_matches_formula_gauss_and_hurdle(nu):
    """nu: the continuous terms (kind 0 and the hurdle's z = 1 part) are Student-t:
    ((nu + 1) / 2) log(1 + r^2 / (nu sigma^2)) + log sigma + lgamma(nu / 2) - lgamma((nu + 1) / 2) + log(nu pi) / 2
    (sigma = 1 at initialisation, and 0.05 at the floor); Poisson and Bernoulli terms as in ``mixed``."""
    m = _mod()
    layer = m._nll_layer(np.array([0, 1, 2, 3]), nu=nu)
    #            x0    k1   b2   x3    z3        mu0   eta1  l2   mu3   l3
    y = np.array([[0.3, 2.0, 1.0, 1.1, 1.0], [40.0, 0.0, 0.0, -2.0, 0.0], [-1.5, 5.0, 1.0, 30.0, 1.0]], np.float32)
    p = np.array([[0.1, 0.5, 0.3, 0.9, 0.3], [0.0, -1.0, 2.0, 0.5, 2.0], [0.2, 1.2, -1.0, -0.5, -1.0]], np.float32)
    nll = np.asarray(layer([y, p]), np.float64)
    c = math.lgamma(nu / 2) - math.lgamma((nu + 1) / 2) + 0.5 * math.log(nu * math.pi)
    assert m.student_t_const(nu) == pytest.approx(c, rel=1e-12)

    def t(r, sig=1.0):
        return 0.5 * (nu + 1) * math.log1p(r * r / (nu * sig * sig)) + math.log(sig) + c

    for i in range(3):
        assert nll[i, 0] == pytest.approx(t(float(y[i, 0] - p[i, 0])), rel=1e-5, abs=1e-5)
        po = math.exp(p[i, 1]) - y[i, 1] * p[i, 1] + math.lgamma(y[i, 1] + 1)
        assert nll[i, 1] == pytest.approx(po, rel=1e-5, abs=1e-5)
        assert nll[i, 2] == pytest.approx(math.log1p(math.exp(p[i, 2])) - y[i, 2] * p[i, 2], rel=1e-5, abs=1e-5)
        x, z, mu, lg = float(y[i, 3]), float(y[i, 4]), float(p[i, 3]), float(p[i, 4])
        assert nll[i, 3] == pytest.approx(math.log1p(math.exp(lg)) - z * lg + z * t(x - mu), rel=1e-5, abs=1e-5)
    # the Student-t density integrates to 1 (so the constant is right): trapezoid over a wide grid, sigma = 1
    r = np.linspace(-2000.0, 2000.0, 2_000_001)
    dens = np.exp(-(0.5 * (nu + 1) * np.log1p(r * r / nu) + c))
    assert np.trapezoid(dens, r) == pytest.approx(1.0, abs=2e-3 if nu == 2.0 else 1e-6)
    # a far outlier costs ~(nu + 1) log r, not r^2 / 2: row 1's r = 40 costs < 30 nats (the Gaussian: 800)
    assert nll[1, 0] < 30.0
    # at the width floor (sigma 0.05): log_sigma below log 0.05 is clipped
    layer.log_sigma.assign(np.full(4, -6.0, np.float32))
    nll2 = np.asarray(layer([y, p]), np.float64)
    assert nll2[0, 0] == pytest.approx(t(float(y[0, 0] - p[0, 0]), 0.05), rel=1e-5, abs=1e-5)
    # the Gaussian layer (nu None) is unchanged by the option
    g = np.asarray(m._nll_layer(np.array([0]))([y[:, :1], p[:, :1]]), np.float64)[:, 0]
    np.testing.assert_allclose(g, 0.5 * (y[:, 0] - p[:, 0]) ** 2 + 0.5 * math.log(2 * math.pi), rtol=1e-5)


def test_bad_nu_fails_before_work():
    with pytest.raises(SystemExit):
        _mod().main(["--models", "mixed_t", "--nu", "0"])


def test_hidden_latent_beta_parse_and_label():
    m = _mod()
    assert m.parse_hidden("64,32") == (64, 32)
    assert m.parse_hidden("32,16") == m.HIDDEN
    assert m.arch_label(m.HIDDEN, m.LATENT, m.BETA) == ""  # defaults: rows labelled as before
    assert m.arch_label((64, 32), 4, 1.0) == " [hidden 64,32]"
    assert m.arch_label((32, 16), 8, 0.1) == " [latent 8, beta 0.1]"


def test_build_uses_hidden_and_latent():
    m = _mod()
    kinds = np.array([0, 1, 2])
    train, _ = m.build(kinds, seed=5, hidden=(8, 6, 5), latent=3, beta=0.5)
    assert [train.get_layer(f"enc{i}").units for i in range(3)] == [8, 6, 5]
    assert [train.get_layer(f"dec{i}").units for i in range(3)] == [5, 6, 8]
    assert train.get_layer("mu").units == 3 and train.get_layer("sampling").beta == 0.5


@pytest.mark.parametrize("args", [["--latent", "0"], ["--hidden", "32,0"], ["--hidden", "a,16"], ["--hidden", ""],
                                  ["--beta", "0"], ["--beta", "-1"], ["--beta", "nan"]])
def test_bad_architecture_fails_before_work(args, monkeypatch):
    m = _mod()
    import data.generator

    def boom(*a, **k):  # no event generation may happen before the options are checked
        raise AssertionError("work started")

    monkeypatch.setattr(data.generator, "generate_sm_cocktail", boom)
    with pytest.raises(SystemExit):
        m.main(["--models", "mixed"] + args)
