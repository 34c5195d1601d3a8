"""Native-HGQ2 copy of a QKeras-API deployable model with a chosen rounding mode (the da4ml/RTL variant).

da4ml 0.6 traces HGQ2 models into Verilog but implements only TRN and RND (round half up) rounding;
the QKeras-API quantizers round half to even (RND_CONV).  :func:`with_rounding` rebuilds a model made of
``Quantizer``, ``QDense`` (QKeras-API, or native HGQ2 with its own input quantizer and a ReLU), ``QConv2D``
(QKeras-API, any stride/padding, no groups; hgq2's da4ml tracer implements the native QConv2D), ``Flatten``,
``QMultiply``/``QAdd``/``QSubtract`` layers as a native HGQ2 model (``kif``
quantizers, frozen) in which every quantizer keeps its width, integer bits and overflow mode but rounds
with ``rounding``.  The weights are copied *already quantized* (``qkernel``/``qbias``), so they are exactly
representable and the new kernel quantizers leave them unchanged: the variant differs from the original
only where an activation lands exactly half-way between two codes (a tie), which RND rounds up and
RND_CONV rounds to even.  Per-weight (heterogeneous) kernel/bias quantizers become the one type covering all
their weights (the weights are unchanged); a per-element input quantizer already rounding with RND/TRN is kept
as it is (its widths copied).

The input quantizer keeps its saturation (the firmware's input port carries values already quantized to
that type upstream: da4ml is told the port's type with ``inputs_kif``, so the SAT on an in-range value is
a no-op in the RTL, exactly as in Keras).
"""

from __future__ import annotations

import numpy as np

from .graph import layer_calls
from .precision import Overflow, Precision, Rounding
from .qkeras import precision_of_quantizer_layer


def kif(p: Precision) -> tuple[int, int, int]:
    """(keep_negative, integer bits excluding sign, fractional bits): HGQ2/da4ml's description of ``p``."""
    return int(p.signed), p.integer - int(p.signed), p.frac


def _qconf(p: Precision, rounding: Rounding, place: str):
    from hgq.config import QuantizerConfig

    k, i, f = kif(p)
    return QuantizerConfig(
        "kif", place, k0=bool(k), i0=i, f0=f, round_mode=rounding.value, overflow_mode=p.overflow.value,
        ic=None, fc=None, trainable=False, homogeneous_axis=None, heterogeneous_axis=(),
    )


def _weight_precision(layer, attr: str) -> Precision | None:
    """Homogeneous precision of a QDense's kernel/bias quantizer (None if absent)."""
    q = getattr(layer, attr, None)
    if q is None:
        return None
    return precision_of_quantizer_layer(q)


def _conv2d_args(layer) -> dict:
    """The geometry of a QConv2D ``layer`` (for its native-HGQ2 copy)."""
    c = layer.get_config()
    if c.get("groups", 1) != 1:
        raise ValueError(f"layer {layer.name!r}: grouped QConv2D is not supported")
    return {k: c[k] for k in ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate")}


def _dense_copy(layer, x, rounding: Rounding):
    """The native-HGQ2 copy of the QDense (or QConv2D) ``layer`` (see :func:`with_rounding`), called on ``x``:
    (copy, its output).  A QConv2D keeps its geometry (filters, kernel size, strides, padding, dilation)."""
    from hgq.layers import QConv2D, QDense

    if getattr(layer, "enable_oq", False):
        raise ValueError(f"layer {layer.name!r}: a layer with its own output quantizer is not supported")
    act = getattr(layer.activation, "__name__", "linear")
    if act not in ("linear", "relu"):
        raise ValueError(f"layer {layer.name!r}: activation {act!r} inside QDense is not supported")
    # per-weight (HGQ2-native) widths: the covering type holds every quantized weight exactly
    pk = _weight_precision(layer, "kq") or covering_precision(layer.kq, tuple(layer.kernel.shape))
    pb = None
    if layer.bias is not None:
        pb = _weight_precision(layer, "bq") or covering_precision(layer.bq, tuple(layer.bias.shape))
    if pk is None or (layer.bias is not None and pb is None):
        raise ValueError(f"layer {layer.name!r}: kernel/bias quantizers must be fixed point")
    iq_conf, iq_weights = None, None
    if getattr(layer, "enable_iq", False):  # a native HGQ2 layer's own input quantizer
        pi = precision_of_quantizer_layer(layer.iq)
        if pi is not None:
            iq_conf = _qconf(pi, rounding, "datalane")
        elif str(layer.iq.quantizer.round_mode).upper() in ("RND", "TRN"):
            iq_conf, iq_weights = layer.iq.config, layer.iq.get_weights()  # per element, kept as is
        else:
            raise ValueError(f"layer {layer.name!r}: per-element input quantizer rounding "
                             f"{layer.iq.quantizer.round_mode} cannot be replaced")
    is_conv = layer.__class__.__name__ == "QConv2D"
    cls, geometry = (QConv2D, _conv2d_args(layer)) if is_conv else (QDense, {"units": layer.units})
    new = cls(
        **geometry, use_bias=layer.bias is not None, name=layer.name, activation=None if act == "linear" else act,
        kq_conf=_qconf(pk, rounding, "weight"),
        bq_conf=_qconf(pb, rounding, "bias") if pb is not None else None,
        iq_conf=iq_conf, enable_iq=iq_conf is not None, enable_oq=False, enable_ebops=False,
    )
    if iq_conf is not None:
        restore_native_flags(new, iq_conf=iq_conf, enable_ebops=False)
    out = new(x)
    if iq_weights is not None:
        new.iq.set_weights(iq_weights)
    new.kernel.assign(np.asarray(layer.qkernel, dtype=np.float32))
    if pb is not None:
        new.bias.assign(np.asarray(layer.qbias, dtype=np.float32))
    new.trainable = False
    return new, out


def with_rounding(model, rounding: Rounding = Rounding.RND, name: str | None = None):
    """A native-HGQ2 copy of ``model`` whose quantizers all round with ``rounding`` (see module doc)."""
    import keras
    from hgq.layers import QAdd, QMultiply, QSubtract, Quantizer

    merge = {"QMultiply": QMultiply, "QAdd": QAdd, "QSubtract": QSubtract}
    inp = keras.Input(model.inputs[0].shape[1:], name=model.inputs[0].name.split(":")[0])
    tensors = {id(model.inputs[0]): inp}
    copies = []
    for call in layer_calls(model):
        layer, cls = call.layer, call.cls
        ins = [tensors[i] for i in call.ins]
        if cls == "Quantizer":
            p = precision_of_quantizer_layer(layer)
            if p is None:
                raise ValueError(f"layer {layer.name!r}: only homogeneous fixed-point quantizers can be converted")
            new = Quantizer(_qconf(p, rounding, "datalane"), name=layer.name)
            out = new(ins[0])
        elif cls in ("QDense", "QConv2D"):
            new, out = _dense_copy(layer, ins[0], rounding)
        elif cls in ("GlobalAveragePooling1D", "Multiply", "Flatten"):  # parameter-free (deepsets pooling, EFN pT
            # weighting, cicada's flatten between conv and dense)
            new = layer.__class__.from_config(layer.get_config())
            out = new(ins if cls == "Multiply" else ins[0])
        elif cls in merge:
            if getattr(layer, "enable_iq", False) or getattr(layer, "enable_oq", False):
                raise ValueError(f"layer {layer.name!r}: merge layers with their own quantizers are not supported")
            new = merge[cls](name=layer.name, enable_iq=False, enable_oq=False, enable_ebops=False)
            out = new(ins)
        else:
            raise ValueError(
                f"layer {layer.name!r} of class {cls} cannot be converted to the RTL variant; "
                "supported: Quantizer, QDense, QConv2D, Flatten, GlobalAveragePooling1D, Multiply, QMultiply, QAdd, "
                "QSubtract"
            )
        copies.append((layer, new))
        tensors[call.out] = out
    result = keras.Model(inp, tensors[id(model.outputs[0])], name=name or f"{model.name}_{rounding.value.lower()}")
    for old, new in copies:
        if old.__class__.__name__ in ("QDense", "QConv2D"):
            np.testing.assert_array_equal(np.asarray(new.qkernel), np.asarray(old.qkernel),
                                          err_msg=f"{old.name}: kernel changed when re-quantized")
    return result


def input_precision(model) -> Precision:
    """The precision of the quantizer right after the input (the firmware's input port)."""
    first = model.layers[1] if len(model.layers) > 1 else None
    p = precision_of_quantizer_layer(first) if first is not None else None
    if p is None:
        raise ValueError(f"model {model.name!r} needs a homogeneous quantizer right after its input (the input port)")
    return p


def restore_native_flags(layer, like=None, iq_conf=None, enable_ebops: bool | None = None):
    """Undo hgq2 0.2's QKeras-compatibility patch on one native HGQ2 single-input layer (before it is built).

    ``import qkeras.qlayers`` (hgq2's compat module, imported by every QKeras-API model here) patches the hgq
    layer classes *in place*: every layer is then constructed with ``enable_ebops=False`` and, for single-input
    layers (``QDense``...), ``enable_iq=False`` whatever ``iq_conf`` says (the flag is recomputed by the patched
    base ``__init__``, which no longer sees ``iq_conf``).  This re-creates the input quantizer from ``iq_conf``
    (or from the quantizer of ``like``, a layer to copy) and sets the EBOPs flag, so that the layer computes
    what its configuration says.  Used for the HGQ2-native models and when such a model is cloned
    (:func:`emulation.keras_ref.float64_model`)."""
    from hgq.quantizer import Quantizer

    if like is not None:
        if getattr(like, "enable_iq", False):
            iq_conf = like.iq.config
        if enable_ebops is None:
            enable_ebops = bool(getattr(like, "enable_ebops", False))
    if iq_conf is not None and not layer.enable_iq:
        layer._enable_iq = True
        layer._iq = Quantizer(iq_conf, name=f"{layer.name}_iq")
    if enable_ebops is not None:
        layer._enable_ebops = bool(enable_ebops)
    return layer


def per_element_kif(q, shape) -> tuple[np.ndarray, np.ndarray, np.ndarray, Rounding, Overflow]:
    """(k, i, f, rounding, overflow) of the hgq2 ``Quantizer`` ``q`` (homogeneous or per element) applied to a tensor
    of ``shape`` (no batch axis): k, i, f as float64 arrays of ``shape`` (HGQ2's convention: i excludes the sign bit)."""
    inner = q.quantizer
    full = (1, *shape)

    def per_elem(v):
        return np.broadcast_to(np.asarray(inner.bw_mapper.bw_to_x(v, full), dtype=np.float64), full).reshape(shape)

    rnd = str(inner.round_mode).upper().removeprefix("S_")
    return (per_elem(inner.k), per_elem(inner.i), per_elem(inner.f), Rounding.parse(rnd),
            Overflow.parse(str(inner.overflow_mode)))


def covering_precision(q, shape) -> Precision | None:
    """The narrowest single fixed-point type holding every element of a tensor of ``shape`` (no batch axis)
    quantized by the hgq2 ``Quantizer`` ``q`` (homogeneous or per element): signed if any element is, integer
    bits = the largest, fractional bits = the largest, over the elements of non-zero width (elements of zero width
    are constant 0).  None when every element has zero width.  For a homogeneous quantizer this is its precision."""
    k, i, f, rounding, overflow = per_element_kif(q, shape)
    k, i, f = k.ravel(), i.ravel(), f.ravel()
    live = (i + f) > 0
    if not np.any(live):
        return None
    signed = bool(np.any(k[live] > 0))
    integer = int(np.max(i[live])) + int(signed)
    frac = int(np.max(f[live]))
    return Precision(signed, integer + frac, integer, rounding, overflow)


def load_deployable(path):
    """``keras.saving.load_model`` of a saved deployable model, native HGQ2 layers included: hgq2 0.2's QKeras
    compatibility patch (see :func:`restore_native_flags`) rebuilds every hgq layer without its input quantizer, so a
    plain load of an HGQ2-native model (vae57hgq) silently drops its per-feature input quantizers and computes another
    function (or fails on the EBOPs variables).  While loading, each layer gets the input quantizer and EBOPs flag its
    saved configuration has (before it is built, so its saved widths and variables load into it); this toolkit's
    lookup-table functions (:mod:`quantize.tables`) are registered first."""
    import keras
    import qkeras.qlayers  # noqa: F401  (registers and patches the layers)
    from hgq.layers.core.base import QLayerBase

    from quantize.tables import register_lut_functions

    register_lut_functions()  # the lookup tables' functions a deployable model may hold (vae21's scores)

    classes = {c for c in _subclasses(QLayerBase)}
    originals = {c: c.__dict__["__init__"] for c in classes if "__init__" in c.__dict__}

    def wrap(orig):
        def __init__(self, *args, **kwargs):
            orig(self, *args, **kwargs)
            iq_conf = kwargs.get("iq_conf") if kwargs.get("enable_iq") and not self.enable_iq else None
            restore_native_flags(self, iq_conf=iq_conf, enable_ebops=bool(kwargs.get("enable_ebops")))
        return __init__

    try:
        for c, orig in originals.items():
            c.__init__ = wrap(orig)
        return keras.saving.load_model(path, compile=False)
    finally:
        for c, orig in originals.items():
            c.__init__ = orig


def _subclasses(cls):
    for s in cls.__subclasses__():
        yield s
        yield from _subclasses(s)
