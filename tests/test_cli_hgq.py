"""build_hls.py --model vae57 on tiny sizes builds its HGQ2-native companion (vae57hgq) into hgq_native/ and appends
the QKeras-API vs HGQ2-native comparison to its report."""

import json

import pytest

import build_hls
# smaller than tests/test_cli_l1.py's TINY: two builds (vae57 and its companion) run here
TINY = ["--n-train", "3000", "--n-signal", "600", "--n-test-bkg", "12000", "--fpr", "1e-3", "--epochs", "1",
        "--min-spearman", "0.0", "--no-rtl"]  # the L1 default RTL path is covered by tests/emulation/test_rtl.py


@pytest.mark.slow
def test_cli_vae57_with_hgq_companion(tmp_path):
    out = tmp_path / "vae57"
    rc = build_hls.main(["--model", "vae57", "--output", str(out), "--cache-dir", str(tmp_path / "cache"), *TINY])
    rep = json.loads((out / "report" / "report.json").read_text())
    crep = json.loads((out / "hgq_native" / "report" / "report.json").read_text())
    assert rc == 0, rep["checks"]["failures"]
    assert rep["model"] == "vae57" and crep["model"] == "vae57hgq"
    assert crep["emulator"]["name"] == "fast"  # per-element quantizers on the fast emulator
    assert crep["agreement"]["emulator_vs_csim"]["n_mismatched"] == 0
    assert crep["agreement"]["emulator_vs_keras"]["n_mismatched"] == 0
    assert crep["agreement"]["emulator_vs_keras"]["keras_dtype"] == "float64"
    assert rep["agreement"]["emulator_vs_keras"]["keras_dtype"] == "float64"  # the vae57 (QKeras) build too
    comp = rep["comparison"]
    assert comp["status"] == "ok" and comp["working_point"] == "fpr_0.001"  # --fpr replaced l1_1kHz
    for side, name in (("qkeras", "vae57"), ("hgq", "vae57hgq")):
        m = comp[side]
        assert m["model"] == name and m["n_mismatched"] == 0 and m["ebops"] > 0
        assert set(m["signals"]) == {"LQ_btau", "A_4l", "h0_tautau", "hpm_taunu"}
        assert all(0 <= s["eff_emulator"] <= 1 and 0 < s["auc_emulator"] < 1 for s in m["signals"].values())
        assert "hls_estimate" in m["latency_resources"]
    assert comp["hgq"]["hgq_ebops"] > 0 and comp["qkeras"]["hgq_ebops"] is None
    assert comp["relative_difference"]["ebops"] == pytest.approx(comp["hgq"]["ebops"] / comp["qkeras"]["ebops"] - 1)
    md = (out / "report" / "report.md").read_text()
    sec = md[md.index("## QKeras-API vs HGQ2-native"):]
    assert "| vae57 |" in sec and "| vae57hgq |" in sec and "LQ_btau" in sec
    assert "analytic HLS estimate" in sec or "hls_estimate" in sec
    assert (out / "hgq_native" / "metadata.json").is_file()
