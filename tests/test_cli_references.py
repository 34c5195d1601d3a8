"""The vae21 build's ``references`` section (supervised DNN per signal, side-by-side table) end to end, on the
session's small CLI build (tests/conftest.py ``cli_run``)."""

import json

import pytest


def test_references_section_matches_the_physics_section(cli_run):
    rc, out, _ = cli_run
    rep = json.loads((out / "report" / "report.json").read_text())
    assert rc == 0 and "references" in rep["flow"]["steps"]
    ref = rep["references"]
    assert [w["name"] for w in ref["working_points"]] == ["fpr_0.001"]
    tr = ref["supervised_training"]
    assert tr["config"]["n_signal_train"] == 2000 and tr["config"]["epochs"] == 2  # --n-signal, --epochs
    for s, d in ref["signals"].items():
        e = d["fpr_0.001"]
        assert set(e) == {"float_twin", "float_view", "emulator", "supervised"}  # published only at 30/day
        phys = rep["signals"][s]["working_points"]["fpr_0.001"]
        for src in ("float_twin", "float_view", "emulator"):  # same thresholds as the physics section
            assert e[src]["eff"] == pytest.approx(phys[f"eff_{src}"], abs=0)
            assert e[src]["n_signal"] == 2000 and e[src]["n_selected"] == round(e[src]["eff"] * 2000)
        assert e["emulator"]["xsec_100_per_month_pb"] == phys["xsec_100_per_month_pb"]
        assert 10 <= e["supervised"]["n_background_above"] <= 20  # FPR 1e-3 of 20000 SM test events
    assert "## References side by side" in (out / "report" / "report.md").read_text()
