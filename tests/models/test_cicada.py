"""cicada student: trains on synthetic region images, tracks the teacher, and converts with hls4ml 1.3
io_parallel bit-exactly (C simulation == float64 Keras on every test event).  ~45 s on 2 shared cores."""

import numpy as np
import pytest


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from data.calo import generate_calo
    from models.cicada import train_student, train_teacher

    ds = generate_calo(seed=11, n_train=1500, n_val=300, n_test_bkg=500, n_signal=500)
    teacher = train_teacher(ds.x_train, ds.x_val, seed=1, epochs=5)
    student = train_student(teacher, ds.x_train, ds.x_val, seed=2, epochs=15)
    return ds, teacher, student, tmp_path_factory.mktemp("cicada_hls")


@pytest.mark.slow
def test_student_tracks_teacher(trained):
    from models.cicada import student_input, teacher_score

    ds, teacher, student, _ = trained
    x = np.concatenate([ds.x_test_bkg, ds.x_test_signal["hpm_taunu"]])
    t = teacher_score(teacher, x)
    s = student.predict(student_input(x), verbose=0)[:, 0]
    rank = lambda v: np.argsort(np.argsort(v))
    assert np.corrcoef(rank(t), rank(s))[0, 1] > 0.7  # Spearman correlation student vs teacher


@pytest.mark.slow
def test_student_hls4ml_io_parallel_bit_exact(trained):
    import hls4ml

    from models.cicada import CLOCK_PERIOD_NS, PART, student_input

    ds, _, student, out = trained
    cfg = hls4ml.utils.config_from_keras_model(student, granularity="name", backend="Vitis")
    hm = hls4ml.converters.convert_from_keras_model(student, hls_config=cfg, output_dir=str(out), backend="Vitis",
                                                    io_type="io_parallel", part=PART,
                                                    clock_period=CLOCK_PERIOD_NS)
    hm.compile()
    x = np.ascontiguousarray(student_input(np.concatenate([ds.x_test_bkg, ds.x_test_signal["hpm_taunu"]]))
                             .astype(np.float64))
    ref = student.predict(x, verbose=0)[:, 0].astype(np.float64)
    got = np.asarray(hm.predict(x), np.float64).reshape(-1)
    assert np.unique(ref).size > 10  # a non-trivial output
    assert int(np.sum(got != ref)) == 0


@pytest.mark.slow
def test_cli_cicada_end_to_end(tmp_path):
    """``build_hls.py --model cicada`` on tiny counts (~2 min): the family's part/clock defaults, the fast
    emulator (its QConv2D lowered to an exact dense product), 0 mismatches vs float64 Keras, teacher/student/emulator AUCs, the family's default RTL
    path (the RND student traced by da4ml, simulated by Verilator: 0 mismatches, a latency; yosys is left out by the
    config file, ~3 min on its own, and measured by the default build in the README), then ``check``."""
    import json

    import build_hls

    out = tmp_path / "cicada"
    cfg = tmp_path / "build.yml"
    cfg.write_text("hardware: {rtl: true, synth: false}\n")
    rc = build_hls.main(["--model", "cicada", "--output", str(out), "--cache-dir", str(tmp_path / "cache"),
                         "--config", str(cfg),
                         "--n-train", "2000", "--n-test-bkg", "3000", "--n-signal", "300", "--epochs", "3",
                         "--fpr", "0.01", "--min-spearman", "0.5"])
    rep = json.loads((out / "report" / "report.json").read_text())
    assert rc == 0 and rep["model"] == "cicada"
    meta = json.loads((out / "metadata.json").read_text())
    hls = meta["build_config"]["hls"]
    assert hls["part"].startswith("xc7vx690t") and hls["clock_period_ns"] == 6.25
    assert rep["agreement"]["emulator_vs_keras"]["n_mismatched"] == 0
    assert rep["agreement"]["emulator_vs_keras"]["n_events"] == 3000 + 4 * 300
    assert rep["emulator"]["name"] == "fast" and "fast_emulator_fallback" not in rep["agreement"]  # conv lowered
    assert set(rep["signals"]) == {"LQ_btau", "A_4l", "h0_tautau", "hpm_taunu"}
    sig = rep["signals"]["hpm_taunu"]
    assert sig["auc_float_twin"] > 0.7 and sig["auc_emulator"] > 0.6  # teacher and student both see the signal
    rtl = rep["agreement"]["rtl_vs_keras"]
    assert rtl["n_events"] == 3000 + 4 * 300 and rtl["n_mismatched"] == 0
    assert rep["latency"]["rtl_simulation"]["ns"] > 0 and "rtl" in rep["hardware"]["details"]
    assert "yosys" not in rep["hardware"]["details"]
    assert build_hls.main(["check", str(out)]) == 0


@pytest.mark.slow
def test_student_rnd_variant_traces_to_da4ml_bit_exact(trained):
    """The RTL path of the cicada family (on by default): ``with_rounding`` rebuilds the student's QConv2D and Flatten
    as native HGQ2 layers with RND rounding, da4ml traces them, and da4ml's own interpreter (``CombLogic.predict``,
    the logic the Verilog is generated from) equals the float64 Keras model of that variant on every event."""
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    from emulation.da4ml_interp import Da4mlEmulator
    from emulation.keras_ref import float64_model
    from models.cicada import student_input
    from quantize.hgq_native import input_precision, kif, with_rounding
    from quantize.precision import Rounding, quantize_np

    ds, _, student, _ = trained
    var = with_rounding(student, Rounding.RND)
    assert [l.__class__.__name__ for l in var.layers if "Conv" in l.__class__.__name__] == ["QConv2D"]
    x = student_input(np.concatenate([ds.x_test_bkg, ds.x_test_signal["hpm_taunu"], ds.x_test_signal["A_4l"]]))
    x = x.astype(np.float64)
    ref = float64_model(var).predict(x, batch_size=4096, verbose=0)[:, 0]
    p = input_precision(var)
    inp, out = trace_model(var, inputs_kif=kif(p))
    comb = comb_trace(inp, out)
    got = np.asarray(comb.predict(quantize_np(x, p).reshape(len(x), -1)), np.float64).reshape(-1)
    assert int(np.sum(Da4mlEmulator(var).predict(x)[:, 0] != got)) == 0  # the emulator on the image port
    assert np.unique(ref).size > 10  # a non-trivial output
    assert int(np.sum(got != ref)) == 0
    # the variant differs from the RND_CONV student only by rounding: close, and the same ranking
    orig = student.predict(x, verbose=0)[:, 0]
    assert np.corrcoef(orig, ref)[0, 1] > 0.99
