"""The fast emulator on per-element (HGQ2-native) quantizers: every rounding/overflow mode, negative and zero
widths, and the vae57hgq encoder (per-weight kernels, per-feature input quantizers inside the dense layers, ReLU in
the layer), event by event against the float64 Keras model."""

import numpy as np
import pytest

from tests.models.test_l1_models import _l1_adversarial


def _elementwise_model(rnd, ovf, keep_negative, rng):
    """Input port ap_fixed<12,6> -> a per-feature KIF quantizer (random integer bits -2..3, fractional bits -1..4,
    so some features have zero width) -> QDense(2)."""
    import keras
    from hgq.config import QuantizerConfig
    from hgq.layers import Quantizer
    from qkeras.qlayers import QActivation, QDense

    from quantize.qkeras import qkeras_quantized_bits

    inp = keras.Input((6,))
    x = QActivation(qkeras_quantized_bits(12, 5), name="port")(inp)
    q = Quantizer(QuantizerConfig("kif", "datalane", k0=keep_negative, i0=2, f0=3, round_mode=rnd, overflow_mode=ovf,
                                  homogeneous_axis=(0,), heterogeneous_axis=None, trainable=False), name="elem")
    d = QDense(2, kernel_quantizer=qkeras_quantized_bits(6, 1), bias_quantizer=qkeras_quantized_bits(6, 1), name="d")
    m = keras.Model(inp, d(q(x)))
    iq = q.quantizer
    iq._i.assign(rng.integers(-2, 4, iq._i.shape).astype("float32"))
    iq._f.assign(rng.integers(-1, 5, iq._f.shape).astype("float32"))
    return m


@pytest.mark.parametrize("rnd,ovf,keep_negative", [("TRN", "WRAP", True), ("RND", "SAT_SYM", True),
                                                   ("RND_CONV", "SAT", False), ("RND", "WRAP", False)])
def test_fast_per_element_quantizer_modes(rnd, ovf, keep_negative, monkeypatch):
    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model

    rng = np.random.default_rng(7)
    m = _elementwise_model(rnd, ovf, keep_negative, rng)
    x = np.concatenate([rng.normal(0, 6, (20000, 6)),
                        np.round(rng.normal(0, 6, (20000, 6)) * 16) / 16]).astype(np.float32)  # ties included
    emu = FastEmulator(m)
    assert emu.backend == "native C kernel", emu.native()[1]
    y = emu.predict(x, chunk=4096)
    y64 = float64_model(m).predict(x.astype(np.float64), verbose=0, batch_size=8192)
    assert np.count_nonzero(y != y64) == 0
    monkeypatch.setenv("LHC_TRIGGER_FAST_BACKEND", "numpy")
    assert np.count_nonzero(FastEmulator(m).predict(x, chunk=4093) != y64) == 0  # the numpy path too
    assert np.unique(y).size > 300
    f = np.asarray(m.get_layer("elem").quantizer.f).ravel()
    i = np.asarray(m.get_layer("elem").quantizer.i).ravel()
    assert np.any(f < 0) or np.any(i < 0)  # the seed exercises negative widths


def test_fast_equals_float64_keras_on_hgq_encoder(rng, adversarial_inputs):
    """The small vae57hgq (random per-weight widths 0..6, per-feature activation widths) on the adversarial L1 set."""
    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model
    from models import vae21 as v
    from tests.models.test_vae57_hgq import _small_hgq

    vae, _ = _small_hgq()
    deploy = v.deployable_model(vae)
    x = _l1_adversarial(rng, adversarial_inputs)
    y = FastEmulator(deploy).predict(x, chunk=3000)[:, 0]
    y64 = float64_model(deploy).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    assert np.count_nonzero(y != y64) == 0
    assert np.unique(y).size > 50


@pytest.mark.parametrize("rnd_variant", [False, True])
def test_saved_hgq_model_reloads_with_its_input_quantizers(rnd_variant, rng, adversarial_inputs, tmp_path):
    """A saved vae57hgq deployable (as trained, and the RND variant builds deploy) reloads with its per-feature input
    quantizers (load_deployable); a plain keras.saving.load_model under hgq2's QKeras-compat patch drops them or fails
    (what the bench and check used to do)."""
    import keras

    from emulation.fast import FastEmulator
    from models import vae21 as v
    from quantize.hgq_native import load_deployable, with_rounding
    from quantize.precision import Rounding
    from tests.models.test_vae57_hgq import _small_hgq

    deploy = v.deployable_model(_small_hgq()[0])
    if rnd_variant:
        deploy = with_rounding(deploy, Rounding.RND)
    deploy.save(tmp_path / "d.keras")
    x = _l1_adversarial(rng, adversarial_inputs)
    y = FastEmulator(deploy).predict(x)
    try:
        plain = keras.saving.load_model(tmp_path / "d.keras", compile=False)
    except ValueError as exc:
        assert "could not be loaded" in str(exc)
    else:
        assert not plain.get_layer("enc_dense2").enable_iq
        assert np.count_nonzero(FastEmulator(plain).predict(x) != y) > 0
    back = load_deployable(tmp_path / "d.keras")
    for name in ("enc_dense1", "enc_dense2", "mu_dense"):
        np.testing.assert_array_equal(np.asarray(back.get_layer(name).iq.quantizer.f),
                                      np.asarray(deploy.get_layer(name).iq.quantizer.f))
    assert np.count_nonzero(FastEmulator(back).predict(x) != y) == 0
