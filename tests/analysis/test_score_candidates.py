"""The report lines of vae21's score candidates: the side-by-side table against the published efficiencies."""

from analysis.score_candidates import PUBLISHED_EFF_30_PER_DAY, candidate_lines, side_by_side


def _report():
    wp = {"eff_float_twin": 1e-3, "eff_float_view": 8e-4, "eff_emulator": 2e-3}
    return {"data": {"n_test_signal": {"A_4l": 10000, "LQ_btau": 10000}},
            "signals": {"A_4l": {"working_points": {"30_per_day": wp}},
                        "LQ_btau": {"working_points": {"30_per_day": {**wp, "eff_emulator": 0.0}}}}}


def test_side_by_side_ratio_and_binomial_uncertainty():
    lines = side_by_side(_report())
    a4l = next(l for l in lines if l.startswith("| A_4l"))
    # 2e-3 / 2.8e-3 = 0.71 within a factor 3; sqrt(2e-3 * (1 - 2e-3) / 1e4) = 4.5e-4
    assert "2.00e-03 +- 4.5e-04" in a4l and f"{2e-3 / PUBLISHED_EFF_30_PER_DAY['A_4l']:.2f}" in a4l
    assert a4l.rstrip(" |").endswith("yes")
    lq = next(l for l in lines if l.startswith("| LQ_btau"))
    assert "| 0.00 | no |" in lq


def test_no_table_without_the_main_working_point():
    r = _report()
    for d in r["signals"].values():
        d["working_points"] = {"fpr_0.001": d["working_points"]["30_per_day"]}
    assert side_by_side(r) == [] and candidate_lines(r) == []


def test_candidate_lines_name_the_events_used():
    r = _report()
    r["data"]["n_test_background"] = 2_000_000
    e = {"eff_emulator": 2e-3, "eff_emulator_binomial": 4e-4, "eff_float_view": 8e-4, "eff_float_view_binomial": 3e-4,
         "eff_float_twin": 1e-3, "eff_float_twin_binomial": 3e-4}
    sig = {"auc_float_twin": 0.9, "auc_float_view": 0.91, "auc_emulator": 0.92, "working_points": {"30_per_day": e}}
    val = {"n_background": 300000, "n_signal_each": 10000, "source": "fast emulator", "fpr_used": 6.7e-5,
           "seed_stream": [42, 271828], "candidates": {"reco": {"mean_efficiency": 0.12}, "mu2": {"mean_efficiency": 0.01}}}
    r["score_candidates"] = {
        "chosen": "reco", "selection": {"how": "best mean signal efficiency on the validation split", "validation": val},
        "candidates": {"reco": {"signals": {"A_4l": sig}, "emulator_vs_keras_float64_mismatched": 0,
                                "working_points": {"30_per_day": {"headroom_lsb": 7, "saturated": False,
                                                                  "decision_accepted_overlap": 0.99}}}}}
    text = "\n".join(candidate_lines(r))
    assert "test sample, 2000000 SM, A_4l 10000, LQ_btau 10000 events" in text
    assert "validation split (300000 SM, 10000 per signal, generated with its own random stream [42, 271828]" in text
    assert "reco mean eff 0.12, mu2 mean eff 0.01" in text and "| reco | A_4l | 30_per_day |" in text


def test_side_by_side_whole_table_by_hand():
    """Every line of the table, written out: binomial uncertainties sqrt(e (1 - e) / n) by hand, ratios to the
    published values, the factor-3 band's edges (1/3 and 3 are inside), a signal without a published value and a
    missing efficiency."""
    pub = PUBLISHED_EFF_30_PER_DAY
    assert pub == {"A_4l": 2.8e-3, "LQ_btau": 6.5e-4, "h0_tautau": 3.6e-4, "hpm_taunu": 1.2e-3}
    n = {"A_4l": 100, "LQ_btau": 400, "h0_tautau": 10000, "hpm_taunu": 10000, "other": 100}
    wps = {"A_4l": {"eff_float_twin": 0.5, "eff_float_view": 0.2, "eff_emulator": 3 * 2.8e-3},
           "LQ_btau": {"eff_float_twin": 0.1, "eff_float_view": None, "eff_emulator": 6.5e-4 / 3},
           "h0_tautau": {"eff_float_twin": 1e-4, "eff_float_view": 1e-4, "eff_emulator": 3.61e-4 * 3.01},
           "hpm_taunu": {"eff_float_twin": 1e-4, "eff_float_view": 1e-4, "eff_emulator": 1.2e-3 / 3.02},
           "other": {"eff_float_twin": 0.9, "eff_float_view": 0.9, "eff_emulator": 0.9}}
    report = {"data": {"n_test_signal": n}, "signals": {s: {"working_points": {"30_per_day": e}} for s, e in wps.items()}}
    assert side_by_side(report) == [
        "",
        "deployed score at 30_per_day (this build) vs the published values (Cerri et al. 2019, issue 15)",
        "| signal | eff float twin | eff float view | eff emulator | published | emu / published | within x3 |",
        "|---|---|---|---|---|---|---|",
        # sqrt(0.25 / 100) = 5.0e-02, sqrt(0.16 / 100) = 4.0e-02, sqrt(8.4e-3 * 0.9916 / 100) = 9.1e-03
        "| A_4l | 5.00e-01 +- 5.0e-02 | 2.00e-01 +- 4.0e-02 | 8.40e-03 +- 9.1e-03 | 2.8e-03 | 3.00 | yes |",
        # sqrt(0.09 / 400) = 1.5e-02; 2.1667e-4 (1 - 2.1667e-4) / 400 -> 7.4e-04
        "| LQ_btau | 1.00e-01 +- 1.5e-02 | - | 2.17e-04 +- 7.4e-04 | 6.5e-04 | 0.33 | yes |",
        # 1.0866e-3 / 3.6e-4 = 3.018 > 3
        "| h0_tautau | 1.00e-04 +- 1.0e-04 | 1.00e-04 +- 1.0e-04 | 1.09e-03 +- 3.3e-04 | 3.6e-04 | 3.02 | no |",
        # 3.9735e-4 / 1.2e-3 = 0.331 < 1/3
        "| hpm_taunu | 1.00e-04 +- 1.0e-04 | 1.00e-04 +- 1.0e-04 | 3.97e-04 +- 2.0e-04 | 1.2e-03 | 0.33 | no |",
        "| other | 9.00e-01 +- 3.0e-02 | 9.00e-01 +- 3.0e-02 | 9.00e-01 +- 3.0e-02 | - | - | - |",
    ]
