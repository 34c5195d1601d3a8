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


def test_no_silent_float32_fallback():
    """A model that cannot be rebuilt in float64 raises by default; float32 is only an explicit, reported choice."""
    import keras

    from emulation.keras_ref import Float64CloneError, float64_model, float64_model_or_reason

    class NotRebuildable(keras.layers.Layer):  # get_config lacks the constructor's argument
        def __init__(self, scale, **kw):
            super().__init__(**kw)
            self.scale = scale

        def call(self, x):
            return x * self.scale

        def get_config(self):
            return {"name": self.name}

    inp = keras.Input((3,))
    model = keras.Model(inp, NotRebuildable(2.0)(keras.layers.Dense(1)(inp)), name="odd")
    with pytest.raises(Float64CloneError, match="odd cannot be rebuilt in float64"):
        float64_model(model)
    assert float64_model(model, allow_float32=True) is None
    m, why = float64_model_or_reason(model)
    assert m is None and "scale" in why
    assert keras.config.dtype_policy().name == "float32"  # the global policy is restored


def test_xla_compiled_float64_reference_equals_predict(small_vae, rng, adversarial_inputs):
    """The build's exact Keras reference runs XLA-compiled: the same values as ``predict`` and the fast emulator, on
    adversarial inputs, with a padded last batch."""
    import numpy as np

    from emulation.fast import FastEmulator
    from emulation.keras_ref import CompiledPredictor, float64_model
    from models.vae21 import deployable_model

    vae, _ = small_vae
    deploy = deployable_model(vae)
    m64 = float64_model(deploy)
    x = adversarial_inputs(rng, 21).astype(np.float64)
    run = CompiledPredictor(m64, batch_size=4096)
    y = run(x)
    assert run.how.startswith("XLA"), run.how
    assert len(x) % 4096 != 0
    np.testing.assert_array_equal(y, m64.predict(x, batch_size=8192, verbose=0))
    np.testing.assert_array_equal(y, FastEmulator(deploy).predict(x))
