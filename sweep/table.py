"""The sweep's results table: one row per point, flattened from each point's record and ``report.json``.

Columns (every figure labelled with its source):

- configuration: ``hash``, the axis values (``mode``, ``precision``, ``reuse_factor``, ``strategy``,
  ``io_type``, ``clock_period_ns``), the full BuildConfig as JSON (``config_json``), ``training_key``;
  ``rf[<layer>]``: the reuse factor of each dense layer (the ``reuse_factor`` axis is a target R, each layer
  gets the largest valid value <= R, :mod:`hls.reuse`), ``reuse_target``;
- run: ``status`` (ok / failed / crashed / invalid / interrupted / pending), ``error``, ``checks_passed``,
  ``wall_s`` (the point's process, seen by the sweep), ``run_build_s`` (inside ``run_build``),
  ``time_<step>_s`` (the report's ``timings_s``), ``host``;
- versions: ``version[<package>]``;
- agreement: ``n_mismatched`` and ``n_events`` (emulator vs quantized Keras), ``spearman_float_view`` and
  ``pearson_float_view`` (emulator vs float view), ``csim_n_mismatched`` (fast emulator vs C-sim subset);
- physics at the main working point (the report's first one, named in ``working_point``):
  ``eff[<signal>]`` (emulator), ``eff_float_twin[<signal>]``, ``eff_mean`` (mean over signals),
  ``auc[<signal>]`` (emulator), ``threshold``, and the event counts behind them (``n_test_background``,
  ``n_test_signal``: all signals);
- latency and resources from every source the report has (``report["resources"][source]`` and
  ``report["latency"][source]``): ``<metric>[<source>]``, e.g. ``LUT[hls_estimate]``,
  ``latency_ns[rtl_simulation]``, ``latency_cycles[da4ml_estimate]``, ``ii[vendor_csynth]``;
  budgets found in ``report["budgets"]`` become ``budget[<metric>]``;
- ``BOPs[analytic]``: bit operations of the deployable dense layers (sum over layers of n_in * n_out *
  b_weight * b_input / reuse factor), a model-only resource proxy computed from the point's quantizer
  widths, always available (a vendor-free x-axis until a real estimate exists).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

AXIS_COLUMNS = ("mode", "precision", "reuse_factor", "strategy", "io_type", "clock_period_ns")
LATENCY_KEYS = {"cycles": "latency_cycles", "ns": "latency_ns", "ii": "ii"}


def _num(v):
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float, np.integer, np.floating)):
        return v
    return None


def flatten_report(report: dict) -> dict:
    """Labelled scalar columns from one ``report.json`` dict (keys that are absent give no column)."""
    row: dict = {}
    for k, v in (report.get("versions") or {}).items():
        row[f"version[{k}]"] = v
    ag = report.get("agreement") or {}
    ek = ag.get("emulator_vs_keras") or {}
    row["n_mismatched"] = ek.get("n_mismatched")
    row["n_events"] = ek.get("n_events")
    row["max_abs_diff"] = ek.get("max_abs_diff")
    fv = ag.get("emulator_vs_float_view") or {}
    row["spearman_float_view"] = fv.get("score_spearman")
    row["pearson_float_view"] = fv.get("score_pearson")
    cs = ag.get("emulator_vs_csim")
    if cs:
        row["csim_n_mismatched"] = cs.get("n_mismatched")
        row["csim_n_events"] = cs.get("n_events")
    data = report.get("data") or {}
    row["n_test_background"] = data.get("n_test_background")
    row["n_test_signal"] = sum((data.get("n_test_signal") or {}).values()) or None
    wps = report.get("working_points") or []
    main = wps[0]["name"] if wps else None
    row["working_point"] = main
    if wps:
        row["threshold"] = wps[0].get("threshold")
        row["background_rate_hz"] = wps[0].get("background_rate_hz")
        row["decision_agreement"] = wps[0].get("decision_agreement")
    effs = []
    for sig, d in (report.get("signals") or {}).items():
        row[f"auc[{sig}]"] = d.get("auc_emulator")
        e = (d.get("working_points") or {}).get(main) or {}
        row[f"eff[{sig}]"] = e.get("eff_emulator")
        row[f"eff_float_twin[{sig}]"] = e.get("eff_float_twin")
        if e.get("eff_emulator") is not None:
            effs.append(e["eff_emulator"])
    row["eff_mean"] = float(np.mean(effs)) if effs else None
    for src, d in (report.get("resources") or {}).items():
        for k, v in (d or {}).items():
            if _num(v) is not None:
                row[f"{k}[{src}]"] = _num(v)
    for src, d in (report.get("latency") or {}).items():
        for k, v in (d or {}).items():
            if _num(v) is not None:
                row[f"{LATENCY_KEYS.get(k, k)}[{src}]"] = _num(v)
    for r in (report.get("reuse_factors") or {}).get("layers", []):  # resolved at conversion (hls/reuse.py)
        row[f"rf[{r['layer']}]"] = r["reuse_factor"]
    bud = report.get("budgets") or {}
    for k, v in bud.items():  # {name: {limit, unit, sources, passed, decided_by}}, plus flat keys
        if isinstance(v, dict) and _num(v.get("limit")) is not None:
            row[f"budget[{k}]"] = _num(v["limit"])
        elif not isinstance(v, (bool, dict)) and _num(v) is not None:  # a plain {metric: limit}
            row[f"budget[{k}]"] = _num(v)
    if isinstance(bud.get("passed"), bool):
        row["budgets_passed"] = bud["passed"]
    for k, v in (report.get("timings_s") or {}).items():
        row[f"time_{k}_s"] = v
    chk = report.get("checks") or {}
    if chk:
        row["checks_passed"] = chk.get("passed")
        row["check_failures"] = "; ".join(chk.get("failures") or [])
    bops = bops_from_report(report)
    if bops is not None:
        row["BOPs[analytic]"] = bops
    return row


def bops_from_report(report: dict) -> float | None:
    """Bit operations of the deployable dense layers from the report's model config (None if not a vae21-like
    config): sum of n_in * n_out * b_w * b_in / reuse_factor, with b_in the width of the layer's input
    (``reuse_factor`` = the model-level value, 1 at a reuse-factor target: the proxy ignores per-layer values)."""
    try:
        c = report["model_details"]["config"]
        q = c["quant"]
        rf = int(report["hls"]["reuse_factor"])
        dims = [int(c["n_features"]), *[int(h) for h in c["hidden"]], int(c["latent"])]
    except (KeyError, TypeError):
        return None
    in_bits = [q["input_bits"]] + [q["act_bits"]] * (len(dims) - 2)
    total = sum(dims[i] * dims[i + 1] * q["weight_bits"] * in_bits[i] for i in range(len(dims) - 1))
    total += dims[-1] * q["mu_bits"] * q["mu_bits"]  # mu^2 (the unit-kernel sum has no multiplications)
    return float(total) / rf


def reuse_columns(hls) -> dict:
    """``reuse_target`` and ``rf[<layer>]``: the per-layer reuse factors a point's configuration gives (the
    ``reuse_factor`` axis is a target, resolved per dense layer by :mod:`hls.reuse`)."""
    row = {f"rf[{ls.name}]": ls.reuse_factor for ls in hls.layers if ls.reuse_factor is not None}
    if hls.reuse_target is not None:
        row["reuse_target"] = hls.reuse_target
    return row


def point_row(point, record: dict | None, report: dict | None) -> dict:
    """One table row: the point's configuration, its run record, and the flattened report."""
    row = {"hash": point.hash, **{k: point.values.get(k) for k in AXIS_COLUMNS}}
    row["training_key"] = point.training_key
    row["config_json"] = json.dumps(point.config.to_dict(), sort_keys=True)
    row.update(reuse_columns(point.config.hls))
    if point.invalid:
        row.update(status="invalid", error=point.invalid)
        return row
    rec = record or {}
    row["status"] = rec.get("status", "pending")
    row["error"] = rec.get("error")
    for k in ("wall_s", "run_build_s", "host", "exit_code", "started", "finished"):
        if k in rec:
            row[k] = rec[k]
    for k, v in (rec.get("versions") or {}).items():
        row[f"version[{k}]"] = v
    if report is not None:
        row.update(flatten_report(report))
    return row


def sort_columns(cols: list[str]) -> list[str]:
    first = ["hash", *AXIS_COLUMNS, "status", "error", "checks_passed", "n_mismatched", "spearman_float_view",
             "working_point", "eff_mean", "wall_s"]
    head = [c for c in first if c in cols]
    head[len([c for c in head if c in ("hash", *AXIS_COLUMNS)]):0] = [c for c in cols if c.startswith("rf[")]
    rest = [c for c in cols if c not in head]
    groups = [
        [c for c in rest if c.startswith(("eff[", "eff_float_twin[", "auc["))],
        [c for c in rest if "[" in c and not c.startswith(("eff", "auc[", "version["))],
        [c for c in rest if "[" not in c],
        [c for c in rest if c.startswith("version[")],
    ]
    seen = set(head)
    out = list(head)
    for g in groups:
        for c in g:
            if c not in seen:
                out.append(c)
                seen.add(c)
    return out


def write_table(rows: list[dict], out_dir: Path) -> "pd.DataFrame":  # noqa: F821
    """Write ``results.parquet`` and ``results.csv`` atomically (a reader never sees a half-written file)."""
    import pandas as pd

    out_dir = Path(out_dir)
    df = pd.DataFrame(rows)
    if len(df):
        df = df[sort_columns(list(df.columns))]
    for c in df.columns:  # mixed object columns (None + numbers) -> numeric where possible, for Parquet
        if df[c].dtype == object and c not in ("hash", "error", "config_json", "status", "strategy", "io_type",
                                               "mode", "host", "working_point", "training_key", "check_failures",
                                               "started", "finished") and not c.startswith("version["):
            conv = pd.to_numeric(df[c], errors="coerce")
            if conv.notna().sum() == df[c].notna().sum():
                df[c] = conv
    if "checks_passed" in df:  # nullable boolean (None for points that did not finish), not 0.0/1.0
        df["checks_passed"] = df["checks_passed"].astype("boolean")
    for name, writer in (("results.parquet", lambda p: df.to_parquet(p, index=False)),
                         ("results.csv", lambda p: df.to_csv(p, index=False))):
        tmp = out_dir / f".{name}.{os.getpid()}.tmp"
        writer(tmp)
        os.replace(tmp, out_dir / name)
    return df


def is_finite(v) -> bool:
    return v is not None and isinstance(v, (int, float, np.integer, np.floating)) and math.isfinite(v)
