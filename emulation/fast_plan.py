"""The fast emulator's validated steps as a file (``model/fast_plan.npz`` in a project), readable without Keras.

A build writes the plan of its deployable model next to ``deployable.keras`` (after :class:`FastEmulator` has
checked every layer's 53-bit bound); ``build_hls.py check`` reads it back with numpy alone and evaluates the
golden inputs exactly, so a check of a non-RTL project needs no TensorFlow.  The file holds only the steps
(quantizer precisions, quantized weights and biases): the same numbers the emulator computes with.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from emulation.fast import FastEmulator, _ElemQuant
from quantize.precision import Overflow, Precision, Rounding

PLAN_FILE = "model/fast_plan.npz"
FORMAT = "fast-plan-1"
_ELEM_ARRAYS = ("step", "lo", "hi", "live", "span")


def _encode(kind: str, params, arrays: dict, i: int):
    if kind == "quant":
        p: Precision = params
        return {"signed": p.signed, "width": p.width, "integer": p.integer, "rounding": p.rounding.value,
                "overflow": p.overflow.value}
    if kind == "quant_elem":
        for a in _ELEM_ARRAYS:
            arrays[f"s{i}_{a}"] = np.asarray(getattr(params, a), dtype=np.float64)
        return {"rounding": params.rounding.value, "overflow": params.overflow.value}
    if kind == "dense":
        w, b = params
        arrays[f"s{i}_w"] = np.asarray(w, dtype=np.float64)
        if b is not None:
            arrays[f"s{i}_b"] = np.asarray(b, dtype=np.float64)
        return {"bias": b is not None}
    if kind == "lut":
        table, lo, step = params
        arrays[f"s{i}_table"] = np.asarray(table, dtype=np.float64)
        return {"lo": float(lo), "step": float(step)}
    if params is not None:
        raise ValueError(f"step {i} ({kind}): unexpected parameters")
    return None


def _decode(kind: str, meta, arrays, i: int):
    if kind == "quant":
        return Precision(bool(meta["signed"]), int(meta["width"]), int(meta["integer"]),
                         Rounding(meta["rounding"]), Overflow(meta["overflow"]))
    if kind == "quant_elem":
        return _ElemQuant(*(np.asarray(arrays[f"s{i}_{a}"]) for a in _ELEM_ARRAYS), Rounding(meta["rounding"]),
                          Overflow(meta["overflow"]))
    if kind == "dense":
        return np.asarray(arrays[f"s{i}_w"]), (np.asarray(arrays[f"s{i}_b"]) if meta["bias"] else None)
    if kind == "lut":
        return np.asarray(arrays[f"s{i}_table"]), float(meta["lo"]), float(meta["step"])
    return None


def save_plan(emu: FastEmulator, path: Path) -> Path:
    """Write ``emu``'s steps to ``path`` (npz: a JSON header and one array per weight / per-element limit)."""
    arrays: dict[str, np.ndarray] = {}
    steps = [{"kind": kind, "out": out, "ins": list(ins), "params": _encode(kind, params, arrays, i)}
             for i, (kind, out, ins, params) in enumerate(emu._steps)]
    header = {"format": FORMAT, "inputs": emu._input_ids, "outputs": emu._output_ids,
              "n_inputs": emu.n_inputs, "n_outputs": emu.n_outputs, "steps": steps}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        np.savez(f, header=np.array(json.dumps(header)), **arrays)
    return path


def load_plan(path: Path, threads: int | None = None) -> FastEmulator:
    """The fast emulator written by :func:`save_plan` (numpy only; no Keras, no TensorFlow)."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as z:
            header = json.loads(str(z["header"]))
            arrays = {k: z[k] for k in z.files if k != "header"}
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(f"{path}: not a fast-emulator plan ({exc})") from None
    if header.get("format") != FORMAT:
        raise ValueError(f"{path}: plan format {header.get('format')!r}, expected {FORMAT!r}")
    steps = [(s["kind"], s["out"], s["ins"], _decode(s["kind"], s["params"], arrays, i))
             for i, s in enumerate(header["steps"])]
    return FastEmulator.from_steps(steps, header["inputs"], header["outputs"], header["n_inputs"],
                                   header["n_outputs"], threads=threads)
