"""Rebuilding legacy Keras 2 / QKeras layers on Keras 3: one handler class per kind of layer.

Each handler subclasses :class:`LayerHandler` and names the Keras 2 class names it rebuilds in ``handles``;
defining the class registers it in :data:`HANDLERS` (class name -> handler), which is the list of supported
layers.  :func:`build_model` walks a :class:`models.legacy_files.LegacyModel` in graph order and dispatches each
layer to its handler; a layer of any other class stops with a ``ValueError`` naming the layer, its class and the
supported list.

Q layers become hgq2's QKeras-API layers with the exact QKeras quantizer semantics of
:mod:`quantize.legacy_qkeras`; in the float view every quantizer is off.  The state of one build and the pieces
handlers share are in :mod:`models.legacy_context`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from models.legacy_context import BuildContext, activation_of, batchnorm_axis, layer_weight
from quantize.legacy_qkeras import parse_quantizer

if TYPE_CHECKING:
    from models.legacy_files import LegacyLayer, LegacyModel
    from quantize.precision import Precision

# ---- handlers ------------------------------------------------------------------------------------
HANDLERS: dict[str, type[LayerHandler]] = {}


class LayerHandler:
    """Rebuilds one Keras 2 layer of a class in ``handles``.  :meth:`apply` takes the input tensor and returns
    (output tensor, tensor before a final softmax or None), recording what it built in ``self.entry``."""

    handles: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        taken = [kind for kind in cls.handles if kind in HANDLERS]
        if taken:
            kind = taken[0]
            raise TypeError(f"{cls.__name__}: layer class {kind} is already handled by {HANDLERS[kind].__name__}")
        HANDLERS.update(dict.fromkeys(cls.handles, cls))

    def __init__(self, ctx: BuildContext, layer: LegacyLayer):
        self.ctx, self.layer, self.c = ctx, layer, layer.config
        self.where = f"layer {layer.name!r} ({layer.class_name})"
        self.name = layer.name + ctx.suffix
        self.entry: dict = {"name": layer.name, "class": layer.class_name}

    def build(self):
        """Rebuild the layer on the tensor of its one input: (output tensor, pre-softmax tensor or None)."""
        if len(self.layer.inbound) != 1:
            raise ValueError(f"{self.where}: {len(self.layer.inbound)} inputs; only single-input layers are supported")
        return self.apply(self.ctx.tensors[self.layer.inbound[0]])

    def apply(self, x):
        raise NotImplementedError

    def weight(self, key, shape=None):
        return layer_weight(self.ctx.lm, self.layer, key, shape)


def handler_for(layer: LegacyLayer) -> type[LayerHandler]:
    try:
        return HANDLERS[layer.class_name]
    except KeyError:
        raise ValueError(f"layer {layer.name!r} of class {layer.class_name} is not supported for import; supported: "
                         f"{', '.join(HANDLERS)}") from None


def check_supported(layers: list[LegacyLayer]) -> None:
    """Stop at the first layer no handler rebuilds."""
    for l in layers:
        handler_for(l)


class InputHandler(LayerHandler):
    handles = ("InputLayer",)

    def build(self):
        import keras
        from qkeras.qlayers import QActivation

        from quantize.qkeras import quantizer_config

        shape = self.c.get("batch_input_shape") or self.c.get("batch_shape")
        if shape is None or any(s is None for s in shape[1:]):
            raise ValueError(f"{self.where}: input shape {shape} must be fully specified (apart from the batch)")
        x = self.ctx.input = keras.Input(tuple(int(s) for s in shape[1:]), name=self.name)
        self.entry["shape"] = list(shape[1:])
        p_in, suffix = self.ctx.p_in, self.ctx.suffix
        if p_in is not None:
            x = QActivation(quantizer_config(p_in), name=f"input_quantizer{suffix}")(x)
            self.entry["imported_as"] = f"Input + inserted QActivation({p_in.to_ap()})"
        else:
            self.entry["imported_as"] = "Input"
        return x, None


class _WeightedHandler(LayerHandler):
    """Dense and convolutions: kernel, optional bias, fused activation."""

    def weighted(self, x, k, b, q_cls, float_cls, **kw):
        """Build the layer (``kw`` are its arguments), set its weights and apply its activation."""
        kind, aq = activation_of(self.c.get("activation"), self.where)
        layer, k, b = self._make(k, b, q_cls, float_cls, kw)
        y = layer(x)
        layer.set_weights([k, b] if kw["use_bias"] else [k])
        y, pre = self.ctx.ptq_activation(y, kind, aq, self.layer, k, b)
        self.entry["activation"] = str(aq) if aq is not None else kind
        self.entry["imported_as"] = layer.__class__.__name__
        return y, pre

    def _make(self, k, b, q_cls, float_cls, kw):
        """The layer with the model's QKeras quantizers (Q layers), the PTQ quantizers (float models) or none
        (float view), and the weights to store."""
        from quantize.qkeras import quantizer_config

        ctx, use_bias = self.ctx, kw["use_bias"]
        if self.layer.class_name.startswith("Q") and ctx.quantized:
            k, kq, kd = ctx.weight_quantizer(self.layer, "kernel", self.c.get("kernel_quantizer"), k)
            bq = bd = None
            if use_bias:
                b, bq, bd = ctx.weight_quantizer(self.layer, "bias", self.c.get("bias_quantizer"), b)
            self.entry.update(kernel=kd, bias=bd)
            return q_cls(kernel_quantizer=kq, bias_quantizer=bq, **kw), k, b
        if ctx.ptq_quantized:
            pq = ctx.ptq[self.layer.name]
            self.entry["ptq"] = {kk: v.to_ap() for kk, v in pq.items()}
            return q_cls(kernel_quantizer=quantizer_config(pq["kernel"]),
                         bias_quantizer=quantizer_config(pq["bias"]) if use_bias else None, **kw), k, b
        return float_cls(**kw), k, b


class DenseHandler(_WeightedHandler):
    handles = ("Dense", "QDense")

    def apply(self, x):
        import keras
        from qkeras.qlayers import QDense

        units = int(self.c["units"])
        use_bias = bool(self.c.get("use_bias", True))
        k = self.weight("kernel", (int(x.shape[-1]), units))
        b = self.weight("bias", (units,)) if use_bias else None
        return self.weighted(x, k, b, QDense, keras.layers.Dense, units=units, use_bias=use_bias, name=self.name)


class ActivationHandler(LayerHandler):
    handles = ("Activation", "QActivation", "ReLU", "Softmax")

    def apply(self, x):
        c, where = self.c, self.where
        if self.layer.class_name == "ReLU":
            if (c.get("max_value") is not None or float(c.get("negative_slope", 0) or 0) != 0
                    or float(c.get("threshold", 0) or 0) != 0):
                raise ValueError(f"{where}: ReLU with max_value / negative_slope / threshold is not supported")
            kind, aq = "relu", None
        elif self.layer.class_name == "Softmax":
            if c.get("axis", -1) not in (-1, len(x.shape) - 1, [-1]):
                raise ValueError(f"{where}: softmax over axis {c.get('axis')} is not supported (only the last axis)")
            kind, aq = "softmax", None
        else:
            kind, aq = activation_of(c.get("activation"), where)
        y, pre = self.ctx.activation(x, kind, aq, self.layer.name)
        self.entry["activation"] = str(aq) if aq is not None else kind
        self.entry["imported_as"] = "QActivation" if (aq is not None and self.ctx.quantized) else "Activation"
        return y, pre


class BatchNormHandler(LayerHandler):
    handles = ("BatchNormalization", "QBatchNormalization")
    QUANTIZERS = (("gamma", "gamma_quantizer"), ("beta", "beta_quantizer"), ("moving_mean", "mean_quantizer"),
                  ("moving_variance", "variance_quantizer"))

    def apply(self, x):
        import keras

        c = self.c
        axis = batchnorm_axis(c)
        if axis not in (-1, len(x.shape) - 1):
            raise ValueError(f"{self.where}: axis {axis} is not supported (only the last axis)")
        n = int(x.shape[-1])
        center, scale = bool(c.get("center", True)), bool(c.get("scale", True))
        params = {"gamma": self.weight("gamma", (n,)) if scale else None,
                  "beta": self.weight("beta", (n,)) if center else None,
                  "moving_mean": self.weight("moving_mean", (n,)),
                  "moving_variance": self.weight("moving_variance", (n,))}
        qd = self._quantize_parameters(params)
        layer = keras.layers.BatchNormalization(axis=-1, epsilon=float(c.get("epsilon", 1e-3)), center=center,
                                                scale=scale, name=self.name)
        y = layer(x)
        layer.set_weights([v for v in params.values() if v is not None])
        y, _ = self.ctx.ptq_activation(y, "linear", None, self.layer)
        self.entry["imported_as"] = "BatchNormalization (float arithmetic, as in QKeras)"
        if qd:
            self.entry["parameter_quantizers"] = qd
        if self.ctx.ptq_quantized:
            self.entry["ptq"] = {"out": self.ctx.ptq[self.layer.name]["out"].to_ap()}
        return y, None

    def _quantize_parameters(self, params: dict) -> dict:
        """QBatchNormalization (quantized view): apply the parameter quantizers to ``params`` in place (QKeras
        computes batch normalization in float with quantized parameters); returns their descriptions."""
        qd = {}
        if self.layer.class_name != "QBatchNormalization" or not self.ctx.quantized:
            return qd
        for key, qkey in self.QUANTIZERS:
            q = parse_quantizer(self.c.get(qkey), f"{self.where} {qkey}")
            if q is not None and params[key] is not None:
                params[key] = q.apply_np(params[key]).astype(np.float32)
                qd[key] = q.to_dict()
        return qd


class ConvHandler(_WeightedHandler):
    handles = ("Conv1D", "Conv2D", "QConv1D", "QConv2D")

    def apply(self, x):
        import keras
        from qkeras.qlayers import QConv1D, QConv2D

        c, where = self.c, self.where
        nd = 2 if self.layer.class_name.endswith("2D") else 1
        if c.get("data_format", "channels_last") != "channels_last":
            raise ValueError(f"{where}: data_format {c.get('data_format')!r}; only channels_last is supported")
        if any(int(d) != 1 for d in np.atleast_1d(c.get("dilation_rate", 1))) or int(c.get("groups", 1)) != 1:
            raise ValueError(f"{where}: dilation_rate != 1 or groups != 1 is not supported")
        filters = int(c["filters"])
        ks = tuple(int(v) for v in np.atleast_1d(c["kernel_size"]))
        strides = tuple(int(v) for v in np.atleast_1d(c.get("strides", 1)))
        use_bias = bool(c.get("use_bias", True))
        k = self.weight("kernel", (*ks, int(x.shape[-1]), filters))
        b = self.weight("bias", (filters,)) if use_bias else None
        return self.weighted(x, k, b, QConv2D if nd == 2 else QConv1D,
                             keras.layers.Conv2D if nd == 2 else keras.layers.Conv1D, filters=filters, kernel_size=ks,
                             strides=strides, padding=c.get("padding", "valid"), use_bias=use_bias, name=self.name)


class PoolingHandler(LayerHandler):
    handles = ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D")

    def apply(self, x):
        import keras

        c, kind = self.c, self.layer.class_name
        y = getattr(keras.layers, kind)(pool_size=c.get("pool_size"), strides=c.get("strides"),
                                        padding=c.get("padding", "valid"), name=self.name)(x)
        if kind.startswith("Average"):
            y, _ = self.ctx.ptq_activation(y, "linear", None, self.layer)
            if self.ctx.ptq_quantized:
                self.entry["ptq"] = {"out": self.ctx.ptq[self.layer.name]["out"].to_ap()}
        self.entry["imported_as"] = kind
        return y, None


class GlobalPoolingHandler(LayerHandler):
    handles = ("GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D")

    def apply(self, x):
        import keras

        kind = self.layer.class_name
        y = getattr(keras.layers, kind)(name=self.name)(x)
        if "Average" in kind:
            y, _ = self.ctx.ptq_activation(y, "linear", None, self.layer)
        self.entry["imported_as"] = kind
        return y, None


class FlattenHandler(LayerHandler):
    handles = ("Flatten",)

    def apply(self, x):
        import keras

        self.entry["imported_as"] = "Flatten"
        return keras.layers.Flatten(name=self.name)(x), None


class ReshapeHandler(LayerHandler):
    handles = ("Reshape",)

    def apply(self, x):
        import keras

        y = keras.layers.Reshape(tuple(int(v) for v in self.c["target_shape"]), name=self.name)(x)
        self.entry["imported_as"] = "Reshape"
        return y, None


class DropoutHandler(LayerHandler):
    handles = ("Dropout",)

    def apply(self, x):
        self.entry["imported_as"] = "removed (identity at inference)"
        return x, None


SUPPORTED_LAYERS = tuple(HANDLERS)  # registration order: the list error messages give


def build_model(lm: LegacyModel, order: list[LegacyLayer], quantized: bool, p_in: Precision | None,
                ptq: dict | None = None, taps: dict | None = None):
    """One Keras 3 model.  Returns (model, per-layer info, tensor before the final softmax, ends_in_softmax).

    ``ptq`` (float models): layer -> {"kernel", "bias", "out": Precision} quantizers to insert; ``taps`` (filled
    when given, float view): layer -> {"tensor", "relu", "kernel", "bias"} for profiling."""
    import keras

    ctx = BuildContext(lm, quantized, p_in, ptq, taps)
    info: list[dict] = []
    pre_softmax = {}  # layer name -> tensor before its softmax (when the layer ends in one)
    for l in order:
        handler = handler_for(l)(ctx, l)
        y, pre = handler.build()
        ctx.tensors[l.name] = y
        if pre is not None:
            pre_softmax[l.name] = pre
        info.append(handler.entry)
    out_name = lm.outputs[0]
    model = keras.Model(ctx.input, ctx.tensors[out_name], name=(lm.name or "imported") + ctx.suffix)
    return model, info, pre_softmax.get(out_name), out_name in pre_softmax
