"""Steps of an imported legacy QKeras / Keras 2 model: import -> hls4ml project(s) -> C-sim -> import agreement.

There are no HLT working points for a user's model: the report has the agreement sections and an ``import``
section instead of the physics section.  Three comparisons, kept distinct (each figure names its source):

- **import agreement**: the imported Keras 3 model vs the reference outputs the user gave (``--reference``,
  typically computed with the original QKeras);
- **emulator vs imported model**: the hls4ml C-simulation vs the imported Keras model.  For a model ending in
  softmax the firmware's softmax is a lookup-table approximation, so bit-exactness is checked on the logits
  (a second project without the final softmax, ``<project>/logits/``) and the softmax is reported as a
  deviation (max / mean |diff|) with argmax agreement;
- **emulator vs float view**: the same weights with every quantizer off (Keras, float64).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from flow.build import Build, step
from models.build_util import say


def _emu_stats(emu: np.ndarray, ref: np.ndarray, classifier: bool = False) -> dict:
    d = np.abs(np.asarray(emu, np.float64) - np.asarray(ref, np.float64))
    out = {"n_events": int(len(d)), "max_abs_diff": float(d.max()) if d.size else 0.0,
           "mean_abs_diff": float(d.mean()) if d.size else 0.0}
    if classifier and emu.ndim == 2 and emu.shape[1] > 1:  # an argmax means nothing for regression outputs
        out["argmax_agreement"] = float(np.mean(emu.argmax(1) == ref.argmax(1)))
    return out


def _check_reference_shape(ref: np.ndarray, y: np.ndarray) -> np.ndarray:
    if ref.shape[0] != y.shape[0]:
        raise ValueError(f"--reference has {ref.shape[0]} events but --data has {y.shape[0]}; they must match row by row")
    if ref.reshape(len(ref), -1).shape[1] != y.reshape(len(y), -1).shape[1]:
        raise ValueError(f"--reference has {ref.reshape(len(ref), -1).shape[1]} values per event, the model outputs "
                         f"{y.reshape(len(y), -1).shape[1]}")
    return ref.reshape(y.shape)


def _reshape_inputs(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    n_flat = int(np.prod(shape))
    if tuple(x.shape[1:]) == tuple(shape):
        return x
    if int(np.prod(x.shape[1:])) == n_flat:
        return x.reshape((len(x), *shape))
    raise ValueError(f"model expects inputs of shape {tuple(shape)} ({n_flat} values per event) but --data has "
                     f"{tuple(x.shape[1:])} per event")


@step("import_data")
def import_data(b: Build) -> None:
    """``--data`` (and ``--reference``) read before anything expensive, so bad input fails fast."""
    from data.arrays import read_array, read_reference

    cfg = b.config
    t0 = time.perf_counter()
    b.family_state["x_raw"] = read_array(cfg.data_path, "--data")
    b.family_state["ref"] = read_reference(cfg.reference_path) if cfg.reference_path is not None else None
    b.timings["data"] = time.perf_counter() - t0


@step("import_model", requires=("import_data",))
def import_model(b: Build) -> None:
    """The Keras 2 files rebuilt on Keras 3 (float64), its float view, and (softmax) its logits models."""
    from hls.project import tool_versions
    from models.legacy_import import COMPUTE_DTYPE, load_legacy

    cfg, st = b.config, b.family_state
    t0 = time.perf_counter()
    im = load_legacy(cfg.model, cfg.weights_path, cfg.input_precision, data=st["x_raw"], ptq_bits=cfg.precision_bits)
    b.timings["import"] = time.perf_counter() - t0
    in_shape = tuple(int(d) for d in im.model.inputs[0].shape[1:])
    x = _reshape_inputs(st["x_raw"], in_shape).astype(np.float32)
    say(f"imported {Path(cfg.model).name}: {len(im.layers)} layers, input {in_shape}, "
        f"{'ends in softmax' if im.ends_in_softmax else 'no final softmax'}"
        + (f"; inserted input quantizer {im.inserted_input_quantizer['precision']}" if im.inserted_input_quantizer else ""))
    t0 = time.perf_counter()
    pred = {"y_keras": im.model, "y_fview": im.float_view}
    if im.ends_in_softmax:
        pred.update(z_keras=im.logits, z_fview=im.logits_float_view)
    for k, m in pred.items():
        st[k] = m.predict(x, batch_size=16384, verbose=0).astype(np.float64)
    b.timings["keras_inference"] = time.perf_counter() - t0
    st.update(im=im, x=x, in_shape=in_shape, saturation_samples={"data": x})
    b.deploy = im.model
    b.metadata = {"model": str(cfg.model), "build_config": cfg.to_dict(), "versions": tool_versions(),
                  "import": im.summary(), "input_shape": list(in_shape), "keras_dtype_policy": COMPUTE_DTYPE}
    if im.ends_in_softmax:
        st["extra_projects"] = [(im.logits, "logits", {"model": f"{cfg.model} (logits, final softmax removed)"})]


@step("import_overflow", requires=("import_model", "saturation"))
def import_overflow(b: Build) -> None:
    """Quantizers the importer inserted must not overflow on the user's data (unless --allow-overflow)."""
    sat, x = b.report["saturation"], b.family_state["x"]
    inserted = {n: d["samples"]["data"]["events_out_of_range"] for n, d in sat.items()
                if n == "input_quantizer" or n.endswith("_ptq")}
    over = {n: c for n, c in inserted.items() if c > 0}
    if over and not b.config.allow_overflow:
        raise ValueError(
            "quantizers inserted by the importer overflow (saturate) on the data: "
            + ", ".join(f"{n} ({sat[n]['precision']}): {c} of {len(x)} events" for n, c in over.items())
            + "; widen --input-precision / --precision, or accept it with --allow-overflow"
        )
    b.family_state["inserted"] = inserted


@step("import_emulate", requires=("convert",))
def import_emulate(b: Build) -> None:
    from emulation.csim import CSimEmulator

    st = b.family_state
    x_flat = st["x"].reshape(len(st["x"]), -1)
    t0 = time.perf_counter()
    b.csim = CSimEmulator(b.project_dir)
    st["y_emu"] = b.csim.predict(x_flat).reshape(st["y_keras"].shape)
    logits_dir = st.get("extra_project_dirs", {}).get("logits")
    st["logits_dir"], st["z_emu"] = logits_dir, None
    if logits_dir is not None:
        st["logits_csim"] = CSimEmulator(logits_dir)
        st["z_emu"] = st["logits_csim"].predict(x_flat).reshape(st["z_keras"].shape)
    b.timings["emulate"] = time.perf_counter() - t0
    say(f"C-sim: {len(x_flat)} events in {b.timings['emulate']:.2f} s")


def _divergence(b: Build, exact_emu, exact_keras) -> dict | None:
    """The first layer where the firmware departs from the imported model (a diagnostic, never fatal)."""
    from emulation.divergence import first_divergent_layer

    st, x = b.family_state, b.family_state["x"]
    n = len(x)
    bad = np.flatnonzero(np.any(np.abs(exact_emu - exact_keras).reshape(n, -1) > np.spacing(
        np.abs(exact_keras).astype(np.float32)).reshape(n, -1), axis=1))[:16]
    try:
        return first_divergent_layer(st["im"].logits if st["im"].ends_in_softmax else st["im"].model,
                                     b.config.hls, x[bad])
    except Exception as exc:  # the pointer is a diagnostic: never hide the mismatch itself
        return {"layer": None, "note": f"hls4ml tracing failed: {exc.__class__.__name__}: {exc}"}


def _agreement(b: Build) -> dict:
    from emulation.agreement import exact_agreement, score_correlation
    from hls.project import output_lsb

    st = b.family_state
    n, soft = len(st["x"]), st["im"].ends_in_softmax
    exact_emu, exact_keras = (st["z_emu"], st["z_keras"]) if soft else (st["y_emu"], st["y_keras"])
    b.lsb = output_lsb(st["logits_dir"] or b.project_dir)
    agree = exact_agreement(exact_emu.reshape(n, -1), exact_keras.reshape(n, -1), lsb=b.lsb)
    out = {"emulator_vs_keras": {**agree.to_dict(), "output": "logits" if soft else "model output",
                                 "source": "hls4ml C-simulation vs imported Keras 3 model"}}
    if agree.n_mismatched > 0:
        out["emulator_vs_keras"]["first_divergent_layer"] = _divergence(b, exact_emu, exact_keras)
    y_emu, y_keras = st["y_emu"].reshape(n, -1), st["y_keras"].reshape(n, -1)
    if soft:
        out["softmax"] = {**_emu_stats(y_emu, y_keras, classifier=True),
                          "argmax_agreement_logits_vs_keras_softmax": float(np.mean(
                              st["z_emu"].reshape(n, -1).argmax(1) == y_keras.argmax(1))),
                          "source": "hls4ml C-simulation softmax (lookup tables) vs Keras softmax (float64)"}
    fv_emu, fv_ref = (st["z_emu"], st["z_fview"]) if soft else (st["y_emu"], st["y_fview"])
    fv = score_correlation(fv_emu.ravel(), fv_ref.ravel()) if fv_emu.size > 2 else {}
    out["emulator_vs_float_view"] = {
        "output_pearson": fv.get("score_pearson"), "output_spearman": fv.get("score_spearman"),
        **{k: v for k, v in _emu_stats(fv_emu.reshape(n, -1), fv_ref.reshape(n, -1), classifier=soft).items() if k != "n_events"},
        "output": "logits" if soft else "model output",
        "source": "C-simulation vs the imported weights with every quantizer off (Keras, float64)"}
    return out


def _import_section(b: Build) -> dict:
    """The imported model vs the user's reference outputs (``--reference``)."""
    cfg, st = b.config, b.family_state
    imp = {**st["im"].summary(), "n_events": int(len(st["x"])), "reference": None, "reference_max_abs_diff": None,
           "reference_argmax_agreement": None}
    if st["ref"] is None:
        return imp
    y_keras = st["y_keras"]
    r = _check_reference_shape(st["ref"], y_keras).astype(np.float64)
    d = np.abs(y_keras - r).reshape(len(r), -1)
    imp.update(reference=str(cfg.reference_path), reference_max_abs_diff=float(d.max()),
               reference_mean_abs_diff=float(d.mean()),
               reference_n_events_differing=int(np.count_nonzero(d.max(axis=1) > cfg.reference_tolerance)),
               reference_tolerance=cfg.reference_tolerance,
               reference_source="imported Keras 3 model vs the user's reference outputs")
    if d.shape[1] > 1 and st["im"].ends_in_softmax:  # classifiers only: no argmax for regression outputs
        r_arg = r.reshape(len(r), -1).argmax(1)
        imp["reference_argmax_agreement"] = float(np.mean(y_keras.reshape(len(r), -1).argmax(1) == r_arg))
        if st["z_emu"] is not None:
            imp["reference_argmax_agreement_emulator_logits"] = float(np.mean(
                st["z_emu"].reshape(len(r), -1).argmax(1) == r_arg))
    return imp


@step("import_agreement", requires=("import_emulate",))
def import_agreement(b: Build) -> None:
    """Emulator vs imported model (logits for a softmax model), the softmax deviation, the float view, and the
    imported model vs --reference; the report's sections."""
    from hls.project import tool_versions

    cfg, st = b.config, b.family_state
    logits_dir = st["logits_dir"]
    agreement = _agreement(b)  # also reads the output LSB (b.lsb)
    b.report = {
        "schema_version": None, "model": str(cfg.model),
        "model_details": {"name": st["im"].legacy.name, "description": "imported legacy QKeras / Keras 2 model",
                          "config": None, "training": None},
        "versions": tool_versions(),
        "hls": {**cfg.hls.to_dict(), "clock_period_ns": cfg.hls.clock_period_ns, "project_dir": str(b.shown_dir()),
                "logits_project_dir": str(b.shown_dir() / Path(logits_dir).name) if logits_dir else None, "output_lsb": b.lsb},
        "data": {"source": str(cfg.data_path), "n_events": int(len(st["x"])), "input_shape": list(st["in_shape"])},
        "emulator": {"name": "csim", "label": b.csim.label},
        "import": _import_section(b), "agreement": agreement, "working_points": [], "signals": {},
        "saturation": b.report["saturation"],
        "inserted_quantizer_overflows": {"events_out_of_range": st["inserted"], "allowed": bool(cfg.allow_overflow)},
    }


@step("import_golden", requires=("import_emulate",))
def import_golden(b: Build) -> None:
    """Golden vectors (the first 500 events, C-simulation outputs) for ``build_hls.py check <project>`` and, for a
    softmax model, ``build_hls.py check <project>/logits`` (the bit-exact one)."""
    from hls.project import write_golden_vectors

    st = b.family_state
    x_flat = st["x"].reshape(len(st["x"]), -1)
    n_gold = min(len(x_flat), 500)
    prov = {"source": "hls4ml C-simulation", "selection": {"first_events": n_gold}}
    write_golden_vectors(b.project_dir, x_flat[:n_gold], b.csim.predict(x_flat[:n_gold]), prov)
    if st["logits_dir"] is not None:
        write_golden_vectors(st["logits_dir"], x_flat[:n_gold], st["logits_csim"].predict(x_flat[:n_gold]), prov)
