"""The QKeras-API vs HGQ2-native comparison (analysis/compare.py) on two hand-written report dicts: which
working point is compared, what each summary carries, and the relative differences (HGQ2 - QKeras) / QKeras."""

import pytest

from analysis import compare


def _report(model, ebops, auc, eff, lut, latency, wps=("fpr_1e-5", "l1_1kHz")):
    return {
        "model": model, "hls": {"project_dir": f"/p/{model}"}, "checks": {"passed": True},
        "emulator": {"label": "csim"}, "agreement": {"emulator_vs_keras": {"n_mismatched": 0, "n_events": 100}},
        "working_points": [{"name": n} for n in wps],
        "ebops": {"total": {"ebops": ebops, "hgq_ebops": ebops + 1, "weight_bits": 6, "weight_effective_bits_nonzero": 5.5,
                            "n_weights": 40, "n_zero_weights": 4},
                  "activations": {"relu": 8}, "layers": {"d1": {"ebops": ebops, "input_bits": 16, "extra": 1}}},
        "signals": {"A": {"auc_emulator": auc, "auc_float_view": auc + 0.01,
                          "working_points": {"l1_1kHz": {"eff_emulator": eff, "eff_float_view": eff + 0.1},
                                             "fpr_1e-5": {"eff_emulator": eff / 10}}}},
        "latency_resources": {"sources": {"yosys_synthesis": {"lut": lut, "ff": 10, "dsp": 0, "latency_ns": latency}}},
        "hardware": {"missing_sources": {"vendor_vivado": "not found"}},
    }


def test_comparison_relative_differences_by_hand():
    q = _report("vae57", 1000.0, 0.80, 0.20, 400, 25.0)
    h = _report("vae57hgq", 750.0, 0.88, 0.25, 300, 25.0)
    c = compare.comparison(q, h)
    assert c["status"] == "ok" and c["working_point"] == "l1_1kHz"
    rel = c["relative_difference"]
    assert rel["ebops"] == pytest.approx(-0.25)  # (750 - 1000) / 1000
    assert rel["signals"]["A"] == pytest.approx({"auc_emulator": 0.1, "eff_emulator": 0.25})
    assert rel["latency_resources"]["yosys_synthesis"] == {"latency_ns": 0.0, "lut": -0.25, "ff": 0.0, "dsp": None}
    a = c["qkeras"]
    assert a["signals"]["A"] == pytest.approx({"auc_emulator": 0.8, "auc_float_view": 0.81, "eff_emulator": 0.2,
                                               "eff_float_view": 0.3})
    assert (a["model"], a["project_dir"], a["checks_passed"], a["emulator"], a["n_mismatched"], a["n_events"]) == (
        "vae57", "/p/vae57", True, "csim", 0, 100)
    assert (a["ebops"], a["hgq_ebops"], a["weight_bits"], a["weight_effective_bits_nonzero"], a["n_weights"],
            a["n_zero_weights"]) == (1000.0, 1001.0, 6, 5.5, 40, 4)
    assert a["activation_bits"] == {"relu": 8} and a["ebops_error"] is None
    assert a["layers"] == {"d1": {"ebops": 1000.0, "hgq_ebops": None, "input_bits": 16, "weight_bits": None,
                                  "n_weights": None, "n_zero_weights": None}}
    assert a["missing_sources"] == {"vendor_vivado": "not found"}
    assert c["hgq"]["latency_resources"]["yosys_synthesis"]["lut"] == 300
    assert c["relative_difference_definition"] == "(HGQ2-native - QKeras-API) / QKeras-API"


def test_working_point_choice_and_undefined_differences():
    q = _report("a", 0.0, 0.8, 0.0, 400, 25.0, wps=("fpr_1e-5", "rate_5Hz"))
    h = _report("b", 10.0, 0.8, 0.5, 400, None, wps=())
    c = compare.comparison(q, h)
    assert c["working_point"] == "fpr_1e-5"  # no l1_1kHz: the first working point
    assert c["qkeras"]["signals"]["A"]["eff_emulator"] == 0.0 and c["hgq"]["signals"]["A"]["eff_emulator"] == 0.05
    rel = c["relative_difference"]
    assert rel["ebops"] is None  # relative to 0: undefined
    assert rel["signals"]["A"]["eff_emulator"] is None and rel["signals"]["A"]["auc_emulator"] == 0.0
    assert rel["latency_resources"]["yosys_synthesis"]["latency_ns"] is None  # HGQ2 side has no latency
    assert compare.comparison(_report("a", 1, 1, 1, 1, 1, wps=()), h)["working_point"] is None
    empty = compare.model_summary({}, None)
    assert empty["signals"] == {} and empty["layers"] == {} and empty["latency_resources"] == {}
    assert empty["missing_sources"] == {} and empty["activation_bits"] == {} and empty["ebops"] is None
    # a signal only one side has gets no relative difference
    h2 = _report("b", 10.0, 0.8, 0.5, 400, 25.0)
    h2["signals"] = {"B": h2["signals"]["A"]}
    assert compare.comparison(q, h2)["relative_difference"]["signals"] == {}


def test_missing_entries_and_one_sided_sources():
    """A report without working points compares none; an EBOPs error is carried; a latency/resource source only one
    side has still gets its row, all differences undefined."""
    q = _report("a", 1000.0, 0.8, 0.2, 400, 25.0)
    h = _report("b", 750.0, 0.8, 0.2, 300, 25.0)
    del q["working_points"]
    h["ebops"]["error"] = "no HGQ layers"
    h["latency_resources"]["sources"]["rtl_simulation"] = {"latency_ns": 20.0, "lut": None, "ff": None, "dsp": None}
    c = compare.comparison(q, h)
    assert c["working_point"] is None and c["hgq"]["ebops_error"] == "no HGQ layers"
    assert c["relative_difference"]["latency_resources"] == {
        "rtl_simulation": {"latency_ns": None, "lut": None, "ff": None, "dsp": None},
        "yosys_synthesis": {"latency_ns": 0.0, "lut": -0.25, "ff": 0.0, "dsp": None}}
