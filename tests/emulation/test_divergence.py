"""``first_divergent_layer`` on a real disagreement: at 16 bits the float32 Keras model rounds wide fixed-point sums
(see emulation/keras_ref.py), so some events differ from the bit-accurate emulators; the traced C-simulation must
name a layer where they differ, and report the two values it found."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # one hls4ml compile with tracing (~10-20 s)


def test_first_divergent_layer_names_the_layer_where_float32_keras_rounds(rng):
    from emulation.divergence import first_divergent_layer
    from emulation.fast import FastEmulator
    from hls.config import HLSConfig
    from models.vae21 import VAE21_QUANT, VAE21Config, build_vae, deployable_model

    cfg = VAE21Config(hidden=(16, 8), latent=3, quant=VAE21_QUANT.with_bits(16))
    deploy = deployable_model(build_vae(cfg, quantized=True))
    x = rng.normal(0, 3, (20000, 21)).astype(np.float32)
    differ = np.flatnonzero(FastEmulator(deploy).predict(x)[:, 0] != deploy.predict(x, batch_size=8192, verbose=0)[:, 0])
    assert len(differ) > 0
    d = first_divergent_layer(deploy, HLSConfig(), x[differ[:20]])
    assert d["layer"] in [layer.name for layer in deploy.layers[1:]], d
    assert d["keras"] != d["emulator"] and 0 <= d["event"] < 20
