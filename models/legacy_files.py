"""Reading legacy Keras 2 / QKeras model files with ``json`` and ``h5py`` (no Keras), and their layer graph.

Keras 3 cannot read these files (``model_from_json`` fails with "Could not locate class 'Sequential'") and the
original QKeras cannot be installed beside this stack.  Layouts read:

- architecture: the Keras 2 ``to_json()`` layout, ``{"class_name": "Sequential" | "Functional" | "Model",
  "config": {...}, "keras_version": "2.x"}``; Sequential ``config`` is ``{"name", "layers": [...]}`` (or, from
  Keras <= 2.2, the list of layers itself); functional ``config`` has ``layers`` with ``inbound_nodes``
  (``[[["name", node_index, tensor_index, {}]]]``), ``input_layers`` and ``output_layers``;
- weights: Keras 2 ``save_weights`` HDF5 (root attribute ``layer_names``; per layer a group whose attribute
  ``weight_names`` lists datasets such as ``q_dense/kernel:0``), or a full-model file ``model.save("m.h5")``
  (root attribute ``model_config`` holding the JSON, weights in the same layout under ``/model_weights``).

Which layer classes can be imported is decided by :mod:`models.legacy_layers`, not here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from data.arrays import checked_h5_path


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


def _read_weights_file(path) -> dict[str, dict[str, np.ndarray]]:
    """The weights of a ``--weights`` file (``save_weights`` layout, at the root or under ``/model_weights``)."""
    import h5py

    with h5py.File(path, "r") as f:
        g = f["model_weights"] if "model_weights" in f else f
        return _read_weight_groups(g, f"--weights {path}")


def _parse_sequential(body, where: str) -> tuple[str, list[LegacyLayer], list[str], list[str]]:
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
                raise ValueError(f"{where}: the first layer {lname!r} has no batch_input_shape; cannot tell the input "
                                 "shape")
            # named as Keras 2 named it (``<first layer>_input``): hls4ml reserves the name "input"
            taken = {l.get("config", {}).get("name") for l in layers_cfg}
            in_name = next(n for n in (f"{lname}_input", *(f"{lname}_input_{k}" for k in range(1, 99))) if n not in taken)
            layers.append(LegacyLayer(in_name, "InputLayer", {"batch_input_shape": shape, "name": in_name}, []))
            prev = in_name
        layers.append(LegacyLayer(lname, lc["class_name"], c, [prev] if prev else []))
        prev = lname
    return name, layers, [layers[0].name], [prev]


def _parse_functional(body: dict, where: str) -> tuple[str, list[LegacyLayer], list[str], list[str]]:
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
    return body.get("name", "model"), layers, ins, outs


def _parse_config(cfg: dict, where: str) -> tuple[str, list[LegacyLayer], list[str], list[str], str | None]:
    if not isinstance(cfg, dict) or "class_name" not in cfg or "config" not in cfg:
        raise ValueError(f"{where}: not a Keras model JSON (expected keys 'class_name' and 'config')")
    kind = cfg["class_name"]
    if kind == "Sequential":
        parse = _parse_sequential
    elif kind in ("Functional", "Model"):
        parse = _parse_functional
    else:
        raise ValueError(f"{where}: model class {kind!r} is not supported; supported: Sequential, Functional (Model)")
    return (*parse(cfg["config"], where), cfg.get("keras_version"))


def _read_json_model(mp: Path, weights_path) -> tuple[dict, dict, dict]:
    """``model.json`` + ``--weights``: (architecture config, weights, source)."""
    try:
        cfg = json.loads(mp.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"--model {mp}: not valid JSON ({e})") from None
    if weights_path is None:
        raise ValueError(f"--model {mp} is an architecture only: give its weights with --weights FILE.h5")
    wp = checked_h5_path(weights_path, "--weights")
    return cfg, _read_weights_file(wp), {"architecture": str(mp), "weights": str(wp)}


def _read_full_h5(mp: Path, weights_path) -> tuple[dict, dict, dict]:
    """Full-model ``model.h5`` (its own weights, or those of ``--weights``): (config, weights, source)."""
    import h5py

    checked_h5_path(mp, "--model")
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
        weights = _read_weights_file(weights_path)
    return cfg, weights, {"model_file": str(mp), "weights": str(weights_path or mp)}


def read_keras2_files(model_path, weights_path=None) -> LegacyModel:
    """Read a Keras 2 model: ``model.json`` + ``weights.h5``, or a full-model ``model.h5`` (weights optional);
    the layer classes are not checked here."""
    mp = Path(model_path)
    if not mp.is_file():
        raise FileNotFoundError(f"--model {mp}: no such file")
    read = _read_json_model if mp.suffix.lower() == ".json" else _read_full_h5
    cfg, weights, source = read(mp, weights_path)
    name, layers, ins, outs, kv = _parse_config(cfg, f"--model {mp}")
    if len(ins) != 1 or len(outs) != 1:
        raise ValueError(f"--model {mp}: {len(ins)} inputs and {len(outs)} outputs; only single-input, single-output "
                         "models are supported")
    return LegacyModel(name, layers, ins, outs, weights, kv, source)


# ---- the layer graph ----------------------------------------------------------------------------
def topological(lm: LegacyModel) -> list[LegacyLayer]:
    """The layers the output depends on, each after its inputs."""
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


def first_after_input(lm: LegacyModel, order: list[LegacyLayer]) -> LegacyLayer | None:
    """The first layer that acts on the input (Dropout, the identity at inference, skipped)."""
    inp = lm.inputs[0]
    for l in order:
        if l.inbound == [inp] and l.class_name != "Dropout":
            return l
        if l.inbound == [inp] and l.class_name == "Dropout":
            inp = l.name
    return None
