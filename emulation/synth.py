"""Open synthesis of the da4ml Verilog with yosys (``synth_xilinx``): LUT / FF / CARRY / DSP / BRAM counts.

Run on ``<project>/rtl/src`` (top module = the pipelined design, without da4ml's I/O width wrapper) with
``synth_xilinx -family <family of the part> -flatten -noiopad``; the cell counts of ``stat -json`` are
summed into resource classes:

* LUT: LUT1..LUT6 and INV cells (yosys does not pack two small LUTs into one LUT6_2 site as Vivado does,
  so this is an upper bound on LUT sites);
* FF: FDRE/FDSE/FDCE/FDPE (and the 7-series/latch variants);
* CARRY: CARRY4/CARRY8 cells; DSP: DSP48E1/DSP48E2; BRAM: RAMB36 + RAMB18 / 2 (36 Kb equivalents).

yosys is Debian's (``apt-get install yosys``; ``setup.sh`` installs it).  Without it the report says so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

from hls.parts import lookup_part

YOSYS_REPORT = "yosys_stat.json"
YOSYS_SUMMARY = "yosys_summary.json"


def yosys_unavailable_reason() -> str | None:
    if shutil.which("yosys") is None:
        return "yosys is not installed (apt-get install yosys; setup.sh does it)"
    return None


def yosys_version() -> str | None:
    exe = shutil.which("yosys")
    if exe is None:
        return None
    r = subprocess.run([exe, "-V"], capture_output=True, text=True)
    return r.stdout.strip() or None


def classify_cells(cells: dict[str, int]) -> dict[str, int]:
    """Sum yosys Xilinx cell counts into LUT / FF / CARRY / DSP / BRAM (see module doc)."""
    out = {"LUT": 0, "FF": 0, "CARRY": 0, "DSP": 0, "BRAM": 0}
    bram18 = 0
    for name, n in cells.items():
        n = int(n)
        if re.fullmatch(r"LUT[1-6]|INV", name):
            out["LUT"] += n
        elif re.fullmatch(r"FD[RSCP]E(_1)?|FD[RSCP]?|LD[CP]E?", name):
            out["FF"] += n
        elif name in ("CARRY4", "CARRY8"):
            out["CARRY"] += n
        elif name.startswith("DSP48"):
            out["DSP"] += n
        elif name.startswith("RAMB36"):
            out["BRAM"] += n
        elif name.startswith("RAMB18"):
            bram18 += n
    out["BRAM"] += (bram18 + 1) // 2
    return out


def parse_stat_json(text: str, top: str | None = None) -> dict[str, int]:
    """Cell counts by type from yosys ``stat -json`` output (the design total, or module ``top``)."""
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"yosys stat output is not valid JSON: {exc}") from exc
    if "design" in d and top is None:
        return dict(d["design"].get("num_cells_by_type", {}))
    mods = d.get("modules", {})
    key = next((k for k in mods if k.lstrip("\\") == top), None) if top else None
    if key is None:
        raise ValueError(f"yosys stat output has no design total and no module {top!r}")
    return dict(mods[key].get("num_cells_by_type", {}))


def run_yosys(rtl_dir: Path, top: str, part: str, timeout_s: float = 1800, dsp: bool = True) -> dict:
    """Synthesize ``rtl_dir/src`` with yosys for ``part``; returns counts, percentages and provenance.
    ``dsp=False``: multipliers in LUTs (``-nodsp``; in Vivado the ``use_dsp = "no"`` attribute)."""
    reason = yosys_unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    rtl_dir = Path(rtl_dir).resolve()
    p = lookup_part(part)
    src = rtl_dir / "src"
    files = sorted(str(f) for f in (src / "static").glob("*.v")) + sorted(
        str(f) for f in src.glob(f"{top}_stage*.v")) + [str(src / f"{top}.v")]
    stat_file = rtl_dir / YOSYS_REPORT
    script = (f"read_verilog -defer {' '.join(files)}; "
              f"synth_xilinx -family {p.family} -flatten -noiopad{'' if dsp else ' -nodsp'} -top {top}; "
              f"tee -q -o {stat_file} stat -json")
    t0 = time.perf_counter()
    # memory initialisation files of da4ml lookup tables are read relative to the working directory
    r = subprocess.run(["yosys", "-q", "-p", script], cwd=src / "memfiles" if (src / "memfiles").is_dir() else src,
                       capture_output=True, text=True, timeout=timeout_s)
    elapsed = time.perf_counter() - t0
    (rtl_dir / "yosys.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0 or not stat_file.is_file():
        raise RuntimeError(f"yosys synthesis failed (exit {r.returncode}), see {rtl_dir / 'yosys.log'}:\n{r.stderr[-1500:]}")
    cells = parse_stat_json(stat_file.read_text())
    counts = classify_cells(cells)
    out = {
        **counts,
        "part": part,
        "family": p.family,
        "percent": p.percent(counts),
        "cells": cells,
        "command": f"yosys -p '{script}'",
        "tool_version": yosys_version(),
        "time_s": round(elapsed, 2),
    }
    (rtl_dir / YOSYS_SUMMARY).write_text(json.dumps(out, indent=2))
    return out


def read_yosys_summary(rtl_dir: Path) -> dict | None:
    p = Path(rtl_dir) / YOSYS_SUMMARY
    return json.loads(p.read_text()) if p.is_file() else None
