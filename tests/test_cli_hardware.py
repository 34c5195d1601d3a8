"""Latency/resources section of the build report, the `resources` subcommand and budget enforcement."""

import json
import shutil

import pytest

import build_hls


def _vendor_samples():
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("_vendor_samples", Path(__file__).parent / "hls" / "test_vendor_reports.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.CSYNTH, mod.UTIL, mod.TIMING


@pytest.mark.slow
def test_default_build_report_has_estimate_and_budgets(cli_run):
    _, out, _ = cli_run
    rep = json.loads((out / "report" / "report.json").read_text())
    est = rep["latency"]["hls_estimate"]
    assert est["cycles"] > 0 and est["ns"] == est["cycles"] * rep["hls"]["clock_period_ns"] and est["ii"] == 1
    res = rep["resources"]["hls_estimate"]
    assert res["part"] == "xcvu13p-flga2577-2-e" and res["percent"]["LUT"] == pytest.approx(100 * res["LUT"] / 1_728_000)
    assert set(rep["resources"]) == {"hls_estimate"}  # no RTL, yosys or vendor report without --rtl/--synth
    missing = rep["hardware"]["missing_sources"]
    assert "--rtl" in missing["rtl_simulation"] and "vendor_csynth" in missing
    b = rep["budgets"]
    assert b["latency_ns"]["limit"] == 50.0 and b["latency_ns"]["decided_by"] == ["hls_estimate"]
    assert b["enforced"] is False
    assert rep["latency_resources"]["sources"]["hls_estimate"]["latency_cycles"] == est["cycles"]
    assert "## Latency and resources" in (out / "report" / "report.md").read_text()


@pytest.fixture()
def light_project(cli_run, tmp_path):
    """metadata + deployable model of the CLI project (all `resources` needs), plus vendor reports."""
    _, out, _ = cli_run
    dst = tmp_path / "proj"
    dst.mkdir()
    shutil.copy(out / "metadata.json", dst / "metadata.json")
    shutil.copytree(out / "model", dst / "model")
    return dst


@pytest.mark.slow
def test_resources_subcommand_budgets_and_vendor_reports(light_project, capsys, tmp_path):
    rc = build_hls.main(["resources", str(light_project), "--latency-budget-ns", "1", "--enforce-budgets"])
    captured = capsys.readouterr()
    assert rc == 1 and "BUDGETS FAILED: latency_ns" in captured.err
    assert build_hls.main(["resources", str(light_project), "--latency-budget-ns", "1"]) == 0  # not enforced
    capsys.readouterr()
    CSYNTH, UTIL, TIMING = _vendor_samples()
    rep = light_project / "prj" / "solution1" / "syn" / "report"
    rep.mkdir(parents=True)
    (rep / "myproject_csynth.xml").write_text(CSYNTH)
    (light_project / "vivado_synth.rpt").write_text(UTIL)
    (light_project / "timing_summary.rpt").write_text(TIMING)
    rc = build_hls.main(["resources", str(light_project), "--dsp-budget", "2", "--enforce-budgets",
                         "--json", str(tmp_path / "lr.json")])
    out = capsys.readouterr().out
    sec = json.loads((tmp_path / "lr.json").read_text())
    # vendor reports decide: csynth says 10 cycles (50 ns at 5 ns) and 4 DSP, Vivado says 0 DSP
    assert sec["latency"]["vendor_csynth"] == {"cycles": 10, "ns": 50.0, "ii": 1, "ii_ns": 5.0}
    assert sec["resources"]["vendor_vivado"]["LUT"] == 21000
    assert sec["budgets"]["dsp"]["decided_by"] == ["vendor_vivado", "vendor_csynth"]
    assert sec["budgets"]["dsp"]["sources"]["vendor_csynth"] == {"value": 4, "pass": False}
    assert rc == 1 and "HLS csynth report (vendor) | 10 | 50" in out
    (rep / "myproject_csynth.xml").write_text("<profile>")
    assert build_hls.main(["resources", str(light_project)]) == 2
    assert "not valid XML" in capsys.readouterr().err


def test_enforced_budget_fails_the_build_check():
    from analysis.budgets import Budgets, evaluate_budgets
    from flow.checks import trigger_checks as _check
    from flow.config import Tolerances

    b = evaluate_budgets(Budgets(latency_ns=50, enforce=True), {"rtl_simulation": {"cycles": 12, "ns": 60.0, "ii": 1}}, {})
    rep = {"agreement": {"emulator_vs_keras": {"n_mismatched": 0},
                         "rtl_vs_keras": {"n_mismatched": 2, "n_events": 10}}, "budgets": b}
    ok, failures = _check(rep, Tolerances())
    assert not ok
    assert any("latency_ns 60 > 50 (rtl_simulation)" in f for f in failures)
    assert any("rtl vs keras: 2 of 10" in f for f in failures)
    rep["budgets"] = evaluate_budgets(Budgets(latency_ns=50), {"rtl_simulation": {"cycles": 12, "ns": 60.0, "ii": 1}}, {})
    rep["agreement"].pop("rtl_vs_keras")
    assert _check(rep, Tolerances()) == (True, [])


def test_synth_without_rtl_is_bad_input(capsys, tmp_path):
    assert build_hls.main(["--synth", "--output", str(tmp_path / "o")]) == 2
    assert "needs --rtl" in capsys.readouterr().err


def test_emulator_rtl_needs_rtl(capsys, tmp_path):
    assert build_hls.main(["--emulator", "rtl", "--output", str(tmp_path / "o")]) == 2
    assert "--emulator rtl needs --rtl" in capsys.readouterr().err


@pytest.fixture(scope="session")
def rtl_cli_run(tmp_path_factory):
    """vae21 on tiny sizes with --rtl --emulator rtl: the RTL simulation produces the report's numbers."""
    from conftest import SMALL

    tmp = tmp_path_factory.mktemp("rtlcli")
    out = tmp / "proj"
    rc = build_hls.main(["--model", "vae21", "--output", str(out), "--cache-dir", str(tmp / "cache"),
                         "--min-spearman", "0.5", "--rtl", "--emulator", "rtl", *SMALL])
    return rc, out


@pytest.mark.slow
def test_cli_emulator_rtl_and_check_rtl(rtl_cli_run, capsys, tmp_path):
    rc, out = rtl_cli_run
    assert rc == 0
    r = json.loads((out / "report" / "report.json").read_text())
    assert r["emulator"]["name"] == "rtl"
    a = r["agreement"]
    assert a["emulator_vs_keras"]["n_mismatched"] == 0
    assert a["fast_vs_rtl_all_events"]["n_mismatched"] == 0
    assert a["fast_vs_rtl_all_events"]["n_events"] == a["emulator_vs_keras"]["n_events"] == 28000
    assert a["rtl_vs_csim"]["n_mismatched"] == 0
    assert r["latency"]["rtl_simulation"]["cycles"] >= 1
    capsys.readouterr()
    assert build_hls.main(["check", str(out), "--rtl", "--junit", str(tmp_path / "j.xml")]) == 0
    assert "[PASS] rtl_vs_golden" in capsys.readouterr().out
    # a golden output changed by one LSB is caught by the RTL case as well
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(out, bad)
    f = bad / "tb_data" / "tb_output_predictions.dat"
    lines = f.read_text().splitlines()
    lsb = r["hls"]["output_lsb"]
    lines[0] = " ".join(f"{float(v) + lsb:.10g}" for v in lines[0].split())
    f.write_text("\n".join(lines) + "\n")
    assert build_hls.main(["check", str(bad), "--rtl"]) == 1
    assert "[FAIL] rtl_vs_golden: 1 of" in capsys.readouterr().out
