"""vae57hgq (HGQ2-native encoder): per-weight / per-feature bit widths convert bit-exactly (hls4ml C-sim == float64
Keras), EBOPs on hand-computed models, the float64 reference keeps the native layers' input quantizers, and a failed
companion build keeps the main report."""

import json
from dataclasses import replace

import numpy as np
import pytest

from emulation.agreement import exact_agreement
from tests.models.test_l1_models import _l1_adversarial


def _small_hgq(seed=3):
    """A small vae57hgq with random heterogeneous widths: kernel bits 0..6 per weight (0 = pruned), activation
    fractional bits 0..7 and integer bits 1..4 per feature, random weights."""
    from models.vae57 import vae_config
    from models.vae57_hgq import HGQConfig, build_hgq_vae

    class Cfg:
        precision_bits = None
        input_precision = None
        epochs = 1

    mc = replace(vae_config(Cfg()), hidden=(8, 6))
    vae = build_hgq_vae(mc, HGQConfig())
    rng = np.random.default_rng(seed)
    for name in ("enc_dense1", "enc_dense2", "mu_dense"):
        layer = vae.get_layer(name)
        layer.kernel.assign(rng.normal(0, 0.6, layer.kernel.shape).astype("float32"))
        layer.bias.assign(rng.normal(0, 0.5, layer.bias.shape).astype("float32"))
        kq = layer.kq.quantizer
        kq._b.assign(rng.integers(0, 7, kq._b.shape).astype("float32"))
        if name != "enc_dense1":  # enc_dense1's iq is the fixed input port
            iq = layer.iq.quantizer
            iq._f.assign(rng.integers(0, 8, iq._f.shape).astype("float32"))
            iq._i.assign(rng.integers(1, 5, iq._i.shape).astype("float32"))
    return vae, mc


@pytest.fixture(scope="module")
def small_hgq():
    from models import vae21 as v

    vae, mc = _small_hgq()
    return v.deployable_model(vae), vae, mc


def test_hgq_model_is_native_and_heterogeneous(small_hgq):
    from quantize.ebops import ebops_report

    deploy, vae, _ = small_hgq
    for name in ("enc_dense1", "enc_dense2", "mu_dense"):
        layer = vae.get_layer(name)
        assert layer.enable_iq and layer.enable_ebops  # restored after hgq2's QKeras-compat patch
    rep = ebops_report(deploy)
    assert rep["total"]["weight_bits"]["min"] == 0 and rep["total"]["weight_bits"]["max"] == 7  # k + b, b in 0..6
    assert rep["total"]["n_zero_weights"] > 0
    assert rep["activations"]["enc_dense2/iq"]["heterogeneous"] and rep["activations"]["mu_dense/iq"]["heterogeneous"]
    assert not rep["activations"]["input_quant"]["heterogeneous"]
    # HGQ2's own count uses the configured widths: an upper bound of the effective-bit count
    for name in ("enc_dense1", "enc_dense2", "mu_dense"):
        assert rep["layers"][name]["hgq_ebops"] >= rep["layers"][name]["ebops"] > 0


def test_hgq_float64_reference_keeps_input_quantizers(small_hgq, rng, adversarial_inputs):
    from emulation.keras_ref import float64_model

    deploy = small_hgq[0]
    d64 = float64_model(deploy)
    assert d64 is not None
    for name in ("enc_dense1", "enc_dense2", "mu_dense"):
        assert d64.get_layer(name).enable_iq
    x = _l1_adversarial(rng, adversarial_inputs)[:8000]
    y32 = deploy.predict(x, batch_size=8192, verbose=0)[:, 0]
    y64 = d64.predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    assert exact_agreement(y64, y32).n_mismatched == 0  # equal within float32 rounding of the last sum
    assert np.unique(y64).size > 50


@pytest.mark.slow
def test_hgq_csim_equals_float64_keras_and_fast(small_hgq, rng, adversarial_inputs, tmp_path):
    from emulation.csim import CSimEmulator
    from emulation.keras_ref import float64_model
    from hls.config import HLSConfig
    from hls.project import build_project

    deploy = small_hgq[0]
    project_dir, _, _ = build_project(deploy, HLSConfig(), tmp_path / "hgq", {"model": "small-vae57hgq"})
    x = _l1_adversarial(rng, adversarial_inputs)
    y_csim = CSimEmulator(project_dir).predict(x)[:, 0]
    y64 = float64_model(deploy).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    assert np.count_nonzero(y_csim != y64) == 0
    assert np.unique(y_csim).size > 50
    from emulation.fast import FastEmulator

    assert np.count_nonzero(FastEmulator(deploy).predict(x)[:, 0] != y_csim) == 0  # per-element quantizers


def test_effective_bits():
    from quantize.ebops import effective_bits

    got = effective_bits([0.0, 0.5, 0.75, -0.75, 3.0, 1.375, -7 * 2.0**-20, 2.0**-30, 255.0])
    np.testing.assert_array_equal(got, [0, 1, 2, 2, 2, 4, 3, 1, 8])


def test_ebops_by_hand_qkeras_layer():
    """Input quantized_bits(4, 1) (4 bits with sign) -> QDense with kernel [[0.5, 0.75], [0, -1.25]], bias [0.25, 0]:
    effective weight bits [[1, 2], [0, 3]], bias bits [1, 0] -> EBOPs = 4 * (1 + 2) + 4 * (0 + 3) + 1 = 25."""
    import keras
    from qkeras.qlayers import QActivation, QDense

    from quantize.ebops import ebops_report
    from quantize.qkeras import qkeras_quantized_bits

    inp = keras.Input((2,))
    x = QActivation(qkeras_quantized_bits(4, 1), name="q_in")(inp)
    d = QDense(2, kernel_quantizer=qkeras_quantized_bits(4, 1), bias_quantizer=qkeras_quantized_bits(4, 1), name="d")
    m = keras.Model(inp, d(x))
    d.kernel.assign(np.array([[0.5, 0.75], [0.0, -1.25]], "float32"))
    d.bias.assign(np.array([0.25, 0.0], "float32"))
    rep = ebops_report(m)
    assert rep["layers"]["d"]["ebops"] == 25 and rep["total"]["ebops"] == 25
    assert rep["layers"]["d"]["input_bits"] == {"mean": 4.0, "min": 4, "max": 4}
    assert rep["layers"]["d"]["weight_bits"] == {"mean": 4.0, "min": 4, "max": 4}
    assert rep["layers"]["d"]["n_zero_weights"] == 1 and rep["layers"]["d"]["n_zero_bias"] == 1
    assert "hgq_ebops" not in rep["layers"]["d"]  # QKeras-API layers have no HGQ2 EBOPs


def test_ebops_by_hand_native_layer():
    """A native HGQ2 QDense (input quantizer quantized_bits(4, 1), kernel/bias KBI b = 3 bits without sign) on the
    same weights: our EBOPs 25 as above; HGQ2's own count 4 * 3 * 4 weights + mean bias bits 3 * 2 outputs = 54."""
    import keras
    from qkeras.qlayers import QActivation

    from models.vae57_hgq import HGQConfig, _native_qdense
    from quantize.ebops import ebops_report
    from quantize.qkeras import qkeras_quantized_bits

    def kbi(place):
        from hgq.config import QuantizerConfig

        return QuantizerConfig("kbi", place, k0=True, b0=3, i0=1, round_mode="RND", overflow_mode="SAT_SYM",
                               homogeneous_axis=(), heterogeneous_axis=None, trainable=True)

    inp = keras.Input((2,))
    x = QActivation(qkeras_quantized_bits(4, 1), name="q_in")(inp)
    d = _native_qdense(2, "d", HGQConfig(), iq_conf=qkeras_quantized_bits(4, 1), kq_conf=kbi("weight"), bq_conf=kbi("bias"))
    m = keras.Model(inp, d(x))
    d.kernel.assign(np.array([[0.5, 0.75], [0.0, -1.25]], "float32"))
    d.bias.assign(np.array([0.25, 0.0], "float32"))
    rep = ebops_report(m)
    assert rep["layers"]["d"]["ebops"] == 25
    assert rep["layers"]["d"]["hgq_ebops"] == 54.0 and rep["total"]["hgq_ebops"] == 54.0
    assert rep["activations"]["d/iq"] == {"mean": 4.0, "min": 4, "max": 4, "n": 2, "heterogeneous": False}


def test_failed_companion_keeps_main_report(tmp_path):
    from analysis.compare import comparison_md
    from flow.build import Build
    from flow.config import BuildConfig
    from flow.report import REPORT_SCHEMA_VERSION, SCHEMA
    from flow.steps.common import companion
    from models.registry import TRIGGER_STEPS, Architecture, Family, ReportKind

    proj = tmp_path / "proj"
    (proj / "report").mkdir(parents=True)
    (proj / "report" / "report.md").write_text("# Firmware report: main\n")
    report = {k: (t[0] if isinstance(t, tuple) else t)() for k, t in SCHEMA[ReportKind.TRIGGER].items()}
    report.update(schema_version=REPORT_SCHEMA_VERSION, model="main", checks={"passed": True, "failures": []})
    fam = Family("main", "", (*TRIGGER_STEPS, "companion"),
                 (Architecture("main", companion="no_such_model", companion_dir="hgq_native"),), data="l1_57")
    b = Build(config=BuildConfig(model="main", cache_dir=tmp_path / "cache"), family=fam, report=report,
              project_dir=proj)
    companion(b)
    report = b.report
    assert report["checks"]["passed"] is False
    assert report["comparison"]["status"] == "failed" and "no_such_model" in report["comparison"]["error"]
    md = (proj / "report" / "report.md").read_text()
    assert md.startswith("# Firmware report: main") and "Companion build FAILED" in md
    assert json.loads((proj / "report" / "report.json").read_text())["comparison"]["status"] == "failed"
    assert "FAILED" in comparison_md(report["comparison"])


def test_saturation_counts_native_input_quantizers(small_hgq, rng, adversarial_inputs):
    """Every quantizer is counted, the native layers' per-feature input quantizers included, each element against its
    own range (checked against a numpy count from the quantizer's per-element limits)."""
    import keras

    from emulation.saturation import saturation_counts
    from quantize.graph import input_in_model

    deploy, vae, _ = small_hgq
    x = _l1_adversarial(rng, adversarial_inputs)[:6000]
    sat = saturation_counts(deploy, {"x": x})
    assert set(sat) == {"input_quant", "enc_dense1/iq", "enc_dense2/iq", "mu_dense/iq", "mu_quant"}
    assert sat["enc_dense2/iq"]["precision"].endswith("(per element)")
    layer = vae.get_layer("enc_dense2")
    v = keras.Model(deploy.inputs, input_in_model(deploy, layer)).predict(x, verbose=0).astype(np.float64)
    q = layer.iq.quantizer
    f = np.asarray(q.f).reshape(1, -1)
    hi = np.asarray(q.max).reshape(1, -1)
    vr = np.floor(v * 2.0**f + 0.5) / 2.0**f  # RND
    want = int(np.any(vr > hi, axis=1).sum())
    assert sat["enc_dense2/iq"]["samples"]["x"]["events_out_of_range"] == want > 0
    # the input port re-quantized by enc_dense1's own iq never saturates again
    assert sat["enc_dense1/iq"]["samples"]["x"]["events_out_of_range"] == 0
    assert sat["input_quant"]["samples"]["x"]["events_out_of_range"] > 0


@pytest.mark.slow
def test_hgq_rtl_variant_equals_keras(small_hgq, rng, adversarial_inputs, tmp_path):
    """--rtl: the HGQ2-native model rebuilt with RND rounding (input port and mu; the per-element quantizers already
    round with RND and are kept) traces through da4ml, and the Verilator simulation equals its float64 Keras model."""
    from emulation.keras_ref import float64_model
    from emulation.rtl import RTLEmulator, build_rtl, rtl_unavailable_reason
    from quantize.hgq_native import with_rounding
    from quantize.precision import Rounding
    from quantize.qkeras import precision_of_quantizer_layer

    reason = rtl_unavailable_reason()
    if reason:
        pytest.skip(reason)
    deploy = small_hgq[0]
    r = with_rounding(deploy, Rounding.RND)
    assert precision_of_quantizer_layer(r.get_layer("input_quant")).rounding is Rounding.RND
    np.testing.assert_array_equal(np.asarray(r.get_layer("enc_dense2").iq.quantizer.f),
                                  np.asarray(deploy.get_layer("enc_dense2").iq.quantizer.f))
    x = _l1_adversarial(rng, adversarial_inputs)
    build_rtl(r, tmp_path / "p" / "rtl", "xcvu13p-flga2577-2-e", 5.0, x[:1000])
    y_rtl = RTLEmulator(tmp_path / "p").predict(x)[:, 0]
    y64 = float64_model(r).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    assert np.count_nonzero(y_rtl != y64) == 0
    # RND vs RND_CONV differ only on ties: most events agree with the original model
    y0 = float64_model(deploy).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    assert 0 < np.count_nonzero(y0 != y64) < len(x) / 2


def test_validation_efficiency_check_catches_a_clipped_signal_tail():
    """benchmarks/hgq_beta_scan.py's validation check (what chose DEFAULT_BETA_EBOPS, issue 15) is the build's
    efficiency check: identical scores pass with rel diff 0; a firmware score that clips the tail only signal
    events reach (the vae57hgq failure: emulator -19.7 % vs its float view on A_4l at 1 kHz) fails; a small
    difference of a few events stays within the limit or not significant."""
    from benchmarks.hgq_beta_scan import validation_efficiency_check

    rng = np.random.default_rng(15)
    view = {"background": rng.normal(0, 1, 200_000), "sig": rng.normal(2.5, 1, 20_000)}
    ec, (ne, nv) = validation_efficiency_check(view, view, 1e-3)
    assert ec["passed"] and ne == nv == 200 and ec["signals"]["sig"]["rel_diff"] == 0.0
    thr = 2.0  # below the SM threshold (~3.1): events moved there are not selected
    # the emulator's score clips 60 % of the signal events beyond the SM threshold
    hi = view["sig"] > 3.0
    clipped = view["sig"].copy()
    clipped[hi & (rng.random(len(clipped)) < 0.6)] = thr - 1e-3
    ec, _ = validation_efficiency_check(view, {"background": view["background"], "sig": clipped}, 1e-3)
    d = ec["signals"]["sig"]
    assert d["rel_diff"] > 1.0 and d["status"] == "failed" and not ec["passed"]  # view selects 2.5x the emulator
    ec, _ = validation_efficiency_check({"background": view["background"], "sig": clipped}, view, 1e-3)
    assert ec["signals"]["sig"]["rel_diff"] == pytest.approx(-0.6, abs=0.03) and not ec["passed"]
    few = view["sig"].copy()
    few[np.flatnonzero(hi)[:3]] = thr - 1e-3  # 3 of the selected events lost: -0.1 %
    ec, _ = validation_efficiency_check({"background": view["background"], "sig": few}, view, 1e-3)
    assert ec["passed"] and ec["signals"]["sig"]["status"] == "within_limit"
    assert ec["signals"]["sig"]["n_only_float_view"] == 3 and ec["signals"]["sig"]["n_only_emulator"] == 0


def test_validation_efficiency_check_bootstrap_option():
    """``bootstrap=True`` decides with the thresholds' fluctuation included (vae21's rule): a signal piled up at a
    threshold set by 100 SM events, which the firmware's threshold (its SM tail perturbed) cuts at -39 %, fails the
    L1 build's paired rule (4.6 sigma beyond the limit) and is not significant on the full uncertainty (> 20 %);
    the paired rule stays the default."""
    from benchmarks.hgq_beta_scan import efficiency_check_line, validation_efficiency_check

    rng = np.random.default_rng(6)
    fpr, view_bkg = 2.5e-4, rng.normal(0, 1, 400_000)
    t = np.sort(view_bkg)[-101]
    sig = np.concatenate([rng.uniform(t - 0.03, t + 0.03, 120), np.full(40, 10.0), rng.normal(0, 1, 5000)])
    emu_bkg = view_bkg.copy()
    top = np.argsort(-view_bkg)[:300]
    emu_bkg[top] += rng.normal(0, 0.15, 300)
    emu, view = {"background": emu_bkg, "s": sig}, {"background": view_bkg, "s": sig}
    paired, _ = validation_efficiency_check(emu, view, fpr)
    d = paired["signals"]["s"]
    assert (d["n_only_emulator"], d["n_only_float_view"]) == (0, 38) and d["rel_diff"] == pytest.approx(-38 / 97)
    assert d["status"] == "failed" and "rel_diff_stat_bootstrap" not in d and "bootstrap" not in efficiency_check_line(
        paired)
    full, _ = validation_efficiency_check(emu, view, fpr, bootstrap=True)
    f = full["signals"]["s"]
    assert f["rel_diff_stat"] == d["rel_diff_stat"] and f["rel_diff_stat_bootstrap"] > 0.2
    assert f["status"] == "beyond_limit_not_significant" and full["passed"]
    assert "FAILED" in efficiency_check_line(paired) and "(bootstrap +- " in efficiency_check_line(full)


def test_vae57hgq_validation_variants_and_paired_table():
    """benchmarks/vae57hgq_validation.py (the issue-15 study of vae57hgq vs ae57 on the validation sample): a variant
    sets HGQConfig fields (the training seed among them) with their types, a vae57 reference its seed, beta, widths
    and MET weight, an unknown key fails before any training;
    the table counts the events above each model's own SM threshold at 1 kHz and pairs them with ae57's decisions on
    the same events."""
    from benchmarks.vae57hgq_validation import FPR_1KHZ, parse_variant, score_table

    assert parse_variant("") == {}
    assert parse_variant("seed=14,beta_ebops=0,max_bits=7,init_act_frac=None,act_int_floor=false") == {
        "seed": 14, "beta_ebops": 0.0, "max_bits": 7, "init_act_frac": None, "act_int_floor": False}
    assert isinstance(parse_variant("beta_ebops=1e-9")["beta_ebops"], float)
    with pytest.raises(ValueError, match="not_a_field"):
        parse_variant("not_a_field=1")
    # --vae57: the QKeras-API references' seed, KL weight and widths; other vae57_scores keys and unknown keys refused
    # before any file is read
    from benchmarks.vae57_scores import parse_variant as parse_vae57
    from benchmarks.vae57hgq_validation import main

    assert parse_vae57("seed=15,beta=0.01") == {"seed": 15, "beta": 0.01}
    assert parse_vae57("seed=15,act=16,met_w=0.25") == {"seed": 15, "act": 16, "met_w": 0.25}
    with pytest.raises(ValueError, match="beta_ebops"):
        parse_vae57("beta_ebops=0")
    with pytest.raises(SystemExit, match="only act, beta, met_w, mu, out, seed, w"):
        main(["--data", "unused.h5", "--vae57", "seed=13,epochs=3"])
    with pytest.raises(SystemExit, match="'bits' is not one of"):
        main(["--data", "unused.h5", "--vae57", "seed=13,bits=16"])
    n_sm = 400_000  # 10 SM events above FPR 2.5e-5
    bkg = np.arange(n_sm, dtype=np.float64)
    ref = score_table({"background": bkg, "s": np.array([0.0, 1e9, 1e9, 1e9, 0.0])}, None)
    assert ref["n_sm_above"] == int(FPR_1KHZ * n_sm) == 10 and ref["signals"]["s"]["n_selected"] == 3
    tab = score_table({"background": bkg, "s": np.array([1e9, 0.0, 1e9, 1e9, 1e9])}, ref)
    r = tab["signals"]["s"]
    assert r["n_selected"] == 4 and r["auc"] == pytest.approx(0.8)
    # ae57 selects events 1, 2, 3; this model 0, 2, 3, 4: one lost, two gained, z = (2 - 1) / sqrt(3)
    assert r["vs_ae57"] == {"n_a": 3, "n_b": 4, "only_a": 1, "only_b": 2,
                            "mcnemar_z_b_minus_a": pytest.approx(1 / np.sqrt(3))}


def test_vae57hgq_validation_met_row(small_hgq):
    """The study's MET_pt row of enc_dense1 (feature 0): its configured widths and zero weights, from the model's own
    quantizer (the small model's random widths include pruned 0-bit weights)."""
    from benchmarks.vae57hgq_validation import met_row
    from quantize.ebops import quantizer_widths

    _, vae, _ = small_hgq
    layer = vae.get_layer("enc_dense1")
    w = np.asarray(layer.qkernel, np.float64)
    bits = quantizer_widths(layer.kq, w.shape)
    r = met_row(vae)
    assert r["met_row_bits"] == bits[0].tolist() and len(r["met_row_bits"]) == w.shape[1]
    assert r["met_row_zero"] == int((w[0] == 0).sum())
    assert r["other_rows_zero_mean"] == pytest.approx((w[1:] == 0).sum(1).mean())
    assert (w == 0).any()  # widths 0..6 drawn at random: some weights pruned


def test_hgq_training_seed_default_and_cache_key():
    """vae57hgq trains with vae57's seed by default (DEFAULT_HGQ_SEED = None: seed 17, the one of five that met issue
    15's criterion on validation, is not adopted, being one lucky training); ``HGQConfig.seed`` sets its own.  The
    default leaves the model cache key as before the field (no ``seed`` entry), a set seed is part of it and reaches
    the model's configuration that prepare_for_build keys and trains with."""
    from models.vae57 import VAE57_CONFIG
    from models.vae57_hgq import DEFAULT_HGQ_SEED, HGQConfig, hgq_model_config

    assert DEFAULT_HGQ_SEED is None and VAE57_CONFIG.seed == 13
    hc = HGQConfig()
    assert hc.seed is None and "seed" not in hc.to_dict() and hc.beta_ebops == 1e-8 and hc.act_int_floor
    assert hgq_model_config(VAE57_CONFIG, hc) is VAE57_CONFIG
    h17 = replace(hc, seed=17)
    assert h17.to_dict()["seed"] == 17 and h17.to_dict() != hc.to_dict()
    mc = hgq_model_config(VAE57_CONFIG, h17)
    assert mc.seed == 17 and replace(mc, seed=13) == VAE57_CONFIG  # nothing else of vae57's changes


@pytest.mark.slow
def test_vae57hgq_validation_main_end_to_end(tmp_path):
    """benchmarks/vae57hgq_validation.py's main() on a small L1 file (the study's whole path, so that a stale call in
    it fails here): ae57 and two vae57 references, the default score and MET's weight 1/4, share one trained model
    (the weight is the score's, not the training's) and differ in their chip scores; every reference carries the
    build's efficiency check and the SM Spearman; the chip scores are written per model."""
    import h5py

    from benchmarks.vae57hgq_validation import main
    from data.l1 import l1_validation_events

    ev = l1_validation_events(5, 6000, 10, stream=99)["background"]
    data = tmp_path / "l1.h5"
    with h5py.File(data, "w") as f:
        f["train/features"], f["val/features"], f["background/features"] = ev[:4000], ev[4000:5000], ev[5000:]
    out, scores = tmp_path / "out.json", tmp_path / "scores"
    rc = main(["--data", str(data), "--n-sm", "40000", "--n-signal", "300", "--cache-dir", str(tmp_path / "cache"),
               "--variants", "--vae57", "seed=3", "seed=3,met_w=0.25", "--json", str(out), "--scores-dir", str(scores)])
    rows = json.loads(out.read_text())
    assert rc == 0 and [r["model"] for r in rows] == ["ae57", "vae57 {'seed': 3}", "vae57 {'seed': 3, 'met_w': 0.25}"]
    default, met = rows[1], rows[2]
    assert default["cache"] == met["cache"] and default["ebops"] == met["ebops"]  # one trained model
    for r in rows[1:]:
        assert r["n_sm_above"] == 1 and set(r["signals"]) == {"A_4l", "LQ_btau", "h0_tautau", "hpm_taunu"}
        assert set(r["efficiency_check"]["signals"]) == set(r["signals"]) and 0.5 < r["spearman_sm"] <= 1
    a = np.load(scores / "vae57_{seed_3}.npz")
    b = np.load(scores / "vae57_{seed_3,_met_w_0.25}.npz")
    assert len(a["background"]) == 40000 and len(a["A_4l"]) == 300
    assert not np.array_equal(a["background"], b["background"])
