"""vae21's on-chip score candidates: the reco score graph (decoder on chip, weighted squared error to the input
port) and the kl / total graphs (log-variance head and its lookup table) equal the quantized Keras model in float64
bit for bit in the fast emulator and the hls4ml C-sim; the headroom check fails a threshold in saturation; --score
is validated; the log1p feature transform."""

import numpy as np
import pytest

from emulation.agreement import exact_agreement


@pytest.fixture(scope="module")
def prob_vae():
    from models.vae21 import VAE21_PROB_QUANT, VAE21Config, build_vae

    cfg = VAE21Config(hidden=(8, 6), latent=3, quant=VAE21_PROB_QUANT, learned_scale=True)
    vae = build_vae(cfg, quantized=True)
    rng = np.random.default_rng(3)
    # non-trivial per-feature widths: weights w_j = 1 / (2 sigma_j^2) from 0.5 / 0.4^2 to 0.5 / 2^2
    vae.get_layer("reco_scale").log_sigma.assign(np.log(rng.uniform(0.4, 2.0, 21)).astype(np.float32))
    return vae


@pytest.fixture(scope="module")
def reco_deploy(prob_vae):
    from models.vae21 import deployable_model

    return deployable_model(prob_vae, "reco")


def _keras64(model, x):
    from emulation.keras_ref import float64_model

    return float64_model(model).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]


def test_reco_graph_fast_emulator_equals_keras_float64(reco_deploy, rng, adversarial_inputs):
    from emulation.fast import FastEmulator

    x = adversarial_inputs(rng, 21)
    y_fast = FastEmulator(reco_deploy).predict(x)[:, 0]
    a = exact_agreement(y_fast, _keras64(reco_deploy, x), float32_tolerance=False)
    assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0
    assert np.all(y_fast >= 0) and np.unique(y_fast).size > 1000


def test_reco_score_is_the_weighted_squared_error(prob_vae, reco_deploy, rng):
    """The on-chip score equals sum_j w_j (x_j - x_hat_j)^2 of the quantized VAE (within the rounding of the
    quantized weights and squares), so the float references compute the same quantity."""
    from models.vae21_scores import float_scores

    x = rng.normal(0, 1, (2000, 21)).astype(np.float32)
    on_chip = reco_deploy.predict(x, batch_size=4096, verbose=0)[:, 0]
    ref = float_scores(prob_vae, x)["reco"]
    assert np.corrcoef(on_chip, ref)[0, 1] > 0.999
    np.testing.assert_allclose(on_chip, ref, rtol=0.02, atol=0.05)


def test_mu2_candidate_matches_the_encoder(prob_vae, rng):
    from emulation.fast import FastEmulator
    from models.vae21 import deployable_model

    d = deployable_model(prob_vae, "mu2")
    x = rng.normal(0, 1, (3000, 21)).astype(np.float32)
    assert exact_agreement(FastEmulator(d).predict(x)[:, 0], _keras64(d, x), float32_tolerance=False).n_mismatched == 0


def test_reco_needs_the_decoder_and_unknown_scores_are_refused(small_vae):
    from models.vae21 import deployable_model

    with pytest.raises(ValueError, match="quantized decoder"):
        deployable_model(small_vae[0], "reco")
    with pytest.raises(ValueError, match="'mu2', 'reco', 'kl', 'total'"):
        deployable_model(small_vae[0], "elbo")
    with pytest.raises(ValueError, match="--score total: needs the VAE with the quantized decoder"):
        deployable_model(small_vae[0], "total")


def test_score_option_validated_per_family():
    from flow.config import BuildConfig
    from models.registry import get_family

    get_family("vae21").validate(BuildConfig(model="vae21", score="RECO"))
    with pytest.raises(ValueError, match="--score reco: --model ae57 computes a single score"):
        get_family("ae57").validate(BuildConfig(model="ae57", score="reco"))
    get_family("vae21").validate(BuildConfig(model="vae21", score="total"))
    with pytest.raises(ValueError, match="--score elbo: --model vae21 computes"):
        get_family("vae21").validate(BuildConfig(model="vae21", score="elbo"))
    with pytest.raises(ValueError, match="--score kl: --model vae57 computes"):
        get_family("vae57").validate(BuildConfig(model="vae57", score="kl"))


@pytest.fixture(scope="module")
def kl_vae(prob_vae):
    """prob_vae with a log-variance head scaled up, so that lv spans and saturates the table's input range."""
    from models.vae21 import VAE21_PROB_QUANT, VAE21Config, build_vae

    cfg = VAE21Config(hidden=(8, 6), latent=3, quant=VAE21_PROB_QUANT, learned_scale=True)
    vae = build_vae(cfg, quantized=True)
    vae.set_weights(prob_vae.get_weights())
    lv = vae.get_layer("logvar_dense")
    lv.set_weights([w * 4 for w in lv.get_weights()])
    return vae


@pytest.fixture(scope="module")
def kl_deploys(kl_vae):
    from models.vae21 import deployable_model

    return {s: deployable_model(kl_vae, s) for s in ("kl", "total", "reco")}


@pytest.mark.parametrize("fn, bits, integer, out_int, exact", [
    ("kl_lv_term", "LV_BITS", "LV_INT", "LUT_INT", lambda g: np.exp(g) - g - 1),
    ("poisson_rate", "ETA_BITS", "ETA_INT", "LUT_INT", np.exp),
    ("bernoulli_softplus", "LOGIT_BITS", "LOGIT_INT", 5, lambda g: np.logaddexp(0, g)),
])
def test_tables_are_the_same_in_float32_and_float64(fn, bits, integer, out_int, exact):
    """Every entry of each lookup table on its input grid is the same whether computed in float32 (hls4ml's ROM, the
    Keras model) or float64 (the reference clone) once the table's output saturation applies, and within half an
    LSB of the exact function below it."""
    import keras

    import models.vae21_scores as vs
    from quantize import tables

    f = tables.register_lut_function(fn)
    bits, integer = getattr(vs, bits), getattr(vs, integer)
    out_int = getattr(vs, out_int) if isinstance(out_int, str) else out_int
    grid = np.arange(-2**(bits - 1), 2**(bits - 1)) * 2.0**(integer + 1 - bits)
    top = 2.0**out_int - 2.0**-tables.LUT_FRAC
    t32, t64 = (np.minimum(np.asarray(keras.ops.convert_to_numpy(f(keras.ops.convert_to_tensor(grid, dtype=dt))),
                                      np.float64), top) for dt in ("float32", "float64"))
    np.testing.assert_array_equal(t32, t64)
    e = exact(grid)
    below = e < top
    assert below.sum() > 0.5 * grid.size and np.all(t64[~below] == top)
    assert np.max(np.abs(t64[below] - e[below])) <= 2.0**-(tables.LUT_FRAC + 1) * (1 + 1e-9)
    assert np.all(t64 >= 0)


def test_kl_table_grid():
    from models.vae21_scores import LV_BITS, LV_INT

    grid = np.arange(-2**(LV_BITS - 1), 2**(LV_BITS - 1)) * 2.0**(LV_INT + 1 - LV_BITS)
    assert grid.size == 2048 and grid.min() == -32.0 and grid.max() == 32.0 - 2.0**-5


def test_kl_and_total_graphs_fast_emulator_equal_keras_float64(kl_deploys, rng, adversarial_inputs, monkeypatch):
    import keras

    from emulation.fast import FastEmulator

    x = adversarial_inputs(rng, 21)
    for name in ("kl", "total"):
        d = kl_deploys[name]
        ref = _keras64(d, x)
        emu = FastEmulator(d)
        assert emu.backend == "native C kernel"
        a = exact_agreement(emu.predict(x)[:, 0], ref, float32_tolerance=False)
        assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0, name
        assert np.all(ref >= 0) and np.unique(ref).size > 1000
        lv = keras.Model(d.inputs, d.get_layer("logvar_q").output).predict(x, verbose=0)
        assert lv.min() == -32.0 and lv.max() == 32.0 - 2.0**-5  # both ends of the table are exercised
    monkeypatch.setenv("LHC_TRIGGER_FAST_BACKEND", "numpy")
    y = FastEmulator(kl_deploys["total"]).predict(x)[:, 0]
    assert exact_agreement(y, _keras64(kl_deploys["total"], x), float32_tolerance=False).n_mismatched == 0


def test_total_is_reco_plus_kl_and_kl_is_the_kl_term(kl_vae, kl_deploys, rng):
    """On chip, total = reco + kl exactly; kl follows the float KL term 0.5 sum(mu^2 + exp(lv) - lv - 1) of the
    quantized VAE (its log-variance head in float) within the table's and the head's rounding."""
    from emulation.fast import FastEmulator
    from models.vae21_scores import float_scores

    x = rng.normal(0, 1, (5000, 21)).astype(np.float32)
    s = {k: FastEmulator(d).predict(x)[:, 0] for k, d in kl_deploys.items()}
    np.testing.assert_array_equal(s["total"], s["reco"] + s["kl"])
    import keras

    ref = float_scores(kl_vae, x)["kl"]
    lv = keras.Model(kl_vae.inputs, kl_vae.get_layer("logvar_dense").output).predict(x, verbose=0)
    inside = np.all((lv > -31.9) & (lv < 8.3), axis=1)  # lv within the table's range [-32, 8.3) before it saturates
    assert inside.mean() > 0.5 and np.corrcoef(s["kl"][inside], ref[inside])[0, 1] > 0.999
    np.testing.assert_allclose(s["kl"][inside], ref[inside], rtol=0.02, atol=0.05)


def test_kl_plan_file_and_estimate(kl_deploys, rng, tmp_path):
    from emulation.fast import FastEmulator
    from emulation.fast_plan import load_plan, save_plan
    from hls.config import HLSConfig
    from hls.estimate import describe_model, estimate

    emu = FastEmulator(kl_deploys["total"])
    x = rng.normal(0, 2, (3000, 21))
    np.testing.assert_array_equal(load_plan(save_plan(emu, tmp_path / "plan.npz")).predict(x), emu.predict(x))
    specs = describe_model(kl_deploys["kl"])
    (lut,) = [s for s in specs if s.kind == "lut"]
    assert (lut.n_out, lut.in_width, lut.out_width) == (3, 11, 18)
    est = estimate(specs, HLSConfig())
    row = next(l for l in est.layers if l.kind == "lut")
    assert row.LUT == 3 * 18 * 32 and row.cycles == 1  # 2048-deep ROM: 32 LUT6 per output bit and element


def test_headroom_check_fails_a_threshold_in_saturation(reco_deploy):
    from flow.checks import headroom_failures
    from models.vae21_select import headroom, score_range

    s_max, lsb = score_range(reco_deploy)
    assert s_max > 0 and 0 < lsb < 1
    ok = headroom({"30_per_day": s_max / 10}, s_max, lsb)
    bad = headroom({"30_per_day": s_max / 10, "fpr_1e-5": s_max}, s_max, lsb)
    assert not ok["30_per_day"]["saturated"] and ok["30_per_day"]["headroom_lsb"] == np.floor(0.9 * s_max / lsb)
    assert bad["fpr_1e-5"]["saturated"] and bad["fpr_1e-5"]["headroom_lsb"] == 0
    report = {"score_candidates": {"candidates": {"reco": {"working_points": ok}}}}
    assert headroom_failures(report) == []
    report["score_candidates"]["candidates"]["reco"]["working_points"] = bad
    (msg,) = headroom_failures(report)
    assert msg.startswith("score reco at fpr_1e-5: threshold") and "sits in saturation" in msg


def test_log1p_transform():
    from data.transforms import FeatureTransform

    t = FeatureTransform(("a", "b", "c"), ("a", "c"))
    x = np.array([[0.0, 5.0, -3.0], [np.e - 1, -2.0, 99.0]], np.float32)
    y = t(x)
    np.testing.assert_allclose(y, [[0.0, 5.0, -np.log(4.0)], [1.0, -2.0, np.log(100.0)]], rtol=1e-6)
    assert y.dtype == np.float32 and t.to_dict()["features"] == ["a", "c"]
    assert FeatureTransform.from_dict(["a", "b", "c"], t.to_dict()) == t  # a project's metadata.json, read back
    with pytest.raises(ValueError, match="unknown features"):
        FeatureTransform(("a",), ("z",))
    with pytest.raises(ValueError, match=r"\(n, 3\)"):
        t(np.zeros((2, 4)))


@pytest.mark.slow
def test_reco_graph_csim_equals_keras_float64(reco_deploy, rng, adversarial_inputs, tmp_path):
    from emulation.csim import CSimEmulator
    from hls.config import HLSConfig
    from hls.project import build_project

    project_dir, _, _ = build_project(reco_deploy, HLSConfig(), tmp_path / "reco", {"model": "small-vae21-reco"})
    x = adversarial_inputs(rng, 21)
    a = exact_agreement(CSimEmulator(project_dir).predict(x)[:, 0], _keras64(reco_deploy, x), float32_tolerance=False)
    assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0


def test_kl_score_range_is_the_largest_reachable_value(kl_deploys):
    """kl <= 0.5 latent max|mu|^2 + 0.5 latent max g(lv) (the table's largest entry, its saturation value), at the
    finer of the two LSBs; total adds reco's range."""
    from models.vae21_scores import LUT_INT
    from quantize.tables import LUT_FRAC
    from models.vae21_select import score_range

    m = 2.0**4  # mu: ap_fixed<12,5>, |mu| <= 16
    g_max = 2.0**LUT_INT - 2.0**-LUT_FRAC
    s_max, lsb = score_range(kl_deploys["kl"])
    assert s_max == 0.5 * 3 * m * m + 0.5 * 3 * g_max and lsb == 0.5 * min(2.0**-7 * 2.0**-7, 2.0**-LUT_FRAC)
    r_max, r_lsb = score_range(kl_deploys["reco"])
    t_max, t_lsb = score_range(kl_deploys["total"])
    assert t_max == r_max + s_max and t_lsb == min(r_lsb, lsb)


@pytest.mark.slow
def test_kl_and_total_graphs_csim_equal_keras_float64(kl_deploys, rng, adversarial_inputs, tmp_path):
    from emulation.csim import CSimEmulator
    from hls.config import HLSConfig
    from hls.project import build_project

    x = adversarial_inputs(rng, 21)
    project_dir, _, _ = build_project(kl_deploys["total"], HLSConfig(), tmp_path / "total", {"model": "small-total"})
    a = exact_agreement(CSimEmulator(project_dir).predict(x)[:, 0], _keras64(kl_deploys["total"], x),
                        float32_tolerance=False)
    assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0


# ---- vae21's mixed likelihood: Bernoulli / Poisson / Gaussian per feature (issue 15, section 2) ------------------------------
def _mixed_events(rng, n, mean, std, kinds):
    from data.features import HLT21_FEATURES

    raw = rng.normal(0, 1, (n, 21))
    raw[:, kinds == 1] = rng.poisson(3, (n, int((kinds == 1).sum())))
    raw[:, kinds == 2] = rng.integers(0, 2, (n, 2))
    q = HLT21_FEATURES.index("lep_charge")
    raw[:, q] = 2 * raw[:, q] - 1  # the charge is +-1
    return ((raw - mean) / std).astype(np.float32)


@pytest.fixture(scope="module")
def mixed():
    from dataclasses import replace

    from data.features import HLT21_FEATURES
    from models.vae21 import VAE21_BUILD, build_vae, deployable_model
    from models.vae21_scores import mixed_targets

    rng = np.random.default_rng(5)
    cfg = replace(VAE21_BUILD, hidden=(8, 6), latent=3)
    mean, std = rng.normal(1, 0.5, 21).astype(np.float32), rng.uniform(0.5, 2, 21).astype(np.float32)
    t = mixed_targets(HLT21_FEATURES, mean, std)
    vae = build_vae(cfg, True, t)
    vae.get_layer("reco_scale").log_sigma.assign(np.log(rng.uniform(0.4, 2.0, 21)).astype(np.float32))
    x = _mixed_events(rng, 20000, mean, std, np.asarray(t["kinds"]))
    x[:2000] *= 8  # far out: saturating port, rates and logits
    return {"vae": vae, "x": x, "targets": t, "deploy": {s: deployable_model(vae, s) for s in ("reco", "total")}}


def test_mixed_targets_map_the_port_back_to_counts_and_booleans(monkeypatch):
    import models.vae21_scores as vs
    from data.features import HLT21_FEATURES

    mean, std = np.arange(21, dtype=np.float32) / 7, np.linspace(0.5, 2.5, 21).astype(np.float32)
    t = vs.mixed_targets(HLT21_FEATURES, mean, std)
    k = dict(zip(HLT21_FEATURES, t["kinds"]))
    assert sorted(n for n in HLT21_FEATURES if k[n] == 2) == ["lep_charge", "lep_is_ele"]
    assert sorted(n for n in HLT21_FEATURES if k[n] == 1) == ["n_bjets", "n_ele", "n_jets", "n_mu"]
    j, q = HLT21_FEATURES.index("n_jets"), HLT21_FEATURES.index("lep_charge")
    assert (5 - mean[j]) / std[j] * t["scale"][j] + t["shift"][j] == pytest.approx(5, abs=1e-5)
    for charge, target in ((-1, 0), (1, 1)):  # the Bernoulli target of the charge is (q + 1) / 2
        assert (charge - mean[q]) / std[q] * t["scale"][q] + t["shift"][q] == pytest.approx(target, abs=1e-5)
    monkeypatch.setattr(vs, "POISSON_FEATURES", ("lep_pt",))
    with pytest.raises(ValueError, match="'lep_pt': a discrete target must not be log1p-compressed"):
        vs.mixed_targets(("lep_pt",), np.zeros(1), np.ones(1))


def test_mixed_training_loss_is_the_score_nll(mixed):
    """The training loss equals the on-chip score's formula (Gaussian w (x - x_hat)^2 + log sigma, Poisson
    exp(eta) - k eta, Bernoulli softplus(l) - y l) at integer targets: a wrong term or sign fails here."""
    from models.vae21_scores import GAUSS, mixed_nll, mixed_reco_np

    head = mixed["vae"].get_layer("reco_scale")
    rng = np.random.default_rng(8)
    x = mixed["x"][2000:4000]
    p = rng.normal(0, 1.5, x.shape).astype(np.float32)
    loss = np.asarray(mixed_nll(head)(x, p), np.float64)
    ls = np.asarray(head.clipped(), np.float64)
    consts = ls[np.asarray(head.kinds) == GAUSS].sum()
    np.testing.assert_allclose(loss - consts, mixed_reco_np(head, x.astype(np.float64), p.astype(np.float64)),
                               rtol=1e-4, atol=1e-3)
    # by hand, one Poisson and one Bernoulli term of one event
    k = np.asarray(head.kinds)
    t = np.round(x[0] * np.asarray(head.scale) + np.asarray(head.shift))
    jp, jb = int(np.flatnonzero(k == 1)[0]), int(np.flatnonzero(k == 2)[0])
    assert t[jp] >= 0 and t[jb] in (0, 1)
    p = p.astype(np.float64)
    single = mixed_reco_np(head, x[:1].astype(np.float64), p[:1])[0]
    p2 = p[:1].copy()
    p2[0, jp] += 0.5
    p2[0, jb] -= 0.25
    delta = mixed_reco_np(head, x[:1].astype(np.float64), p2)[0] - single
    expect = (np.exp(p2[0, jp]) - t[jp] * p2[0, jp]) - (np.exp(p[0, jp]) - t[jp] * p[0, jp]) + \
        (np.logaddexp(0, p2[0, jb]) - t[jb] * p2[0, jb]) - (np.logaddexp(0, p[0, jb]) - t[jb] * p[0, jb])
    assert delta == pytest.approx(expect, rel=1e-9)


def test_mixed_graph_fast_emulator_equals_keras_float64(mixed, monkeypatch):
    from emulation.fast import FastEmulator
    from models.vae21_scores import float_scores

    x = mixed["x"]
    for name, d in mixed["deploy"].items():
        ref = _keras64(d, x)
        a = exact_agreement(FastEmulator(d).predict(x)[:, 0], ref, float32_tolerance=False)
        assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0, name
        f = float_scores(mixed["vae"], x[2000:])[name]  # the float formula, without the tables' rounding
        assert np.corrcoef(f, ref[2000:])[0, 1] > 0.9999, name
    monkeypatch.setenv("LHC_TRIGGER_FAST_BACKEND", "numpy")
    d = mixed["deploy"]["total"]
    assert exact_agreement(FastEmulator(d).predict(x)[:, 0], _keras64(d, x), float32_tolerance=False).n_mismatched == 0


@pytest.mark.slow
def test_mixed_graph_csim_equals_keras_float64(mixed, tmp_path):
    from emulation.csim import CSimEmulator
    from hls.config import HLSConfig
    from hls.project import build_project

    d = mixed["deploy"]["total"]
    project_dir, _, _ = build_project(d, HLSConfig(), tmp_path / "mixed", {"model": "small-vae21-mixed"})
    a = exact_agreement(CSimEmulator(project_dir).predict(mixed["x"])[:, 0], _keras64(d, mixed["x"]),
                        float32_tolerance=False)
    assert a.n_events == len(mixed["x"]) and a.n_mismatched == 0 and a.n_differ_any == 0


def test_vae21_default_is_the_mixed_likelihood_and_vae21gauss_the_gaussian_one():
    from flow.config import BuildConfig
    from models.registry import get_family
    from models.vae21 import config_from_build

    assert config_from_build(BuildConfig(model="vae21")).likelihood == "mixed"
    gauss = config_from_build(BuildConfig(model="vae21gauss"))
    assert gauss.likelihood == "gauss" and "likelihood" not in gauss.to_dict()  # its cached models keep their key
    assert config_from_build(BuildConfig(model="vae21")).to_dict()["mixed_param_ranges"] == [[-8.0, 8.0 - 2**-6],
                                                                                             [-16.0, 16.0 - 2**-5]]
    get_family("vae21gauss").validate(BuildConfig(model="vae21gauss", score="kl"))
