import pytest

from analysis.budgets import Budgets, evaluate_budgets, latency_resources_md, latency_resources_table


def _figures():
    latency = {"hls_estimate": {"cycles": 18, "ns": 90.0, "ii": 1}, "rtl_simulation": {"cycles": 8, "ns": 40.0, "ii": 1}}
    resources = {
        "hls_estimate": {"LUT": 50_000, "DSP": 4, "percent": {"LUT": 2.9, "DSP": 0.03}, "part": "xcvu13p"},
        "yosys_synthesis": {"LUT": 23_000, "DSP": 0, "percent": {"LUT": 1.33, "DSP": 0.0}, "part": "xcvu13p"},
    }
    return latency, resources


def test_measured_sources_decide_estimates_are_shown():
    lat, res = _figures()
    b = evaluate_budgets(Budgets(latency_ns=50, lut_percent=2.0, dsp=0), lat, res)
    assert b["latency_ns"]["sources"]["hls_estimate"] == {"value": 90.0, "pass": False}
    assert b["latency_ns"]["decided_by"] == ["rtl_simulation"] and b["latency_ns"]["passed"] is True
    assert b["lut_percent"]["passed"] is True and b["dsp"]["passed"] is True
    assert b["passed"] and b["failed"] == []
    b2 = evaluate_budgets(Budgets(latency_ns=50, lut_percent=1.0), lat, res)
    assert b2["failed"] == ["lut_percent"] and not b2["passed"]
    assert {(c["name"], c["source"], c["pass"]) for c in b2["checks"]} >= {("lut_percent", "yosys_synthesis", False)}


def test_estimates_decide_when_nothing_measured():
    lat, res = _figures()
    del lat["rtl_simulation"], res["yosys_synthesis"]
    b = evaluate_budgets(Budgets(latency_ns=50), lat, res)
    assert b["latency_ns"]["decided_by"] == ["hls_estimate"] and b["failed"] == ["latency_ns"]
    assert evaluate_budgets(Budgets(latency_ns=100), lat, res)["passed"]


def test_budget_validation():
    with pytest.raises(ValueError, match="latency-budget-ns"):
        Budgets(latency_ns=0)
    with pytest.raises(ValueError, match="lut-budget-percent"):
        Budgets(lut_percent=150)
    with pytest.raises(ValueError, match="dsp-budget"):
        Budgets(dsp=-1)


def test_table_and_markdown_name_sources():
    lat, res = _figures()
    t = latency_resources_table(lat, res, {"rtl_simulation": {"clock_period_ns": 5.0}})
    assert t["rtl_simulation"]["latency_ns"] == 40.0 and t["rtl_simulation"]["clock_period_ns"] == 5.0
    assert t["yosys_synthesis"]["lut"] == 23_000 and t["yosys_synthesis"]["latency_cycles"] is None
    rep = {"latency": lat, "resources": res, "budgets": evaluate_budgets(Budgets(), lat, res)}
    md = latency_resources_md(rep)
    assert "Verilator simulation of the da4ml Verilog | 8 | 40" in md and "analytic HLS estimate (model)" in md
    assert "Budgets: **PASSED**" in md
