"""Plain-text / markdown rendering of the generator's "generated vs published" section
(:func:`data.validation.validation_table`) and the statement that the events are synthetic.  No TensorFlow."""

from __future__ import annotations

from .markdown import table


def _num(v) -> str:
    if v is None:
        return "n/a"
    return f"{v:.4g}" if abs(v) < 1e4 else f"{v:.3g}"


def validation_lines(section: dict | None) -> list[str]:
    """The table (one row per process and quantity) with its sources; [] when there is no section."""
    if not section:
        return []
    if section.get("kind") == "l1_view":
        return _l1_lines(section)
    lines = ["", f"Generated vs published (generated: {section['generator_version']}, "
                 f"{section['n_per_process']} events per process before any selection, seed {section['seed']}; "
                 f"published: {section['source_published']}; L = {section['lumi_per_month_fb']:g} fb^-1 per month). "
                 + section["note"], ""]
    rows = []
    for proc, d in section["processes"].items():
        for f in d["figures"]:
            gen = _num(f["generated"]) + ("" if f["uncertainty"] is None else f" +- {f['uncertainty']:.2g}")
            rel = "n/a" if f["rel_diff"] is None else f"{f['rel_diff']:+.1%}"
            rows.append([proc, f["quantity"], gen, _num(f["published"]), rel, f["status"]])
    lines += table(["process", "quantity", "generated +- stat", "published", "rel. diff", "status"], rows)
    notes = {(p, f["quantity"]): f["note"] for p, d in section["processes"].items() for f in d["figures"] if f["note"]}
    if notes:
        lines += ["", f"Figures off by more than {section['max_rel_diff']:.0%} or not modelled, and why:"]
        lines += [f"- {p} {q}: {n}" for (p, q), n in notes.items()]
    return lines


def _l1_lines(section: dict) -> list[str]:
    th = section["thresholds"]
    lines = ["", f"L1 view (generated: {section['generator_version']}; published: {section['source_published']}). "
                 + section["note"],
             f"L1 thresholds applied: pT > {th['pt_min_gev']} GeV, |eta| < {th['abs_eta_max']}; stream lepton "
             f"threshold {th['stream_lepton_pt_gev']:g} GeV.", ""]
    rows = [[k, d["n_events"], f"{d['mean_n_egamma']:.3f}", f"{d['mean_n_muon']:.3f}", f"{d['mean_n_jet']:.3f}",
             f"{d['frac_lepton_above_trigger_pt']:.4f}", f"{d['mean_met_gev']:.1f}", "n/a"]
            for k, d in section["samples"].items()]
    return lines + table(["sample", "events", "<n e/gamma>", "<n mu>", "<n jets>", "frac e/mu > 23 GeV at L1",
                          "<MET> [GeV]", "published"], rows)
