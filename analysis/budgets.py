"""Latency / resource budgets of the trigger, checked per source; the report's latency-resources section.

Sources (``report["latency"][source]`` and ``report["resources"][source]``), most authoritative first:

- ``vendor_vivado``: a Vivado utilization/timing report found in the project (synthesized elsewhere);
- ``vendor_csynth``: an HLS ``csynth.xml`` report found in the project;
- ``yosys_synthesis``: yosys ``synth_xilinx`` of the da4ml Verilog (cell counts);
- ``rtl_simulation``: latency measured in the Verilator simulation of the da4ml Verilog;
- ``da4ml_estimate``: da4ml's own cost model (LUTs, register bits, pipeline stages);
- ``hls_estimate``: the analytic model of the hls4ml project (``hls/estimate.py``).

A budget is checked on every source that provides the figure.  Its verdict (``passed``) is decided by
the measured and vendor sources when at least one of them has the figure, and by the estimates only
when none does (``decided_by`` names them): a model must not fail a design that a measurement passes.

``ii_ns`` (default 25 ns): the initiation interval times the clock period.  The trigger sees a new bunch
crossing every 25 ns (40 MHz), so a design whose reuse factors make II x clock exceed 25 ns cannot accept every
crossing and fails this budget.  Note that the RTL sources measure the da4ml design (II = 1 whatever the hls4ml
reuse factors); a reuse-factor sweep of an L1 model is judged on the HLS estimate with ``--no-rtl``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .markdown import table
from .markdown import fmt as _fmt

SOURCES = ("vendor_vivado", "vendor_csynth", "yosys_synthesis", "rtl_simulation", "da4ml_estimate", "hls_estimate")
MEASURED = ("vendor_vivado", "vendor_csynth", "yosys_synthesis", "rtl_simulation")
SOURCE_LABELS = {
    "vendor_vivado": "Vivado report (vendor)",
    "vendor_csynth": "HLS csynth report (vendor)",
    "yosys_synthesis": "yosys synthesis of the da4ml Verilog",
    "rtl_simulation": "Verilator simulation of the da4ml Verilog",
    "da4ml_estimate": "da4ml estimate",
    "hls_estimate": "analytic HLS estimate (model)",
}


@dataclass(frozen=True)
class Budgets:
    latency_ns: float | None = 50.0  # CMS Global Trigger budget for the algorithm
    lut_percent: float | None = None
    dsp: int | None = None
    enforce: bool = False
    # the initiation interval in ns: a new event every bunch crossing (40 MHz -> 25 ns) needs II x clock <= 25 ns
    ii_ns: float | None = 25.0

    def __post_init__(self):
        if self.latency_ns is not None and not self.latency_ns > 0:
            raise ValueError(f"--latency-budget-ns must be > 0, got {self.latency_ns}")
        if self.lut_percent is not None and not (0 < self.lut_percent <= 100):
            raise ValueError(f"--lut-budget-percent must be in (0, 100], got {self.lut_percent}")
        if self.ii_ns is not None and not self.ii_ns > 0:
            raise ValueError(f"--ii-budget-ns must be > 0, got {self.ii_ns}")
        if self.dsp is not None and self.dsp < 0:
            raise ValueError(f"--dsp-budget must be >= 0, got {self.dsp}")

    def to_dict(self) -> dict:
        return asdict(self)


def _values(name: str, latency: dict, resources: dict) -> dict:
    out = {}
    for src in SOURCES:
        if name == "latency_ns":
            v = (latency.get(src) or {}).get("ns")
        elif name == "ii_ns":
            v = ii_ns(latency.get(src) or {})
        elif name == "lut_percent":
            v = ((resources.get(src) or {}).get("percent") or {}).get("LUT")
        else:
            v = (resources.get(src) or {}).get("DSP")
        if v is not None:
            out[src] = v
    return out


def ii_ns(lat: dict) -> float | None:
    """A source's initiation interval in ns (``ii_ns``, else ``ii`` x the clock period ``ns / cycles``)."""
    if lat.get("ii_ns") is not None:
        return lat["ii_ns"]
    ii, ns, cyc = lat.get("ii"), lat.get("ns"), lat.get("cycles")
    return ii * ns / cyc if ii is not None and ns is not None and cyc else None


def evaluate_budgets(budgets: Budgets, latency: dict, resources: dict) -> dict:
    """``{name: {limit, unit, sources: {src: {value, pass}}, passed, decided_by}}`` plus ``checks`` (flat list)."""
    spec = {"latency_ns": (budgets.latency_ns, "ns"), "lut_percent": (budgets.lut_percent, "% of part LUTs"),
            "dsp": (budgets.dsp, "DSP"),
            "ii_ns": (budgets.ii_ns, "ns between accepted events (bunch-crossing spacing 25 ns at 40 MHz)")}
    out: dict = {}
    checks = []
    for name, (limit, unit) in spec.items():
        if limit is None:
            continue
        vals = _values(name, latency, resources)
        per = {src: {"value": v, "pass": bool(v <= limit)} for src, v in vals.items()}
        deciding = [s for s in per if s in MEASURED] or list(per)
        passed = all(per[s]["pass"] for s in deciding) if deciding else None
        out[name] = {"limit": limit, "unit": unit, "sources": per, "passed": passed, "decided_by": deciding}
        checks += [{"name": name, "limit": limit, "value": d["value"], "source": s, "pass": d["pass"],
                    "decisive": s in deciding} for s, d in per.items()]
    failed = [n for n, d in out.items() if d["passed"] is False]
    return {**out, "checks": checks, "failed": failed, "enforced": budgets.enforce,
            "passed": not failed}


def latency_resources_table(latency: dict, resources: dict, meta: dict) -> dict:
    """The issue-5 layout: one record per source with latency, resources, part, clock, tool versions."""
    out = {}
    for src in SOURCES:
        lat, res = latency.get(src), resources.get(src)
        if lat is None and res is None:
            continue
        lat, res = lat or {}, res or {}
        m = meta.get(src, {})
        out[src] = {
            "label": SOURCE_LABELS[src],
            "latency_cycles": lat.get("cycles"), "latency_ns": lat.get("ns"), "ii_cycles": lat.get("ii"),
            "lut": res.get("LUT"), "ff": res.get("FF"), "dsp": res.get("DSP"), "bram": res.get("BRAM"),
            "carry": res.get("CARRY"), "part": res.get("part", m.get("part")),
            "clock_period_ns": m.get("clock_period_ns"), "tool_versions": m.get("tool_versions"),
        }
    return out


def _f(v) -> str:
    return _fmt(v, 3)


def latency_resources_md(report: dict) -> str:
    """Markdown tables of the latency/resources section and the budgets (empty string when absent)."""
    lat, res = report.get("latency"), report.get("resources")
    if not lat and not res:
        return ""
    lines = ["## Latency and resources (every row names its source)", ""]
    rows = []
    for src in SOURCES:
        l, r = (lat or {}).get(src) or {}, (res or {}).get(src) or {}
        if not l and not r:
            continue
        pc = r.get("percent") or {}
        rows.append([SOURCE_LABELS[src], _f(l.get("cycles")), _f(l.get("ns")), _f(l.get("ii")), _f(r.get("LUT")),
                     _f(r.get("FF")), _f(r.get("CARRY")), _f(r.get("DSP")), _f(r.get("BRAM")), _f(pc.get("LUT")),
                     _f(pc.get("DSP")), r.get("part", "n/a")])
    lines += table(["source", "latency [cycles]", "latency [ns]", "II", "LUT", "FF", "CARRY", "DSP", "BRAM", "LUT %",
                    "DSP %", "part"], rows)
    missing = report.get("hardware", {}).get("missing_sources", {})
    if missing:
        lines += ["", "Sources not run: " + "; ".join(f"{SOURCE_LABELS.get(k, k)}: {v}" for k, v in missing.items())]
    lines += _hardware_details_md(report)
    b = report.get("budgets")
    if b:
        lines += ["", "### Budgets", ""]
        lines += table(["budget", "limit", "source", "value", "pass", "decisive"],
                       ([c["name"], _f(c["limit"]), SOURCE_LABELS[c["source"]], _f(c["value"]),
                         "PASS" if c["pass"] else "FAIL", "yes" if c["decisive"] else "no"] for c in b["checks"]))
        lines += ["", f"Budgets: **{'PASSED' if b['passed'] else 'FAILED: ' + ', '.join(b['failed'])}**"
                  + (" (enforced)" if b.get("enforced") else " (not enforced; use --enforce-budgets)")]
    return "\n".join(lines) + "\n"


def _hardware_details_md(report: dict) -> list[str]:
    """The analytic estimate per layer, the yosys / da4ml ratio and the RTL latency measurement, when present."""
    lines = []
    est = ((report.get("hardware") or {}).get("details") or {}).get("hls_estimate")
    if est:
        lines += ["", "### Analytic HLS estimate per layer (model of hls/estimate.py, not a synthesis)", ""]
        lines += table(["layer", "kind", "cycles", "multipliers", "shifts", "adder depth", "DSP", "LUT", "FF", "BRAM",
                        "notes"],
                       ([l["name"], l["kind"], l["cycles"], l["n_mult"], l["n_shift"], l["adder_depth"], l["DSP"],
                         l["LUT"], l["FF"], l["BRAM"], l["notes"]] for l in est["layers"]))
    rf = report.get("reuse_factors")
    if rf:
        lines += ["", f"### Reuse factors per dense layer (target {rf['target']}; rule: {rf['rule']})", ""]
        lines += table(["layer", "shape", "reuse factor", "strategy", "multiplier limit", "valid values <= 16"],
                       ([r["layer"], f"{r['n_in']}x{r['n_out']}", r["reuse_factor"], r["strategy"], r["multiplier_limit"],
                         ", ".join(map(str, r["valid_le_16"]))] for r in rf["layers"]))
    rtl = ((report.get("hardware") or {}).get("details") or {}).get("rtl")
    ys = (report.get("resources") or {}).get("yosys_synthesis")
    da = (report.get("resources") or {}).get("da4ml_estimate")
    if ys and da and da.get("LUT"):
        lines += ["", f"yosys / da4ml estimate: LUT {ys['LUT'] / da['LUT']:.3g}x, FF {ys['FF'] / da['FF']:.3g}x "
                  "(yosys counts LUT cells before Vivado's LUT6_2 packing)."]
    if rtl:
        ml = rtl["measured_latency"]
        lines += ["", f"RTL latency measured in the Verilator simulation: {ml['n_events']} distinct events streamed one per clock "
                  f"(II = 1); the output port matched every event at exactly one offset, {ml['cycles']} cycles; da4ml's pipeline "
                  f"has {rtl['da4ml_estimate']['stages']} stages. RTL project: `rtl/` (Vivado: `vivado -mode batch -source "
                  "build_vivado_prj.tcl`)."]
    return lines
