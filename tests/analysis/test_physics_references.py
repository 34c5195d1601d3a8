"""Independent references for the physics figures the report prints: thresholds, efficiencies and cross-sections
computed by hand on samples with known answers (at the default working points FPR 1e-5 and ~30 SM events per
day), the report's physics section against those, and the discovery significances against the published
closed forms (Cowan, Cranmer, Gross, Vitells 2011, eq. 97; Cowan 2012 with a background uncertainty) and their
known limits.  Nothing here depends on the generator or a trained model: every input is constructed."""

from __future__ import annotations

import math

import numpy as np
import pytest

from analysis import report as rp
from analysis import working_points as wp

SM_MONTH = 185.6e6  # the seed study's SM events per month (W 110M, QCD 63M, Z 12M, ttbar 0.6M)


def _ranked_background(n: int, seed: int) -> np.ndarray:
    """Background scores 1..n (distinct, shuffled): the k-th highest score is n - k + 1."""
    return np.random.default_rng(seed).permutation(np.arange(1, n + 1, dtype=np.float64))


def test_thresholds_at_the_default_working_points_by_hand():
    # 30 SM events / day on the 185.6M events / month stream: 30 / (185.6e6 / 30 days) = 4.849e-6 (by hand)
    wps = wp.default_working_points(SM_MONTH)
    assert [w.name for w in wps] == ["fpr_1e-5", "30_per_day"]
    assert wps[0].fpr == 1e-5
    assert wps[1].fpr == pytest.approx(30 * 30 / 185.6e6, rel=1e-12)
    n = 3_000_000  # 30 background events allowed above FPR 1e-5, floor(14.55) = 14 above 30/day
    bkg = _ranked_background(n, 1)
    t, above = wp.threshold_at_fpr(bkg, 1e-5)
    assert (t, above) == (n - 30.0, 30)
    t, above = wp.threshold_at_fpr(bkg, wps[1].fpr)
    assert (t, above) == (n - 14.0, 14)
    with pytest.raises(ValueError, match="at least 206223"):  # ceil(185.6e6 / 900) = ceil(206222.2)
        wp.threshold_at_fpr(bkg[:206_000], wps[1].fpr)
    # the stream rate behind it: 185.6e6 / (30 * 86400 s) = 71.60 Hz; background rate at FPR 1e-5 = 0.716 mHz
    assert wp.stream_rate_hz(SM_MONTH) == pytest.approx(71.604938, rel=1e-7)


def test_efficiency_is_strictly_above_threshold():
    sig = np.array([1.0, 2.0, 3.0, 3.0, 5.0])
    assert wp.efficiency(sig, 3.0) == pytest.approx(1 / 5)
    assert wp.efficiency(sig, 2.999) == pytest.approx(3 / 5)
    assert wp.efficiency(sig, 0.0) == 1.0 and wp.efficiency(sig, 5.0) == 0.0


def test_cross_sections_worked_examples():
    # sigma = N / (A * eff * L) with L = 5 fb^-1 = 5000 pb^-1 per month
    # 100 events, A = 0.05, eff = 0.4: 100 / (0.05 * 0.4 * 5000) = 1.0 pb
    assert wp.xsec_for_events_pb(100.0, 0.05, 0.4) == pytest.approx(1.0, rel=1e-12)
    # S/B = 1/3 at FPR 1e-5: B = 1e-5 * 185.6e6 = 1856 / month, S = 618.67; A = 0.1, eff = 0.25:
    # 618.667 / (0.1 * 0.25 * 5000) = 4.94933 pb
    e = wp.xsec_table_entries(1e-5, SM_MONTH, 0.1, 0.25)
    assert e["xsec_sb_one_third_pb"] == pytest.approx(4.949333, rel=1e-6)
    assert e["xsec_100_per_month_pb"] == pytest.approx(0.8, rel=1e-12)
    assert wp.xsec_for_events_pb(10.0, 0.1, 0.25, lumi_pb=1000.0) == pytest.approx(0.4, rel=1e-12)
    assert wp.xsec_for_events_pb(10.0, 0.0, 0.25) is None


N_BKG = 1_000_000  # 10 background events allowed above FPR 1e-5, floor(4.85) = 4 above 30 SM events/day


def _sources(n_bkg: int):
    """Emulator and float view with *different* background scores (so different thresholds) and a signal."""
    emu_b = _ranked_background(n_bkg, 2)
    view_b = emu_b + 0.5  # every view threshold is the emulator's + 0.5
    # signal: 3 events between the emulator's FPR 1e-5 threshold (n - 10) and the view's (n - 9.5)
    sig_emu = np.r_[np.full(6, n_bkg + 10.0), np.full(3, n_bkg - 9.8), np.full(11, 1.0)]  # 20 events
    s_emu = {"background": emu_b, "sigA": sig_emu}
    s_view = {"background": view_b, "sigA": sig_emu.copy()}
    s_twin = {"background": emu_b * 2.0, "sigA": sig_emu * 2.0}
    return s_emu, s_view, s_twin


@pytest.fixture(scope="module")
def physics():
    s_emu, s_view, s_twin = _sources(N_BKG)
    return rp.physics_section(wp.default_working_points(SM_MONTH), s_emu, s_view, s_twin, None, SM_MONTH, {"sigA": 0.1})


def test_report_physics_section_against_hand_computed_values(physics):
    n, res = N_BKG, physics
    w0, w1 = res["working_points"]
    # thresholds: emulator n - 10 (FPR 1e-5) and n - 4 (30/day); the view +0.5; the twin x2
    assert (w0["threshold_emulator"], w0["threshold_float_view"], w0["threshold_float_twin"]) == (n - 10.0, n - 9.5, 2.0 * (n - 10))
    assert (w1["threshold_emulator"], w1["threshold_float_view"]) == (n - 4.0, n - 3.5)
    assert w0["threshold"] == n - 10.0 and w0["n_background_above"] == 10 and w1["n_background_above"] == 4
    assert w0["n_background_above_float_view"] == 10 and w0["n_test_background"] == n
    assert w0["background_rate_hz"] == pytest.approx(1e-5 * 71.604938, rel=1e-7)
    assert w1["background_rate_hz"] == pytest.approx(30 / 86400, rel=1e-9)  # 30 events per day
    e0 = res["signals"]["sigA"]["working_points"]["fpr_1e-5"]
    # emulator threshold n - 10: the 6 high + the 3 at n - 9.8 pass -> 9/20; view threshold n - 9.5: 6/20
    assert e0["eff_emulator"] == pytest.approx(9 / 20) and e0["eff_float_view"] == pytest.approx(6 / 20)
    assert e0["eff_float_twin"] == pytest.approx(9 / 20)
    assert (e0["n_selected_emulator"], e0["n_selected_float_view"], e0["n_selected_only_emulator"]) == (9, 6, 3)
    assert e0["n_selected_only_float_view"] == 0
    assert e0["eff_rel_diff_emu_vs_view"] == pytest.approx(0.5) and e0["eff_rel_diff_stat"] == pytest.approx(math.sqrt(3) / 6)
    # cross-sections from the emulator efficiency 0.45 and A = 0.1: 100 / (0.1 * 0.45 * 5000) = 0.44444 pb;
    # S/B = 1/3: 1e-5 * 185.6e6 / 3 / (0.1 * 0.45 * 5000) = 2.749630 pb
    assert e0["xsec_100_per_month_pb"] == pytest.approx(100 / 225, rel=1e-12)
    assert e0["xsec_sb_one_third_pb"] == pytest.approx(2.7496296, rel=1e-6)
    e1 = res["signals"]["sigA"]["working_points"]["30_per_day"]
    assert e1["eff_emulator"] == pytest.approx(6 / 20) and e1["eff_float_view"] == pytest.approx(6 / 20)
    # S/B = 1/3 at 30 SM events/day: 900 SM events per month / 3 = 300 signal events; 300 / (0.1 * 0.3 * 5000) = 2.0 pb
    assert e1["xsec_sb_one_third_pb"] == pytest.approx(2.0, rel=1e-9)
    assert e1["xsec_100_per_month_pb"] == pytest.approx(100 / 150, rel=1e-12)
    # decision agreement over all n + 20 events at FPR 1e-5: the emulator accepts 10 bkg + 9 sig, the view the
    # same 10 bkg + 6 sig -> 3 disagree, overlap 16 / 19
    assert w0["decision_n_disagree"] == 3
    assert w0["decision_agreement"] == pytest.approx(1 - 3 / (n + 20), rel=1e-12)
    assert w0["decision_accepted_overlap"] == pytest.approx(16 / 19)
    # AUC by hand: 6 signal events above every background, 3 above the n - 10 lowest, 11 at score 1 (ties the lowest
    # background: half credit for 1 of n): (6 n + 3 (n - 10) + 11 * 0.5) / (20 n)
    auc = (6 * n + 3 * (n - 10) + 11 * 0.5) / (20 * n)
    assert res["signals"]["sigA"]["auc_emulator"] == pytest.approx(auc, rel=1e-9)


def test_report_without_acceptance_prints_no_cross_section():
    s_emu, s_view, s_twin = _sources(200_000)
    res = rp.physics_section([wp.WorkingPointSpec("a", 1e-4)], s_emu, s_view, None, None, SM_MONTH, {})
    e = res["signals"]["sigA"]["working_points"]["a"]
    assert e["xsec_100_per_month_pb"] is None and e["xsec_sb_one_third_pb"] is None and e["eff_float_twin"] is None


def test_summary_table_prints_the_computed_figures(physics):
    report = {**physics, "emulator": {"name": "fast"},
              "agreement": {"emulator_vs_keras": {"keras_dtype": "float64", "n_mismatched": 0, "n_events": 5,
                                                  "max_abs_diff": 0.0, "max_diff_lsb": 0.0}}}
    txt = rp.summary_table(report)
    assert "emulator threshold 999990, 10 of 1000000 SM test events above" in txt
    assert "0.45 / 0.3 / 0.45" in txt.replace("0.450", "0.45").replace("0.300", "0.3")
    assert "2.75" in txt and "quantized Keras (float64, every event)" in txt


def test_physics_section_emulator_only_with_offline_scores_by_hand():
    """Only the emulator (no float view, no twin), plus the offline (full VAE) scores: every figure by hand on a
    10-event background.  FPR 0.2 -> 2 events may pass: threshold = 3rd highest background score = 8."""
    bkg = np.array([3.0, 9.0, 1.0, 7.0, 5.0, 10.0, 2.0, 8.0, 4.0, 6.0])
    sig = np.array([8.5, 11.0, 0.5, 12.0])  # 3 of 4 above 8
    offline = {"background": {"kl": np.array([1.0, 2.0, 3.0, 4.0]), "reco": np.array([1.0, 2.0, 3.0, 4.0])},
               "sigA": {"kl": np.array([2.5, 5.0]), "reco": np.array([0.0, 0.0])}}
    res = rp.physics_section([wp.WorkingPointSpec("w", 0.2)], {"background": bkg, "sigA": sig}, None, None,
                             offline, SM_MONTH, {"sigA": 0.5})
    (w,) = res["working_points"]
    assert (w["name"], w["fpr"], w["threshold"], w["n_background_above"], w["n_test_background"]) == ("w", 0.2, 8.0, 2, 10)
    assert w["decision_agreement"] is None and "threshold_float_view" not in w and "decision_n_disagree" not in w
    assert list(res["signals"]) == ["sigA"]  # the background is not a signal
    d = res["signals"]["sigA"]
    # AUC: pairs (sig > bkg) = 8 + 10 + 0 + 10 = 28 of 40
    assert d["auc_emulator"] == pytest.approx(28 / 40) and d["auc_float_view"] is None and d["auc_float_twin"] is None
    assert d["acceptance_x_trigger_eff"] == 0.5
    e = d["working_points"]["w"]
    assert e["eff_emulator"] == 0.75 and e["eff_float_view"] is None and e["eff_float_twin"] is None
    assert "n_selected_emulator" not in e  # the paired comparison needs the float view
    # 100 / (0.5 * 0.75 * 5000) pb; S/B = 1/3: 0.2 * 185.6e6 / 3 / (0.5 * 0.75 * 5000)
    assert e["xsec_100_per_month_pb"] == pytest.approx(100 / 1875, rel=1e-12)
    assert e["xsec_sb_one_third_pb"] == pytest.approx(0.2 * 185.6e6 / 3 / 1875, rel=1e-12)
    # offline AUCs: kl: 2.5 beats 2 of 4, 5.0 beats 4 of 4 -> 6/8; reco: 0 beats none -> 0
    assert res["offline"] == {"source": "float_twin full VAE (Keras)", "auc": {"sigA": {"kl": 0.75, "reco": 0.0}}}
    assert "offline" not in rp.physics_section([wp.WorkingPointSpec("w", 0.2)], {"background": bkg, "sigA": sig},
                                                None, None, None, SM_MONTH, {"sigA": 0.5})
