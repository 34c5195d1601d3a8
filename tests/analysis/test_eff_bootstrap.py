"""The emulator-vs-float-view efficiency difference's bootstrap uncertainty includes the thresholds' fluctuation."""

import numpy as np
import pytest

from analysis import working_points as wp
from analysis.eff_bootstrap import _threshold, rel_diff_bootstrap


def test_unit_weights_give_the_threshold_at_fpr():
    s = np.random.default_rng(0).normal(size=5000)
    t, _ = wp.threshold_at_fpr(s, 2e-3)
    d = np.sort(s)[::-1]
    assert _threshold(d, np.ones_like(d), int(2e-3 * 5000)) == t


def test_threshold_fluctuation_dominates_when_few_sm_events_lie_above():
    rng = np.random.default_rng(1)
    bkg = rng.exponential(size=200_000)
    sig = rng.exponential(size=20_000) + 8.0  # signal on the SM tail, where only 10 SM events set the threshold
    emu_b, emu_s = np.round(bkg * 64) / 64, np.round(sig * 64) / 64  # a quantized copy of the same score
    fpr = 10.5 / len(bkg)
    boot = rel_diff_bootstrap(emu_b, bkg, {"s": emu_s}, {"s": sig}, fpr, n_boot=200, seed=3)
    t_e, t_v = wp.threshold_at_fpr(emu_b, fpr)[0], wp.threshold_at_fpr(bkg, fpr)[0]
    paired = wp.paired_efficiency_difference(emu_s, t_e, sig, t_v)
    b = boot["signals"]["s"]
    assert boot["n_background_above"] == 10 and b["fraction_undefined"] == 0.0
    # the signal-only (McNemar) uncertainty misses the thresholds' fluctuation
    assert b["std"] > 3 * paired.eff_rel_diff_stat and b["p16"] < b["p84"]


def test_identical_scores_have_no_spread_and_bad_input_is_refused():
    rng = np.random.default_rng(2)
    bkg, sig = rng.normal(size=50_000), rng.normal(2.0, 1.0, size=5000)
    b = rel_diff_bootstrap(bkg, bkg, {"s": sig}, {"s": sig}, 1e-3, n_boot=50)["signals"]["s"]
    assert b["std"] == 0.0 and b["p16"] == b["p84"] == 0.0
    with pytest.raises(ValueError, match="same SM events"):
        rel_diff_bootstrap(bkg, bkg[:-1], {"s": sig}, {"s": sig}, 1e-3)
    with pytest.raises(ValueError, match="needs more than"):
        rel_diff_bootstrap(bkg, bkg, {"s": sig}, {"s": sig}, 1e-6)
