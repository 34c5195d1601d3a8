"""Rendering of the generator's generated-vs-published section (analysis/validation_report.py)."""

import numpy as np

from analysis.validation_report import validation_lines
from data import validation as v
from data.l1_validation import l1_view_section


def test_hlt_table_lines():
    counts = {k: v.Counts(10_000, 5_000, 3_500) for k in v.PUBLISHED}
    sec = {**v.validation_table(counts), "n_per_process": 10_000, "seed": 1}
    lines = validation_lines(sec)
    text = "\n".join(lines)
    assert "synthetic" in text and "Cerri et al. 2019" in text
    row = next(ln for ln in lines if ln.startswith("| W | acceptance |"))
    assert "0.5 +- 0.005" in row and "0.556" in row and "-10.1%" in row and "within_25pct" in row
    assert "| QCD | acceptance |" in text and "not_modelled" in text
    assert validation_lines(None) == []


def test_l1_section_and_lines():
    x = np.zeros((4, 57), np.float32)
    x[:, 0] = 30.0  # MET
    x[0, 3] = 25.0  # one e/gamma above 23 GeV
    x[1, 15] = 10.0  # one muon below it
    x[:, 27] = 40.0  # one jet each
    sec = l1_view_section(x, {"sig": x[:2]})
    bkg = sec["samples"]["background"]
    assert bkg["mean_n_egamma"] == 0.25 and bkg["mean_n_muon"] == 0.25 and bkg["mean_n_jet"] == 1.0
    assert bkg["frac_lepton_above_trigger_pt"] == 0.25 and bkg["published"] is None
    text = "\n".join(validation_lines(sec))
    assert "none used" in text and "synthetic" in text and "| sig | 2 |" in text
