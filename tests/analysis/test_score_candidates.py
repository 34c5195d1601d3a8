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
