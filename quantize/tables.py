"""Lookup tables on chip: hgq2's ``QUnaryFunctionLUT`` with this toolkit's table functions (vae21's exp, softplus and
exp(lv) - lv - 1), registered for Keras serialization so that any saved deployable model holding them loads
(:func:`quantize.hgq_native.load_deployable` registers them)."""

from __future__ import annotations

from quantize.precision import Precision

LUT_FRAC = 6  # fractional bits of every table's entries (its LSB 2**-LUT_FRAC)


def _lut_fns():
    """The lookup tables' functions, each rounded to the table's LSB 2**-LUT_FRAC inside the function: on a table's
    input grid no value below its output saturation lies near a rounding tie (tested), so float32 (hls4ml's ROM,
    the Keras model) and float64 (the reference clone) give the same entries."""
    from keras import ops

    q = 2.0**LUT_FRAC
    return {"kl_lv_term": lambda x: ops.round((ops.exp(x) - x - 1.0) * q) / q,  # g(lv) = exp(lv) - lv - 1
            "poisson_rate": lambda x: ops.round(ops.exp(x) * q) / q,  # exp(eta)
            "bernoulli_softplus": lambda x: ops.round(ops.softplus(x) * q) / q}  # log(1 + exp(l))


def register_lut_function(name: str = "kl_lv_term"):
    """The Keras-serializable table function ``name`` (registered once; a saved model with tables needs it)."""
    import keras

    full = f"lhcad>{name}"
    fn = keras.saving.get_registered_object(full)
    if fn is None:
        body = _lut_fns()[name]

        def fn(x):
            return body(x)

        fn.__name__ = name
        fn = keras.saving.register_keras_serializable(package="lhcad", name=name)(fn)
    return fn


def register_lut_functions() -> None:
    """Every table function (before loading a saved deployable model that may hold tables)."""
    for name in _lut_fns():
        register_lut_function(name)


def lut_layer(x, fn_name: str, p_in: Precision, out_int: int, name: str):
    """hgq2's ``QUnaryFunctionLUT`` of ``fn_name`` on ``x`` (already quantized to ``p_in``: its input quantizer is the
    same, so hls4ml reads the table's range from it), output ap_ufixed<out_int + LUT_FRAC, out_int> (saturating)."""
    from hgq.config import QuantizerConfig
    from hgq.layers import QUnaryFunctionLUT

    from quantize.hgq_native import restore_native_flags

    iq = QuantizerConfig("kif", "datalane", k0=int(p_in.signed), i0=p_in.integer - int(p_in.signed),
                         f0=p_in.frac, round_mode="RND_CONV", overflow_mode="SAT", trainable=False)
    oq = QuantizerConfig("kif", "table", k0=0, i0=out_int, f0=LUT_FRAC, round_mode="RND", overflow_mode="SAT",
                         trainable=False)
    lut = QUnaryFunctionLUT(register_lut_function(fn_name), iq_conf=iq, oq_conf=oq, allow_heterogeneous_input=False,
                            allow_heterogeneous_table=False, enable_iq=True, enable_oq=True, enable_ebops=False,
                            name=name)
    # hgq2's QKeras-compat patch drops the table's input quantizer (hls4ml needs it): restore it
    return restore_native_flags(lut, iq_conf=iq, enable_ebops=False)(x)
