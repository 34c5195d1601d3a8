"""The build for an imported legacy QKeras / Keras 2 model: import -> hls4ml project(s) -> C-sim -> report.

Called by :func:`emulation.pipeline.run_build` when ``--model`` is a ``.json`` (with ``--weights``) or a
full-model ``.h5``.  There are no HLT working points for a user's model: the report has the agreement
sections and an ``import`` section instead of the physics section.

Three comparisons, kept distinct (each figure names its source):

- **import agreement**: the imported Keras 3 model vs the reference outputs the user gave (``--reference``,
  typically computed with the original QKeras): ``reference_max_abs_diff`` and, for class scores,
  ``reference_argmax_agreement``;
- **emulator vs imported model**: the hls4ml C-simulation vs the imported Keras model.  For a model ending in
  softmax the firmware's softmax is a lookup-table approximation, so bit-exactness is checked on the logits
  (a second project without the final softmax, ``<project>/logits/``) and the softmax is reported as a
  deviation (max / mean |diff|) with argmax agreement;
- **emulator vs float view**: the same weights with every quantizer off (Keras, float64).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from models.build_util import say as _say


def _emu_stats(emu: np.ndarray, ref: np.ndarray) -> dict:
    d = np.abs(np.asarray(emu, np.float64) - np.asarray(ref, np.float64))
    out = {"n_events": int(len(d)), "max_abs_diff": float(d.max()) if d.size else 0.0,
           "mean_abs_diff": float(d.mean()) if d.size else 0.0}
    if emu.ndim == 2 and emu.shape[1] > 1:
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


def run_import_build(cfg) -> tuple[dict, bool]:
    from data.arrays import read_array, read_reference
    from models.legacy_import import COMPUTE_DTYPE, load_legacy

    timings: dict[str, float] = {}
    if cfg.data_path is None:
        raise ValueError("an imported model needs --data FILE (.h5, .npy or .dat) with the inputs to emulate")
    t0 = time.perf_counter()
    x_raw = read_array(cfg.data_path, "--data")
    ref = read_reference(cfg.reference_path) if getattr(cfg, "reference_path", None) else None
    timings["data"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    im = load_legacy(cfg.model, getattr(cfg, "weights_path", None), cfg.input_precision, data=x_raw,
                     ptq_bits=cfg.precision_bits)
    timings["import"] = time.perf_counter() - t0
    in_shape = tuple(int(d) for d in im.model.inputs[0].shape[1:])
    x = _reshape_inputs(x_raw, in_shape).astype(np.float32)
    x_flat = x.reshape(len(x), -1)
    _say(f"imported {Path(cfg.model).name}: {len(im.layers)} layers, input {in_shape}, "
         f"{'ends in softmax' if im.ends_in_softmax else 'no final softmax'}"
         + (f"; inserted input quantizer {im.inserted_input_quantizer['precision']}" if im.inserted_input_quantizer else ""))

    # ---- Keras (imported model, float view) --------------------------------------------------------
    t0 = time.perf_counter()
    y_keras = im.model.predict(x, batch_size=16384, verbose=0).astype(np.float64)
    y_fview = im.float_view.predict(x, batch_size=16384, verbose=0).astype(np.float64)
    z_keras = z_fview = None
    if im.ends_in_softmax:
        z_keras = im.logits.predict(x, batch_size=16384, verbose=0).astype(np.float64)
        z_fview = im.logits_float_view.predict(x, batch_size=16384, verbose=0).astype(np.float64)
    timings["keras_inference"] = time.perf_counter() - t0

    # ---- quantizers the importer inserted must not overflow on the user's data ------------------------
    from emulation.saturation import saturation_counts

    t0 = time.perf_counter()
    sat = saturation_counts(im.model, {"data": x})
    timings["saturation"] = time.perf_counter() - t0
    inserted = {n: d["samples"]["data"]["events_out_of_range"] for n, d in sat.items()
                if n == "input_quantizer" or n.endswith("_ptq")}
    over = {n: c for n, c in inserted.items() if c > 0}
    if over and not cfg.allow_overflow:
        raise ValueError(
            "quantizers inserted by the importer overflow (saturate) on the data: "
            + ", ".join(f"{n} ({sat[n]['precision']}): {c} of {len(x)} events" for n, c in over.items())
            + "; widen --input-precision / --precision, or accept it with --allow-overflow"
        )

    # ---- firmware project(s) -----------------------------------------------------------------------
    from emulation.pipeline import _output_lsb, tool_versions
    from hls.project import build_project, write_golden_vectors

    out_dir = cfg.resolved_output_dir()
    metadata = {"model": str(cfg.model), "build_config": cfg.to_dict(), "versions": tool_versions(),
                "import": im.summary(), "input_shape": list(in_shape), "keras_dtype_policy": COMPUTE_DTYPE}
    _say(f"converting with hls4ml into {out_dir}")
    project_dir, t_conv, t_comp = build_project(im.model, cfg.hls, out_dir, metadata)
    timings["convert"], timings["compile"] = t_conv, t_comp
    logits_dir = None
    if im.ends_in_softmax:
        logits_dir, t_conv2, t_comp2 = build_project(im.logits, cfg.hls, project_dir / "logits",
                                                     {**metadata, "model": f"{cfg.model} (logits, final softmax removed)"})
        timings["convert"] += t_conv2
        timings["compile"] += t_comp2
    _say(f"converted in {timings['convert']:.1f} s, C-sim compiled in {timings['compile']:.1f} s")

    # ---- emulate -----------------------------------------------------------------------------------
    from emulation.csim import CSimEmulator

    t0 = time.perf_counter()
    csim = CSimEmulator(project_dir)
    y_emu = csim.predict(x_flat).reshape(y_keras.shape)
    z_emu = None
    if logits_dir is not None:
        z_emu = CSimEmulator(logits_dir).predict(x_flat).reshape(z_keras.shape)
    timings["emulate"] = time.perf_counter() - t0
    _say(f"C-sim: {len(x)} events in {timings['emulate']:.2f} s")

    # ---- agreement ---------------------------------------------------------------------------------
    from emulation.agreement import exact_agreement, score_correlation

    exact_emu, exact_keras = (z_emu, z_keras) if im.ends_in_softmax else (y_emu, y_keras)
    lsb = _output_lsb(logits_dir or project_dir)
    agree = exact_agreement(exact_emu.reshape(len(x), -1), exact_keras.reshape(len(x), -1), lsb=lsb)
    agreement = {"emulator_vs_keras": {**agree.to_dict(), "output": "logits" if im.ends_in_softmax else "model output",
                                       "source": "hls4ml C-simulation vs imported Keras 3 model"}}
    if agree.n_mismatched > 0:
        from emulation.divergence import first_divergent_layer

        bad = np.flatnonzero(np.any(np.abs(exact_emu - exact_keras).reshape(len(x), -1) > np.spacing(
            np.abs(exact_keras).astype(np.float32)).reshape(len(x), -1), axis=1))[:16]
        try:
            agreement["emulator_vs_keras"]["first_divergent_layer"] = first_divergent_layer(
                im.logits if im.ends_in_softmax else im.model, cfg.hls, x[bad])
        except Exception as exc:  # the pointer is a diagnostic: never hide the mismatch itself
            agreement["emulator_vs_keras"]["first_divergent_layer"] = {
                "layer": None, "note": f"hls4ml tracing failed: {exc.__class__.__name__}: {exc}"}
    if im.ends_in_softmax:
        agreement["softmax"] = {**_emu_stats(y_emu.reshape(len(x), -1), y_keras.reshape(len(x), -1)),
                                "argmax_agreement_logits_vs_keras_softmax": float(np.mean(
                                    z_emu.reshape(len(x), -1).argmax(1) == y_keras.reshape(len(x), -1).argmax(1))),
                                "source": "hls4ml C-simulation softmax (lookup tables) vs Keras softmax (float64)"}
    fv_emu, fv_ref = (z_emu, z_fview) if im.ends_in_softmax else (y_emu, y_fview)
    fv = score_correlation(fv_emu.ravel(), fv_ref.ravel()) if fv_emu.size > 2 else {}
    fv = {"output_pearson": fv.get("score_pearson"), "output_spearman": fv.get("score_spearman"),
          **{k: v for k, v in _emu_stats(fv_emu.reshape(len(x), -1), fv_ref.reshape(len(x), -1)).items()
             if k != "n_events"},
          "output": "logits" if im.ends_in_softmax else "model output",
          "source": "C-simulation vs the imported weights with every quantizer off (Keras, float64)"}
    agreement["emulator_vs_float_view"] = fv

    imp = {**im.summary(), "n_events": int(len(x)), "reference": None, "reference_max_abs_diff": None,
           "reference_argmax_agreement": None}
    if ref is not None:
        r = _check_reference_shape(ref, y_keras).astype(np.float64)
        d = np.abs(y_keras - r).reshape(len(r), -1)
        imp.update(reference=str(cfg.reference_path), reference_max_abs_diff=float(d.max()),
                   reference_mean_abs_diff=float(d.mean()),
                   reference_n_events_differing=int(np.count_nonzero(d.max(axis=1) > cfg.reference_tolerance)),
                   reference_tolerance=cfg.reference_tolerance,
                   reference_source="imported Keras 3 model vs the user's reference outputs")
        if d.shape[1] > 1:
            imp["reference_argmax_agreement"] = float(np.mean(y_keras.reshape(len(r), -1).argmax(1)
                                                              == r.reshape(len(r), -1).argmax(1)))
        if z_emu is not None and d.shape[1] > 1:
            imp["reference_argmax_agreement_emulator_logits"] = float(np.mean(
                z_emu.reshape(len(r), -1).argmax(1) == r.reshape(len(r), -1).argmax(1)))

    # golden vectors for `build_hls.py check` (C-simulation outputs)
    n_gold = min(len(x_flat), 500)
    write_golden_vectors(project_dir, x_flat[:n_gold], csim.predict(x_flat[:n_gold]),
                         {"source": "hls4ml C-simulation", "selection": {"first_events": n_gold}})
    if logits_dir is not None:  # the bit-exact regression check of a softmax model: `build_hls.py check <project>/logits`
        write_golden_vectors(logits_dir, x_flat[:n_gold], CSimEmulator(logits_dir).predict(x_flat[:n_gold]),
                             {"source": "hls4ml C-simulation", "selection": {"first_events": n_gold}})

    report = {
        "schema_version": 1,
        "model": str(cfg.model),
        "model_details": {"name": im.legacy.name, "description": "imported legacy QKeras / Keras 2 model",
                          "config": None, "training": None},
        "versions": tool_versions(),
        "hls": {**cfg.hls.to_dict(), "clock_period_ns": cfg.hls.clock_period_ns, "project_dir": str(project_dir),
                "logits_project_dir": str(logits_dir) if logits_dir else None, "output_lsb": lsb},
        "data": {"source": str(cfg.data_path), "n_events": int(len(x)), "input_shape": list(in_shape)},
        "emulator": {"name": "csim", "label": csim.label},
        "import": imp,
        "agreement": agreement,
        "working_points": [],
        "signals": {},
        "saturation": sat,
        "inserted_quantizer_overflows": {"events_out_of_range": inserted, "allowed": bool(cfg.allow_overflow)},
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    ok, failures = _check(report, cfg)
    report["checks"] = {"passed": ok, "failures": failures, "tolerances": asdict(cfg.tolerances)}
    from analysis.import_report import write_import_report

    write_import_report(report, project_dir / "report")
    (project_dir / "report" / "report.json").write_text(json.dumps(report, indent=2, default=_json_default))
    return report, ok


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def _check(report: dict, cfg) -> tuple[bool, list[str]]:
    failures = []
    a = report["agreement"]["emulator_vs_keras"]
    if a["n_mismatched"] > cfg.tolerances.max_mismatched:
        failures.append(f"emulator vs imported Keras model ({a['output']}): {a['n_mismatched']} mismatched events")
    imp = report["import"]
    if imp["reference_max_abs_diff"] is not None and imp["reference_max_abs_diff"] > cfg.reference_tolerance:
        hint = (" (an input quantizer was inserted because the legacy model has none: inputs off its grid change "
                "the outputs; give --input-precision matching your data or --reference-tolerance)"
                if imp["inserted_input_quantizer"] else "")
        failures.append(f"imported model vs --reference: max |diff| {imp['reference_max_abs_diff']:.3g} > "
                        f"{cfg.reference_tolerance:g} in {imp['reference_n_events_differing']} events{hint}")
    return not failures, failures
