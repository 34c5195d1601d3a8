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


def test_budget_limits_are_inclusive_and_bounded():
    """Limits: latency > 0 (0.5 ns is legal), LUT share in (0, 100] (100 legal, 0 and 100.5 not), DSP >= 0."""
    assert Budgets(latency_ns=0.5).latency_ns == 0.5
    assert Budgets(lut_percent=100).lut_percent == 100 and Budgets(dsp=0).dsp == 0
    for bad in (0, 100.5, 101):
        with pytest.raises(ValueError, match=rf"^--lut-budget-percent must be in \(0, 100\], got {bad}$"):
            Budgets(lut_percent=bad)
    assert Budgets(latency_ns=25.0, dsp=3, enforce=True).to_dict() == {
        "latency_ns": 25.0, "lut_percent": None, "dsp": 3, "enforce": True, "ii_ns": 25.0}  # II: 40 MHz spacing


def test_evaluate_budgets_full_record_by_hand():
    """Every field of the record: a value equal to its limit passes; a budget no source measures is undecided
    (passed None, not failed); only the measured source is decisive; no LUT budget -> no LUT entry."""
    latency = {"hls_estimate": {"ns": 60.0}, "rtl_simulation": {"ns": 50.0}}
    resources = {"hls_estimate": {"DSP": 4}}
    b = evaluate_budgets(Budgets(latency_ns=50.0, lut_percent=None, dsp=2, enforce=True), latency, resources)
    assert b["latency_ns"] == {"limit": 50.0, "unit": "ns", "passed": True, "decided_by": ["rtl_simulation"],
                               "sources": {"rtl_simulation": {"value": 50.0, "pass": True},
                                           "hls_estimate": {"value": 60.0, "pass": False}}}
    assert b["dsp"] == {"limit": 2, "unit": "DSP", "passed": False, "decided_by": ["hls_estimate"],
                        "sources": {"hls_estimate": {"value": 4, "pass": False}}}
    assert "lut_percent" not in b
    assert b["checks"] == [
        {"name": "latency_ns", "limit": 50.0, "value": 50.0, "source": "rtl_simulation", "pass": True, "decisive": True},
        {"name": "latency_ns", "limit": 50.0, "value": 60.0, "source": "hls_estimate", "pass": False, "decisive": False},
        {"name": "dsp", "limit": 2, "value": 4, "source": "hls_estimate", "pass": False, "decisive": True}]
    assert (b["failed"], b["enforced"], b["passed"]) == (["dsp"], True, False)
    # a LUT budget (listed before DSP) with no source giving a LUT share: undecided, the DSP budget still checked
    u = evaluate_budgets(Budgets(latency_ns=None, lut_percent=5.0, dsp=8), {}, resources)
    assert u["lut_percent"] == {"limit": 5.0, "unit": "% of part LUTs", "sources": {}, "passed": None, "decided_by": []}
    assert u["dsp"]["passed"] is True and (u["failed"], u["passed"], u["enforced"]) == ([], True, False)


def test_ii_budget_by_hand():
    """The initiation-interval budget: II x clock period (ns / cycles) per source, or a source's own ii_ns; 25 ns
    (one bunch crossing at 40 MHz) by default; any positive limit is legal, 0 is not, None disables it."""
    assert Budgets(ii_ns=0.5).ii_ns == 0.5 and Budgets(ii_ns=None).ii_ns is None
    for bad in (0, -25.0):
        with pytest.raises(ValueError, match=rf"^--ii-budget-ns must be > 0, got {bad}$"):
            Budgets(ii_ns=bad)
    latency = {"hls_estimate": {"ii_ns": 30.0, "ii": 1, "ns": 5.0, "cycles": 1},
               "rtl_simulation": {"cycles": 8, "ns": 40.0, "ii": 1}}  # 1 x 40 ns / 8 cycles = 5 ns
    b = evaluate_budgets(Budgets(latency_ns=None), latency, {})
    assert b["ii_ns"] == {"limit": 25.0, "unit": "ns between accepted events (bunch-crossing spacing 25 ns at 40 MHz)",
                          "passed": True, "decided_by": ["rtl_simulation"],
                          "sources": {"rtl_simulation": {"value": 5.0, "pass": True},
                                      "hls_estimate": {"value": 30.0, "pass": False}}}
    assert "ii_ns" not in evaluate_budgets(Budgets(latency_ns=None, ii_ns=None), latency, {})
