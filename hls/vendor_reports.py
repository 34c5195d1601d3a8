"""Parsers of vendor reports, for projects synthesized elsewhere (Vitis/Vivado HLS, Vivado).

Pure functions ``parse_*(text) -> dict`` (no files, no vendor tools) plus :func:`find_vendor_reports`,
which looks for them in a project directory.  A malformed report raises ``ValueError`` naming the
report and what is missing; a missing report is simply absent.

* ``<top>_csynth.xml`` (HLS C synthesis, ``<profile>`` schema of Vivado HLS 2019+ / Vitis HLS):
  latency (best/worst case, cycles), interval, estimated clock period, LUT/FF/DSP/BRAM_18K/URAM, part.
  hls4ml's own ``hls4ml.report.parse_vivado_report`` reads the same XML but needs the whole
  ``<project>_prj`` directory layout and prints instead of raising; this parser takes the text.
* Vivado ``report_utilization`` (text tables; UltraScale+ "CLB LUTs"/"CLB Registers"/"CARRY8" and
  7-series "Slice LUTs"/"Slice Registers"/"CARRY4" rows, "DSPs", "Block RAM Tile").
* Vivado ``report_timing_summary`` (the "Design Timing Summary" WNS row and the clock table's period):
  achieved period = target period - WNS.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path


def _xml_int(root, path: str, what: str, name: str) -> int:
    el = root.find(path)
    if el is None or el.text is None:
        raise ValueError(f"{name}: malformed csynth report, missing {what} ({path})")
    try:
        return int(float(el.text.strip()))
    except ValueError:
        raise ValueError(f"{name}: malformed csynth report, {what} is {el.text!r}, not a number") from None


def parse_csynth_xml(text: str, name: str = "csynth.xml") -> dict:
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"{name}: not valid XML ({exc})") from None
    if root.tag != "profile":
        raise ValueError(f"{name}: root element is <{root.tag}>, expected <profile> (an HLS csynth.xml report)")
    lat = "PerformanceEstimates/SummaryOfOverallLatency/"
    res = "AreaEstimates/Resources/"
    dsp_el = root.find(res + "DSP")
    dsp_path = res + ("DSP" if dsp_el is not None else "DSP48E")
    bram18 = _xml_int(root, res + "BRAM_18K", "BRAM_18K", name)
    out = {
        "cycles": _xml_int(root, lat + "Worst-caseLatency", "worst-case latency", name),
        "cycles_best": _xml_int(root, lat + "Best-caseLatency", "best-case latency", name),
        "ii": _xml_int(root, lat + "Interval-max", "maximum interval", name),
        "LUT": _xml_int(root, res + "LUT", "LUT", name),
        "FF": _xml_int(root, res + "FF", "FF", name),
        "DSP": _xml_int(root, dsp_path, "DSP", name),
        "BRAM": int(math.ceil(bram18 / 2)),
        "BRAM_18K": bram18,
        "CARRY": None,
    }
    uram = root.find(res + "URAM")
    out["URAM"] = int(uram.text) if uram is not None and uram.text else None
    part = root.find("UserAssignments/Part")
    out["part"] = part.text.strip() if part is not None and part.text else None
    for key, path in (("clock_period_ns", "UserAssignments/TargetClockPeriod"),
                      ("estimated_clock_period_ns", "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod")):
        el = root.find(path)
        out[key] = float(el.text) if el is not None and el.text else None
    ver = root.find("ReportVersion/Version")
    out["tool_version"] = ver.text.strip() if ver is not None and ver.text else None
    return out


_UTIL_ROWS = {
    "LUT": ("CLB LUTs", "Slice LUTs"),
    "FF": ("CLB Registers", "Slice Registers"),
    "CARRY": ("CARRY8", "CARRY4"),
    "DSP": ("DSPs",),
    "BRAM": ("Block RAM Tile",),
}


def _table_used(text: str, label: str) -> float | None:
    m = re.search(r"^\|\s*" + re.escape(label) + r"\*?\s*\|\s*([0-9.]+)\s*\|", text, re.M)
    return float(m.group(1)) if m else None


def parse_vivado_utilization(text: str, name: str = "utilization.rpt") -> dict:
    if "Utilization" not in text and "Site Type" not in text:
        raise ValueError(f"{name}: not a Vivado report_utilization report (no 'Site Type' table)")
    out: dict = {}
    for key, labels in _UTIL_ROWS.items():
        val = None
        for label in labels:
            val = _table_used(text, label)
            if val is not None:
                break
        out[key] = val
    missing = [k for k in ("LUT", "FF", "DSP") if out[k] is None]
    if missing:
        raise ValueError(f"{name}: malformed utilization report, no rows for {', '.join(missing)}")
    for k in ("LUT", "FF", "CARRY", "DSP"):
        if out[k] is not None:
            out[k] = int(out[k])
    m = re.search(r"^\|\s*Device\s*:\s*(\S+)", text, re.M)
    out["part"] = m.group(1) if m else None
    m = re.search(r"Tool Version\s*:\s*(.+?)\s*$", text, re.M)
    out["tool_version"] = m.group(1) if m else None
    return out


def parse_vivado_timing(text: str, name: str = "timing_summary.rpt") -> dict:
    m = re.search(r"Design Timing Summary.*?WNS\(ns\).*?\n\s*-+[\s-]*\n\s*(-?[0-9.]+|inf)\s", text, re.S)
    if not m:
        raise ValueError(f"{name}: malformed timing summary, no WNS value under 'Design Timing Summary'")
    wns = float(m.group(1))
    m2 = re.search(r"Clock\s+Waveform\(ns\)\s+Period\(ns\)\s+Frequency\(MHz\)\s*\n\s*-+[\s-]*\n\s*(\S+)\s+\{[^}]*\}\s+([0-9.]+)\s+([0-9.]+)", text)
    period = float(m2.group(2)) if m2 else None
    achieved = (period - wns) if period is not None and math.isfinite(wns) else None
    return {
        "wns_ns": wns,
        "clock": m2.group(1) if m2 else None,
        "clock_period_ns": period,
        "achieved_period_ns": achieved,
        "fmax_mhz": (1000.0 / achieved) if achieved and achieved > 0 else None,
        "timing_met": wns >= 0,
    }


def find_vendor_reports(project_dir: Path, top: str = "myproject") -> dict[str, Path]:
    """Vendor reports present in a project directory: keys ``csynth``, ``utilization``, ``timing``."""
    project_dir = Path(project_dir)
    found: dict[str, Path] = {}
    cands = sorted(project_dir.rglob(f"{top}_csynth.xml")) or sorted(project_dir.rglob("*_csynth.xml"))
    if cands:
        found["csynth"] = cands[0]
    util = [p for p in sorted(project_dir.rglob("*.rpt")) if re.search(r"util", p.name, re.I)]
    util += [p for p in (project_dir / "vivado_impl.rpt", project_dir / "vivado_synth.rpt") if p.is_file()]
    if util:
        # prefer post-implementation over post-synthesis numbers
        util.sort(key=lambda p: (("impl" in p.name or "place" in p.name or "route" in p.name), p.stat().st_mtime))
        found["utilization"] = util[-1]
    timing = [p for p in sorted(project_dir.rglob("*.rpt")) if re.search(r"timing", p.name, re.I)]
    if timing:
        timing.sort(key=lambda p: p.stat().st_mtime)
        found["timing"] = timing[-1]
    return found


def read_vendor_reports(project_dir: Path, top: str = "myproject") -> dict:
    """``{"vendor_csynth": {...}, "vendor_vivado": {...}}`` for the reports present (raises on malformed ones)."""
    found = find_vendor_reports(project_dir, top)
    out: dict = {}
    if "csynth" in found:
        d = parse_csynth_xml(found["csynth"].read_text(), str(found["csynth"]))
        d["file"] = str(found["csynth"])
        out["vendor_csynth"] = d
    if "utilization" in found:
        d = parse_vivado_utilization(found["utilization"].read_text(), str(found["utilization"]))
        d["file"] = str(found["utilization"])
        if "timing" in found:
            d["timing"] = parse_vivado_timing(found["timing"].read_text(), str(found["timing"]))
            d["timing"]["file"] = str(found["timing"])
        out["vendor_vivado"] = d
    return out
