"""The quantized Keras model evaluated in float64: an exact reference for the bit-accurate emulators.

Keras computes in float32, so a fixed-point sum wider than 24 significant bits (16-bit inputs times 16-bit
weights, a sum of squares) is rounded, and a quantizer downstream may then round to a different level:
the float32 model is not the fixed-point model it describes.  Rebuilt with the float64 dtype policy (same
layers, same weights), every sum of up to 53 significant bits is exact, so the emulators must equal it
exactly (no ulp tolerance).  Measured on vae21 at ``--precision 16``: 3229 of 30000 random events differ
between the C-sim and the float32 model, 0 with the float64 model.
"""

from __future__ import annotations


def float64_model(model):
    """A float64 clone of ``model`` (same weights), or None when the model cannot be cloned."""
    import keras

    def clone(layer):
        cfg = layer.get_config()
        cfg.pop("dtype", None)  # take the global float64 policy
        return layer.__class__.from_config(cfg)

    prev = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        c = keras.models.clone_model(model, clone_function=clone)
        for a, b in zip(c.layers, model.layers):
            a.set_weights(b.get_weights())
    except Exception:  # exotic layers: the caller falls back to the float32 model and its ulp tolerance
        return None
    finally:
        keras.config.set_dtype_policy(prev)
    return c
