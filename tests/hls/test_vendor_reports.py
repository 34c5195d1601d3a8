"""Vendor report parsers on small files in the vendor formats, written by the tests."""

import pytest

from hls.vendor_reports import (find_vendor_reports, parse_csynth_xml, parse_vivado_timing,
                                parse_vivado_utilization, read_vendor_reports)

CSYNTH = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments>
    <unit>ns</unit><ProductFamily>virtexuplus</ProductFamily><Part>xcvu13p-flga2577-2-e</Part>
    <TopModelName>myproject</TopModelName><TargetClockPeriod>5.00</TargetClockPeriod>
  </UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>4.123</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit><Best-caseLatency>9</Best-caseLatency><Average-caseLatency>9</Average-caseLatency>
      <Worst-caseLatency>10</Worst-caseLatency><Interval-min>1</Interval-min><Interval-max>1</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>3</BRAM_18K><DSP>4</DSP><FF>5432</FF><LUT>23456</LUT><URAM>0</URAM></Resources>
    <AvailableResources><BRAM_18K>5376</BRAM_18K><DSP>12288</DSP><FF>3456000</FF><LUT>1728000</LUT><URAM>1280</URAM></AvailableResources>
  </AreaEstimates>
</profile>
"""

UTIL = """Copyright 1986-2022 Xilinx, Inc. All Rights Reserved.
| Tool Version : Vivado v.2023.2 (lin64) Build 4029153 Fri Oct 13 20:13:54 MDT 2023
| Command      : report_utilization -file vivado_synth.rpt
| Design       : myproject
| Device       : xcvu13p-flga2577-2-e
| Design State : Synthesized

Utilization Design Information

1. CLB Logic
------------

+----------------------------+-------+-------+------------+-----------+-------+
|          Site Type         |  Used | Fixed | Prohibited | Available | Util% |
+----------------------------+-------+-------+------------+-----------+-------+
| CLB LUTs*                  | 21000 |     0 |          0 |   1728000 |  1.22 |
|   LUT as Logic             | 21000 |     0 |          0 |   1728000 |  1.22 |
| CLB Registers              |  4400 |     0 |          0 |   3456000 |  0.13 |
| CARRY8                     |   700 |     0 |          0 |    216000 |  0.32 |
+----------------------------+-------+-------+------------+-----------+-------+

3. BLOCKRAM
-----------
+----------------+------+-------+------------+-----------+-------+
|    Site Type   | Used | Fixed | Prohibited | Available | Util% |
+----------------+------+-------+------------+-----------+-------+
| Block RAM Tile |  1.5 |     0 |          0 |      2688 |  0.06 |
+----------------+------+-------+------------+-----------+-------+

4. ARITHMETIC
-------------
+----------------+------+-------+------------+-----------+-------+
|    Site Type   | Used | Fixed | Prohibited | Available | Util% |
+----------------+------+-------+------------+-----------+-------+
| DSPs           |    0 |     0 |          0 |     12288 |  0.00 |
+----------------+------+-------+------------+-----------+-------+
"""

TIMING = """------------------------------------------------------------------------------------------------
| Design Timing Summary
| ---------------------
------------------------------------------------------------------------------------------------

    WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints      WHS(ns)      THS(ns)
    -------      -------  ---------------------  -------------------      -------      -------
      0.250        0.000                      0                 8800        0.030        0.000


All user specified timing constraints are met.

------------------------------------------------------------------------------------------------
| Clock Summary
| -------------
------------------------------------------------------------------------------------------------

Clock  Waveform(ns)         Period(ns)      Frequency(MHz)
-----  ------------         ----------      --------------
clk    {0.000 2.500}        5.000           200.000
"""


def test_csynth():
    d = parse_csynth_xml(CSYNTH)
    assert (d["cycles"], d["cycles_best"], d["ii"]) == (10, 9, 1)
    assert (d["LUT"], d["FF"], d["DSP"], d["BRAM_18K"], d["BRAM"]) == (23456, 5432, 4, 3, 2)
    assert d["part"] == "xcvu13p-flga2577-2-e" and d["clock_period_ns"] == 5.0 and d["tool_version"] == "2023.2"
    old = CSYNTH.replace("<DSP>4</DSP>", "<DSP48E>7</DSP48E>")  # Vivado HLS name of the DSP row
    assert parse_csynth_xml(old)["DSP"] == 7


@pytest.mark.parametrize("text,msg", [
    ("<profile><oops", "not valid XML"),
    ("<report/>", "expected <profile>"),
    (CSYNTH.replace("<Worst-caseLatency>10</Worst-caseLatency>", ""), "missing worst-case latency"),
    (CSYNTH.replace("<LUT>23456</LUT>", "<LUT>many</LUT>"), "LUT is 'many'"),
])
def test_csynth_malformed(text, msg):
    with pytest.raises(ValueError, match=msg):
        parse_csynth_xml(text, "x_csynth.xml")


def test_vivado_utilization_and_timing():
    u = parse_vivado_utilization(UTIL)
    assert (u["LUT"], u["FF"], u["CARRY"], u["DSP"], u["BRAM"]) == (21000, 4400, 700, 0, 1.5)
    assert u["part"] == "xcvu13p-flga2577-2-e" and u["tool_version"].startswith("Vivado v.2023.2")
    seven = UTIL.replace("CLB LUTs*", "Slice LUTs").replace("CLB Registers", "Slice Registers").replace("CARRY8", "CARRY4")
    assert parse_vivado_utilization(seven)["CARRY"] == 700
    t = parse_vivado_timing(TIMING)
    assert t["wns_ns"] == 0.25 and t["clock_period_ns"] == 5.0 and t["timing_met"]
    assert t["achieved_period_ns"] == pytest.approx(4.75) and t["fmax_mhz"] == pytest.approx(1000 / 4.75)


def test_vivado_malformed():
    with pytest.raises(ValueError, match="not a Vivado report_utilization"):
        parse_vivado_utilization("hello")
    with pytest.raises(ValueError, match="no rows for LUT, FF"):
        parse_vivado_utilization(UTIL.replace("CLB LUTs*", "Foo").replace("CLB Registers", "Bar"))
    with pytest.raises(ValueError, match="no WNS value"):
        parse_vivado_timing("Design Timing Summary\nnothing here")


def test_find_and_read_in_project(tmp_path):
    assert read_vendor_reports(tmp_path) == {}
    rep = tmp_path / "myproject_prj" / "solution1" / "syn" / "report"
    rep.mkdir(parents=True)
    (rep / "myproject_csynth.xml").write_text(CSYNTH)
    (tmp_path / "vivado_synth.rpt").write_text(UTIL)
    (tmp_path / "timing_summary.rpt").write_text(TIMING)
    found = find_vendor_reports(tmp_path)
    assert set(found) == {"csynth", "utilization", "timing"}
    d = read_vendor_reports(tmp_path)
    assert d["vendor_csynth"]["cycles"] == 10 and d["vendor_vivado"]["LUT"] == 21000
    assert d["vendor_vivado"]["timing"]["wns_ns"] == 0.25
    (rep / "myproject_csynth.xml").write_text("<profile>")
    with pytest.raises(ValueError, match="myproject_csynth.xml: not valid XML"):
        read_vendor_reports(tmp_path)
