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
