"""State and shared pieces of one Keras 3 build of a legacy Keras 2 / QKeras model (see
:mod:`models.legacy_layers`, whose handlers use them): the :class:`BuildContext` (which view is built, the tensors
so far, activations, weight quantizers, the post-training quantizers or profiling taps of float models) and the
readers of layer settings and weights.

In the quantized view, quantizers follow the exact QKeras semantics of :mod:`quantize.legacy_qkeras`; in the float
view every quantizer is off.  For float models (no QKeras layer) the layers of :data:`PTQ_LAYERS` get post-training
quantizers (``ptq``) in the quantized view and profiling taps (``taps``) in the float view.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from quantize.legacy_qkeras import UnsupportedQuantizer, exact_precision_for, parse_quantizer

if TYPE_CHECKING:
    from models.legacy_files import LegacyLayer, LegacyModel
    from quantize.precision import Precision

SUPPORTED_ACTIVATIONS = ("linear", "relu", "softmax")
PTQ_LAYERS = ("Dense", "Conv1D", "Conv2D", "BatchNormalization", "AveragePooling1D", "AveragePooling2D",
              "GlobalAveragePooling1D", "GlobalAveragePooling2D")


def activation_of(value, where: str):
    """An ``activation`` config value -> ("linear"|"relu"|"softmax", None) or ("quantizer", LegacyQuantizer)."""
    if value is None:
        return "linear", None
    if isinstance(value, str) and value in SUPPORTED_ACTIVATIONS:
        return value, None
    if isinstance(value, dict) and value.get("class_name") in ("linear", "relu", "softmax"):
        return value["class_name"], None
    try:
        q = parse_quantizer(value, where)
    except UnsupportedQuantizer as e:
        if isinstance(value, str) and "(" not in value:
            raise ValueError(f"{where}: activation {value!r} is not supported; supported: "
                             f"{', '.join(SUPPORTED_ACTIVATIONS)} and quantized_bits / quantized_relu") from None
        raise ValueError(str(e)) from None
    if not q.is_fixed_point:
        raise ValueError(f"{where}: activation quantizer {q.kind} is not supported (only quantized_bits and "
                         "quantized_relu act on activations)")
    return "quantizer", q


def batchnorm_axis(config: dict):
    """The ``axis`` of a BatchNormalization config (Keras 2 writes a one-element list)."""
    axis = config.get("axis", -1)
    return axis[0] if isinstance(axis, list) and len(axis) == 1 else axis


def layer_weight(lm: LegacyModel, layer: LegacyLayer, key: str, shape=None, required=True):
    ws = lm.weights.get(layer.name)
    if ws is None:
        if required:
            raise ValueError(f"layer {layer.name!r} ({layer.class_name}): no weights in the weights file "
                             f"(layers there: {sorted(lm.weights)[:20]})")
        return None
    if key not in ws:
        if required:
            raise ValueError(f"layer {layer.name!r} ({layer.class_name}): weight {key!r} missing (found {sorted(ws)})")
        return None
    w = np.asarray(ws[key], dtype=np.float32)
    if shape is not None and tuple(w.shape) != tuple(shape):
        raise ValueError(f"layer {layer.name!r} ({layer.class_name}): weight {key!r} has shape {w.shape}, "
                         f"the architecture needs {tuple(shape)}")
    return w


# ---- one build -----------------------------------------------------------------------------------
class BuildContext:
    """One Keras 3 model being built: the view (quantized or float), the tensors so far and, for float models,
    the PTQ quantizers to insert (``ptq``: layer -> {"kernel", "bias", "out": Precision}) or the profiling taps
    to fill (``taps``: layer -> {"tensor", "relu", "kernel", "bias"})."""

    def __init__(self, lm: LegacyModel, quantized: bool, p_in: Precision | None, ptq: dict | None,
                 taps: dict | None):
        self.lm, self.quantized, self.p_in, self.ptq, self.taps = lm, quantized, p_in, ptq, taps
        self.suffix = "" if quantized else "_fv"
        self.tensors: dict = {}
        self.input = None

    @property
    def ptq_quantized(self) -> bool:
        """The quantized view of a float model (PTQ quantizers are inserted)."""
        return self.ptq is not None and self.quantized

    def activation(self, x, kind, q, base):
        """Apply an activation kind to tensor x; returns (tensor, pre_softmax tensor or None)."""
        import keras
        from qkeras.qlayers import QActivation

        if kind == "linear":
            return x, None
        if kind == "relu":
            return keras.layers.Activation("relu", name=f"{base}_relu{self.suffix}")(x), None
        if kind == "softmax":
            return keras.layers.Activation("softmax", name=f"{base}_softmax{self.suffix}")(x), x
        # quantizer
        if self.quantized:
            return QActivation(q.hgq_config(), name=f"{base}_q{self.suffix}")(x), None
        if q.kind == "quantized_relu":
            return keras.layers.Activation("relu", name=f"{base}_relu{self.suffix}")(x), None
        return x, None

    def ptq_activation(self, y, kind, aq, layer: LegacyLayer, k=None, b=None):
        """Activation of a layer; for PTQ layers of float models also the profiling tap / inserted output quantizer
        (after a ReLU: unsigned; before a softmax: on the logits)."""
        if not (layer.class_name in PTQ_LAYERS and (self.taps is not None or self.ptq is not None)):
            return self.activation(y, kind, aq, layer.name)
        if kind == "softmax":
            y = self._ptq_point(y, layer, False, k, b)
            return self.activation(y, kind, aq, layer.name)
        y, pre = self.activation(y, kind, aq, layer.name)
        return self._ptq_point(y, layer, kind == "relu", k, b), pre

    def _ptq_point(self, y, layer: LegacyLayer, relu: bool, k, b):
        if self.ptq_quantized:
            return self.ptq_quantizer(y, layer)
        if self.taps is not None:
            self.taps[layer.name] = {"tensor": y, "relu": relu, "kernel": k, "bias": b}
        return y

    def ptq_quantizer(self, y, layer: LegacyLayer):
        """The inserted PTQ output quantizer of ``layer`` applied to ``y``."""
        from qkeras.qlayers import QActivation

        from quantize.qkeras import quantizer_config

        return QActivation(quantizer_config(self.ptq[layer.name]["out"]), name=f"{layer.name}_ptq{self.suffix}")(y)

    def weight_quantizer(self, layer: LegacyLayer, key, qspec, w):
        """(stored weight, hgq2 quantizer config or None, description)."""
        from quantize.qkeras import quantizer_config

        q = parse_quantizer(qspec, f"layer {layer.name!r} ({layer.class_name}) {key}_quantizer")
        if q is None:
            return w, None, None
        if not self.quantized:
            return w, None, str(q)
        if q.is_fixed_point:
            return w, q.hgq_config(), {"quantizer": q.to_dict()}
        wq_ = q.apply_np(w).astype(np.float32)
        p = exact_precision_for(wq_)
        return wq_, quantizer_config(p), {"quantizer": q.to_dict(), "stored_as": p.to_ap(),
                                          "note": "power-of-two values applied at import, stored exactly"}
