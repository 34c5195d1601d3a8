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
