"""The fast emulator on convolutions (issue 20, cicada): QConv2D as its dense-equivalent matrix on the flattened
image, Flatten as a no-op, event by event against the float64 Keras model (bit equality, no tolerance)."""

import numpy as np
import pytest


def _student(seed):
    import keras

    from models.cicada import build_student

    keras.utils.set_random_seed(seed)
    m = build_student()
    rng = np.random.default_rng(seed)
    for layer in m.layers:  # wide random weights, so the quantizers' rounding and saturation are exercised
        for v in layer.weights:
            v.assign(rng.normal(0, 0.5, v.shape).astype("float32"))
    return m


def _images(n, rng):
    # 10-bit region ET counts / 8, half of the images empty-ish (zeros), the rest over the full range
    x = rng.integers(0, 1024, (n, 18, 14, 1)).astype(np.float64) / 8
    return x * (rng.random((n, 1, 1, 1)) < 0.7)


@pytest.mark.slow  # ~10 s for both backends (a family exactness test, like tests/emulation/test_fast_families.py)
@pytest.mark.parametrize("backend", ["auto", "numpy"])
def test_fast_cicada_student_bit_exact(backend, monkeypatch):
    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model

    monkeypatch.setenv("LHC_TRIGGER_FAST_BACKEND", backend)
    rng = np.random.default_rng(11)
    m = _student(5)
    x = _images(20000, rng)
    emu = FastEmulator(m)
    y = emu.predict(x)
    ref = np.asarray(float64_model(m).predict(x, batch_size=4096, verbose=0), dtype=np.float64)
    assert y.shape == ref.shape == (20000, 1)
    assert len(np.unique(ref)) > 1000  # a non-trivial output, not a saturated constant
    assert np.array_equal(y, ref), f"{int(np.sum(y != ref))} mismatches"
    # (n, 18, 14) images and flat (n, 252) rows are the same events
    assert np.array_equal(emu.predict(x[..., 0]), y)
    assert np.array_equal(emu.predict(x.reshape(len(x), -1)), y)


def test_fast_conv_same_padding_exact_and_refusals():
    import keras
    from qkeras.qlayers import QActivation, QConv2D
    from qkeras.quantizers import quantized_bits

    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model

    keras.utils.set_random_seed(9)
    inp = keras.Input((7, 6, 2))
    x = QActivation(quantized_bits(8, 3, alpha=1), name="q")(inp)
    y = QConv2D(3, 3, strides=2, padding="same", kernel_quantizer=quantized_bits(6, 1, alpha=1),
                bias_quantizer=quantized_bits(6, 1, alpha=1), name="c_same")(x)
    y = QActivation(quantized_bits(7, 2, alpha=1), name="oq")(y)
    m = keras.Model(inp, keras.layers.Flatten()(y))
    rng = np.random.default_rng(9)
    for v in m.get_layer("c_same").weights:
        v.assign(rng.normal(0, 0.6, v.shape).astype("float32"))
    xs = rng.normal(0, 4, (3000, 7, 6, 2))
    ref = np.asarray(float64_model(m).predict(xs, verbose=0), dtype=np.float64)
    got = FastEmulator(m).predict(xs)
    assert got.shape == ref.shape == (3000, 4 * 3 * 3)
    assert np.array_equal(got, ref), f"{int(np.sum(got != ref))} mismatches"
    z = keras.layers.MaxPooling2D(2, name="pool")(x)
    with pytest.raises(ValueError, match="'pool' of class MaxPooling2D is not supported"):
        FastEmulator(keras.Model(inp, keras.layers.Flatten()(z)))
    with pytest.raises(ValueError):
        FastEmulator(m).predict(np.zeros((3, 5, 5)))
