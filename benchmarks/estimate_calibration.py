"""The analytic HLS estimate against the RTL measurement (Verilator latency, yosys LUT/FF/DSP) of built projects.

    python -m benchmarks.estimate_calibration PROJECT_DIR [PROJECT_DIR ...] [--markdown]

A project directory is a build's output (``report/report.json`` with the RTL and yosys sources, and
``model/estimate_layers.json``, the deployable model's layers as the estimate reads them); a sweep's point
directory stands for its ``project/``.  For every project the estimate is recomputed from its layers for two hls4ml
strategies, at the project's clock: ``Latency`` (the Vitis HLS multiplier-per-weight model of ``hls/estimate.py``)
and ``distributed_arithmetic`` (the constant matrix-vector products as da4ml's adder graph,
``hls.estimate.estimate_dense_da``), and printed beside da4ml's own estimate and the measurement.  The RTL is
da4ml's distributed-arithmetic design, so the DA estimate is the one that models the measured architecture; the
Latency-strategy estimate models another design (Vitis HLS's) that no tool here synthesizes, so its ratio to the
measurement is shown, not fitted.  Not a test: it prints the README's calibration table.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _row(project: Path) -> dict:
    from hls.config import HLSConfig, Strategy
    from hls.estimate import SPECS_FILE, estimate, load_layer_specs

    rep = json.loads((project / "report" / "report.json").read_text())
    specs = load_layer_specs(project / SPECS_FILE)
    clock = float(rep["hls"]["clock_period_ns"])
    est = {st.value: estimate(specs, HLSConfig(strategy=st, clock_period_ns=clock)).to_dict()
           for st in (Strategy.LATENCY, Strategy.DISTRIBUTED_ARITHMETIC)}
    res, lat = rep.get("resources") or {}, rep.get("latency") or {}
    ys, rtl, da = res.get("yosys_synthesis"), lat.get("rtl_simulation"), res.get("da4ml_estimate")
    return {"project": str(project), "model": rep.get("model"),
            "clock_ns": clock, "estimate": {k: {m: v[m] for m in ("ns", "LUT", "FF", "DSP")} for k, v in est.items()},
            "da4ml_estimate_LUT": da and da.get("LUT"),
            "measured": None if ys is None else {"ns": rtl and rtl["ns"], "LUT": ys["LUT"], "FF": ys["FF"], "DSP": ys["DSP"]}}


def _ratio(a, b) -> str:
    return f"{a / b:.2f}" if a is not None and b else "n/a"


def table(rows: list[dict]) -> list[str]:
    head = ("| project | RTL latency [ns] | yosys LUT / FF / DSP | da4ml estimate LUT | DA estimate LUT (ratio) | "
            "Latency-strategy estimate ns / LUT / DSP (LUT ratio) |")
    out = [head, "|---|---|---|---|---|---|"]
    for r in rows:
        m, da, lt = r["measured"], r["estimate"]["distributed_arithmetic"], r["estimate"]["Latency"]
        if m is None:
            meas = ["n/a (no RTL/yosys in the report)"] * 2
        else:
            meas = [f"{m['ns']:g}" if m["ns"] is not None else "n/a", f"{m['LUT']:,} / {m['FF']:,} / {m['DSP']}"]
        out.append(f"| {r['project']} | {meas[0]} | {meas[1]} | {r['da4ml_estimate_LUT'] or 'n/a'} | "
                   f"{da['LUT']:,} ({_ratio(da['LUT'], m and m['LUT'])}) | "
                   f"{lt['ns']:g} / {lt['LUT']:,} / {lt['DSP']} ({_ratio(lt['LUT'], m and m['LUT'])}) |")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("projects", nargs="+", type=Path)
    p.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = p.parse_args(argv)
    projects = [d / "project" if (d / "point.json").is_file() else d for d in args.projects]  # a sweep point
    missing = [str(d) for d in projects if not (d / "report" / "report.json").is_file()]
    if missing:
        raise SystemExit(f"not a built project (no report/report.json): {missing}")
    rows = [_row(d) for d in projects]
    print("\n".join(table(rows)))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
