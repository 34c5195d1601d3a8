"""RTL path on a small model: da4ml Verilog + Verilator (three-way bit-exactness, measured latency) and yosys.

One session-scoped build (hls4ml project + RTL + yosys) is shared by the slow tests.
"""

import json

import numpy as np
import pytest

from analysis.budgets import Budgets
from emulation.synth import classify_cells, parse_stat_json


def test_yosys_cell_classes():
    cells = {"LUT2": 10, "LUT6": 5, "INV": 1, "FDRE": 7, "FDSE": 1, "CARRY8": 3, "CARRY4": 1, "DSP48E2": 2,
             "RAMB18E2": 3, "RAMB36E2": 1, "BUFG": 1, "MUXF7": 4}
    assert classify_cells(cells) == {"LUT": 16, "FF": 8, "CARRY": 4, "DSP": 2, "BRAM": 3}
    text = json.dumps({"modules": {"\\top": {"num_cells_by_type": {"LUT3": 2}}},
                       "design": {"num_cells_by_type": {"LUT3": 2, "FDRE": 1}}})
    assert parse_stat_json(text) == {"LUT3": 2, "FDRE": 1}
    assert parse_stat_json(text, top="top") == {"LUT3": 2}
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_stat_json("Printing statistics")


def test_hardware_options_validation():
    from flow.config import HardwareOptions

    with pytest.raises(ValueError, match="needs --rtl"):
        HardwareOptions(synth=True, rtl=False)
    with pytest.raises(ValueError, match="needs --rtl"):
        HardwareOptions(synth=True, rtl=False).resolved(rtl_by_default=True)
    with pytest.raises(ValueError, match="latency-cutoff"):
        HardwareOptions(latency_cutoff=0)
    # explicit flags are kept; an unset synth follows an explicit rtl only for the L1 family
    assert HardwareOptions(rtl=True, synth=False).resolved(rtl_by_default=True).synth is False
    assert HardwareOptions(rtl=False).resolved(rtl_by_default=True).rtl is False


@pytest.fixture(scope="session")
def rtl_cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("rtlcache")


@pytest.fixture(scope="session")
def rtl_build(tmp_path_factory, rtl_cache_dir):
    from emulation.csim import CSimEmulator
    from emulation.hardware import hardware_section
    from flow.config import HardwareOptions
    from emulation.rtl import rtl_unavailable_reason
    from emulation.synth import yosys_unavailable_reason
    from hls.config import HLSConfig
    from hls.project import build_project
    from models.vae21 import deployable_model
    from quantize.hgq_native import with_rounding

    from conftest import _adversarial_inputs

    reason = rtl_unavailable_reason() or yosys_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from models.vae21 import VAE21Config, build_vae

    # a tiny model keeps the Verilator build and the yosys run short (21 -> 4 -> mu 2 -> sum mu^2)
    deploy = with_rounding(deployable_model(build_vae(VAE21Config(hidden=(4,), latent=2), quantized=True)))
    out = tmp_path_factory.mktemp("rtl") / "small_rnd"
    cfg = HLSConfig()
    project_dir, _, _ = build_project(deploy, cfg, out, {"model": "small-rtl-test"})
    x = _adversarial_inputs(np.random.default_rng(5), 21)
    from emulation.keras_ref import float64_model

    y_k = np.asarray(float64_model(deploy).predict(x.astype(np.float64), verbose=0, batch_size=4096), np.float64)
    y_c = CSimEmulator(project_dir).predict(x)
    opts = HardwareOptions(rtl=True, synth=True, budgets=Budgets(latency_ns=50.0, lut_percent=1.0, dsp=0))
    hw = hardware_section(deploy, project_dir, cfg, opts, x[:2000], events=(x, y_k, y_c[:, 0]), lsb=None,
                          rtl_cache=rtl_cache_dir)
    return project_dir, deploy, hw, x, y_k, y_c


@pytest.mark.slow
def test_three_way_bit_exact(rtl_build):
    from emulation.rtl import RTLEmulator

    project_dir, _, hw, x, y_k, y_c = rtl_build
    a = hw["agreement"]
    assert a["rtl_vs_keras"]["n_events"] == len(x) and a["rtl_vs_keras"]["n_mismatched"] == 0
    # bit equality against the float64 Keras model: no float32 ulp slack
    assert a["rtl_vs_keras"]["keras_dtype"] == "float64" and a["rtl_vs_keras"]["n_differ_any"] == 0
    assert a["rtl_vs_csim"]["n_mismatched"] == 0 and a["rtl_vs_csim"]["max_abs_diff"] == 0.0
    emu = RTLEmulator(project_dir)
    assert emu.name == "rtl" and isinstance(emu.label, str)
    y = emu.predict(x[:500])
    assert y.shape == (500, 1) and y.dtype == np.float64
    np.testing.assert_array_equal(y, y_c[:500])
    with pytest.raises(ValueError, match=r"shape \(n, 21\)"):
        emu.predict(x[:5, :20])


@pytest.mark.slow
def test_rtl_cache_restores_identical_logic_and_keys_what_shapes_it(rtl_build, rtl_cache_dir, tmp_path):
    """A second build of the same logic is restored from the RTL cache (no Verilator compile, the yosys results
    with it) and simulates bit for bit as the first; the key changes with the clock and with the weights."""
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    from emulation import rtl_cache
    from emulation.rtl import RTL_METADATA, RTLEmulator, build_rtl
    from emulation.synth import read_yosys_summary
    from hls.config import HLSConfig
    from quantize.hgq_native import input_precision, kif

    project_dir, deploy, hw, x, _, y_c = rtl_build
    first = hw["hardware"]["details"]["rtl"]["cache"]
    assert first["hit"] is False and (rtl_cache_dir / first["key"] / "COMPLETE").is_file()
    cfg = HLSConfig()
    md = build_rtl(deploy, tmp_path / "p2" / "rtl", cfg.part, cfg.clock_period_ns, x[:2000],
                   project_name=cfg.project_name, cache_dir=rtl_cache_dir)
    assert md["cache"] == {"key": first["key"], "hit": True,
                           "verilator_compile_s_when_built": md["cache"]["verilator_compile_s_when_built"]}
    assert md["timings_s"]["verilator_compile"] == 0.0 and md["cache"]["verilator_compile_s_when_built"] > 0
    assert json.loads((tmp_path / "p2" / "rtl" / RTL_METADATA).read_text())["cache"]["hit"] is True
    assert read_yosys_summary(tmp_path / "p2" / "rtl") == read_yosys_summary(project_dir / "rtl")
    np.testing.assert_array_equal(RTLEmulator(tmp_path / "p2").predict(x), y_c)
    comb = comb_trace(*trace_model(deploy, inputs_kif=kif(input_precision(deploy))))
    args = dict(project_name=cfg.project_name, part=cfg.part, latency_cutoff=5.0, x_probe=x[:2000], n_latency_events=256)
    assert rtl_cache.key(comb, clock_period_ns=cfg.clock_period_ns, **args) == first["key"]
    assert rtl_cache.key(comb, clock_period_ns=6.25, **args) != first["key"]
    layer = next(lay for lay in deploy.layers if getattr(lay, "kernel", None) is not None)
    saved = np.array(layer.kernel)
    try:  # other weights (the shared model restored afterwards)
        layer.kernel.assign(saved + 0.5)
        comb2 = comb_trace(*trace_model(deploy, inputs_kif=kif(input_precision(deploy))))
    finally:
        layer.kernel.assign(saved)
    assert rtl_cache.key(comb2, clock_period_ns=cfg.clock_period_ns, **args) != first["key"]


@pytest.mark.slow
def test_rtl_project_and_measured_latency(rtl_build):
    from emulation.rtl import _IO, RTLEmulator, measure_latency
    from quantize.precision import quantize_np

    project_dir, deploy, hw, x, _, _ = rtl_build
    rtl = project_dir / "rtl"
    assert (rtl / "build_vivado_prj.tcl").is_file() and (rtl / "src" / "myproject.v").is_file()
    assert "xcvu13p" in (rtl / "build_vivado_prj.tcl").read_text()
    lat = hw["latency"]["rtl_simulation"]
    stages = hw["hardware"]["details"]["rtl"]["da4ml_estimate"]["stages"]
    assert lat["cycles"] == stages and lat["ns"] == stages * 5.0 and lat["ii"] == 1
    assert hw["latency"]["da4ml_estimate"]["cycles"] == stages
    # the measurement really looks at the circuit: a stream with the wrong expected outputs matches no offset
    emu = RTLEmulator(project_dir)
    io = _IO(emu._vm._solution)
    xs = quantize_np(x[:64], emu.input_precision)
    good = emu.predict(x[:64])
    assert measure_latency(emu._vm._lib, io, io.to_int(xs), good, 20)["cycles"] == stages
    with pytest.raises(RuntimeError, match="0 cycle offsets"):
        measure_latency(emu._vm._lib, io, io.to_int(xs), good[::-1], 20)


@pytest.mark.slow
def test_yosys_and_estimates_in_report_layout(rtl_build):
    _, _, hw, _, _, _ = rtl_build
    ys = hw["resources"]["yosys_synthesis"]
    da = hw["resources"]["da4ml_estimate"]
    assert ys["LUT"] > 0 and ys["CARRY"] > 0 and ys["part"] == "xcvu13p-flga2577-2-e"
    assert ys["percent"]["LUT"] == pytest.approx(100 * ys["LUT"] / 1_728_000)
    # synthesis keeps da4ml's pipeline registers (its FF estimate is the register bit count)
    assert abs(ys["FF"] - da["FF"]) <= 0.2 * da["FF"]
    assert set(hw["latency"]) == {"hls_estimate", "rtl_simulation", "da4ml_estimate"}
    assert set(hw["latency_resources"]["sources"]) == {"hls_estimate", "rtl_simulation", "da4ml_estimate", "yosys_synthesis"}
    b = hw["budgets"]
    assert b["latency_ns"]["decided_by"] == ["rtl_simulation"]
    assert b["dsp"]["sources"]["yosys_synthesis"]["value"] == ys["DSP"]
    assert b["dsp"]["passed"] is (ys["DSP"] == 0)
    assert set(hw["hardware"]["missing_sources"]) == {"vendor_csynth", "vendor_vivado"}
