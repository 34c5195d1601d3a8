"""Tool-version drift in ``build_hls.py check``: versions recorded at build time vs now, reported (not failed)."""

import xml.etree.ElementTree as ET

from emulation.check import CheckResult, _drift, to_junit


def test_version_drift_lists_changed_added_and_removed_tools():
    md = {"versions": {"hls4ml": "1.3.0", "keras": "3.10", "numpy": "2.1", "old_tool": "1"}}
    now = {"hls4ml": "1.4.0", "keras": "3.10", "numpy": "2.1", "verilator": "5.0"}
    assert _drift(md, now) == {"hls4ml": {"build": "1.3.0", "now": "1.4.0"},
                               "old_tool": {"build": "1", "now": None},
                               "verilator": {"build": None, "now": "5.0"}}
    assert _drift(md, dict(md["versions"])) == {}
    assert _drift({}, {"a": "1"}) == {"a": {"build": None, "now": "1"}}


def test_drift_is_reported_in_junit_without_failing():
    res = CheckResult("/x/proj", [], _drift({"versions": {"hls4ml": "1.3.0"}}, {"hls4ml": "1.4.0"}), [])
    assert res.passed
    root = ET.fromstring(to_junit(res))
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["version_drift.hls4ml"] == "1.3.0 -> 1.4.0" and root.get("failures") == "0"
