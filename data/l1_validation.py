"""The L1 view (:mod:`data.l1`) measured where published figures could be compared (pure numpy).

Measured per sample (SM test background and each signal): mean number of e/gamma, muon and jet rows filled, the
fraction of events whose L1 view still shows an e/gamma or muon above the stream's 23 GeV lepton threshold (after
the extra L1 smearing), and the mean L1 MET; with the L1 thresholds and acceptances the view applies.

Published figures: none are used.  The ADC2021 data paper (Govorkova et al. 2022, Sci. Data 9, 118) gives the
public dataset's object content and stream filter, but its text was not available to this toolkit and its
numbers are not quoted from memory, so every ``published`` entry is null and the section says so.  The events are
synthetic (see :data:`data.validation.SYNTHETIC_NOTE`).
"""

from __future__ import annotations

import numpy as np

from .generator import GENERATOR_VERSION, TRIGGER_PT
from .l1 import ABS_ETA_MAX, L1_GENERATOR_VERSION, PT_COLUMNS, PT_MIN, ROWS
from .validation import SYNTHETIC_NOTE

PUBLISHED_SOURCE = ("none used: the ADC2021 data paper (Govorkova et al. 2022, Sci. Data 9, 118) was not available "
                    "to this toolkit and its figures are not quoted from memory")


def l1_sample_figures(x: np.ndarray) -> dict:
    """Multiplicities and lepton-threshold fraction of one (N, 57) L1 sample."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 3 * 19:
        raise ValueError(f"expected (N, 57) L1 features, got shape {x.shape}")
    pt = x[:, PT_COLUMNS]
    n = {k: (pt[:, sl] > 0).sum(1) for k, sl in ROWS.items() if k != "MET"}
    lep = np.concatenate([pt[:, ROWS["e"]], pt[:, ROWS["mu"]]], axis=1)
    return {"n_events": int(len(x)),
            "mean_n_egamma": float(n["e"].mean()), "mean_n_muon": float(n["mu"].mean()),
            "mean_n_jet": float(n["j"].mean()),
            "frac_lepton_above_trigger_pt": float((lep > TRIGGER_PT).any(1).mean()),
            "mean_met_gev": float(pt[:, 0].mean()), "published": None}


def l1_view_section(x_bkg: np.ndarray, x_signals: dict[str, np.ndarray]) -> dict:
    """The L1 part of the "generated vs published" section (no published figures: see the module docstring)."""
    return {"kind": "l1_view", "note": SYNTHETIC_NOTE, "generator_version": L1_GENERATOR_VERSION,
            "hlt_generator_version": GENERATOR_VERSION, "source_published": PUBLISHED_SOURCE,
            "thresholds": {"pt_min_gev": dict(PT_MIN), "abs_eta_max": dict(ABS_ETA_MAX),
                           "stream_lepton_pt_gev": TRIGGER_PT},
            "samples": {"background": l1_sample_figures(x_bkg),
                        **{k: l1_sample_figures(v) for k, v in x_signals.items()}}}
