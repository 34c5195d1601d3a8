"""Import legacy QKeras / Keras 2 models (JSON architecture + H5 weights, or one full-model H5) onto Keras 3.

The files are read with ``json`` and ``h5py`` (:mod:`models.legacy_files`, which describes the layouts) and the
model is rebuilt layer by layer (:mod:`models.legacy_layers`, one handler per kind of layer) with hgq2's QKeras-API
layers and the exact QKeras quantizer semantics of :mod:`quantize.legacy_qkeras` (QKeras counts the sign bit in
``bits``).  Unsupported layers or settings raise ``ValueError`` naming the layer, its class and the supported list.
When the first layer after the input is not a fixed-point quantizer, one is inserted (hls4ml's bit-exact flow
needs it): from ``input_precision`` or from the range of the user's data.

The import also returns the **float view** (same weights, every quantizer off; an inserted input quantizer is
omitted) and, for models ending in softmax, the **logits** model (everything before the final softmax).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.legacy_files import LegacyLayer, LegacyModel, first_after_input, read_keras2_files, topological
from models.legacy_context import PTQ_LAYERS, SUPPORTED_ACTIVATIONS, activation_of, batchnorm_axis
from models.legacy_layers import SUPPORTED_LAYERS, build_model, check_supported
from quantize.precision import Overflow, Precision, Rounding

__all__ = ["COMPUTE_DTYPE", "DEFAULT_INPUT_BITS", "LEGACY_SUFFIXES", "PTQ_LAYERS", "SUPPORTED_ACTIVATIONS",
           "SUPPORTED_LAYERS", "ImportedModel", "LegacyLayer", "LegacyModel", "fold_batchnorm", "import_legacy",
           "input_precision_from_data", "is_float_model", "is_legacy_model_path", "load_legacy", "read_legacy_model"]

LEGACY_SUFFIXES = (".json", ".h5", ".hdf5")
DEFAULT_INPUT_BITS = 16
# Imported models compute in float64: every fixed-point sum of this toolkit's widths is then exact (float32, as in
# QKeras, rounds wide accumulations, which can move a value across a quantizer's rounding boundary), so the
# imported model is the exact arithmetic the firmware implements.  Differences from a float32 QKeras reference
# show up in the import agreement.
COMPUTE_DTYPE = "float64"


def is_legacy_model_path(arg) -> bool:
    return Path(str(arg)).suffix.lower() in LEGACY_SUFFIXES


def read_legacy_model(model_path, weights_path=None) -> LegacyModel:
    """Read a Keras 2 model: ``model.json`` + ``weights.h5``, or a full-model ``model.h5`` (weights optional);
    a layer of a class no handler rebuilds stops here."""
    lm = read_keras2_files(model_path, weights_path)
    check_supported(lm.layers)
    return lm


# ------------------------------------------------------------------------------------------------
@dataclass
class ImportedModel:
    """What the import produces (Keras 3 models share no layers with each other)."""

    model: object  # quantized Keras 3 model, as the legacy model computes (+ inserted input quantizer)
    float_view: object  # same weights, quantizers off
    logits: object | None  # model without its final softmax (None when it does not end in softmax)
    logits_float_view: object | None
    inserted_input_quantizer: dict | None
    layers: list[dict]
    ends_in_softmax: bool
    legacy: LegacyModel
    ptq_bits: int | None = None  # float model quantized post-training from the data (None: the model's quantizers)

    def summary(self) -> dict:
        return {
            "float_model_ptq_bits": self.ptq_bits,
            "name": self.legacy.name,
            "keras_version": self.legacy.keras_version,
            "source": self.legacy.source,
            "ends_in_softmax": self.ends_in_softmax,
            "inserted_input_quantizer": self.inserted_input_quantizer,
            "layers": self.layers,
        }


def input_precision_from_data(x: np.ndarray, bits: int = DEFAULT_INPUT_BITS) -> Precision:
    """Signed (or unsigned when the data is >= 0) fixed point of ``bits`` bits whose range covers the data."""
    x = np.asarray(x, dtype=np.float64)
    signed = bool(np.min(x) < 0)
    mx = float(np.max(np.abs(x))) if x.size else 1.0
    # integer bits (without sign) such that max |x| < 2**ib - step rounds inside the range
    ib = max(int(math.floor(math.log2(mx))) + 1, 0) if mx > 0 else 0
    for _ in range(3):
        p = Precision(signed, bits, ib + int(signed), Rounding.RND_CONV, Overflow.SAT)
        if mx <= p.max:
            break
        ib += 1
    return p


def is_float_model(lm: LegacyModel) -> bool:
    """True when no layer is a QKeras layer (a plain Keras 2 model)."""
    return not any(l.class_name.startswith("Q") for l in lm.layers)


def import_legacy(lm: LegacyModel, input_precision: Precision | None = None, data: np.ndarray | None = None,
                  input_bits: int = DEFAULT_INPUT_BITS, ptq_bits: int | None = None) -> ImportedModel:
    """Rebuild ``lm`` on Keras 3.  ``input_precision`` (or, without it, the range of ``data``) defines the input
    quantizer inserted when the model has none.

    A float model (no QKeras layer) is quantized post-training (PTQ) from profiling ``data``: weights, biases and
    every Dense / Conv / BatchNormalization / average-pooling output get QKeras ``quantized_bits(ptq_bits, integer)``
    (unsigned after a ReLU) with the fewest integer bits that cover the values seen on the float model;
    the resulting precisions are listed in ``layers`` (``ptq``)."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    order = topological(lm)
    has_input_q = _has_input_quantizer(lm, order)
    floating = is_float_model(lm)
    folded = {}
    if floating:
        lm, folded = fold_batchnorm(lm)
        order = topological(lm)
        if ptq_bits is None:
            ptq_bits = input_bits
    elif ptq_bits is not None:
        raise ValueError("--precision applies only to float (unquantized) models: this model's precisions come from "
                         "its QKeras quantizers")
    if floating and data is None:
        raise ValueError("a float (unquantized) model is quantized from profiling the data: give --data")
    p_in, inserted = (None, None) if has_input_q else _input_quantizer(input_precision, data, ptq_bits or input_bits)
    import keras

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(COMPUTE_DTYPE)
    try:
        return _import(lm, order, p_in, inserted, floating, folded, ptq_bits, data)
    finally:
        keras.config.set_dtype_policy(policy)


def _has_input_quantizer(lm: LegacyModel, order: list[LegacyLayer]) -> bool:
    """Whether the first layer after the input is a QActivation with a fixed-point quantizer."""
    first = first_after_input(lm, order)
    if first is None or first.class_name != "QActivation":
        return False
    kind, _ = activation_of(first.config.get("activation"), f"layer {first.name!r} (QActivation)")
    return kind == "quantizer"


def _input_quantizer(input_precision: Precision | None, data: np.ndarray | None, bits: int) -> tuple[Precision, dict]:
    """The quantizer to insert after an unquantized input, and its description for the report."""
    if input_precision is not None:
        p_in = Precision(input_precision.signed, input_precision.width, input_precision.integer,
                         Rounding.RND_CONV, Overflow.SAT)
        src = "--input-precision"
    elif data is not None:
        p_in = input_precision_from_data(data, bits)
        src = f"data range (min {float(np.min(data)):.6g}, max {float(np.max(data)):.6g}), {bits} bits"
    else:
        raise ValueError("the model has no quantizer after its input: give --input-precision or --data")
    return p_in, {"precision": p_in.to_ap(), "source": src, "qkeras": p_in.qkeras_args(),
                  "note": "inserted by the importer: the legacy model takes unquantized inputs"}


def _import(lm, order, p_in, inserted, floating, folded, ptq_bits, data) -> ImportedModel:
    taps: dict = {}
    f_full, _, f_pre_softmax, _ = build_model(lm, order, quantized=False, p_in=None, taps=taps)
    ptq = _profile(f_full, taps, data, ptq_bits) if floating else None
    q_full, info, t_pre_softmax, softmax = build_model(lm, order, quantized=True, p_in=p_in, ptq=ptq)
    for _ in range(3):  # PTQ: the quantized model's values can exceed the float profile; widen those outputs
        over = _ptq_overflows(q_full, ptq, data) if ptq else []
        if not over:
            break
        for n in over:
            p = ptq[n]["out"]
            ptq[n]["out"] = Precision(p.signed, p.width + 1, p.integer + 1, p.rounding, p.overflow)
        q_full, info, t_pre_softmax, softmax = build_model(lm, order, quantized=True, p_in=p_in, ptq=ptq)
    import keras

    logits = logits_fv = None
    if softmax:
        logits = keras.Model(q_full.inputs, t_pre_softmax, name=f"{q_full.name}_logits")
        logits_fv = keras.Model(f_full.inputs, f_pre_softmax, name=f"{f_full.name}_logits")
    for e in info:
        if e["name"] in folded:
            e["folded_batchnorm"] = folded[e["name"]]
    return ImportedModel(q_full, f_full, logits, logits_fv, inserted, info, softmax, lm, ptq_bits if floating else None)


# ---- float models: batch-normalization folding and post-training quantization ---------------------
def fold_batchnorm(lm: LegacyModel) -> tuple[LegacyModel, dict[str, str]]:
    """Float models: fold each BatchNormalization that directly follows a linear Dense/Conv (its only consumer) into
    that layer's kernel and bias (``k * s``, ``(b - mean) * s + beta``, ``s = gamma / sqrt(var + eps)``), so that
    post-training quantization acts on the folded weights and no float scale reaches the firmware."""
    import copy

    consumers: dict[str, list[str]] = {}
    for l in lm.layers:
        for i in l.inbound:
            consumers.setdefault(i, []).append(l.name)
    by = {l.name: l for l in lm.layers}
    weights = copy.deepcopy(lm.weights)
    rename, folded = {}, {}  # folded BN -> the layer it was folded into; and the reverse
    for l in lm.layers:
        if l.class_name != "BatchNormalization" or len(l.inbound) != 1:
            continue
        prev = by[l.inbound[0]]
        if consumers.get(prev.name) == [l.name] and _fold_into(prev, l, weights):
            rename[l.name] = prev.name
            folded[prev.name] = l.name
    if not rename:
        return lm, {}
    layers = []
    for l in lm.layers:
        if l.name in rename:
            continue
        nl = copy.deepcopy(l)
        nl.inbound = [rename.get(i, i) for i in l.inbound]
        if nl.name in folded:
            nl.config["use_bias"] = True
        layers.append(nl)
    outs = [rename.get(o, o) for o in lm.outputs]
    return LegacyModel(lm.name, layers, lm.inputs, outs, weights, lm.keras_version, lm.source), folded


def _fold_into(prev: LegacyLayer, bn: LegacyLayer, weights: dict) -> bool:
    """Fold ``bn`` into the weights of ``prev`` (in ``weights``) when ``prev`` is a linear Dense/Conv and the
    normalization acts on its channel axis; returns whether it did."""
    axis = batchnorm_axis(bn.config)
    if (prev.class_name not in ("Dense", "Conv1D", "Conv2D") or (prev.config.get("activation") or "linear") != "linear"
            or axis not in (-1, 1, 2, 3)):
        return False
    w, bw = weights.get(prev.name, {}), weights.get(bn.name, {})
    if "kernel" not in w or "moving_mean" not in bw:
        return False
    k = np.asarray(w["kernel"], np.float64)
    if axis != -1 and axis != k.ndim - 1:  # BN over the channel axis only (channels_last)
        return False
    n, c = k.shape[-1], bn.config
    gamma = np.asarray(bw.get("gamma", np.ones(n)), np.float64) if c.get("scale", True) else np.ones(n)
    beta = np.asarray(bw.get("beta", np.zeros(n)), np.float64) if c.get("center", True) else np.zeros(n)
    sc = gamma / np.sqrt(np.asarray(bw["moving_variance"], np.float64) + float(c.get("epsilon", 1e-3)))
    b = np.asarray(w.get("bias", np.zeros(n)), np.float64)
    w["kernel"] = (k * sc).astype(np.float32)
    w["bias"] = ((b - np.asarray(bw["moving_mean"], np.float64)) * sc + beta).astype(np.float32)
    weights[prev.name] = w
    return True


def _covering(values: np.ndarray, bits: int, unsigned: bool = False) -> Precision:
    """QKeras ``quantized_bits(bits, integer)`` (RND_CONV, SAT) with the fewest integer bits covering ``values``."""
    v = np.asarray(values, dtype=np.float64)
    if unsigned:
        v = np.maximum(v, 0)
    return input_precision_from_data(v if v.size else np.zeros(1), bits)


def _probe(model, tensors: list, data: np.ndarray) -> list[np.ndarray]:
    """The values of ``tensors`` (of ``model``'s graph) on ``data``, reshaped to the model's input."""
    import keras

    x = data.reshape((len(data), *[int(d) for d in model.inputs[0].shape[1:]]))
    vals = keras.Model(model.inputs, tensors).predict(x, batch_size=16384, verbose=0)
    return [vals] if len(tensors) == 1 else vals


def _ptq_overflows(model, ptq: dict, data: np.ndarray) -> list[str]:
    """PTQ layers whose inserted output quantizer saturates on ``data`` (evaluated on the quantized model)."""
    from quantize.precision import out_of_range_np

    pairs = []
    for n in ptq:
        try:
            layer = model.get_layer(f"{n}_ptq")
        except ValueError:
            continue
        pairs.append((n, layer))
    if not pairs:
        return []
    out = []
    for (n, _), v in zip(pairs, _probe(model, [l.input for _, l in pairs], data)):
        hi, lo = out_of_range_np(v, ptq[n]["out"])
        if hi.any() or (ptq[n]["out"].signed and lo.any()):
            out.append(n)
    return out


def _profile(float_model, taps: dict, data: np.ndarray, bits: int) -> dict:
    """Per PTQ layer: precisions of kernel, bias and output from the weights and the float model on ``data``."""
    names = list(taps)
    out: dict = {}
    if not names:
        return out
    for n, v in zip(names, _probe(float_model, [taps[n]["tensor"] for n in names], data)):
        t = taps[n]
        entry = {"out": _covering(np.array([v.min(), v.max()]), bits, unsigned=t["relu"])}
        for k in ("kernel", "bias"):
            if t.get(k) is not None:
                entry[k] = _covering(t[k], bits)
        out[n] = entry
    return out


def load_legacy(model_path, weights_path=None, input_precision: str | None = None, data: np.ndarray | None = None,
                input_bits: int = DEFAULT_INPUT_BITS, ptq_bits: int | None = None) -> ImportedModel:
    """Read and import in one call (``input_precision`` is an ``ap_fixed<W,I>`` string)."""
    lm = read_legacy_model(model_path, weights_path)
    p = Precision.parse(input_precision) if input_precision else None
    return import_legacy(lm, p, data, input_bits, ptq_bits)
