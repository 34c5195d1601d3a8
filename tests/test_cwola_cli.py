"""``build_hls.py --model cwola`` end to end on a small LHCO-layout file, and its errors on bad input."""

import json

import numpy as np
import pytest

import build_hls


@pytest.fixture(scope="module")
def lhco_file(tmp_path_factory):
    from data.dijet import DijetEvents, generate_qcd, generate_signal, write_lhco_hdf

    ev = DijetEvents.concat([generate_qcd(40_000, np.random.default_rng(21)),
                             generate_signal(600, np.random.default_rng(22))])
    ev = ev.take(np.random.default_rng(23).permutation(len(ev)))
    path = tmp_path_factory.mktemp("lhco") / "events.h5"
    write_lhco_hdf(path, ev)
    return path


SMALL = ["--epochs", "2", "--folds", "3", "--window-centres", "3200,3717"]


@pytest.mark.slow
def test_cwola_cli_end_to_end(lhco_file, tmp_path):
    out = tmp_path / "proj"
    rc = build_hls.main(["--model", "cwola", "--data", str(lhco_file), "--output", str(out),
                         "--cache-dir", str(tmp_path / "cache"), *SMALL])
    rep = json.loads((out / "report" / "report.json").read_text())
    assert rc == 0, rep["checks"]
    assert rep["model"] == "cwola" and rep["schema_version"] == 2
    a = rep["agreement"]
    assert a["emulator_vs_keras"]["n_mismatched"] == 0 and a["emulator_vs_keras"]["n_events"] == 40_600
    assert a["fast_vs_csim"]["n_mismatched"] == 0
    assert a["hunt_networks_emulator_vs_keras"]["n_mismatched"] == 0
    assert a["hunt_networks_emulator_vs_keras"]["n_events"] == 2 * 40_600  # each event by its fold's 2 networks
    c = rep["cwola"]
    assert [round(w["center"]) for w in c["windows"]] == [3200, 3449, 3718]
    for w in c["windows"]:
        assert w["leakage_pairs"] == 0 and w["n_SR"] > 0 and w["n_SB"] > 0
        assert [r["efficiency"] for r in w["hunt_fixed_point"]] == [1.0, 0.1, 0.01, 0.002]
    assert c["networks_trained"]["cwola_qat"] == 3 * 3 * 2 and c["networks_per_window"] == 6
    for cut in c["cuts"]:
        assert cut["selection_differs_emulator_vs_keras"] == 0
        assert cut["z_emulator"] == cut["z_keras"]
        assert {"z_float_view", "z_float_twin", "z_supervised", "selection_agreement_emulator_vs_float_view"} <= set(cut)
    # the 1 % cut selects the same number of events for every source: efficiency on the whole spectrum
    assert c["hunts_deployed_window"]["emulator"][2]["n_selected"] == round(0.01 * 40_600)
    for key in ("versions", "hls", "timings_s", "saturation"):
        assert rep[key]
    assert set(rep["saturation"]) == {"input_quant", "relu1", "relu2"}
    for png in ("mjj_spectra_fits", "significance_per_window", "selected_mj1_mj2", "emulator_vs_float_view"):
        assert (out / "report" / f"{png}.png").stat().st_size > 1000
    assert (out / "report" / "report.md").read_text().startswith("# Firmware report: cwola")
    # the project is checkable with the regression checker (golden vectors from the C-simulation)
    assert build_hls.main(["check", str(out)]) == 0


def test_cwola_cli_bad_input(lhco_file, tmp_path, capsys):
    base = ["--model", "cwola", "--output", str(tmp_path / "p"), "--cache-dir", str(tmp_path / "c")]
    assert build_hls.main([*base, "--data", str(tmp_path / "nope.h5")]) == 2
    assert "no such file" in capsys.readouterr().err
    assert build_hls.main([*base, "--features", "mj1,mjj"]) == 2
    assert "not allowed ['mjj']" in capsys.readouterr().err
    assert build_hls.main([*base, "--data", str(lhco_file), "--window", "7", *SMALL]) == 2
    assert "--window 7: choose 0..2" in capsys.readouterr().err
    assert build_hls.main([*base, "--window-centres", "2500,4000"]) == 2
    assert "inside the fit range" in capsys.readouterr().err
