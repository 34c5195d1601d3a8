"""ae57 / vae57: the on-chip scores equal the quantized Keras models bit for bit (fast emulator and hls4ml C-sim),
on small untrained models and adversarial inputs; the on-chip mask equals the numpy mask."""

import numpy as np
import pytest

from emulation.agreement import exact_agreement


def _l1_adversarial(rng, adversarial_inputs, n_features=57):
    """The shared adversarial blocks, plus L1-like events (zero padding, non-negative pT, exact ties of the
    default input port (2 fractional bits) at half steps of 0.25)."""
    x = adversarial_inputs(rng, n_features)
    ev = np.abs(rng.normal(0, 3, (3000, n_features)))
    ev[:, 1::3] = rng.normal(0, 1.5, (3000, n_features // 3))
    ev[:, 2::3] = rng.uniform(-1.8, 1.8, (3000, n_features // 3))
    n_obj = rng.integers(0, 19, 3000)
    ev[np.repeat(np.arange(19)[None, :] >= n_obj[:, None], 3, axis=1)] = 0.0
    ties = np.round(ev / 0.125) * 0.125
    tiny = ev.copy()
    tiny[:, 3::3] = np.where(tiny[:, 3::3] > 0, rng.choice([0.1, 0.124, 0.125, 0.126, 0.25], tiny[:, 3::3].shape), 0)
    return np.concatenate([x, ev, ties, tiny]).astype(np.float32)


@pytest.fixture(scope="module")
def small_ae57():
    from models.ae57 import AE57Config, build_ae, deployable_model

    cfg = AE57Config(hidden=(8, 6), latent=2)
    ae = build_ae(cfg, quantized=True)
    return deployable_model(ae, cfg), ae, cfg


@pytest.fixture(scope="module")
def small_vae57():
    from models import vae21
    from models.vae57 import VAE57_QUANT

    vq = VAE57_QUANT.with_bits(6)  # the CMS-like starting point: 6-bit weights and biases
    assert vq.places == {"input": (13, 6), "weight": (6, 1), "bias": (6, 1), "activation": (12, 6), "mu": (12, 4),
                         "output": (13, 6)}  # ae57's port, ReLU and reconstruction widths (MET linear)
    cfg = vae21.VAE21Config(n_features=57, hidden=(8, 6), latent=3, quant=vq)
    return vae21.deployable_model(vae21.build_vae(cfg, quantized=True))


def test_ae57_mask_on_chip_equals_numpy_mask(small_ae57, rng, adversarial_inputs):
    import keras

    from data.l1 import object_mask
    from quantize.precision import quantize_np

    deploy, _, cfg = small_ae57
    x = _l1_adversarial(rng, adversarial_inputs)
    probe = keras.Model(deploy.inputs, deploy.get_layer("mask_quant").output)
    m = probe.predict(x, batch_size=8192, verbose=0)
    xq = quantize_np(x, cfg.quant.precision("input"))
    want = object_mask(np.maximum(xq, 0))  # a negative pT (not physical) masks its object too
    np.testing.assert_array_equal(m, want)
    assert 0 < m[:, 3::3].mean() < 1


def test_ae57_fast_emulator_equals_keras(small_ae57, rng, adversarial_inputs):
    from emulation.fast import FastEmulator

    deploy, _, _ = small_ae57
    x = _l1_adversarial(rng, adversarial_inputs)
    from emulation.keras_ref import float64_model

    y_keras = float64_model(deploy).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    y_fast = FastEmulator(deploy).predict(x)[:, 0]
    a = exact_agreement(y_fast, y_keras, float32_tolerance=False)
    assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0
    assert np.all(y_fast >= 0) and np.unique(y_fast).size > 100


def test_ae57_score_precisions_cover_the_ports():
    """diff holds |input| + |reconstruction| without saturating, sq its square (computed by hand)."""
    from models.ae57 import score_precisions
    from quantize.spec import QuantSpec

    q = QuantSpec(input=(9, 6), output=(12, 5))  # input ap_fixed<9,7> (+-64), reconstruction ap_fixed<12,6> (+-32)
    d, sq = score_precisions(q)
    assert (d.to_ap(), sq.to_ap()) == ("ap_fixed<14,8,AP_RND_CONV,AP_SAT>", "ap_ufixed<20,14,AP_RND_CONV,AP_SAT>")
    d, sq = score_precisions(q.with_places(input=(8, 5)))  # +-32 and +-32: diff < 64
    assert (d.width, d.integer, sq.width, sq.integer) == (13, 7, 18, 12)


def test_port_range_check_flags_a_port_too_narrow_for_the_l1_fields():
    from data.l1 import N_L1_FEATURES
    from models.l1_common import L1_INPUT, port_range_check
    from quantize.spec import QuantSpec

    scale = np.full(N_L1_FEATURES, 40.0, np.float32)  # MET 2047.5 GeV -> 51.2
    ok = port_range_check(QuantSpec(input=L1_INPUT), scale)  # ap_fixed<9,7>
    assert ok["covers_field_range"] and ok["largest_field"] == "MET_pt"
    assert ok["largest_field_value_scaled"] == pytest.approx(2047.5 / 40)
    narrow = port_range_check(QuantSpec(input=(8, 5)), scale)  # ap_fixed<8,6>: max 31.75
    assert not narrow["covers_field_range"] and narrow["port_max"] == 31.75


def _l1_events(n, rng):
    """n L1-like events in GeV (zero-padded, pT at the L1 LSB 0.5 from the softest object's threshold to the field
    maximum, eta / phi inside the acceptance)."""
    from data.l1 import ABS_ETA_MAX, N_L1_FEATURES, PT_MAX

    x = np.zeros((n, N_L1_FEATURES), np.float32)
    kinds = ["MET"] + ["e"] * 4 + ["mu"] * 4 + ["j"] * 10
    for r, k in enumerate(kinds):
        x[:, 3 * r] = np.round(rng.uniform(3.0, PT_MAX[k], n) * 2) / 2
        x[:, 3 * r + 1] = 0.0 if k == "MET" else rng.uniform(-ABS_ETA_MAX[k], ABS_ETA_MAX[k], n)
        x[:, 3 * r + 2] = rng.uniform(-np.pi, np.pi, n)
    n_obj = rng.integers(0, 19, n)
    x[np.repeat(np.arange(19)[None, :] > n_obj[:, None], 3, axis=1)] = 0.0  # MET (row 0) always present
    return x


def test_vae57_log1p_transform_keeps_padding_and_the_port_covers_the_fields(rng):
    """vae57's inputs: log1p of the 18 object pT columns upstream of the port, MET's pT and the rest untouched,
    zero padding stays 0, every present object stays non-zero at the port, and the port (ae57's, for MET's linear
    tail) holds every field value, which the previous log1p port could not with MET linear."""
    from dataclasses import replace

    from data.l1 import L1_FEATURES, PT_COLUMNS, object_mask
    from models import l1_common
    from models.ae57 import AE57_QUANT
    from models.vae57 import VAE57_CONFIG
    from quantize.precision import quantize_np
    from quantize.spec import QuantSpec

    tf = l1_common.log1p_transform(VAE57_CONFIG, L1_FEATURES)
    obj_pt = PT_COLUMNS[1:]
    assert L1_FEATURES[PT_COLUMNS[0]] == "MET_pt" and list(tf.columns) == list(obj_pt)
    x = _l1_events(4000, rng)
    y = tf(x)
    np.testing.assert_allclose(y[:, obj_pt], np.log1p(x[:, obj_pt]), rtol=1e-6)
    other = np.setdiff1d(np.arange(57), obj_pt)
    np.testing.assert_array_equal(y[:, other], x[:, other])

    class _DS:  # training data as the build hands it over
        x_train, x_val = x[:3000], x[3000:]

    scale, xt, xv = l1_common.scaled(_DS, tf)
    np.testing.assert_allclose(xt, y[:3000] / scale, rtol=1e-6)
    p = VAE57_CONFIG.quant.precision("input")
    assert VAE57_CONFIG.quant.places["input"] == AE57_QUANT.places["input"]
    xq = quantize_np(np.concatenate([xt, xv]), p)
    np.testing.assert_array_equal(object_mask(xq), object_mask(x))  # no present object rounds to 0, no padding moves
    rep = l1_common.port_range_check(VAE57_CONFIG.quant, scale, tf)
    assert rep["covers_field_range"] and rep["largest_field_value_scaled"] <= p.max
    # the previous port (log1p of every pT, quantized_bits(9, 2)) cannot hold MET's linear tail
    narrow = replace(VAE57_CONFIG, quant=QuantSpec(
        precision_places=VAE57_CONFIG.quant.precision_places,
        **{**VAE57_CONFIG.quant.places, "input": l1_common.L1_LOG_INPUT}))
    rms = np.full(57, 40.0, np.float32)  # SM: MET 2047.5 GeV is ~50x its RMS of ~40 GeV
    old = l1_common.port_range_check(narrow.quant, rms, tf)
    assert not old["covers_field_range"] and old["largest_field"] == "MET_pt"
    assert l1_common.port_range_check(VAE57_CONFIG.quant, rms, tf)["covers_field_range"]


def test_ae57_wide_input_port_mask_scale(rng, adversarial_inputs):
    """With --input-precision ap_fixed<16,6> (f_in = 10) the mask kernel is 2**10 and still exact."""
    from dataclasses import replace

    from emulation.fast import FastEmulator
    from models.ae57 import AE57Config, build_ae, deployable_model

    cfg = AE57Config(hidden=(8, 6), latent=2)
    cfg = replace(cfg, quant=cfg.quant.with_places(input=(16, 5)))
    deploy = deployable_model(build_ae(cfg, quantized=True), cfg)
    x = _l1_adversarial(rng, adversarial_inputs)[:6000]
    a = exact_agreement(FastEmulator(deploy).predict(x)[:, 0], deploy.predict(x, batch_size=8192, verbose=0)[:, 0])
    assert a.n_mismatched == 0


def test_vae57_fast_emulator_equals_keras(small_vae57, rng, adversarial_inputs):
    from emulation.fast import FastEmulator

    x = _l1_adversarial(rng, adversarial_inputs)
    a = exact_agreement(FastEmulator(small_vae57).predict(x)[:, 0], small_vae57.predict(x, batch_size=8192, verbose=0)[:, 0])
    assert a.n_events == len(x) and a.n_mismatched == 0


@pytest.mark.slow
def test_ae57_csim_equals_keras(small_ae57, rng, adversarial_inputs, tmp_path):
    """(vae57's graph is vae21's, whose C-sim is tested in tests/emulation; the vae57 CLI test cross-checks it.)"""
    from emulation.csim import CSimEmulator
    from hls.config import HLSConfig
    from hls.project import build_project

    deploy = small_ae57[0]
    project_dir, _, _ = build_project(deploy, HLSConfig(), tmp_path / "ae57", {"model": "small-ae57"})
    x = _l1_adversarial(rng, adversarial_inputs)
    from emulation.keras_ref import float64_model

    y_csim = CSimEmulator(project_dir).predict(x)[:, 0]
    # the float64 reference: at the default widths the 57 squares sum to more than float32's 24 bits
    y_keras = float64_model(deploy).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    a = exact_agreement(y_csim, y_keras, float32_tolerance=False)
    assert a.n_events == len(x) and a.n_mismatched == 0 and a.n_differ_any == 0
