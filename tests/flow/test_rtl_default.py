"""The RTL path is the L1 family's default: HardwareOptions.resolved decides rtl/synth from the family and the tools
on the machine (skipped with the reason when a tool is missing), --no-rtl and explicit flags win."""

import pytest

from flow.config import HardwareOptions


def test_default_off_outside_l1():
    h = HardwareOptions().resolved(rtl_by_default=False)
    assert (h.rtl, h.synth, h.skipped) == (False, False, "")


def test_default_on_for_l1_when_tools_present(monkeypatch):
    import emulation.rtl
    import emulation.synth

    monkeypatch.setattr(emulation.rtl, "rtl_unavailable_reason", lambda: None)
    monkeypatch.setattr(emulation.synth, "yosys_unavailable_reason", lambda: None)
    h = HardwareOptions().resolved(rtl_by_default=True)
    assert (h.rtl, h.synth, h.skipped) == (True, True, "")
    h = HardwareOptions(rtl=True).resolved(rtl_by_default=True)  # explicit --rtl on L1: yosys too
    assert (h.rtl, h.synth) == (True, True)


def test_missing_tools_skip_with_reason(monkeypatch):
    import emulation.rtl
    import emulation.synth

    monkeypatch.setattr(emulation.synth, "yosys_unavailable_reason", lambda: "yosys is not installed")
    monkeypatch.setattr(emulation.rtl, "rtl_unavailable_reason", lambda: None)
    h = HardwareOptions().resolved(rtl_by_default=True)
    assert (h.rtl, h.synth) == (True, False) and "yosys is not installed" in h.skipped
    monkeypatch.setattr(emulation.rtl, "rtl_unavailable_reason", lambda: "Verilator is not installed")
    h = HardwareOptions().resolved(rtl_by_default=True)
    assert (h.rtl, h.synth) == (False, False) and "Verilator is not installed" in h.skipped


def test_no_rtl_and_bad_combinations():
    import build_hls

    import argparse

    p = argparse.ArgumentParser()
    build_hls._add_build_args(p)
    cfg = build_hls.config_from_args(p.parse_args(["--model", "vae57", "--no-rtl"]))
    assert (cfg.hardware.rtl, cfg.hardware.synth) == (False, False)
    assert cfg.hardware.resolved(rtl_by_default=True) == cfg.hardware
    with pytest.raises(ValueError, match="needs --rtl"):
        HardwareOptions(synth=True).resolved(rtl_by_default=False)
    with pytest.raises(ValueError, match="not --no-rtl"):
        HardwareOptions(rtl=False, synth=True)


def test_emulator_rtl_without_rtl_refused_before_work(tmp_path):
    from flow.build import new_build
    from flow.config import BuildConfig

    with pytest.raises(ValueError, match="--emulator rtl needs --rtl"):
        new_build(BuildConfig(model="vae21", emulator="rtl", output_dir=tmp_path / "o"))


def test_l1_goals_checked_on_measured_sources(tmp_path):
    """vae57's goals (25 ns, 0.5 % LUT, 0 DSP) against the figures its RTL build measured (40 ns, 1.67 %, 3 DSP):
    every goal missed, decided by the RTL simulation / yosys, not the analytic estimate."""
    from flow.build import Build
    from flow.config import BuildConfig
    from flow.steps.common import _check_goals
    from models.registry import get_family

    lat = {"rtl_simulation": {"cycles": 8, "ns": 40.0, "ii": 1}, "hls_estimate": {"cycles": 4, "ns": 20.0, "ii": 1}}
    res = {"yosys_synthesis": {"LUT": 28915, "DSP": 3, "percent": {"LUT": 1.673}},
           "hls_estimate": {"LUT": 10, "DSP": 0, "percent": {"LUT": 0.001}}}
    b = Build(config=BuildConfig(model="vae57", cache_dir=tmp_path), family=get_family("vae57"),
              report={"latency": lat, "resources": res, "hardware": {}})
    _check_goals(b)
    g = b.report["hardware"]["goals"]
    assert g["failed"] == ["latency_ns", "lut_percent", "dsp"]
    assert g["latency_ns"]["decided_by"] == ["rtl_simulation"] and g["dsp"]["decided_by"] == ["yosys_synthesis"]
    b = Build(config=BuildConfig(model="vae21", cache_dir=tmp_path), family=get_family("vae21"),
              report={"latency": lat, "resources": res, "hardware": {}})
    _check_goals(b)
    assert "goals" not in b.report["hardware"]  # no goals outside the L1 family
