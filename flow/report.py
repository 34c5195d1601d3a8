"""The one report writer: report.json validated against a versioned schema, report.md and plots, the checks.

Schema history (``report["schema_version"]``; ``build_hls.py check``, sweeps and users read these keys):

- 1: the three builds' reports (trigger, CWoLa hunt, legacy import).
- 2: the same keys, plus ``flow`` = {``family``, ``steps`` (the steps run, in order), ``steps_s`` (wall time of
  each)}.  Nothing was removed or renamed.
  Added within 2 (additions only): trigger reports' ``generator_validation`` (the generator's "generated vs
  published" table of :mod:`data.validation`, or null when the build does not run on the generated HLT stream);
  every report's ``data.events`` (whether the events are synthetic, in words).
  Optional keys (type-checked when present, ``_OPTIONAL``): ``references`` (vae21: efficiency and cross-sections
  per signal for float twin, float view, emulator, supervised DNN and the published value,
  :mod:`analysis.references`).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from typing import TYPE_CHECKING

from models.registry import ReportKind

if TYPE_CHECKING:
    from flow.build import Build

REPORT_SCHEMA_VERSION = 2

# top-level keys every report of a kind has, and their JSON types
_COMMON = {"schema_version": int, "model": str, "versions": dict, "hls": dict, "data": dict, "emulator": dict,
           "agreement": dict, "saturation": dict, "timings_s": dict, "checks": dict, "flow": dict}
SCHEMA: dict[ReportKind, dict[str, type | tuple]] = {
    ReportKind.TRIGGER: {**_COMMON, "model_details": dict, "working_points": list, "signals": dict,
                         "offline_scores": (dict, type(None)), "latency": dict, "resources": dict,
                         "latency_resources": dict, "budgets": dict, "hardware": dict, "ebops": dict,
                         "generator_validation": (dict, type(None))},
    ReportKind.HUNT: {**_COMMON, "cwola": dict},
    ReportKind.IMPORT: {**_COMMON, "model_details": dict, "import": dict, "working_points": list, "signals": dict,
                        "inserted_quantizer_overflows": dict},
}
_AGREEMENT_ENTRY = {"n_events": int, "n_mismatched": int}
_OPTIONAL: dict[ReportKind, dict[str, type]] = {ReportKind.TRIGGER: {"references": dict}}


def validate_report(report: dict, kind: ReportKind) -> None:
    """Raise ``ValueError`` naming the path of every missing or mistyped key."""
    errors = []
    for key, typ in SCHEMA[kind].items():
        if key not in report:
            errors.append(f"{key}: missing")
        elif not isinstance(report[key], typ):
            errors.append(f"{key}: expected {typ}, got {type(report[key]).__name__}")
    for key, typ in _OPTIONAL.get(kind, {}).items():
        if key in report and not isinstance(report[key], typ):
            errors.append(f"{key}: expected {typ}, got {type(report[key]).__name__}")
    for name, entry in (report.get("agreement") or {}).items():
        for key, typ in _AGREEMENT_ENTRY.items():
            if isinstance(entry, dict) and key in entry and not isinstance(entry[key], typ):
                errors.append(f"agreement.{name}.{key}: expected {typ.__name__}, got {type(entry[key]).__name__}")
    if report.get("schema_version") != REPORT_SCHEMA_VERSION:
        errors.append(f"schema_version: expected {REPORT_SCHEMA_VERSION}, got {report.get('schema_version')}")
    if errors:
        raise ValueError(f"report.json does not match schema {REPORT_SCHEMA_VERSION} ({kind.value}): " + "; ".join(errors))


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (Path, tuple)):
        return str(o)
    raise TypeError(f"{type(o).__name__} is not JSON serialisable")


def write_json(b: Build) -> None:
    """report.json, validated, written atomically (a reader never sees half a report)."""
    validate_report(b.report, b.family.report)
    path = b.project_dir / "report" / "report.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(".report.json.tmp")
    tmp.write_text(json.dumps(b.report, indent=2, default=_json_default))
    tmp.replace(path)


def _trigger_report(b: Build) -> dict:
    from hls.project import tool_versions
    from quantize.ebops import ebops_report

    r, cfg = b.report, b.config
    desc = b.prepared.description
    out = {"schema_version": REPORT_SCHEMA_VERSION, "model": desc["name"], "model_details": desc,
           "versions": tool_versions(),
           "hls": {**cfg.hls.to_dict(), "clock_period_ns": cfg.hls.clock_period_ns, "project_dir": str(b.shown_dir()),
                   "output_lsb": b.lsb},
           "data": r["data"], **({"input_stream": r["input_stream"]} if "input_stream" in r else {}),
           "emulator": {"name": b.emulator.name, "label": b.emulator.label}}
    out.update({k: v for k, v in r.items() if k not in out})
    try:  # EBOPs and bit statistics of the deployable model, or the reason they are missing
        # the RND variant has the trained model's widths and weights (checked when it is made) but is a plain copy:
        # HGQ2's own EBOPs live on the trained layers, so the count runs on those
        out["ebops"] = ebops_report(b.deploy_qkeras if b.deploy_qkeras is not None else b.deploy)
    except (ValueError, AttributeError) as exc:  # a layer the count does not model: say so, the build goes on
        out["ebops"] = {"error": f"{type(exc).__name__}: {exc}"}
    return out


def _write_trigger_md(b: Build, report: dict) -> None:
    from analysis.report import write_report

    st = b.family_state
    write_report(report, b.project_dir / "report", b.s_emu, st["s_fview"], st["s_twin"])


def _write_hunt_md(b: Build, report: dict) -> None:
    from analysis.cwola_report import write_cwola_report

    st = b.family_state
    write_cwola_report(report, b.project_dir / "report", st["mjj"], st["edges"], st["windows"], st["sources"],
                       st["sample"].x, st["sample"].label, b.config.cwola.features, b.mean, b.std)


def _write_import_md(b: Build, report: dict) -> None:
    from analysis.import_report import write_import_report

    write_import_report(report, b.project_dir / "report")


def finish_report(b: Build) -> None:
    """Assemble the report of the family's kind, run its checks, write report.md / plots and report.json."""
    from flow import checks

    kind = b.family.report
    report = _trigger_report(b) if kind is ReportKind.TRIGGER else dict(b.report)
    report["schema_version"] = REPORT_SCHEMA_VERSION
    report["saturation"] = b.report["saturation"]
    report["timings_s"] = {k: round(v, 3) for k, v in b.timings.items()}
    report["flow"] = {"family": b.family.name, "steps": [*b.done, "report"], "steps_s": dict(b.steps_s)}
    ok, failures = checks.CHECKS[kind](report, b.config)
    report["checks"] = {"passed": ok, "failures": failures, "warnings": checks.efficiency_warnings(report)}
    if kind is not ReportKind.HUNT:
        report["checks"]["tolerances"] = checks.tolerances_dict(b.config, kind)
    report["data"] = {**report["data"], "events": events_statement(report["data"])}
    b.report = report
    t0 = time.perf_counter()
    {ReportKind.TRIGGER: _write_trigger_md, ReportKind.HUNT: _write_hunt_md,
     ReportKind.IMPORT: _write_import_md}[kind](b, report)
    if kind is not ReportKind.IMPORT:
        report["timings_s"]["report"] = round(time.perf_counter() - t0, 3)
    _state_events_in_md(b.project_dir / "report" / "report.md", report["data"]["events"])
    write_json(b)


def events_statement(data: dict) -> str:
    """Where the report's events come from, in one sentence: synthetic (generated here) or the user's file."""
    from data.validation import SYNTHETIC_NOTE

    if data.get("source", "generated") == "generated":
        return f"{SYNTHETIC_NOTE} Generator version: {data.get('generator', 'unknown')}."
    return f"Events read from {data['source']} (given by the user; not generated by this toolkit)."


def _state_events_in_md(md: Path, statement: str) -> None:
    """Put the events statement right under the title of report.md (every report kind)."""
    if not md.is_file():
        return
    lines = md.read_text().split("\n")
    at = 1 if lines and lines[0].startswith("# ") else 0
    md.write_text("\n".join(lines[:at] + ["", f"**Events:** {statement}"] + lines[at:]))


def summary(report: dict) -> str:
    """The plain-text summary printed at the end of a build (also the first table of report.md)."""
    if "cwola" in report:
        from analysis.cwola_report import cwola_summary

        return cwola_summary(report)
    if "import" in report:
        from analysis.import_report import import_summary

        return import_summary(report)
    from analysis.report import summary_table

    return summary_table(report)
