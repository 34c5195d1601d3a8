"""The side-by-side reference table of a trigger build (numpy / scipy; no TensorFlow): per signal and working
point, the efficiency with its binomial uncertainty and the two cross-sections for the float twin, the float view,
the emulator, the supervised DNN (:mod:`models.supervised`) and the published value.

Every source is treated alike: its own threshold on its own SM test scores (:func:`analysis.working_points.
threshold_at_fpr`, the machinery of the physics section), the fraction of the signal's test events above it,
eff +- sqrt(eff (1 - eff) / n) (binomial; n = signal test events, the threshold's own fluctuation not included;
also the exact 68 % Clopper-Pearson interval, which stays meaningful when no event is selected),
and the cross-sections of :func:`analysis.working_points.xsec_table_entries` (100 events per month, S/B = 1/3),
whose relative uncertainty is the efficiency's.  Published values exist at ~30 SM events/day only.
"""

from __future__ import annotations

import math

import numpy as np

from . import working_points as wp
from .markdown import table

SOURCES = ("float_twin", "float_view", "emulator", "supervised")
SOURCE_LABELS = {
    "float_twin": "float twin (separately trained float VAE, Keras)",
    "float_view": "float view (the quantized VAE's weights, quantizers off)",
    "emulator": "emulator (bit-exact firmware arithmetic)",
    "supervised": "supervised DNN per signal (float, truth labels, independent training events)",
    "published": "published VAE (Cerri et al., JHEP 05 (2019) 036), at ~30 SM events/day",
}
PUBLISHED_WP = "30_per_day"


def clopper_pearson(k: int, n: int, cl: float = 0.6827) -> list[float]:
    """Exact (Clopper-Pearson) central interval of a binomial efficiency k / n: meaningful also when k = 0."""
    from scipy.stats import beta

    a = (1.0 - cl) / 2.0
    lo = 0.0 if k == 0 else float(beta.ppf(a, k, n - k + 1))
    hi = 1.0 if k == n else float(beta.ppf(1.0 - a, k + 1, n - k))
    return [lo, hi]


def source_entry(bkg: np.ndarray, sig: np.ndarray, fpr: float, sm_month: float, acceptance: float | None) -> dict:
    """One source at one working point: threshold, efficiency +- binomial error, cross-sections +- error."""
    t, n_above = wp.threshold_at_fpr(bkg, fpr)
    n = len(sig)
    if n == 0:
        raise ValueError("a signal test sample is empty: no efficiency to measure")
    k = int(np.count_nonzero(np.asarray(sig) > t))
    eff = k / n
    err = math.sqrt(eff * (1.0 - eff) / n)
    out = {"threshold": t, "n_background_above": n_above, "n_signal": n, "n_selected": k, "eff": eff, "eff_err": err,
           "eff_interval_68": clopper_pearson(k, n)}
    xs = wp.xsec_table_entries(fpr, sm_month, acceptance, eff) if acceptance is not None else {
        "xsec_100_per_month_pb": None, "xsec_sb_one_third_pb": None}
    for key, v in xs.items():
        out[key] = v
        out[f"{key}_err"] = v * err / eff if v is not None and eff > 0 else None
    return out


def reference_table(wps, scores: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]], sm_month: float,
                    acceptances: dict, published: dict) -> dict:
    """``scores[signal][source]`` = (SM test scores, signal test scores) of that source; ``published[signal]`` =
    {eff_30_per_day, xsec_100_per_month_pb, xsec_sb_one_third_pb} (or absent).  Returns the report section."""
    out = {"working_points": [{"name": w.name, "fpr": w.fpr} for w in wps], "sources": {}, "signals": {},
           "uncertainty": "binomial sqrt(eff (1 - eff) / n_signal) (eff_interval_68: exact Clopper-Pearson 68 % "
                          "interval); cross-section errors scale with the binomial one",
           "published_working_point": PUBLISHED_WP}
    for s, by_src in scores.items():
        srcs = [k for k in SOURCES if k in by_src]
        out["sources"].update({k: SOURCE_LABELS[k] for k in srcs})
        d = {}
        for w in wps:
            d[w.name] = {k: source_entry(*by_src[k], w.fpr, sm_month, acceptances.get(s)) for k in srcs}
            pub = published.get(s)
            if pub and w.name == PUBLISHED_WP:
                d[w.name]["published"] = {"eff": pub["eff_30_per_day"], "eff_err": None,
                                          "xsec_100_per_month_pb": pub["xsec_100_per_month_pb"],
                                          "xsec_sb_one_third_pb": pub["xsec_sb_one_third_pb"]}
                out["sources"]["published"] = SOURCE_LABELS["published"]
        out["signals"][s] = d
    return out


def _pm(v, e, nd=3):
    if v is None:
        return "n/a"
    return f"{v:.{nd}g}" if e is None else f"{v:.{nd}g} +- {e:.2g}"


def reference_md(section: dict) -> list[str]:
    """One markdown table per working point: rows (signal, source), the efficiency and the cross-sections."""
    lines = ["## References side by side: efficiency and cross-sections per source", "",
             "Sources: " + "; ".join(f"*{k}* = {v}" for k, v in section["sources"].items()) + ". Uncertainties: "
             + section["uncertainty"] + ".", ""]
    for w in section["working_points"]:
        rows = []
        for s, d in section["signals"].items():
            for k, e in d[w["name"]].items():
                rows.append([s, k, _pm(e["eff"], e["eff_err"]), e.get("n_selected", "n/a"),
                             _pm(e["xsec_100_per_month_pb"], e.get("xsec_100_per_month_pb_err")),
                             _pm(e["xsec_sb_one_third_pb"], e.get("xsec_sb_one_third_pb_err"))])
        lines += [f"Working point {w['name']} (FPR {w['fpr']:.3g})", "",
                  *table(["signal", "source", "efficiency", "n selected", "xsec 100/month [pb]", "xsec S/B=1/3 [pb]"],
                         rows), ""]
    return lines


__all__ = ["reference_table", "reference_md", "source_entry", "clopper_pearson", "SOURCES", "SOURCE_LABELS", "PUBLISHED_WP"]
