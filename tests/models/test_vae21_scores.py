"""vae21's on-chip score candidates: the reco score graph (decoder on chip, weighted squared error to the input
port) equals the quantized Keras model in float64 bit for bit in the fast emulator and the hls4ml C-sim; the
headroom check fails a threshold in saturation; --score is validated; the log1p feature transform."""

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
    with pytest.raises(ValueError, match="'mu2', 'reco'"):
        deployable_model(small_vae[0], "kl")


def test_score_option_validated_per_family():
    from flow.config import BuildConfig
    from models.registry import get_family

    get_family("vae21").validate(BuildConfig(model="vae21", score="RECO"))
    with pytest.raises(ValueError, match="--score reco: --model ae57 computes a single score"):
        get_family("ae57").validate(BuildConfig(model="ae57", score="reco"))
    with pytest.raises(ValueError, match="--score kl: --model vae21 computes"):
        get_family("vae21").validate(BuildConfig(model="vae21", score="kl"))


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
