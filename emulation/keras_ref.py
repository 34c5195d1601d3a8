"""The quantized Keras model evaluated in float64: an exact reference for the bit-accurate emulators.

Keras computes in float32, so a fixed-point sum wider than 24 significant bits (16-bit inputs times 16-bit
weights, a sum of squares) is rounded, and a quantizer downstream may then round to a different level:
the float32 model is not the fixed-point model it describes.  Rebuilt with the float64 dtype policy (same
layers, same weights), every sum of up to 53 significant bits is exact, so the emulators must equal it
exactly (no ulp tolerance).  Native HGQ2 layers (input quantizer inside the layer) are cloned with their input
quantizer and flags restored (:func:`quantize.hgq_native.restore_native_flags`); a clone whose layers differ
from the original in those flags is refused: :func:`float64_model` raises, unless the caller passes
``allow_float32=True`` (an explicit choice: it then gets None and must report the reason, see
:func:`float64_model_or_reason`, and compare with the float32 model's ulp tolerance).  Measured on vae21 at ``--precision 16``: 3229 of 30000 random events differ
between the C-sim and the float32 model, 0 with the float64 model.
"""

from __future__ import annotations


class Float64CloneError(RuntimeError):
    """The model cannot be rebuilt in float64, so no exact (tolerance-free) Keras reference exists for it."""


def float64_model_or_reason(model):
    """(float64 clone, None), or (None, why not) when it cannot be cloned: the caller falls back to float32 and
    records the reason in its report."""
    try:
        return float64_model(model), None
    except Float64CloneError as e:
        return None, str(e)


def float64_model(model, allow_float32: bool = False):
    """A float64 clone of ``model`` (same weights).  When it cannot be cloned: :class:`Float64CloneError`, or
    None with ``allow_float32`` (the caller's explicit choice to use the float32 model and its ulp tolerance)."""
    try:
        return _clone64(model)
    except Float64CloneError:
        if allow_float32:
            return None
        raise


def _clone64(model):
    import keras

    def clone(layer):
        cfg = layer.get_config()
        cfg.pop("dtype", None)  # take the global float64 policy
        new = layer.__class__.from_config(cfg)
        if getattr(layer, "enable_iq", False) and not new.enable_iq or (
                getattr(new, "enable_ebops", None) != getattr(layer, "enable_ebops", None)):
            # a native HGQ2 layer rebuilt through hgq2's QKeras-compat patch: restore its input quantizer and flags
            from quantize.hgq_native import restore_native_flags

            restore_native_flags(new, like=layer)
        for flag in ("enable_iq", "enable_oq", "enable_ebops"):
            if getattr(new, flag, None) != getattr(layer, flag, None):
                raise ValueError(f"{layer.name}: {flag} differs in the clone")
        return new

    prev = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        c = keras.models.clone_model(model, clone_function=clone)
        for a, b in zip(c.layers, model.layers):
            a.set_weights(b.get_weights())
    except Exception as e:  # exotic layers
        raise Float64CloneError(f"{model.name} cannot be rebuilt in float64 ({type(e).__name__}: {e})") from e
    finally:
        keras.config.set_dtype_policy(prev)
    return c


class CompiledPredictor:
    """``model(x)`` over batches through one XLA-compiled function (``tf.function(jit_compile=True)``, compiled once:
    every batch has ``batch_size`` rows, the last one zero padded).  Same graph and float64 arithmetic as
    ``model.predict`` (XLA on CPU does not use fast-math), tens of times faster on small dense models.  When XLA cannot
    compile the model the first call falls back to ``model.predict``; ``how`` says which ran."""

    def __init__(self, model, batch_size: int = 65536):
        self.model, self.batch_size, self._fn = model, batch_size, None
        self.how = "XLA-compiled (jit_compile=True)"

    def __call__(self, x):
        import numpy as np
        import tensorflow as tf

        x = np.asarray(x)
        if len(x) and (self._fn is not None or self.how.startswith("XLA")):
            try:
                return self._run(tf, np, x)
            except (tf.errors.OpError, ValueError, TypeError, NotImplementedError) as exc:
                self.how = f"Keras predict (XLA failed: {type(exc).__name__}: {str(exc)[:200]})"
        return np.asarray(self.model.predict(x, batch_size=self.batch_size, verbose=0))

    def _run(self, tf, np, x):
        if self._fn is None:
            model = self.model
            self._fn = tf.function(lambda a: model(a, training=False), jit_compile=True)
        bs, out = self.batch_size, []
        for s in range(0, len(x), bs):
            xb = x[s:s + bs]
            n = len(xb)
            if n < bs:
                xb = np.concatenate([xb, np.zeros((bs - n, *xb.shape[1:]), xb.dtype)])
            y = self._fn(tf.constant(xb))
            out.append([np.asarray(t)[:n] for t in y] if isinstance(y, (list, tuple)) else np.asarray(y)[:n])
        if not out:
            raise ValueError("no events")
        if isinstance(out[0], list):  # a model with several outputs: a list, as predict returns
            return [np.concatenate([o[i] for o in out]) for i in range(len(out[0]))]
        return np.concatenate(out)
