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
