"""The fast emulator equals the hls4ml C-simulation and the quantized Keras model, event by event."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_fast_equals_csim_and_keras(small_project, rng, adversarial_inputs, monkeypatch):
    from emulation.csim import CSimEmulator
    from emulation.fast import FastEmulator

    project_dir, deploy = small_project
    x = np.concatenate([adversarial_inputs(rng, 21), (rng.normal(0, 3, (200_000, 21))).astype(np.float32)])
    emu = FastEmulator(deploy)
    assert emu.backend == "native C kernel", emu.native()[1]
    y_fast = emu.predict(x, chunk=50_000)
    y_csim = CSimEmulator(project_dir).predict(x)
    np.testing.assert_array_equal(y_fast, y_csim)
    monkeypatch.setenv("LHC_TRIGGER_FAST_BACKEND", "numpy")  # the numpy/BLAS path: the same values
    emu_np = FastEmulator(deploy)
    assert emu_np.backend == "numpy/BLAS"
    np.testing.assert_array_equal(emu_np.predict(x.astype(np.float64), chunk=7_777, threads=1), y_csim)
    y_keras = deploy.predict(x[:20000], batch_size=8192, verbose=0)
    np.testing.assert_array_equal(y_fast[:20000], y_keras.astype(np.float64))


def test_fast_refuses_unsupported_layer():
    import keras

    from emulation.fast import FastEmulator

    inp = keras.Input((4,))
    m = keras.Model(inp, keras.layers.Dense(2, name="plain")(inp))
    with pytest.raises(ValueError, match="'plain' of class Dense is not supported by the fast emulator"):
        FastEmulator(m)


def test_fast_refuses_inexact_accumulator():
    import keras
    from qkeras.qlayers import QActivation, QDense

    from emulation.fast import FastEmulator
    from quantize.qkeras import qkeras_quantized_bits

    inp = keras.Input((64,))
    x = QActivation(qkeras_quantized_bits(32, 10), name="q")(inp)
    y = QDense(4, kernel_quantizer=qkeras_quantized_bits(32, 4), bias_quantizer=qkeras_quantized_bits(8, 2),
               name="wide")(x)
    with pytest.raises(ValueError, match="'wide': the accumulator needs"):
        FastEmulator(keras.Model(inp, y))
