"""`build_hls.py check`: pass, tampered weights / precision / vectors, missing files, JUnit XML."""

import shutil
import xml.etree.ElementTree as ET

import pytest

import build_hls

pytestmark = pytest.mark.slow


@pytest.fixture()
def project_copy(cli_run, tmp_path):
    _, out, _ = cli_run
    dst = tmp_path / "vae21"
    shutil.copytree(out, dst)
    return dst


def test_check_passes_and_writes_junit(cli_run, tmp_path, capsys):
    _, out, _ = cli_run
    rc = build_hls.main(["check", str(out), "--junit", str(tmp_path / "j.xml")])
    text = capsys.readouterr().out
    assert rc == 0, text
    assert "[PASS] csim_vs_golden" in text and "[PASS] fast_emulator_vs_golden" in text  # the plan: no TensorFlow
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert root.tag == "testsuite" and root.get("failures") == "0" and int(root.get("tests")) >= 4
    rc = build_hls.main(["check", str(out), "--keras"])  # the saved Keras model instead of the plan
    text = capsys.readouterr().out
    assert rc == 0 and "[PASS] keras_vs_golden" in text and "fast_emulator_vs_golden" not in text


def test_check_plan_catches_a_changed_plan(project_copy, capsys):
    # a plan whose first dense layer differs by one weight LSB: the plan case and files_unchanged both fail
    import numpy as np

    from emulation.fast_plan import PLAN_FILE, load_plan, save_plan

    emu = load_plan(project_copy / PLAN_FILE)
    i = next(i for i, st in enumerate(emu._steps) if st[0] == "dense")
    kind, out, ins, (w, b) = emu._steps[i]
    w = w.copy()
    w[np.unravel_index(np.argmax(np.abs(w)), w.shape)] *= 2.0  # an exact power-of-two change
    emu._steps[i] = (kind, out, ins, (w, b))
    save_plan(emu, project_copy / PLAN_FILE)
    rc = build_hls.main(["check", str(project_copy)])
    text = capsys.readouterr().out
    assert rc == 1 and "[FAIL] fast_emulator_vs_golden" in text and "model/fast_plan.npz" in text


def test_check_fails_on_tampered_weights(project_copy, tmp_path, capsys):
    # the first dense layer's kernel (largest weight file); hls4ml stores it input-major, so the first
    # 32 values connect feature 0 to every hidden unit: shift them by a representable 0.25
    w = max((project_copy / "firmware" / "weights").glob("w*.txt"), key=lambda p: p.stat().st_size)
    vals = [float(v) for v in w.read_text().strip().split(",")]
    vals[:32] = [v + 0.25 for v in vals[:32]]
    w.write_text(", ".join(f"{v:.6f}" for v in vals) + "\n")
    rc = build_hls.main(["check", str(project_copy), "--junit", str(tmp_path / "j.xml")])
    text = capsys.readouterr().out
    assert rc == 1
    assert "[FAIL] csim_vs_golden" in text and "LSB" in text
    assert f"firmware/weights/{w.name}" in text
    root = ET.parse(tmp_path / "j.xml").getroot()
    assert int(root.get("failures")) >= 2


def test_check_fails_on_tampered_precision(project_copy, capsys):
    d = project_copy / "firmware" / "defines.h"
    text = d.read_text()
    # hls4ml fuses the first ReLU quantizer into the dense layer's output type (enc_dense1_t)
    assert "typedef ap_ufixed<10,4,AP_RND_CONV,AP_SAT,0> enc_dense1_t;" in text
    new = text.replace("ap_ufixed<10,4,AP_RND_CONV,AP_SAT", "ap_ufixed<7,4,AP_RND_CONV,AP_SAT", 1)
    assert new != text
    d.write_text(new)
    rc = build_hls.main(["check", str(project_copy)])
    out = capsys.readouterr().out
    assert rc == 1 and "[FAIL] csim_vs_golden" in out and "firmware/defines.h" in out


def test_check_fails_on_tampered_vectors(project_copy, capsys):
    f = project_copy / "tb_data" / "tb_output_predictions.dat"
    lines = f.read_text().splitlines()
    lines[3] = str(float(lines[3]) + 1.0)
    f.write_text("\n".join(lines) + "\n")
    rc = build_hls.main(["check", str(project_copy)])
    out = capsys.readouterr().out
    assert rc == 1 and "worst event 3" in out and "tb_data/tb_output_predictions.dat" in out


@pytest.mark.parametrize("victim", ["tb_data/tb_input_features.dat", "model/deployable.keras", "metadata.json",
                                    "report/report.json"])
def test_check_missing_files(project_copy, capsys, victim):
    (project_copy / victim).unlink()
    rc = build_hls.main(["check", str(project_copy)])
    err = capsys.readouterr().err
    assert rc == 2 and victim in err and "not a complete project" in err
