"""Import legacy QKeras / Keras 2 models (JSON architecture + H5 weights, or one full-model H5) onto Keras 3.

Keras 3 cannot read these files (``model_from_json`` fails with "Could not locate class 'Sequential'") and the
original QKeras cannot be installed beside this stack, so the files are read here with ``json`` and ``h5py``:

- architecture: the Keras 2 ``to_json()`` layout, ``{"class_name": "Sequential" | "Functional" | "Model",
  "config": {...}, "keras_version": "2.x"}``; Sequential ``config`` is ``{"name", "layers": [...]}`` (or, from
  Keras <= 2.2, the list of layers itself); functional ``config`` has ``layers`` with ``inbound_nodes``
  (``[[["name", node_index, tensor_index, {}]]]``), ``input_layers`` and ``output_layers``;
- weights: Keras 2 ``save_weights`` HDF5 (root attribute ``layer_names``; per layer a group whose attribute
  ``weight_names`` lists datasets such as ``q_dense/kernel:0``), or a full-model file ``model.save("m.h5")``
  (root attribute ``model_config`` holding the JSON, weights in the same layout under ``/model_weights``).

The model is rebuilt with hgq2's QKeras-API layers and the exact QKeras quantizer semantics of
:mod:`quantize.legacy_qkeras` (QKeras counts the sign bit in ``bits``).  Unsupported layers or settings raise
``ValueError`` naming the layer, its class and the supported list.  When the first layer after the input is not
a fixed-point quantizer, one is inserted (hls4ml's bit-exact flow needs it): from ``input_precision`` or from the
range of the user's data.

The import also returns the **float view** (same weights, every quantizer off; an inserted input quantizer is
omitted) and, for models ending in softmax, the **logits** model (everything before the final softmax).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from quantize.legacy_qkeras import UnsupportedQuantizer, exact_precision_for, parse_quantizer
from quantize.precision import Overflow, Precision, Rounding

SUPPORTED_LAYERS = (
    "InputLayer", "Dense", "QDense", "Activation", "QActivation", "ReLU", "Softmax", "BatchNormalization",
    "QBatchNormalization", "Conv1D", "Conv2D", "QConv1D", "QConv2D", "MaxPooling1D", "MaxPooling2D",
    "AveragePooling1D", "AveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "Flatten", "Reshape", "Dropout",
)
SUPPORTED_ACTIVATIONS = ("linear", "relu", "softmax")
LEGACY_SUFFIXES = (".json", ".h5", ".hdf5")
DEFAULT_INPUT_BITS = 16
# Imported models compute in float64: every fixed-point sum of this toolkit's widths is then exact (float32, as in
# QKeras, rounds wide accumulations, which can move a value across a quantizer's rounding boundary), so the
# imported model is the exact arithmetic the firmware implements.  Differences from a float32 QKeras reference
# show up in the import agreement.
COMPUTE_DTYPE = "float64"


def is_legacy_model_path(arg) -> bool:
    return Path(str(arg)).suffix.lower() in LEGACY_SUFFIXES


# ------------------------------------------------------------------------------------------------
@dataclass
class LegacyLayer:
    name: str
    class_name: str
    config: dict
    inbound: list[str]


@dataclass
class LegacyModel:
    name: str
    layers: list[LegacyLayer]  # graph order (inputs first)
    inputs: list[str]
    outputs: list[str]
    weights: dict[str, dict[str, np.ndarray]]  # layer -> {"kernel": ..., "bias": ...}
    keras_version: str | None
    source: dict = field(default_factory=dict)


def _dec(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _read_weight_groups(g, where: str) -> dict[str, dict[str, np.ndarray]]:
    if "layer_names" not in g.attrs:
        raise ValueError(
            f"{where}: no 'layer_names' attribute: not a Keras 2 weights file (expected the layout written by "
            "Keras 2's model.save_weights('w.h5') or model.save('m.h5'))"
        )
    out = {}
    for lname in (_dec(n) for n in g.attrs["layer_names"]):
        lg = g[lname]
        ws = {}
        for wn in (_dec(n) for n in lg.attrs.get("weight_names", [])):
            short = wn.split("/")[-1].split(":")[0]
            ws[short] = np.asarray(lg[wn][()])
        out[lname] = ws
    return out


def _parse_config(cfg: dict, where: str) -> tuple[str, list[LegacyLayer], list[str], list[str], str | None]:
    if not isinstance(cfg, dict) or "class_name" not in cfg or "config" not in cfg:
        raise ValueError(f"{where}: not a Keras model JSON (expected keys 'class_name' and 'config')")
    kind = cfg["class_name"]
    kv = cfg.get("keras_version")
    body = cfg["config"]
    if kind == "Sequential":
        layers_cfg = body if isinstance(body, list) else body.get("layers", [])
        name = "sequential" if isinstance(body, list) else body.get("name", "sequential")
        layers: list[LegacyLayer] = []
        prev = None
        for i, lc in enumerate(layers_cfg):
            c = lc.get("config", {})
            lname = c.get("name", f"layer_{i}")
            if i == 0 and lc.get("class_name") != "InputLayer":
                shape = c.get("batch_input_shape") or (body.get("build_input_shape") if isinstance(body, dict) else None)
                if shape is None:
                    raise ValueError(f"{where}: the first layer {lname!r} has no batch_input_shape; cannot tell the input shape")
                layers.append(LegacyLayer("input", "InputLayer", {"batch_input_shape": shape, "name": "input"}, []))
                prev = "input"
            layers.append(LegacyLayer(lname, lc["class_name"], c, [prev] if prev else []))
            prev = lname
        return name, layers, [layers[0].name], [prev], kv
    if kind in ("Functional", "Model"):
        layers = []
        for lc in body["layers"]:
            nodes = lc.get("inbound_nodes", [])
            lname = lc.get("name") or lc["config"]["name"]
            if nodes and isinstance(nodes[0], dict):
                raise ValueError(f"{where}: this is a Keras 3 configuration; load the .keras file directly")
            if len(nodes) > 1:
                raise ValueError(f"{where}: layer {lname!r} is called {len(nodes)} times (shared layers are not supported)")
            inbound = [n[0] for n in nodes[0]] if nodes else []
            layers.append(LegacyLayer(lname, lc["class_name"], lc["config"], inbound))
        ins = [x[0] for x in body["input_layers"]]
        outs = [x[0] for x in body["output_layers"]]
        return body.get("name", "model"), layers, ins, outs, kv
    raise ValueError(f"{where}: model class {kind!r} is not supported; supported: Sequential, Functional (Model)")


def read_legacy_model(model_path, weights_path=None) -> LegacyModel:
    """Read a Keras 2 model: ``model.json`` + ``weights.h5``, or a full-model ``model.h5`` (weights optional)."""
    import h5py

    mp = Path(model_path)
    if not mp.is_file():
        raise FileNotFoundError(f"--model {mp}: no such file")
    if mp.suffix.lower() == ".json":
        try:
            cfg = json.loads(mp.read_text())
        except json.JSONDecodeError as e:
            raise ValueError(f"--model {mp}: not valid JSON ({e})") from None
        if weights_path is None:
            raise ValueError(f"--model {mp} is an architecture only: give its weights with --weights FILE.h5")
        wp = Path(weights_path)
        if not wp.is_file():
            raise FileNotFoundError(f"--weights {wp}: no such file")
        if not h5py.is_hdf5(wp):
            raise ValueError(f"--weights {wp}: not an HDF5 file")
        with h5py.File(wp, "r") as f:
            g = f["model_weights"] if "model_weights" in f else f
            weights = _read_weight_groups(g, f"--weights {wp}")
        source = {"architecture": str(mp), "weights": str(wp)}
    else:
        if not h5py.is_hdf5(mp):
            raise ValueError(f"--model {mp}: not an HDF5 file")
        with h5py.File(mp, "r") as f:
            if "model_config" not in f.attrs:
                raise ValueError(
                    f"--model {mp}: no 'model_config' attribute: not a Keras 2 full-model file (a weights-only file "
                    "goes to --weights, with the architecture JSON as --model)"
                )
            cfg = json.loads(_dec(f.attrs["model_config"]))
            cfg.setdefault("keras_version", _dec(f.attrs.get("keras_version", "")) or None)
            if weights_path is None:
                if "model_weights" not in f:
                    raise ValueError(f"--model {mp}: no /model_weights group; give the weights with --weights")
                weights = _read_weight_groups(f["model_weights"], f"--model {mp}")
        if weights_path is not None:
            if not Path(weights_path).is_file() or not h5py.is_hdf5(weights_path):
                raise FileNotFoundError(f"--weights {weights_path}: no such HDF5 file")
            with h5py.File(weights_path, "r") as f:
                g = f["model_weights"] if "model_weights" in f else f
                weights = _read_weight_groups(g, f"--weights {weights_path}")
        source = {"model_file": str(mp), "weights": str(weights_path or mp)}
    name, layers, ins, outs, kv = _parse_config(cfg, f"--model {mp}")
    if len(ins) != 1 or len(outs) != 1:
        raise ValueError(f"--model {mp}: {len(ins)} inputs and {len(outs)} outputs; only single-input, single-output "
                         "models are supported")
    for l in layers:
        if l.class_name not in SUPPORTED_LAYERS:
            raise ValueError(
                f"layer {l.name!r} of class {l.class_name} is not supported for import; supported: "
                f"{', '.join(SUPPORTED_LAYERS)}"
            )
    return LegacyModel(name, layers, ins, outs, weights, kv, source)


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


def _activation_of(value, where: str):
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


def _weight(lm: LegacyModel, layer: LegacyLayer, key: str, shape=None, required=True):
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


PTQ_LAYERS = ("Dense", "Conv1D", "Conv2D", "BatchNormalization", "AveragePooling1D", "AveragePooling2D",
              "GlobalAveragePooling1D", "GlobalAveragePooling2D")


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
    order = _topological(lm)
    first = _first_after_input(lm, order)
    has_input_q = False
    if first is not None and first.class_name == "QActivation":
        kind, q = _activation_of(first.config.get("activation"), f"layer {first.name!r} (QActivation)")
        has_input_q = kind == "quantizer"
    floating = is_float_model(lm)
    folded = {}
    if floating:
        lm, folded = fold_batchnorm(lm)
        order = _topological(lm)
    if floating and ptq_bits is None:
        ptq_bits = input_bits
    if not floating and ptq_bits is not None:
        raise ValueError("--precision applies only to float (unquantized) models: this model's precisions come from "
                         "its QKeras quantizers")
    if floating and data is None:
        raise ValueError("a float (unquantized) model is quantized from profiling the data: give --data")
    inserted = None
    p_in = None
    if not has_input_q:
        bits = ptq_bits or input_bits
        if input_precision is not None:
            p_in = Precision(input_precision.signed, input_precision.width, input_precision.integer,
                             Rounding.RND_CONV, Overflow.SAT)
            src = "--input-precision"
        elif data is not None:
            p_in = input_precision_from_data(data, bits)
            src = f"data range (min {float(np.min(data)):.6g}, max {float(np.max(data)):.6g}), {bits} bits"
        else:
            raise ValueError("the model has no quantizer after its input: give --input-precision or --data")
        inserted = {"precision": p_in.to_ap(), "source": src, "qkeras": p_in.qkeras_args(),
                    "note": "inserted by the importer: the legacy model takes unquantized inputs"}
    import keras

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(COMPUTE_DTYPE)
    try:
        return _import(lm, order, p_in, inserted, floating, folded, ptq_bits, data)
    finally:
        keras.config.set_dtype_policy(policy)


def _import(lm, order, p_in, inserted, floating, folded, ptq_bits, data) -> ImportedModel:
    taps: dict = {}
    f_full, _, f_pre_softmax, _ = _build(lm, order, quantized=False, p_in=None, taps=taps)
    ptq = _profile(lm, f_full, taps, data, ptq_bits) if floating else None
    q_full, info, t_pre_softmax, softmax = _build(lm, order, quantized=True, p_in=p_in, ptq=ptq)
    for _ in range(3):  # PTQ: the quantized model's values can exceed the float profile; widen those outputs
        over = _ptq_overflows(q_full, ptq, data) if ptq else []
        if not over:
            break
        for n in over:
            p = ptq[n]["out"]
            ptq[n]["out"] = Precision(p.signed, p.width + 1, p.integer + 1, p.rounding, p.overflow)
        q_full, info, t_pre_softmax, softmax = _build(lm, order, quantized=True, p_in=p_in, ptq=ptq)
    import keras

    logits = logits_fv = None
    if softmax:
        logits = keras.Model(q_full.inputs, t_pre_softmax, name=f"{q_full.name}_logits")
        logits_fv = keras.Model(f_full.inputs, f_pre_softmax, name=f"{f_full.name}_logits")
    for e in info:
        if e["name"] in folded:
            e["folded_batchnorm"] = folded[e["name"]]
    return ImportedModel(q_full, f_full, logits, logits_fv, inserted, info, softmax, lm, ptq_bits if floating else None)


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
    drop, rename, folded = set(), {}, {}
    for l in lm.layers:
        if l.class_name != "BatchNormalization" or len(l.inbound) != 1:
            continue
        prev = by[l.inbound[0]]
        axis = l.config.get("axis", -1)
        axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
        if (prev.class_name not in ("Dense", "Conv1D", "Conv2D") or consumers.get(prev.name) != [l.name]
                or (prev.config.get("activation") or "linear") != "linear" or axis not in (-1, 1, 2, 3)):
            continue
        w, bw = weights.get(prev.name, {}), weights.get(l.name, {})
        if "kernel" not in w or "moving_mean" not in bw:
            continue
        k = np.asarray(w["kernel"], np.float64)
        if axis != -1 and axis != k.ndim - 1:  # BN over the channel axis only (channels_last)
            continue
        n = k.shape[-1]
        gamma = np.asarray(bw.get("gamma", np.ones(n)), np.float64) if l.config.get("scale", True) else np.ones(n)
        beta = np.asarray(bw.get("beta", np.zeros(n)), np.float64) if l.config.get("center", True) else np.zeros(n)
        sc = gamma / np.sqrt(np.asarray(bw["moving_variance"], np.float64) + float(l.config.get("epsilon", 1e-3)))
        b = np.asarray(w.get("bias", np.zeros(n)), np.float64)
        w["kernel"] = (k * sc).astype(np.float32)
        w["bias"] = ((b - np.asarray(bw["moving_mean"], np.float64)) * sc + beta).astype(np.float32)
        weights[prev.name] = w
        drop.add(l.name)
        rename[l.name] = prev.name
        folded[prev.name] = l.name
    if not drop:
        return lm, {}
    layers = []
    for l in lm.layers:
        if l.name in drop:
            continue
        nl = copy.deepcopy(l)
        nl.inbound = [rename.get(i, i) for i in l.inbound]
        if nl.name in folded:
            nl.config["use_bias"] = True
        layers.append(nl)
    outs = [rename.get(o, o) for o in lm.outputs]
    return LegacyModel(lm.name, layers, lm.inputs, outs, weights, lm.keras_version, lm.source), folded


def _covering(values: np.ndarray, bits: int, unsigned: bool = False) -> Precision:
    """QKeras ``quantized_bits(bits, integer)`` (RND_CONV, SAT) with the fewest integer bits covering ``values``."""
    v = np.asarray(values, dtype=np.float64)
    if unsigned:
        v = np.maximum(v, 0)
    return input_precision_from_data(v if v.size else np.zeros(1), bits)


def _ptq_overflows(model, ptq: dict, data: np.ndarray) -> list[str]:
    """PTQ layers whose inserted output quantizer saturates on ``data`` (evaluated on the quantized model)."""
    import keras

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
    x = data.reshape((len(data), *[int(d) for d in model.inputs[0].shape[1:]]))
    probe = keras.Model(model.inputs, [l.input for _, l in pairs])
    vals = probe.predict(x, batch_size=16384, verbose=0)
    if len(pairs) == 1:
        vals = [vals]
    out = []
    for (n, _), v in zip(pairs, vals):
        hi, lo = out_of_range_np(v, ptq[n]["out"])
        if hi.any() or (ptq[n]["out"].signed and lo.any()):
            out.append(n)
    return out


def _profile(lm: LegacyModel, float_model, taps: dict, data: np.ndarray, bits: int) -> dict:
    """Per PTQ layer: precisions of kernel, bias and output from the weights and the float model on ``data``."""
    import keras

    names = list(taps)
    out: dict = {}
    if names:
        x = data.reshape((len(data), *[int(d) for d in float_model.inputs[0].shape[1:]]))
        probe = keras.Model(float_model.inputs, [taps[n]["tensor"] for n in names])
        vals = probe.predict(x, batch_size=16384, verbose=0)
        if len(names) == 1:
            vals = [vals]
        for n, v in zip(names, vals):
            t = taps[n]
            entry = {"out": _covering(np.array([v.min(), v.max()]), bits, unsigned=t["relu"])}
            for k in ("kernel", "bias"):
                if t.get(k) is not None:
                    entry[k] = _covering(t[k], bits)
            out[n] = entry
    return out


def _topological(lm: LegacyModel) -> list[LegacyLayer]:
    by = {l.name: l for l in lm.layers}
    done, out = set(), []

    def visit(name, stack=()):
        if name in done:
            return
        if name in stack:
            raise ValueError(f"cycle in the model graph at layer {name!r}")
        if name not in by:
            raise ValueError(f"the model graph refers to unknown layer {name!r}")
        for p in by[name].inbound:
            visit(p, stack + (name,))
        done.add(name)
        out.append(by[name])

    visit(lm.outputs[0])
    return out


def _first_after_input(lm, order):
    inp = lm.inputs[0]
    for l in order:
        if l.inbound == [inp] and l.class_name != "Dropout":
            return l
        if l.inbound == [inp] and l.class_name == "Dropout":
            inp = l.name
    return None


def _build(lm: LegacyModel, order: list[LegacyLayer], quantized: bool, p_in: Precision | None, ptq: dict | None = None,
           taps: dict | None = None):
    """One Keras 3 model.  Returns (model, per-layer info, tensor before the final softmax, ends_in_softmax).

    ``ptq`` (float models): layer -> {"kernel", "bias", "out": Precision} quantizers to insert; ``taps`` (filled
    when given, float view): layer -> {"tensor", "relu", "kernel", "bias"} for profiling."""
    import keras
    from qkeras.qlayers import QActivation, QConv1D, QConv2D, QDense

    from quantize.qkeras import quantizer_config

    suffix = "" if quantized else "_fv"
    tensors: dict = {}
    info: list[dict] = []
    pre_softmax = {}  # layer name -> tensor before its softmax (when the layer ends in one)
    softmax_out = set()

    def act_layers(x, kind, q, base):
        """Apply an activation kind to tensor x; returns (tensor, pre_softmax tensor or None)."""
        if kind == "linear":
            return x, None
        if kind == "relu":
            return keras.layers.Activation("relu", name=f"{base}_relu{suffix}")(x), None
        if kind == "softmax":
            return keras.layers.Activation("softmax", name=f"{base}_softmax{suffix}")(x), x
        # quantizer
        if quantized:
            return QActivation(q.hgq_config(), name=f"{base}_q{suffix}")(x), None
        if q.kind == "quantized_relu":
            return keras.layers.Activation("relu", name=f"{base}_relu{suffix}")(x), None
        return x, None

    def ptq_act(y, kind, aq, layer, k, b):
        """Activation of a PTQ-eligible layer; for float models also the profiling tap / inserted output quantizer
        (after a ReLU: unsigned; before a softmax: on the logits)."""
        if not (layer.class_name in PTQ_LAYERS and (taps is not None or ptq is not None)):
            return act_layers(y, kind, aq, layer.name)
        if kind == "softmax":
            if ptq is not None and quantized:
                y = QActivation(quantizer_config(ptq[layer.name]["out"]), name=f"{layer.name}_ptq{suffix}")(y)
            elif taps is not None:
                taps[layer.name] = {"tensor": y, "relu": False, "kernel": k, "bias": b}
            return act_layers(y, kind, aq, layer.name)
        y, pre = act_layers(y, kind, aq, layer.name)
        if ptq is not None and quantized:
            y = QActivation(quantizer_config(ptq[layer.name]["out"]), name=f"{layer.name}_ptq{suffix}")(y)
        elif taps is not None:
            taps[layer.name] = {"tensor": y, "relu": kind == "relu", "kernel": k, "bias": b}
        return y, pre

    def wq(layer, key, qspec, w):
        """(stored weight, hgq2 quantizer config or None, description)."""
        q = parse_quantizer(qspec, f"layer {layer.name!r} ({layer.class_name}) {key}_quantizer")
        if q is None:
            return w, None, None
        if not quantized:
            return w, None, str(q)
        if q.is_fixed_point:
            return w, q.hgq_config(), {"quantizer": q.to_dict()}
        wq_ = q.apply_np(w).astype(np.float32)
        p = exact_precision_for(wq_)
        return wq_, quantizer_config(p), {"quantizer": q.to_dict(), "stored_as": p.to_ap(),
                                          "note": "power-of-two values applied at import, stored exactly"}

    for l in order:
        c = l.config
        where = f"layer {l.name!r} ({l.class_name})"
        name = l.name + suffix
        entry = {"name": l.name, "class": l.class_name}
        if l.class_name == "InputLayer":
            shape = c.get("batch_input_shape") or c.get("batch_shape")
            if shape is None or any(s is None for s in shape[1:]):
                raise ValueError(f"{where}: input shape {shape} must be fully specified (apart from the batch)")
            x = keras.Input(tuple(int(s) for s in shape[1:]), name=name)
            inp = x
            entry["shape"] = list(shape[1:])
            if p_in is not None:
                x = QActivation(quantizer_config(p_in), name=f"input_quantizer{suffix}")(x)
                entry["imported_as"] = f"Input + inserted QActivation({p_in.to_ap()})"
            else:
                entry["imported_as"] = "Input"
            tensors[l.name] = x
            info.append(entry)
            continue
        if len(l.inbound) != 1:
            raise ValueError(f"{where}: {len(l.inbound)} inputs; only single-input layers are supported")
        x = tensors[l.inbound[0]]
        pre = None
        if l.class_name in ("Dense", "QDense"):
            units = int(c["units"])
            n_in = int(x.shape[-1])
            use_bias = bool(c.get("use_bias", True))
            k = _weight(lm, l, "kernel", (n_in, units))
            b = _weight(lm, l, "bias", (units,)) if use_bias else None
            kind, aq = _activation_of(c.get("activation"), where)
            if l.class_name == "QDense" and quantized:
                k, kq, kd = wq(l, "kernel", c.get("kernel_quantizer"), k)
                bq = bd = None
                if use_bias:
                    b, bq, bd = wq(l, "bias", c.get("bias_quantizer"), b)
                layer = QDense(units, use_bias=use_bias, kernel_quantizer=kq, bias_quantizer=bq, name=name)
                entry.update(kernel=kd, bias=bd)
            elif ptq is not None and quantized:
                pq = ptq[l.name]
                layer = QDense(units, use_bias=use_bias, kernel_quantizer=quantizer_config(pq["kernel"]),
                               bias_quantizer=quantizer_config(pq["bias"]) if use_bias else None, name=name)
                entry["ptq"] = {kk: v.to_ap() for kk, v in pq.items()}
            else:
                layer = keras.layers.Dense(units, use_bias=use_bias, name=name)
            y = layer(x)
            layer.set_weights([k, b] if use_bias else [k])
            y, pre = ptq_act(y, kind, aq, l, k, b)
            entry["activation"] = str(aq) if aq is not None else kind
            entry["imported_as"] = layer.__class__.__name__
        elif l.class_name in ("Conv1D", "Conv2D", "QConv1D", "QConv2D"):
            nd = 2 if l.class_name.endswith("2D") else 1
            if c.get("data_format", "channels_last") != "channels_last":
                raise ValueError(f"{where}: data_format {c.get('data_format')!r}; only channels_last is supported")
            if any(int(d) != 1 for d in np.atleast_1d(c.get("dilation_rate", 1))) or int(c.get("groups", 1)) != 1:
                raise ValueError(f"{where}: dilation_rate != 1 or groups != 1 is not supported")
            filters = int(c["filters"])
            ks = tuple(int(v) for v in np.atleast_1d(c["kernel_size"]))
            strides = tuple(int(v) for v in np.atleast_1d(c.get("strides", 1)))
            use_bias = bool(c.get("use_bias", True))
            k = _weight(lm, l, "kernel", (*ks, int(x.shape[-1]), filters))
            b = _weight(lm, l, "bias", (filters,)) if use_bias else None
            kind, aq = _activation_of(c.get("activation"), where)
            kw = dict(filters=filters, kernel_size=ks, strides=strides, padding=c.get("padding", "valid"),
                      use_bias=use_bias, name=name)
            if l.class_name.startswith("Q") and quantized:
                k, kq, kd = wq(l, "kernel", c.get("kernel_quantizer"), k)
                bq = bd = None
                if use_bias:
                    b, bq, bd = wq(l, "bias", c.get("bias_quantizer"), b)
                layer = (QConv2D if nd == 2 else QConv1D)(kernel_quantizer=kq, bias_quantizer=bq, **kw)
                entry.update(kernel=kd, bias=bd)
            elif ptq is not None and quantized:
                pq = ptq[l.name]
                layer = (QConv2D if nd == 2 else QConv1D)(
                    kernel_quantizer=quantizer_config(pq["kernel"]),
                    bias_quantizer=quantizer_config(pq["bias"]) if use_bias else None, **kw)
                entry["ptq"] = {kk: v.to_ap() for kk, v in pq.items()}
            else:
                layer = (keras.layers.Conv2D if nd == 2 else keras.layers.Conv1D)(**kw)
            y = layer(x)
            layer.set_weights([k, b] if use_bias else [k])
            y, pre = ptq_act(y, kind, aq, l, k, b)
            entry["activation"] = str(aq) if aq is not None else kind
            entry["imported_as"] = layer.__class__.__name__
        elif l.class_name in ("Activation", "QActivation", "ReLU", "Softmax"):
            if l.class_name == "ReLU":
                if c.get("max_value") is not None or float(c.get("negative_slope", 0) or 0) != 0 or float(c.get("threshold", 0) or 0) != 0:
                    raise ValueError(f"{where}: ReLU with max_value / negative_slope / threshold is not supported")
                kind, aq = "relu", None
            elif l.class_name == "Softmax":
                if c.get("axis", -1) not in (-1, len(x.shape) - 1, [-1]):
                    raise ValueError(f"{where}: softmax over axis {c.get('axis')} is not supported (only the last axis)")
                kind, aq = "softmax", None
            else:
                kind, aq = _activation_of(c.get("activation"), where)
            y, pre = act_layers(x, kind, aq, l.name)
            entry["activation"] = str(aq) if aq is not None else kind
            entry["imported_as"] = "QActivation" if (aq is not None and quantized) else "Activation"
        elif l.class_name in ("BatchNormalization", "QBatchNormalization"):
            axis = c.get("axis", -1)
            axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
            if axis not in (-1, len(x.shape) - 1):
                raise ValueError(f"{where}: axis {axis} is not supported (only the last axis)")
            n = int(x.shape[-1])
            center, scale = bool(c.get("center", True)), bool(c.get("scale", True))
            params = {"gamma": _weight(lm, l, "gamma", (n,)) if scale else None,
                      "beta": _weight(lm, l, "beta", (n,)) if center else None,
                      "moving_mean": _weight(lm, l, "moving_mean", (n,)),
                      "moving_variance": _weight(lm, l, "moving_variance", (n,))}
            qd = {}
            if l.class_name == "QBatchNormalization" and quantized:
                for key, qkey in (("gamma", "gamma_quantizer"), ("beta", "beta_quantizer"),
                                  ("moving_mean", "mean_quantizer"), ("moving_variance", "variance_quantizer")):
                    q = parse_quantizer(c.get(qkey), f"{where} {qkey}")
                    if q is not None and params[key] is not None:
                        params[key] = q.apply_np(params[key]).astype(np.float32)
                        qd[key] = q.to_dict()
            layer = keras.layers.BatchNormalization(axis=-1, epsilon=float(c.get("epsilon", 1e-3)), center=center,
                                                    scale=scale, name=name)
            y = layer(x)
            layer.set_weights([v for v in params.values() if v is not None])
            y, _ = ptq_act(y, "linear", None, l, None, None)
            entry["imported_as"] = "BatchNormalization (float arithmetic, as in QKeras)"
            if qd:
                entry["parameter_quantizers"] = qd
            if ptq is not None and quantized:
                entry["ptq"] = {"out": ptq[l.name]["out"].to_ap()}
        elif l.class_name in ("MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D"):
            cls = getattr(keras.layers, l.class_name)
            y = cls(pool_size=c.get("pool_size"), strides=c.get("strides"), padding=c.get("padding", "valid"),
                    name=name)(x)
            if l.class_name.startswith("Average"):
                y, _ = ptq_act(y, "linear", None, l, None, None)
                if ptq is not None and quantized:
                    entry["ptq"] = {"out": ptq[l.name]["out"].to_ap()}
            entry["imported_as"] = l.class_name
        elif l.class_name.startswith("Global"):
            y = getattr(keras.layers, l.class_name)(name=name)(x)
            if "Average" in l.class_name:
                y, _ = ptq_act(y, "linear", None, l, None, None)
            entry["imported_as"] = l.class_name
        elif l.class_name == "Flatten":
            y = keras.layers.Flatten(name=name)(x)
            entry["imported_as"] = "Flatten"
        elif l.class_name == "Reshape":
            y = keras.layers.Reshape(tuple(int(v) for v in c["target_shape"]), name=name)(x)
            entry["imported_as"] = "Reshape"
        elif l.class_name == "Dropout":
            y = x
            entry["imported_as"] = "removed (identity at inference)"
        else:  # pragma: no cover  (read_legacy_model checks the class list)
            raise ValueError(f"{where} is not supported; supported: {', '.join(SUPPORTED_LAYERS)}")
        tensors[l.name] = y
        if pre is not None:
            pre_softmax[l.name] = pre
            softmax_out.add(l.name)
        info.append(entry)
    out_name = lm.outputs[0]
    model = keras.Model(inp, tensors[out_name], name=(lm.name or "imported") + suffix)
    ends_in_softmax = out_name in softmax_out
    return model, info, pre_softmax.get(out_name), ends_in_softmax


def load_legacy(model_path, weights_path=None, input_precision: str | None = None, data: np.ndarray | None = None,
                input_bits: int = DEFAULT_INPUT_BITS, ptq_bits: int | None = None) -> ImportedModel:
    """Read and import in one call (``input_precision`` is an ``ap_fixed<W,I>`` string)."""
    lm = read_legacy_model(model_path, weights_path)
    p = Precision.parse(input_precision) if input_precision else None
    return import_legacy(lm, p, data, input_bits, ptq_bits)
