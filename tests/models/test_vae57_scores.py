"""vae57's on-chip score candidates (issue 15): the ``reco`` candidate (quantized decoder from mu, ae57's masked
squared error to the input port) equals the quantized Keras model in float64 bit for bit (fast emulator, and the
hls4ml C-sim in a slow test) and is the masked error the float references compute; the L1 validation sample is
seeded and disjoint from the dataset's streams; ``--score`` and the sweep shapes know the candidates; the
``score_candidates`` step skips a model with one score."""

from dataclasses import replace

import numpy as np
import pytest

from emulation.agreement import exact_agreement
from models.ae57 import MaskedReco
from tests.models.test_l1_models import _l1_adversarial


@pytest.fixture(scope="module")
def small_reco_vae57():
    """A small untrained vae57 with its decoder on chip (vae57's default widths), random weights in range, and its
    ``reco`` deployable model."""
    from models import vae21
    from models.vae57 import VAE57_CONFIG

    mc = replace(VAE57_CONFIG, hidden=(8, 6))
    vae = vae21.build_vae(mc, quantized=True)
    rng = np.random.default_rng(5)
    for layer in vae.layers:
        if layer.name.startswith(("enc_dense", "mu_dense", "dec_dense", "reco")) and layer.weights:
            layer.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in layer.get_weights()])
    return vae21.deployable_model(vae, "reco", masked=MaskedReco(mc.quant)), vae, mc  # unweighted


def _keras64(model, x):
    from emulation.keras_ref import float64_model

    return float64_model(model).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]


def test_reco_candidate_fast_emulator_equals_keras_float64(small_reco_vae57, rng, adversarial_inputs):
    from emulation.fast import FastEmulator

    deploy = small_reco_vae57[0]
    x = _l1_adversarial(rng, adversarial_inputs)
    y = FastEmulator(deploy).predict(x)[:, 0]
    a = exact_agreement(y, _keras64(deploy, x), float32_tolerance=False)
    assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0
    assert np.all(y >= 0) and np.unique(y).size > 1000


def test_reco_candidate_is_the_masked_squared_error(small_reco_vae57, rng):
    """On L1-like events whose objects all sit well above the port's LSB, the on-chip score equals the masked
    squared error of the quantized VAE's reconstruction (float_scores with the same MaskedReco) up to the rounding of
    the differences and squares to 2**-6: padded slots and MET eta do not count."""
    from data.l1 import object_mask
    from models.vae21_scores import float_scores

    deploy, vae, mc = small_reco_vae57
    x = np.abs(rng.normal(0.8, 0.5, (3000, 57))) + 0.05
    x[:, 1::3] = rng.uniform(-2.5, 2.5, (3000, 19))
    n_obj = rng.integers(0, 19, 3000)
    x[np.repeat(np.arange(19)[None, :] >= np.maximum(n_obj, 1)[:, None], 3, axis=1)] = 0.0
    x[:, 1] = 0.0  # MET eta
    x = x.astype(np.float32)
    on_chip = deploy.predict(x, batch_size=4096, verbose=0)[:, 0]
    ref = float_scores(vae, x, masked=MaskedReco(mc.quant))
    np.testing.assert_allclose(on_chip, ref["reco"], rtol=0.02, atol=0.05 * 57 * 2**-6 * 10)
    assert np.corrcoef(on_chip, ref["reco"])[0, 1] > 0.999
    # the unmasked error differs: the mask matters on these events
    xin = np.asarray(vae.get_layer("input_quant")(x), np.float64)
    unmasked = np.sum((xin - vae.predict(x, verbose=0)) ** 2, axis=1)
    assert np.mean(np.abs(unmasked - on_chip)) > 10 * np.mean(np.abs(ref["reco"] - on_chip))
    assert np.all(object_mask(x)[:, 1] == 0)
    np.testing.assert_allclose(ref["total"], 0.5 * ref["reco"] + ref["kl"])


def test_score_range_and_headroom_of_the_reco_candidate(small_reco_vae57):
    from models.ae57 import score_precisions
    from models.vae21_select import headroom, score_range

    deploy, _, mc = small_reco_vae57
    s_max, lsb = score_range(deploy)
    _, p_sq = score_precisions(mc.quant)
    assert (s_max, lsb) == (57 * p_sq.max, p_sq.step)
    h = headroom({"l1_1kHz": s_max - 4 * lsb, "sat": s_max}, s_max, lsb)
    assert h["l1_1kHz"]["headroom_lsb"] == 4 and not h["l1_1kHz"]["saturated"] and h["sat"]["saturated"]


def test_l1_validation_events_are_seeded_and_not_the_dataset_stream():
    from data.l1 import l1_validation_events

    a = l1_validation_events(3, 2000, 200, 271828)
    b = l1_validation_events(3, 2000, 200, 271828)
    c = l1_validation_events(4, 2000, 200, 271828)
    assert set(a) == {"background", "LQ_btau", "A_4l", "h0_tautau", "hpm_taunu"}
    assert a["background"].shape == (2000, 57) and a["A_4l"].shape == (200, 57)
    assert all(np.array_equal(a[k], b[k]) for k in a) and not np.array_equal(a["background"], c["background"])
    with pytest.raises(ValueError, match="stream 57"):
        l1_validation_events(3, 10, 10, 57)


def test_vae57_candidates_score_option_and_sweep_shapes():
    from flow.config import BuildConfig
    from models.registry import get_family
    from models.vae21_select import candidate_names
    from models.vae57 import VAE57_CONFIG, dense_shapes_for_build

    assert candidate_names(VAE57_CONFIG) == ("mu2", "reco")
    assert candidate_names(replace(VAE57_CONFIG, decoder_on_chip=False)) == ("mu2",)
    for model in ("vae57", "vae57hgq"):
        get_family(model).validate(BuildConfig(model=model, score="reco"))
        with pytest.raises(ValueError, match="--score kl"):
            get_family(model).validate(BuildConfig(model=model, score="kl"))
    reco = dense_shapes_for_build(BuildConfig(model="vae57"))
    assert reco["mask_dense"] == (57, 57) and reco["reco"] == (32, 57) and reco["score_sum"] == (57, 1)
    mu2 = dense_shapes_for_build(BuildConfig(model="vae57", score="mu2"))
    assert "reco" not in mu2 and mu2["score_sum"] == (3, 1)


def test_decoder_flag_keeps_other_model_cache_keys():
    """``decoder_on_chip`` is absent from the configuration dict when off (vae21's cached models keep their key)."""
    from models.vae21 import VAE21_BUILD
    from models.vae57 import VAE57_CONFIG

    assert "decoder_on_chip" not in VAE21_BUILD.to_dict()
    assert VAE57_CONFIG.to_dict()["decoder_on_chip"] is True


@pytest.mark.slow
def test_reco_candidate_csim_equals_keras(small_reco_vae57, rng, adversarial_inputs, tmp_path):
    from emulation.csim import CSimEmulator
    from hls.config import HLSConfig
    from hls.project import build_project

    deploy = small_reco_vae57[0]
    project_dir, _, _ = build_project(deploy, HLSConfig(), tmp_path / "vae57reco", {"model": "small-vae57-reco"})
    x = _l1_adversarial(rng, adversarial_inputs)
    a = exact_agreement(CSimEmulator(project_dir).predict(x)[:, 0], _keras64(deploy, x), float32_tolerance=False)
    assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0


def test_vae57_scores_variants_transform_and_widths():
    """benchmarks/vae57_scores.py's variants against the default (objects' pT log1p, MET linear and weighted 1/8 in
    ``reco``, ae57's widths): ``linear=1`` drops every log1p, ``linear_met=1`` only the weight, ``log1p_met=1``
    restores the previous default (MET log1p, its narrow port), ``met_w`` sets the weight, ``w`` / ``act`` / ``mu`` /
    ``out`` the bits of the weights and biases / ReLUs / mu / reconstruction (integer bits kept, the rest untouched);
    an unknown key fails before training."""
    from benchmarks.vae57_scores import parse_variant, variant_config
    from models.ae57 import AE57_QUANT
    from models.l1_common import L1_LOG1P_PT, L1_LOG_INPUT
    from models.vae57 import VAE57_CONFIG

    default, lin, met, old, w = (variant_config(parse_variant(s)) for s in
                                 ("seed=13", "linear=1", "linear_met=1,beta=0.01", "log1p_met=1", "met_w=0.25"))
    assert "MET_pt" not in default.log1p and set(default.log1p) == set(L1_LOG1P_PT) - {"MET_pt"}
    assert default.score_weights == VAE57_CONFIG.score_weights == (("MET_pt", 0.125),)
    assert lin.log1p == () and lin.score_weights == ()
    assert met.log1p == default.log1p and met.score_weights == () and met.beta == 0.01
    assert old.log1p == L1_LOG1P_PT and old.score_weights == () and old.quant.places["input"] == L1_LOG_INPUT
    assert w.score_weights == (("MET_pt", 0.25),) and w.log1p == default.log1p
    for k in ("input", "activation", "output"):
        assert default.quant.places[k] == lin.quant.places[k] == met.quant.places[k] == AE57_QUANT.places[k]
    with pytest.raises(ValueError, match="linear_mte"):
        parse_variant("linear_mte=1")
    wide = variant_config(parse_variant("beta=0.01,act=16,mu=16,out=16,w=10"))
    d, q = default.quant.places, wide.quant.places
    assert q["activation"] == (16, d["activation"][1]) and q["mu"] == (16, d["mu"][1])
    assert q["output"] == (16, d["output"][1]) and q["weight"] == (10, d["weight"][1]) == (10, q["bias"][1])
    assert q["input"] == d["input"] and wide.quant.precision_places == default.quant.precision_places
    assert wide.beta == 0.01 and wide.log1p == default.log1p and wide.score_weights == default.score_weights


def test_weighted_reco_candidate_exact_and_the_weighted_error(small_reco_vae57, rng, adversarial_inputs):
    """vae57's default ``reco`` weights MET's squared term by 1/8 (``score_weights``): the on-chip sum holds the
    weight exactly (fast emulator == float64 Keras on saturating inputs), the score is the unweighted one minus 7/8
    of MET's term, float_scores(weights) is the same formula, and a weight the kernel cannot hold is refused."""
    from emulation.fast import FastEmulator
    from models import vae21
    from models.ae57 import score_weight_quantizer
    from models.vae21_scores import float_scores
    from models.vae57 import VAE57_CONFIG

    unweighted, vae, mc = small_reco_vae57
    from data.l1 import L1_FEATURES

    w = vae21.masked_score_weights(VAE57_CONFIG, L1_FEATURES)
    assert w[0] == 0.125 and np.all(w[1:] == 1) and L1_FEATURES[0] == "MET_pt"
    masked = vae21.masked_reco(mc, L1_FEATURES)  # what the build deploys and its float references read
    assert masked == MaskedReco(mc.quant, tuple(w.tolist()))
    deploy = vae21.deployable_model(vae, "reco", masked=masked)
    x = _l1_adversarial(rng, adversarial_inputs)
    y = FastEmulator(deploy).predict(x)[:, 0]
    a = exact_agreement(y, _keras64(deploy, x), float32_tolerance=False)
    assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0
    # the weighted score = the unweighted one - 7/8 of MET's (exact) squared term
    y1 = FastEmulator(unweighted).predict(x)[:, 0]
    xin = np.asarray(vae.get_layer("input_quant")(x), np.float64)
    reco = np.asarray(vae.predict(x, verbose=0), np.float64)
    met_sq = (xin[:, 0] - reco[:, 0]) ** 2
    big = met_sq > 1.0  # away from the 2**-6 rounding of the squares
    assert big.sum() > 100
    np.testing.assert_allclose((y1 - y)[big], 0.875 * met_sq[big], rtol=0.02)
    f1, fw = float_scores(vae, x, masked=MaskedReco(mc.quant)), float_scores(vae, x, masked=masked)
    np.testing.assert_allclose(f1["reco"] - fw["reco"], 0.875 * met_sq, rtol=1e-9, atol=1e-9)
    for bad in (0.1, 2.0, 0.0):
        with pytest.raises(ValueError, match="powers of two"):
            score_weight_quantizer(np.r_[bad, np.ones(56)])
    from models.vae57 import score_text

    assert score_text("reco", VAE57_CONFIG).endswith("weighted (MET_pt x 0.125; others x 1)")
    assert score_text("reco", replace(VAE57_CONFIG, score_weights=())) == "masked squared error of the on-chip " \
        "decoder (from mu) to the input port" and score_text("mu2", VAE57_CONFIG) == "sum(mu^2)"
    with pytest.raises(ValueError, match="no feature 'MET'"):
        vae21.masked_score_weights(replace(VAE57_CONFIG, score_weights=(("MET", 0.5),)), L1_FEATURES)
    # a VAE whose reco is its own likelihood (vae21) cannot carry weights it would not apply
    assert vae21.masked_reco(replace(VAE57_CONFIG, recon_mask="", score_weights=()), L1_FEATURES) is None
    with pytest.raises(ValueError, match="only the masked reconstruction score"):
        vae21.masked_reco(replace(VAE57_CONFIG, recon_mask=""), L1_FEATURES)


def test_choose_with_min_auc_skips_a_score_that_ranks_a_signal_below_the_sm():
    """vae57's score choice (``min_auc``, issue 15 section 2): a candidate whose validation AUC is below 0.5 for
    one signal does not compete, even with the best mean efficiency (a far-tail cluster of that signal); without
    the floor it wins; when no candidate passes, the best mean efficiency is taken and the record says so."""
    from types import SimpleNamespace

    import keras
    from qkeras.qlayers import QActivation, QDense

    from models.vae21_select import choose
    from quantize.qkeras import qkeras_quantized_bits

    def pick(col):  # the quantized feature ``col`` as the score
        inp = keras.Input((2,))
        x = QActivation(qkeras_quantized_bits(10, 4), name="input_quant")(inp)
        d = QDense(1, use_bias=False, kernel_quantizer=qkeras_quantized_bits(2, 1), name="score")
        out = d(x)
        d.kernel.assign(np.eye(2, dtype=np.float32)[:, [col]])
        return keras.Model(inp, out)

    def events(seed, n_sm, n_sig, shift_b=0.5):
        r = np.random.default_rng(seed)
        s1 = np.c_[r.normal(3, 1, n_sig), r.normal(shift_b, 1, n_sig)]
        s2 = np.c_[r.normal(-0.5, 1, n_sig), r.normal(shift_b, 1, n_sig)]
        s2[: n_sig // 20, 0] = 6.0  # 5 % in the far tail of feature 0, the rest below the SM
        return {"background": r.normal(0, 1, (n_sm, 2)), "s1": s1, "s2": s2}

    cfg = SimpleNamespace(score=None, n_test_bkg=None, seed=3, n_signal=5000)
    cands = {"mu2": pick(0), "reco": pick(1)}
    main = SimpleNamespace(name="wp", fpr=1e-3)
    args = (cfg, cands, None, lambda x: x, None, events, main, 20_000)
    free, rec_free = choose(*args)
    floored, rec = choose(*args, min_auc=0.5)
    val = rec["validation"]["candidates"]
    assert val["mu2"]["mean_efficiency"] > val["reco"]["mean_efficiency"] and val["mu2"]["auc"]["s2"] < 0.5
    assert min(val["reco"]["auc"].values()) > 0.5
    assert free == "mu2" and "min_auc" not in rec_free
    assert floored == "reco" and rec["eligible"] == ["reco"] and "AUC above 0.5" in rec["how"]
    # nobody passes (feature 1 ranks both signals below the SM too): the best mean efficiency, said
    none, rec_none = choose(cfg, cands, None, lambda x: x, None, lambda *a: events(*a, shift_b=-0.5), main, 20_000,
                            min_auc=0.5)
    assert none == "mu2" and rec_none["eligible"] == [] and "no score has" in rec_none["how"]


def test_paired_decisions_counts_and_mcnemar():
    """benchmarks/l1_paired_decisions.py: known counts and z; different event sets are refused."""
    from benchmarks.l1_paired_decisions import paired_counts

    a = np.array([1, 1, 1, 0, 0, 0, 1, 0], bool)
    b = np.array([1, 0, 0, 1, 1, 1, 1, 1], bool)
    c = paired_counts(a, b)
    assert (c["n_a"], c["n_b"], c["only_a"], c["only_b"]) == (4, 6, 2, 4)
    assert c["mcnemar_z_b_minus_a"] == pytest.approx(2 / np.sqrt(6))
    assert paired_counts(a, a)["mcnemar_z_b_minus_a"] == 0.0
    with pytest.raises(ValueError, match="different events"):
        paired_counts(a, b[:5])
