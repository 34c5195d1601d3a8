"""The fast emulator on the issue-20 families' layers (cicada's QConv2D + Flatten, the Deep Sets per-particle QDense,
GlobalAveragePooling1D and the EFN's pT Multiply), lowered to exact dense products: bit-equal to the float64 quantized
Keras model on every event (random weights large enough to reach the quantizers' saturation), through both the numpy
path and the fused C kernel, and through a plan written and read back; the convolution matrix against a direct
convolution for every padding / stride / dilation kind."""

import numpy as np
import pytest

from models.deepsets import Variant


def _cicada_student(seed: int):
    from models.cicada import build_student

    m = build_student()
    rng = np.random.default_rng(seed)
    for layer in m.layers:
        if getattr(layer, "kernel", None) is not None:
            layer.kernel.assign(rng.normal(0, 0.6, layer.kernel.shape).astype(np.float32))
            if layer.bias is not None:
                layer.bias.assign(rng.normal(0, 0.5, layer.bias.shape).astype(np.float32))
    return m


def _images(n: int, seed: int) -> np.ndarray:
    from models.cicada import student_input

    rng = np.random.default_rng(seed)
    counts = rng.poisson(rng.gamma(0.6, 6.0, (n, 18, 14)))  # heavy-tailed region ET counts
    counts[: n // 10] = rng.integers(0, 1024, (n // 10, 18, 14))  # the full 10-bit range, saturation included
    return student_input(np.minimum(counts, 1023)).astype(np.float64)


def _exact(model, x: np.ndarray, monkeypatch):
    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model

    ref = float64_model(model).predict(x, batch_size=4096, verbose=0).reshape(len(x), -1)
    emu = FastEmulator(model)
    got_c = emu.predict(x)
    assert emu.backend == "native C kernel"
    monkeypatch.setenv("LHC_TRIGGER_FAST_BACKEND", "numpy")
    got_np = FastEmulator(model).predict(x)
    assert np.unique(ref).size > 50  # a non-trivial output
    assert int(np.sum(got_c != ref)) == 0 and int(np.sum(got_np != ref)) == 0
    return emu, ref


@pytest.mark.slow  # ~5 s: a C kernel compile and 6000 images in float64 Keras
def test_cicada_student_bit_exact(monkeypatch, tmp_path):
    from emulation.fast_plan import load_plan, save_plan

    m = _cicada_student(3)
    x = _images(6000, 4)
    emu, ref = _exact(m, x, monkeypatch)
    assert emu.n_inputs == 18 * 14
    assert int(np.sum(load_plan(save_plan(emu, tmp_path / "plan.npz")).predict(x) != ref)) == 0


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(Variant))
def test_deepsets_bit_exact(variant, monkeypatch):
    from tests.models.test_deepsets import _jets, _random_model

    m = _random_model(variant, seed=7)
    x = _jets(1500, seed=8).astype(np.float64)
    x[:200] *= 8.0  # beyond the port's range: the input quantizer saturates
    _exact(m, x, monkeypatch)


@pytest.mark.parametrize("padding,strides,dilation", [("valid", (2, 2), (1, 1)), ("same", (2, 1), (1, 1)),
                                                      ("same", (1, 1), (2, 2)), ("valid", (1, 1), (1, 2)),
                                                      ("valid", (1, 3), (1, 1))])
def test_conv2d_matrix_equals_direct_convolution(padding, strides, dilation):
    import keras

    from emulation.fast import _conv2d_matrix

    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 2, 2, 5))
    x = rng.normal(size=(7, 9, 8, 2))
    conv = keras.layers.Conv2D(5, (3, 2), strides=strides, padding=padding, dilation_rate=dilation, use_bias=False,
                               dtype="float64")
    conv.build(x.shape)
    conv.kernel.assign(w)
    want = np.asarray(conv(x))
    got = x.reshape(len(x), -1) @ _conv2d_matrix(w, x.shape[1:], strides, padding, dilation)
    np.testing.assert_allclose(got, want.reshape(len(x), -1), rtol=0, atol=1e-12)


def test_unsupported_layer_named():
    import keras

    from emulation.fast import FastEmulator
    from quantize.qkeras import qkeras_quantized_bits
    from qkeras.qlayers import QActivation

    inp = keras.Input((8, 4))
    h = QActivation(qkeras_quantized_bits(8, 3, keep_negative=True), name="q")(inp)
    m = keras.Model(inp, keras.layers.GlobalMaxPooling1D(name="maxpool")(h))
    with pytest.raises(ValueError, match="'maxpool' of class GlobalMaxPooling1D is not supported"):
        FastEmulator(m)
