"""The float64 Keras reference is exact where the float32 model rounds wide fixed-point sums."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow


def test_float64_reference_equals_fast_emulator_at_16_bits(rng):
    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model
    from models.vae21 import VAE21_QUANT, VAE21Config, build_vae, deployable_model

    cfg = VAE21Config(hidden=(16, 8), latent=3, quant=VAE21_QUANT.with_bits(16))
    deploy = deployable_model(build_vae(cfg, quantized=True))
    x = rng.normal(0, 3, (20000, 21)).astype(np.float32)
    y_emu = FastEmulator(deploy).predict(x)
    m64 = float64_model(deploy)
    assert m64 is not None and m64.layers[-1].dtype_policy.compute_dtype == "float64"
    y64 = np.asarray(m64.predict(x.astype(np.float64), batch_size=8192, verbose=0), np.float64)
    y32 = deploy.predict(x, batch_size=8192, verbose=0).astype(np.float64)
    np.testing.assert_array_equal(y_emu, y64)
    # the float32 model is not exact here (this is why the reference is float64)
    assert np.count_nonzero(y_emu != y32) > 0
    # and the weights are the same ones
    for a, b in zip(m64.get_weights(), deploy.get_weights()):
        np.testing.assert_array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64))
