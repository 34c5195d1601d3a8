"""Latency and resources of a firmware project from every source available on this machine.

``hardware_section`` fills ``report["latency"]``, ``report["resources"]``, ``report["latency_resources"]``,
``report["budgets"]`` and ``report["hardware"]`` (details, timings, which sources were not run and why):

1. ``hls_estimate``: the analytic model of :mod:`hls.estimate` (always);
2. ``rtl_simulation`` / ``da4ml_estimate``: with ``rtl=True``, the model is traced with da4ml into
   ``<project>/rtl/`` and simulated with Verilator (:mod:`emulation.rtl`): measured latency, and the
   three-way bit-exactness Keras == C-sim == RTL on the events given;
3. ``yosys_synthesis``: with ``synth=True`` (needs the RTL), yosys cell counts (:mod:`emulation.synth`);
4. ``vendor_csynth`` / ``vendor_vivado``: vendor reports found in the project directory
   (:mod:`hls.vendor_reports`; a malformed one raises ``ValueError``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from analysis.budgets import Budgets, evaluate_budgets, latency_resources_table
from hls.config import HLSConfig
from hls.parts import find_part


def _resources(counts: dict, part: str) -> dict:
    p = find_part(part)
    out = {k: counts.get(k) for k in ("LUT", "FF", "DSP", "BRAM", "CARRY")}
    out["part"] = part
    out["percent"] = p.percent(out) if p is not None else {}
    return out


def _latency(cycles: int | None, clock_ns: float, ii: int | None) -> dict:
    return {"cycles": cycles, "ns": (cycles * clock_ns) if cycles is not None else None, "ii": ii,
            "ii_ns": (ii * clock_ns) if ii is not None else None}


def hls_estimate_entry(keras_model, cfg: HLSConfig) -> tuple[dict, dict, dict]:
    """``keras_model``: the deployable model, or its :class:`hls.estimate.LayerSpec` list (read from the project)."""
    from hls.estimate import describe_model, estimate

    specs = keras_model if isinstance(keras_model, list) else describe_model(keras_model)
    est = estimate(specs, cfg).to_dict()
    return (_latency(est["cycles"], cfg.clock_period_ns, est["ii"]),
            _resources({**est, "CARRY": None}, cfg.part), est)


def three_way(y_keras: np.ndarray, y_csim: np.ndarray, y_rtl: np.ndarray, lsb: float | None,
              keras_dtype: str = "float64") -> dict:
    """RTL vs quantized Keras (exact against the float64 model; one float32 ulp only when ``keras_dtype`` is
    "float32", the reported fallback) and RTL vs C-sim (exact)."""
    from emulation.agreement import exact_agreement

    k = {**exact_agreement(y_rtl, y_keras, lsb=lsb, float32_tolerance=keras_dtype == "float32").to_dict(),
         "keras_dtype": keras_dtype}
    yr = np.asarray(y_rtl, dtype=np.float64).reshape(len(y_rtl), -1)
    yc = np.asarray(y_csim, dtype=np.float64).reshape(len(y_csim), -1)
    diff = np.abs(yr - yc)
    c = {"n_events": int(len(yr)), "n_mismatched": int(np.any(diff > 0, axis=1).sum()),
         "max_abs_diff": float(diff.max()) if diff.size else 0.0}
    return {"rtl_vs_keras": k, "rtl_vs_csim": c}


def hardware_section(keras_model, project_dir: Path, cfg: HLSConfig, opts, x_probe: np.ndarray,
                     events: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None, lsb: float | None = None,
                     keras_dtype: str = "float64", rtl_cache: Path | None = None) -> dict:
    """See module doc.  ``opts``: :class:`flow.config.HardwareOptions` (rtl, synth, latency_cutoff, budgets);
    ``events`` = (x, y_keras, y_csim) for the three-way comparison (with ``rtl``); ``rtl_cache``: the directory of
    :mod:`emulation.rtl_cache` (identical logic is not rebuilt nor re-synthesised)."""
    project_dir = Path(project_dir)
    missing: dict = {}
    agreement: dict = {}
    timings: dict = {}
    if opts.rtl:
        from emulation.rtl import RTL_SUBDIR, RTLEmulator, build_rtl, rtl_unavailable_reason

        reason = rtl_unavailable_reason()
        if reason:
            missing["rtl_simulation"] = missing["da4ml_estimate"] = reason
        else:
            t0 = time.perf_counter()
            rtl_md = build_rtl(keras_model, project_dir / RTL_SUBDIR, cfg.part, cfg.clock_period_ns, x_probe,
                               project_name=cfg.project_name, latency_cutoff=opts.latency_cutoff, cache_dir=rtl_cache)
            timings["rtl_build"] = time.perf_counter() - t0
            cache = rtl_md.get("cache")
            if events is not None:
                t0 = time.perf_counter()
                x, y_keras, y_csim = events
                y_rtl = RTLEmulator(project_dir).predict(x)
                timings["rtl_emulate"] = time.perf_counter() - t0
                agreement = three_way(y_keras, y_csim, y_rtl, lsb, keras_dtype)
                agreement["rtl_vs_keras"]["rtl_events_per_s"] = len(x) / max(timings["rtl_emulate"], 1e-9)
            if opts.synth:
                from emulation.synth import read_yosys_summary, run_yosys, yosys_unavailable_reason

                reason = yosys_unavailable_reason()
                if reason:
                    missing["yosys_synthesis"] = reason
                elif cache and cache["hit"] and read_yosys_summary(project_dir / RTL_SUBDIR) is not None:
                    timings["yosys"] = 0.0  # the same logic's synthesis, restored with the RTL (cache key)
                else:
                    t0 = time.perf_counter()
                    run_yosys(project_dir / RTL_SUBDIR, cfg.project_name, cfg.part)
                    timings["yosys"] = time.perf_counter() - t0
                    if cache:
                        from emulation.rtl_cache import store_files
                        from emulation.synth import YOSYS_REPORT, YOSYS_SUMMARY

                        store_files(rtl_cache, cache["key"], project_dir / RTL_SUBDIR,
                                    [YOSYS_SUMMARY, YOSYS_REPORT, "yosys.log"])
            else:
                missing["yosys_synthesis"] = "not requested (use --synth)"
    else:
        for s in ("rtl_simulation", "da4ml_estimate", "yosys_synthesis"):
            missing[s] = "not requested (use --rtl, and --synth for yosys)"
    if opts.skipped:  # the family's default RTL path, skipped for missing tools
        for s in ("rtl_simulation", "da4ml_estimate", "yosys_synthesis"):
            if s in missing:
                missing[s] = f"tools missing: {opts.skipped}"
    out = collect_sources(keras_model, project_dir, cfg, opts.budgets, missing)
    out["agreement"] = agreement
    out["hardware"]["options"] = opts.to_dict()
    out["hardware"]["timings_s"].update({k: round(v, 3) for k, v in timings.items()})
    return out


def collect_sources(keras_model, project_dir: Path, cfg: HLSConfig, budgets: Budgets, missing: dict | None = None) -> dict:
    """Every source whose figures exist for ``project_dir`` (estimate computed; RTL, yosys, vendor read from files)."""
    from emulation.rtl import RTL_METADATA, RTL_SUBDIR
    from emulation.synth import read_yosys_summary
    from hls.project import tool_versions
    from hls.vendor_reports import read_vendor_reports

    project_dir = Path(project_dir)
    missing = dict(missing or {})
    latency: dict = {}
    resources: dict = {}
    meta: dict = {}
    details: dict = {}
    versions = tool_versions()

    t0 = time.perf_counter()
    try:
        latency["hls_estimate"], resources["hls_estimate"], details["hls_estimate"] = hls_estimate_entry(keras_model, cfg)
        meta["hls_estimate"] = {"clock_period_ns": cfg.clock_period_ns, "part": cfg.part,
                                "tool_versions": {"hls4ml": versions.get("hls4ml"), "model": "hls/estimate.py"}}
    except ValueError as exc:
        missing["hls_estimate"] = str(exc)
    t_est = time.perf_counter() - t0

    rtl_md_path = project_dir / RTL_SUBDIR / RTL_METADATA
    if rtl_md_path.is_file():
        import json

        md = json.loads(rtl_md_path.read_text())
        clk = md["clock_period_ns"]
        lat = md["measured_latency"]
        latency["rtl_simulation"] = _latency(lat["cycles"], clk, lat["ii"])
        de = md["da4ml_estimate"]
        latency["da4ml_estimate"] = _latency(de["cycles"], clk, de["ii"])
        resources["da4ml_estimate"] = _resources({"LUT": de["LUT"], "FF": de["FF"]}, md["part"])
        rtl_versions = {"da4ml": versions.get("da4ml"), "verilator": _verilator_version()}
        meta["rtl_simulation"] = meta["da4ml_estimate"] = {"clock_period_ns": clk, "part": md["part"],
                                                           "tool_versions": rtl_versions}
        details["rtl"] = md
        for s in ("rtl_simulation", "da4ml_estimate"):
            missing.pop(s, None)
    else:
        for s in ("rtl_simulation", "da4ml_estimate"):
            missing.setdefault(s, "no RTL in the project (build with --rtl)")
    ys = read_yosys_summary(project_dir / RTL_SUBDIR)
    if ys is not None:
        resources["yosys_synthesis"] = _resources(ys, ys["part"])
        meta["yosys_synthesis"] = {"part": ys["part"], "clock_period_ns": None,
                                   "tool_versions": {"yosys": ys["tool_version"]}}
        details["yosys"] = {k: ys[k] for k in ("cells", "command", "family", "time_s")}
        missing.pop("yosys_synthesis", None)
    else:
        missing.setdefault("yosys_synthesis", "no yosys synthesis in the project (build with --rtl --synth)")

    vendor = read_vendor_reports(project_dir, cfg.project_name)
    for src, d in vendor.items():
        part = d.get("part") or cfg.part
        resources[src] = _resources(d, part)
        if src == "vendor_csynth":
            clk = d.get("clock_period_ns") or cfg.clock_period_ns
            latency[src] = _latency(d["cycles"], clk, d["ii"])
        meta[src] = {"part": part, "clock_period_ns": d.get("clock_period_ns") or (d.get("timing") or {}).get("clock_period_ns"),
                     "tool_versions": {"vendor": d.get("tool_version")}}
        details[src] = d
    for src in ("vendor_csynth", "vendor_vivado"):
        if src not in vendor:
            missing[src] = "no vendor report in the project directory"

    budget_eval = evaluate_budgets(budgets, latency, resources)
    return {
        "latency": latency,
        "resources": resources,
        "latency_resources": {"sources": latency_resources_table(latency, resources, meta), "budgets": budget_eval["checks"]},
        "budgets": budget_eval,
        "hardware": {"details": details, "missing_sources": missing, "timings_s": {"hls_estimate": round(t_est, 3)}},
    }


def project_resources(project_dir: Path, budgets: Budgets) -> dict:
    """The latency/resources section of an existing project directory (for ``build_hls.py resources DIR``)."""
    from hls.estimate import SPECS_FILE, load_layer_specs
    from hls.project import read_metadata

    project_dir = Path(project_dir)
    md = read_metadata(project_dir)
    cfg = HLSConfig.from_dict(md["hls"])
    model_path = project_dir / "model" / "deployable.keras"
    if not model_path.is_file():
        raise FileNotFoundError(f"{model_path} is missing: {project_dir} is not a complete project built by build_hls.py")
    if (project_dir / SPECS_FILE).is_file():  # the estimate's inputs, written by the build: no TensorFlow
        model = load_layer_specs(project_dir / SPECS_FILE)
    else:
        import hgq  # noqa: F401  (registers the HGQ2 layers for deserialisation)
        from quantize.hgq_native import load_deployable

        model = load_deployable(model_path)
    out = collect_sources(model, project_dir, cfg, budgets)
    out["model"] = md.get("model")
    out["hls"] = cfg.to_dict()
    return out


def _verilator_version() -> str | None:
    try:
        from importlib.metadata import version

        return version("verilator")
    except Exception:  # noqa: BLE001 - version lookup only
        return None
