import math

import numpy as np
import pytest

from analysis import working_points as wp


def test_threshold_at_fpr_counts():
    bkg = np.arange(1000, dtype=float)  # scores 0..999
    t, n = wp.threshold_at_fpr(bkg, 0.01)
    assert n == 10 and t == 989.0
    assert wp.efficiency(np.array([989.0, 990.0, 2000.0]), t) == pytest.approx(2 / 3)


def test_threshold_with_ties_never_exceeds_fpr():
    bkg = np.r_[np.zeros(990), np.ones(10) * 5]
    t, n = wp.threshold_at_fpr(bkg, 0.005)  # 5 allowed, 10 tied at the top -> none pass
    assert n == 0 and t == 5.0


def test_threshold_needs_enough_events():
    with pytest.raises(ValueError, match="needs more than"):
        wp.threshold_at_fpr(np.arange(100.0), 1e-3)


def test_rates_and_required_events():
    sm = 185.6e6
    rate = wp.stream_rate_hz(sm)
    assert rate == pytest.approx(71.6, rel=1e-3)
    wps = wp.default_working_points(sm)
    assert wps[1].fpr == pytest.approx(30 / (rate * 86400))
    assert wps[1].fpr == pytest.approx(4.8e-6, rel=0.02)
    n = wp.required_background_events(wps)
    assert math.floor(wps[1].fpr * n) >= 10
    with pytest.raises(ValueError):
        wp.default_working_points(sm, extra_rates_hz=(100.0,))


def test_xsec_entries():
    e = wp.xsec_table_entries(1e-5, 185.6e6, acceptance=0.1, eff=0.2)
    assert e["xsec_100_per_month_pb"] == pytest.approx(100 / (0.1 * 0.2 * 5000))
    assert e["xsec_sb_one_third_pb"] == pytest.approx(1e-5 * 185.6e6 / 3 / (0.1 * 0.2 * 5000))
    assert wp.xsec_table_entries(1e-5, 185.6e6, 0.1, 0.0)["xsec_100_per_month_pb"] is None


def test_decision_agreement():
    d = wp.decision_agreement(np.array([0, 1, 2, 3.0]), 1.5, np.array([0, 2, 2, 3.0]), 1.5)
    assert d.n_disagree == 1 and d.decision_agreement == 0.75 and d.accepted_overlap == pytest.approx(2 / 3)


def test_l1_rate_plan():
    plan = wp.l1_rate_plan((2000.0,))
    assert plan.input_rate_hz == 40e6 and plan.n_default == 3 and plan.acceptances == {}
    assert [(w.name, w.fpr) for w in plan.working_points] == [
        ("l1_1kHz", 2.5e-5), ("l1_100Hz", 2.5e-6), ("fpr_1e-5", 1e-5), ("rate_2000Hz", 5e-5)]
    assert plan.events_per_month / wp.SECONDS_PER_MONTH == pytest.approx(40e6)
    # 10 SM events above the 100 Hz threshold need ~4.1M SM test events
    assert wp.required_background_events(list(plan.working_points)) == 4_080_000
    with pytest.raises(ValueError, match="L1 input rate"):
        wp.l1_rate_plan((5e7,))


def test_paired_efficiency_difference_counts_by_hand():
    emu = np.array([0.0, 2, 3, 4, 5, 6])  # thr 2.5: events 2..5 selected (4)
    view = np.array([0.0, 9, 1, 4, 5, 6])  # thr 3.5: events 1, 3, 4, 5 selected (4); 2 only emu, 1 only view
    d = wp.paired_efficiency_difference(emu, 2.5, view, 3.5)
    assert (d.n_selected_emulator, d.n_selected_float_view) == (4, 4)
    assert (d.n_selected_only_emulator, d.n_selected_only_float_view) == (1, 1)
    assert d.eff_rel_diff_emu_vs_view == 0.0
    assert d.eff_rel_diff_stat == pytest.approx(np.sqrt(2) / 4)
    # the split: at the view's threshold 3.5 the emulator selects events 3, 4, 5 (3): its lower threshold gains
    # one event (+1/4), the signal events' own scores lose one (event 1: 2 against the view's 9; -1/4)
    assert d.n_selected_emulator_at_view_threshold == 3
    assert (d.eff_rel_diff_from_thresholds, d.eff_rel_diff_from_signal_scores) == (0.25, -0.25)
    d = wp.paired_efficiency_difference(emu, 4.5, view, 4.5)  # 2 (events 4, 5) vs 3 (events 1, 4, 5)
    assert d.eff_rel_diff_emu_vs_view == pytest.approx(-1 / 3) and d.eff_rel_diff_stat == pytest.approx(1 / 3)
    assert d.eff_rel_diff_from_thresholds == 0 and d.eff_rel_diff_from_signal_scores == pytest.approx(-1 / 3)
    d = wp.paired_efficiency_difference(emu, 1.0, view, 4.5)  # 5 vs 3
    assert d.eff_rel_diff_emu_vs_view == pytest.approx(2 / 3)
    d = wp.paired_efficiency_difference(emu, 1.0, view, 100.0)  # view selects nothing
    assert d.eff_rel_diff_emu_vs_view is None and d.eff_rel_diff_stat is None
    assert d.eff_rel_diff_from_thresholds is None and d.eff_rel_diff_from_signal_scores is None


def test_efficiency_check_gates_the_build_at_its_working_point():
    from analysis.working_points import efficiency_check
    from flow.checks import trigger_checks as _check
    from flow.config import Tolerances

    def sig(emu, view, rel, stat):
        return {"working_points": {"l1_1kHz": {"eff_emulator": emu, "eff_float_view": view, "eff_float_twin": view,
                                               "eff_rel_diff_emu_vs_view": rel, "eff_rel_diff_stat": stat}}}

    signals = {"A": sig(0.0105, 0.01, 0.05, 0.02), "B": sig(0.0, 0.0, 0.0, None)}
    ec = efficiency_check(signals, "l1_1kHz", 0.10)
    assert ec["passed"] and ec["signals"]["A"]["rel_diff"] == 0.05
    rep = {"agreement": {"emulator_vs_keras": {"n_mismatched": 0}}, "efficiency_check": ec}
    assert _check(rep, Tolerances()) == (True, [])
    signals["C"] = sig(0.0125, 0.01, 0.25, 0.05)  # 3 sigma beyond the 10 % limit
    signals["D"] = sig(0.001, 0.0, None, None)
    rep["efficiency_check"] = efficiency_check(signals, "l1_1kHz", 0.10)
    ok, failures = _check(rep, Tolerances())
    assert not ok and len(failures) == 1
    assert "C +25.0%" in failures[0] and "D undefined" in failures[0] and "A " not in failures[0]
    # --fpr replaced the default working points: nothing to check at 1 kHz
    assert efficiency_check({"A": {"working_points": {"fpr_0.001": {}}}}, "l1_1kHz", 0.1)["passed"]


def test_extra_rates_and_their_bounds():
    """--rate in Hz becomes FPR = rate / stream rate; (0, stream rate) open interval (mutation-testing survivors)."""
    rate = wp.stream_rate_hz(SM := 185.6e6)
    wps = wp.default_working_points(SM, extra_rates_hz=(rate / 10, 0.5))
    assert [(w.name, w.fpr) for w in wps[2:]] == [(f"rate_{rate / 10:g}Hz", pytest.approx(0.1)),
                                                  ("rate_0.5Hz", pytest.approx(0.5 / rate))]
    for bad in (0.0, rate, -1.0):
        with pytest.raises(ValueError, match=r"--rate .* Hz must be in \(0, 71.6\) Hz, the SM stream rate"):
            wp.default_working_points(SM, extra_rates_hz=(bad,))
    plan = wp.l1_rate_plan((0.5,))
    assert plan.working_points[-1] == wp.WorkingPointSpec("rate_0.5Hz", 0.5 / 40e6)
    assert plan.stream == "L1 (40 MHz bunch crossings)" and plan.efficiency_check_wp == "l1_1kHz"
    for bad in (0.0, 40e6):
        with pytest.raises(ValueError, match="L1 input rate"):
            wp.l1_rate_plan((bad,))


def test_selections_are_strictly_above_threshold_and_tiny_denominators():
    d = wp.paired_efficiency_difference(np.array([1.0, 2.0, 3.0]), 2.0, np.array([1.0, 2.0, 3.0]), 1.0)
    assert (d.n_selected_emulator, d.n_selected_float_view) == (1, 2)  # a score equal to the threshold fails
    assert wp.decision_agreement(np.array([1.0]), 1.0, np.array([0.0]), 1.0).accepted_overlap is None
    # acceptance x efficiency x luminosity below 1 is still a cross-section: 100 / (1e-4 * 1e-3 * 5000) = 2e5 pb
    assert wp.xsec_for_events_pb(100.0, 1e-4, 1e-3) == pytest.approx(2e5)


def test_efficiency_check_record():
    e = {"eff_emulator": 0.2, "eff_float_view": 0.25, "eff_float_twin": 0.3, "eff_rel_diff_emu_vs_view": -0.2,
         "eff_rel_diff_stat": 0.04, "n_selected_only_emulator": 3, "n_selected_only_float_view": 8,
         "eff_rel_diff_from_thresholds": -0.15, "eff_rel_diff_from_signal_scores": -0.05}
    ec = wp.efficiency_check({"S": {"working_points": {"l1_1kHz": e}}}, "l1_1kHz", 0.1)
    assert ec == {"working_point": "l1_1kHz", "max_rel_diff": 0.1, "significance_z": 2.0, "passed": False,
                  "not_significant": [],
                  "source": "emulator and float view efficiencies on the same signal events, each at its own threshold",
                  "signals": {"S": {"eff_emulator": 0.2, "eff_float_view": 0.25, "eff_float_twin": 0.3,
                                    "rel_diff": -0.2, "rel_diff_stat": 0.04, "n_only_emulator": 3,
                                    "n_only_float_view": 8, "rel_diff_from_thresholds": -0.15,
                                    "rel_diff_from_signal_scores": -0.05, "status": "failed",
                                    "excess_z": pytest.approx(2.5), "passed": False}}}
    none = wp.efficiency_check({"S": {"working_points": {"other": e}}}, "l1_1kHz", 0.1)
    assert none["working_point"] is None and none["passed"] is True


def test_efficiency_check_fails_only_significant_excesses():
    """Beyond the 10 % limit: failed when the excess is > 2 sigma, else passed as "beyond_limit_not_significant"
    (a 1-event vs 0-event difference at a 1 kHz working point reads -100 % +- 100 %)."""
    def check(rel, stat, boot=None, only=(None, None)):
        e = {"eff_emulator": 0.0, "eff_float_view": 0.0, "eff_float_twin": 0.0, "eff_rel_diff_emu_vs_view": rel,
             "eff_rel_diff_stat": stat, "n_selected_only_emulator": only[0], "n_selected_only_float_view": only[1]}
        ec = wp.efficiency_check({"S": {"working_points": {"w": e}}}, "w", 0.1)
        if boot is not None:
            ec["signals"]["S"]["rel_diff_stat_bootstrap"] = boot
            wp.decide_efficiency_check(ec)
        return ec["signals"]["S"]["status"], ec["passed"], ec["not_significant"]

    assert check(-0.2, 0.05) == ("beyond_limit_not_significant", True, ["S"])  # exactly 2 sigma beyond: not > 2
    assert check(-0.2, 0.0499) == ("failed", False, [])
    assert check(+0.31, 0.1) == ("failed", False, [])  # 2.1 sigma
    assert check(-1.0, 1.0, only=(0, 1)) == ("beyond_limit_not_significant", True, ["S"])
    assert check(-0.2, 0.01, boot=0.06)[0] == "beyond_limit_not_significant"  # the bootstrap's uncertainty decides
    assert check(-0.2, 0.06, boot=0.01)[0] == "failed"
    # the view selects none: the emulator-only events' McNemar z = sqrt(n)
    assert check(None, None, only=(4, 0))[:2] == ("beyond_limit_not_significant", True)
    assert check(None, None, only=(5, 0))[:2] == ("failed", False)
    assert check(None, None)[:2] == ("failed", False)  # no counts: nothing shows the difference is small
    assert check(0.1, 0.0)[0] == "within_limit"


def test_efficiency_check_limit_is_inclusive():
    e = {"eff_emulator": 0.11, "eff_float_view": 0.1, "eff_float_twin": 0.1, "eff_rel_diff_emu_vs_view": 0.1}
    assert wp.efficiency_check({"S": {"working_points": {"w": e}}}, "w", 0.1)["passed"]
    e["eff_rel_diff_emu_vs_view"] = -0.1000001
    assert not wp.efficiency_check({"S": {"working_points": {"w": e}}}, "w", 0.1)["passed"]


def test_boundaries_of_specs_thresholds_and_empty_selections():
    for bad in (0.0, 1.0, 1.5):
        with pytest.raises(ValueError, match=r"working point 'w': FPR must be in \(0, 1\)"):
            wp.WorkingPointSpec("w", bad)
    assert wp.threshold_at_fpr(np.arange(100.0), 0.01) == (98.0, 1)  # exactly one event allowed above
    d = wp.paired_efficiency_difference(np.zeros(3), 1.0, np.zeros(3), 1.0)  # both select nothing: no difference
    assert d.eff_rel_diff_emu_vs_view == 0.0 and d.eff_rel_diff_stat is None
    d = wp.paired_efficiency_difference(np.array([0.0, 2.0]), 1.0, np.zeros(2), 1.0)  # only the emulator selects
    assert d.eff_rel_diff_emu_vs_view is None


def test_fpr_must_be_strictly_inside_zero_one():
    """FPR 0 selects nothing and FPR 1 everything: neither is a working point (nor anything above 1)."""
    for bad in (0.0, 1.0, 1.5, -1e-5):
        with pytest.raises(ValueError, match=rf"^working point 'x': FPR must be in \(0, 1\), got {bad}$"):
            wp.WorkingPointSpec("x", bad)
    assert wp.WorkingPointSpec("x", 0.999).fpr == 0.999


def test_threshold_with_exactly_one_event_allowed():
    """10 events at FPR 0.1 (and 0.19): floor(fpr * 10) = 1 event may pass, the threshold is the 2nd highest score."""
    scores = np.array([3.0, 9.0, 1.0, 7.0, 5.0, 0.5, 2.0, 4.0, 6.0, 8.0])
    assert wp.threshold_at_fpr(scores, 0.1) == (8.0, 1)
    assert wp.threshold_at_fpr(scores, 0.19) == (8.0, 1)
    assert wp.threshold_at_fpr(scores, 0.2) == (7.0, 2)
    with pytest.raises(ValueError, match=r"^FPR 0.09 needs more than 10 background events \(at least 12\)$"):
        wp.threshold_at_fpr(scores, 0.09)


def test_paired_efficiency_when_the_view_selects_nothing():
    """No event selected by the float view: relative difference 0 when the emulator selects none either,
    undefined (None) when it selects some; the statistical error is undefined in both cases."""
    s = np.array([0.1, 0.2, 0.3])
    none = wp.paired_efficiency_difference(s, 1.0, s, 1.0)
    assert (none.eff_rel_diff_emu_vs_view, none.eff_rel_diff_stat) == (0.0, None)
    one = wp.paired_efficiency_difference(s, 0.25, s, 1.0)  # emulator selects 1, view 0
    assert (one.n_selected_emulator, one.eff_rel_diff_emu_vs_view, one.eff_rel_diff_stat) == (1, None, None)
    two = wp.paired_efficiency_difference(s, 0.15, s, 1.0)  # emulator selects 2, view 0
    assert (two.n_selected_emulator, two.eff_rel_diff_emu_vs_view) == (2, None)


def test_roc_points_by_hand():
    """bkg {1, 3}, sig {2, 4}: thresholds 4, 3, 2, 1 give (FPR, TPR) = (0, .5), (.5, .5), (.5, 1), (1, 1)."""
    fpr, tpr = wp.roc_points(np.array([1.0, 3.0]), np.array([2.0, 4.0]), n_points=2)
    pts = set(zip(fpr.tolist(), tpr.tolist()))
    assert {(0.0, 0.5), (0.5, 1.0), (1.0, 1.0)} <= pts and pts <= {(0.0, 0.0), (0.0, 0.5), (0.5, 0.5), (0.5, 1.0), (1.0, 1.0)}
    assert wp.auc(np.array([1.0, 3.0]), np.array([2.0, 4.0])) == 0.75  # 3 of the 4 (sig, bkg) pairs ordered right


def test_decision_agreement_record():
    d = wp.decision_agreement(np.array([0.0, 2.0, 2.0, 0.0]), 1.0, np.array([0.0, 2.0, 0.0, 2.0]), 1.0)
    assert d.to_dict() == {"decision_agreement": 0.5, "n_disagree": 2, "accepted_overlap": 1 / 3}


def test_efficiency_check_lines_of_the_report_name_each_status():
    from analysis.report import _efficiency_check_lines

    def e(rel, stat, only_emu=None):
        return {"working_points": {"w": {"eff_emulator": 0.0, "eff_float_view": 0.0, "eff_float_twin": 0.0,
                                         "eff_rel_diff_emu_vs_view": rel, "eff_rel_diff_stat": stat,
                                         "n_selected_only_emulator": only_emu, "n_selected_only_float_view": 0}}}

    ec = wp.efficiency_check({"A": e(0.05, 0.02), "B": e(-0.2, 0.05), "C": e(0.5, 0.01), "D": e(None, None, 2)}, "w", 0.1)
    line = _efficiency_check_lines(ec)[1]
    assert line.startswith("efficiency check at w (emulator vs float view, relative, limit 10%): FAILED; ")
    assert "A +5.0% +- 2.0% stat, B" in line  # within the limit: no flag
    assert "B -20.0% +- 5.0% stat beyond the limit by 2.0 sigma: not significant (<= 2)" in line
    assert "C +50.0% +- 1.0% stat FAIL" in line
    assert "D undefined (view selects none, emulator 2 events) beyond the limit by 1.4 sigma: not significant" in line
    # with the split of the difference (analysis.working_points.PairedEfficiency) the line names its two parts
    split = e(-0.3, 0.05)
    split["working_points"]["w"].update(eff_rel_diff_from_thresholds=-0.25, eff_rel_diff_from_signal_scores=-0.05)
    line = _efficiency_check_lines(wp.efficiency_check({"E": split}, "w", 0.1))[1]
    assert "E -30.0% +- 5.0% stat [thresholds -25.0%, signal scores -5.0%] FAIL" in line


def test_auc_equals_sklearn_with_ties_and_a_reused_sort():
    """The Mann-Whitney count on the sorted SM scores is sklearn's roc_auc_score (ties counted half)."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(7)
    bkg = np.round(rng.normal(0, 1, 20_000), 1)  # rounded: many ties, within and across the samples
    sig = np.round(rng.normal(0.7, 1.3, 3_000), 1)
    ref = roc_auc_score(np.r_[np.zeros(len(bkg)), np.ones(len(sig))], np.r_[bkg, sig])
    assert wp.auc(bkg, sig) == pytest.approx(ref, abs=1e-12)
    assert wp.auc(bkg, sig, bkg_sorted=np.sort(bkg)) == wp.auc(bkg, sig)
    assert wp.auc(np.array([1.0, 2.0]), np.array([2.0])) == 0.75  # one below, one equal
    with pytest.raises(ValueError, match="AUC needs SM and signal scores"):
        wp.auc(np.array([]), sig)
    # several signals against one SM sample (sorted once): each is sklearn's value, unsorted SM input
    sig2 = np.round(rng.normal(-0.5, 0.8, 2_000), 1)
    ref2 = roc_auc_score(np.r_[np.zeros(len(bkg)), np.ones(len(sig2))], np.r_[bkg, sig2])
    got = wp.aucs(bkg, {"a": sig, "b": sig2})
    assert set(got) == {"a", "b"} and got["a"] == pytest.approx(ref, abs=1e-12) and got["b"] == pytest.approx(ref2, abs=1e-12)
    assert ref2 < 0.5 < ref


def test_roc_points_lie_on_the_exact_curve():
    """Every reduced (FPR, TPR) point is one of the exact curve's; thresholds at log-spaced SM ranks from the top
    (the largest SM score: FPR 0)."""
    rng = np.random.default_rng(8)
    bkg, sig = rng.normal(0, 1, 50_000), rng.normal(1, 1, 5_000)
    f, t = wp.roc_points(np.sort(bkg), sig, n_points=100)
    assert f[0] == 0 and f[1] == 1 / len(bkg) and (f[-1], t[-1]) == (1.0, 1.0) and len(f) <= 101
    assert np.all(np.diff(f) > 0)
    thr = np.sort(bkg)[len(bkg) - 1 - np.rint(f[:-1] * len(bkg)).astype(int)]
    assert np.array_equal(t[:-1], [np.mean(sig > x) for x in thr])
    assert np.array_equal(f[:-1], [np.mean(bkg > x) for x in thr])


def test_jet_and_calorimeter_rate_plans_by_value():
    """The new families' plans, written out by hand: names, FPRs, stream, input rate, defaults, checked point."""
    jet = wp.jet_rate_plan((400.0,))
    assert jet == wp.RatePlan("L1 jets (one jet per 40 MHz bunch crossing)", 40e6,
                              (wp.WorkingPointSpec("mistag_1pct", 0.01), wp.WorkingPointSpec("mistag_10pct", 0.1),
                               wp.WorkingPointSpec("mistag_0.1pct", 0.001), wp.WorkingPointSpec("rate_400Hz", 1e-5)),
                              3, {}, efficiency_check_wp="mistag_1pct")
    calo = wp.calo_rate_plan((4e5,))
    assert calo == wp.RatePlan("L1 calorimeter regions (40 MHz bunch crossings)", 40e6,
                               (wp.WorkingPointSpec("l1_1kHz", 2.5e-5), wp.WorkingPointSpec("l1_10kHz", 2.5e-4),
                                wp.WorkingPointSpec("rate_400000Hz", 0.01)), 2, {}, efficiency_check_wp="l1_1kHz")
    assert wp.jet_rate_plan() == wp.RatePlan(jet.stream, 40e6, jet.working_points[:3], 3, {}, "mistag_1pct")
    assert wp.calo_rate_plan().working_points == calo.working_points[:2]
    for plan in (wp.jet_rate_plan, wp.calo_rate_plan):
        for bad in (0.0, 40e6):
            with pytest.raises(ValueError, match=r"--rate .* Hz must be in \(0, 4e\+07\) Hz, the L1 input rate"):
                plan((bad,))


def test_roc_points_default_density_and_ties_at_a_threshold():
    """400 log-spaced ranks by default; a signal score equal to a threshold is not selected (score > threshold)."""
    rng = np.random.default_rng(9)
    f, _ = wp.roc_points(np.sort(rng.normal(0, 1, 100_000)), rng.normal(1, 1, 1000))
    assert 300 < len(f) <= 401
    bkg = np.array([1.0, 2.0, 3.0, 4.0])
    f, t = wp.roc_points(bkg, np.array([2.0, 3.0, 5.0]), n_points=4)
    # ranks k = 1, 2, 4 (logspace(0, log10 4, 4) truncated, repeats dropped): thresholds 4, 3, 1; signal strictly
    # above each = {5}, {5} (the 3 equal to the threshold is not selected), {2, 3, 5}
    assert f.tolist() == [0.0, 0.25, 0.75, 1.0] and t.tolist() == [1 / 3, 1 / 3, 1.0, 1.0]


def test_efficiency_check_excess_z_is_none_within_the_limit_and_when_unbounded():
    e = {"eff_emulator": 0.0, "eff_float_view": 0.0, "eff_float_twin": 0.0}
    ec = wp.efficiency_check({"in": {"working_points": {"w": {**e, "eff_rel_diff_emu_vs_view": 0.05, "eff_rel_diff_stat": 0.1}}},
                              "none": {"working_points": {"w": {**e, "eff_rel_diff_emu_vs_view": None}}}}, "w", 0.1)
    assert ec["signals"]["in"]["excess_z"] is None and ec["signals"]["in"]["status"] == "within_limit"
    assert ec["signals"]["none"]["excess_z"] is None and ec["signals"]["none"]["status"] == "failed"


def test_threshold_at_fpr_refuses_an_fpr_that_keeps_every_event():
    s = np.arange(10.0)
    assert wp.threshold_at_fpr(s, 0.9) == (0.0, 9)  # 9 allowed: the lowest score, 9 above it
    for fpr in (1.0, 1.5):
        with pytest.raises(ValueError, match=r"^FPR 1(\.5)? keeps all 10 background events: no threshold below"):
            wp.threshold_at_fpr(s, fpr)
