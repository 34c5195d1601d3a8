"""The side-by-side reference table (analysis/references.py) on a tiny synthetic example whose answers are known
in closed form, and its wiring into the vae21 report schema."""

import math

import numpy as np
import pytest

from analysis.references import clopper_pearson, reference_md, reference_table
from analysis.working_points import LUMI_PER_MONTH_PB, WorkingPointSpec

WPS = [WorkingPointSpec("fpr_0.1", 0.1), WorkingPointSpec("30_per_day", 0.01)]
SM_MONTH = 1e6
ACC = {"sigA": 0.1}
PUB = {"sigA": {"eff_30_per_day": 2e-3, "xsec_100_per_month_pb": 7.0, "xsec_sb_one_third_pb": 25.0}}


def _scores():
    rng = np.random.default_rng(5)
    bkg = rng.permutation(np.arange(1000.0))  # 0..999: at FPR 0.01 the threshold is 989 (10 events above)
    # 200 signal events: 50 above 989, 30 in (899, 989], 120 below 899 -> eff 0.25 at FPR 0.01, 0.4 at FPR 0.1
    sig = rng.permutation(np.r_[np.full(50, 995.0), np.full(30, 950.0), np.full(120, 10.0)])
    bkg2 = bkg + 1000.0  # shifted background: with ``sig + 1000`` same ranks; with ``sig`` nothing selected
    return {"sigA": {"emulator": (bkg, sig), "float_view": (bkg2, sig + 1000.0), "supervised": (bkg2, sig)}}


def test_table_numbers_known_in_closed_form():
    t = reference_table(WPS, _scores(), SM_MONTH, ACC, PUB)
    e = t["signals"]["sigA"]["30_per_day"]["emulator"]
    assert e["threshold"] == 989.0 and e["n_background_above"] == 10
    assert e["n_selected"] == 50 and e["eff"] == 0.25
    assert e["eff_err"] == pytest.approx(math.sqrt(0.25 * 0.75 / 200))
    # 100 events / (acceptance x eff x 5 fb^-1);  S/B = 1/3: (FPR x SM events per month) / 3 signal events
    assert e["xsec_100_per_month_pb"] == pytest.approx(100 / (0.1 * 0.25 * LUMI_PER_MONTH_PB))
    assert e["xsec_sb_one_third_pb"] == pytest.approx(0.01 * SM_MONTH / 3 / (0.1 * 0.25 * LUMI_PER_MONTH_PB))
    assert e["xsec_100_per_month_pb_err"] == pytest.approx(e["xsec_100_per_month_pb"] * e["eff_err"] / 0.25)
    lo, hi = e["eff_interval_68"]
    assert lo < 0.25 < hi and hi - lo == pytest.approx(2 * e["eff_err"], rel=0.1)
    assert t["signals"]["sigA"]["fpr_0.1"]["emulator"]["eff"] == 0.4  # threshold 899: 50 + 30 of 200
    # each source at its own threshold: shifted scores, same ranks -> same efficiencies
    assert t["signals"]["sigA"]["30_per_day"]["float_view"]["eff"] == 0.25
    # a source whose signal scores are all below its background: nothing selected, no cross-section
    s = t["signals"]["sigA"]["30_per_day"]["supervised"]
    assert s["n_selected"] == 0 and s["eff"] == 0 and s["xsec_100_per_month_pb"] is None
    assert s["eff_interval_68"][0] == 0 and s["eff_interval_68"][1] == pytest.approx(1 - 0.158655 ** (1 / 200), rel=1e-4)
    # the published value only at ~30 SM events/day
    assert t["signals"]["sigA"]["30_per_day"]["published"]["eff"] == 2e-3
    assert "published" not in t["signals"]["sigA"]["fpr_0.1"]
    md = "\n".join(reference_md(t))
    assert "| sigA | emulator | 0.25 +- 0.031 | 50 |" in md and "| sigA | published | 0.002 | n/a |" in md


def test_clopper_pearson_closed_forms():
    a = (1 - 0.6827) / 2
    assert clopper_pearson(0, 10) == pytest.approx([0.0, 1 - a ** (1 / 10)])
    assert clopper_pearson(10, 10) == pytest.approx([a ** (1 / 10), 1.0])


def test_empty_signal_sample_is_refused():
    with pytest.raises(ValueError, match="empty"):
        reference_table(WPS, {"sigA": {"emulator": (np.arange(1000.0), np.array([]))}}, SM_MONTH, ACC, {})


def test_vae21_runs_the_references_step_and_the_schema_types_it():
    from flow.report import validate_report
    from models.registry import TRIGGER_STEPS, ReportKind, get_family

    steps = get_family("vae21").steps
    assert steps.index("references") == steps.index("physics") + 1 and "references" not in TRIGGER_STEPS
    with pytest.raises(ValueError, match="references: expected"):
        validate_report({"references": [1]}, ReportKind.TRIGGER)


def test_published_values_kept_once_with_the_signals():
    from data.generator import BSM_SIGNALS

    assert {s: d["published"]["eff_30_per_day"] for s, d in BSM_SIGNALS.items()} == {
        "A_4l": 2.8e-3, "LQ_btau": 6.5e-4, "h0_tautau": 3.6e-4, "hpm_taunu": 1.2e-3}


def test_source_entry_edges_by_hand():
    """10 SM events 1..10 at FPR 0.2: threshold 8 (2 above).  Signal events *at* the threshold are not selected;
    without an acceptance there is no cross-section and no cross-section error."""
    from analysis.references import source_entry

    bkg = np.arange(1.0, 11.0)
    e = source_entry(bkg, np.array([8.0, 8.0, 9.0, 3.0]), 0.2, SM_MONTH, None)
    assert (e["threshold"], e["n_background_above"], e["n_signal"], e["n_selected"], e["eff"]) == (8.0, 2, 4, 1, 0.25)
    assert e["eff_err"] == pytest.approx(math.sqrt(0.25 * 0.75 / 4))
    for k in ("xsec_100_per_month_pb", "xsec_sb_one_third_pb", "xsec_100_per_month_pb_err", "xsec_sb_one_third_pb_err"):
        assert k in e and e[k] is None
    with pytest.raises(ValueError, match=r"^a signal test sample is empty: no efficiency to measure$"):
        source_entry(bkg, np.array([]), 0.2, SM_MONTH, 0.1)


def test_reference_table_labels_and_published_source():
    from analysis.references import SOURCE_LABELS

    t = reference_table(WPS, _scores(), SM_MONTH, ACC, PUB)
    assert t["published_working_point"] == "30_per_day"
    assert t["uncertainty"] == ("binomial sqrt(eff (1 - eff) / n_signal) (eff_interval_68: exact Clopper-Pearson 68 % "
                                "interval); cross-section errors scale with the binomial one")
    assert t["sources"] == {k: SOURCE_LABELS[k] for k in ("float_view", "emulator", "supervised", "published")}
    assert "published" not in reference_table(WPS, _scores(), SM_MONTH, ACC, {})["sources"]
