"""Physics section of the report, ``report.md`` and plots.  Every figure names its source:

- ``emulator``: the hls4ml C-simulation of the firmware (bit-accurate);
- ``float_view``: the quantized model's trained weights with every quantizer off (Keras, float32);
- ``float_twin``: the separately trained float32 model (Keras), the physics reference.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import working_points as wp
from .budgets import SOURCE_LABELS, latency_resources_md
from .import_report import import_summary
from .validation_report import validation_lines
from .markdown import checks_line, code_section, fmt as _fmt, fmt_rate as _fmt_rate, project_line, saturation_section, table

SOURCES = ("float_twin", "float_view", "emulator")


def physics_section(wps, s_emu, s_fview, s_twin, offline, sm_month, acceptances) -> dict:
    bkg_sets = {"emulator": s_emu, "float_view": s_fview, "float_twin": s_twin}
    bkg_sets = {k: v for k, v in bkg_sets.items() if v is not None}
    signals = [k for k in s_emu if k != "background"]
    rate = wp.stream_rate_hz(sm_month)
    out_wps = []
    thr = {}
    for w in wps:
        entry = {"name": w.name, "fpr": w.fpr, "background_rate_hz": w.fpr * rate,
                 "n_test_background": len(s_emu["background"])}
        for src, sc in bkg_sets.items():
            t, n_above = wp.threshold_at_fpr(sc["background"], w.fpr)
            thr[(w.name, src)] = t
            entry[f"threshold_{src}"] = t
            entry[f"n_background_above_{src}"] = n_above
        entry["threshold"] = entry["threshold_emulator"]
        entry["n_background_above"] = entry["n_background_above_emulator"]
        if "float_view" in bkg_sets:
            a = np.concatenate([s_emu[k] for k in s_emu])
            b = np.concatenate([s_fview[k] for k in s_emu])
            da = wp.decision_agreement(a, thr[(w.name, "emulator")], b, thr[(w.name, "float_view")])
            entry["decision_agreement"] = da.decision_agreement
            entry["decision_n_disagree"] = da.n_disagree
            entry["decision_accepted_overlap"] = da.accepted_overlap
        else:
            entry["decision_agreement"] = None
        out_wps.append(entry)
    sig_out = {}
    aucs = {src: wp.aucs(sc["background"], {s: sc[s] for s in signals}) for src, sc in bkg_sets.items()}
    for s in signals:
        d = {f"auc_{src}": a[s] for src, a in aucs.items()}
        for src in SOURCES:
            d.setdefault(f"auc_{src}", None)
        acc = acceptances.get(s)
        d["acceptance_x_trigger_eff"] = acc
        d["working_points"] = {}
        for w in wps:
            e = {}
            for src in SOURCES:
                e[f"eff_{src}"] = wp.efficiency(bkg_sets[src][s], thr[(w.name, src)]) if src in bkg_sets else None
            if "float_view" in bkg_sets:
                e.update(wp.paired_efficiency_difference(
                    bkg_sets["emulator"][s], thr[(w.name, "emulator")],
                    bkg_sets["float_view"][s], thr[(w.name, "float_view")]).to_dict())
            if acc is not None:
                e.update(wp.xsec_table_entries(w.fpr, sm_month, acc, e["eff_emulator"]))
            else:
                e.update(xsec_100_per_month_pb=None, xsec_sb_one_third_pb=None)
            d["working_points"][w.name] = e
        sig_out[s] = d
    res = {"working_points": out_wps, "signals": sig_out}
    if offline:
        res["offline"] = {
            "source": "float_twin full VAE (Keras)",
            "auc": _offline_aucs(offline, signals),
        }
    return res


def summary_table(report: dict) -> str:
    """Plain-text summary (also the first table of report.md)."""
    if "import" in report:  # imported legacy model: agreement sections, no working points
        return import_summary(report)
    wps = report["working_points"]
    lines = _agreement_lines(report) + _hardware_lines(report)
    fv = report["agreement"].get("emulator_vs_float_view")
    if fv:
        lines.append(f"emulator vs float view: Pearson {fv['score_pearson']:.4f}, Spearman {fv['score_spearman']:.4f}")
    for w in wps:
        lines.append(
            f"working point {w['name']}: FPR {w['fpr']:.3g} ({_fmt_rate(w['background_rate_hz'])}), emulator threshold "
            f"{w['threshold']:.6g}, {w['n_background_above']} of {w['n_test_background']} SM test events above; "
            f"decision agreement emulator/float view {_fmt(w.get('decision_agreement'), 6)}"
        )
    hdr = ["signal", "AUC twin", "AUC view", "AUC emu"]
    for w in wps:
        hdr += [f"eff {w['name']} twin / view / emu", "xsec100 [pb]", "xsec S/B=1/3 [pb]"]
    lines.append("")
    lines += table(hdr, (_signal_row(s, d, wps) for s, d in report["signals"].items()))
    lines += _efficiency_check_lines(report.get("efficiency_check"))
    lines += validation_lines(report.get("generator_validation"))
    from analysis.score_candidates import candidate_lines

    lines += candidate_lines(report)
    return "\n".join(lines)


def _agreement_lines(report: dict) -> list[str]:
    a = report["agreement"]["emulator_vs_keras"]
    lines = [
        f"emulator ({report['emulator']['name']}) vs quantized Keras ({a.get('keras_dtype', 'float32')}"
        + (f", {a['keras_runner']}" if a.get("keras_runner") else "") + ", every event): "
        f"{a['n_mismatched']} mismatched / {a['n_events']} events, "
        f"max |diff| = {a['max_abs_diff']:.3g}" + (f" ({a['max_diff_lsb']:.3g} LSB)" if a.get("max_diff_lsb") is not None else "")
        + (f", {a['n_differ_any'] - a['n_mismatched']} events differ by float32 rounding only"
           if a.get("keras_dtype", "float32") == "float32" else "")
    ]
    c = report["agreement"].get("emulator_vs_csim")
    if c:
        lines.append(f"emulator vs hls4ml C-sim (cross-check subset): {c['n_mismatched']} mismatched / {c['n_events']} events")
    r = report["agreement"].get("rtl_vs_keras")
    if r:
        lines.append(f"RTL simulation (da4ml + Verilator) vs quantized Keras: {r['n_mismatched']} mismatched / {r['n_events']} events; "
                     f"vs hls4ml C-sim: {report['agreement']['rtl_vs_csim']['n_mismatched']} mismatched")
        cache = report.get("hardware", {}).get("details", {}).get("rtl", {}).get("cache")
        if cache and cache.get("hit"):
            lines.append(f"RTL and its yosys synthesis restored from the RTL cache (identical traced logic, key "
                         f"{cache['key']}), then simulated on this build's events")
    return lines


def _lut_percent(res: dict) -> str:
    lut_pc = (res.get("percent") or {}).get("LUT")
    return f" ({lut_pc:.3g}% of {res.get('part')})" if lut_pc is not None else ""


def _hardware_lines(report: dict) -> list[str]:
    """One line per latency/resources source, then the budgets."""
    lines = []
    for src, lat in (report.get("latency") or {}).items():
        res = (report.get("resources") or {}).get(src) or {}
        line = f"{SOURCE_LABELS.get(src, src)}: latency {_fmt(lat.get('cycles'))} cycles = {_fmt(lat.get('ns'))} ns, II {_fmt(lat.get('ii'))}"
        if res:
            line += (f"; LUT {_fmt(res.get('LUT'))}" + _lut_percent(res)
                     + f", FF {_fmt(res.get('FF'))}, DSP {_fmt(res.get('DSP'))}")
        lines.append(line)
    for src, res in (report.get("resources") or {}).items():
        if src in (report.get("latency") or {}):
            continue
        lines.append(f"{SOURCE_LABELS.get(src, src)}: LUT {_fmt(res.get('LUT'))}" + _lut_percent(res)
                     + f", FF {_fmt(res.get('FF'))}, CARRY {_fmt(res.get('CARRY'))}, DSP {_fmt(res.get('DSP'))}")
    b = report.get("budgets")
    if b:
        lines.append("budgets: " + ("passed" if b["passed"] else "FAILED " + ", ".join(b["failed"])) + " ("
                     + "; ".join(f"{n} <= {b[n]['limit']:g}: {'pass' if b[n]['passed'] else ('n/a' if b[n]['passed'] is None else 'FAIL')}"
                                 f" by {'/'.join(b[n]['decided_by']) or 'no source'}"
                                 for n in ("latency_ns", "lut_percent", "dsp") if n in b) + ")")
    return lines


def _offline_aucs(offline: dict, signals) -> dict:
    a = {name: wp.aucs(offline["background"][name], {s: offline[s][name] for s in signals}) for name in ("kl", "reco")}
    return {s: {name: a[name][s] for name in ("kl", "reco")} for s in signals}


def _efficiency_check_lines(ec: dict | None) -> list[str]:
    if not (ec and ec.get("working_point")):
        return []
    cells = []
    for s, d in ec["signals"].items():
        if d["rel_diff"] is None:
            cells.append(f"{s} undefined (view selects none, emulator {d.get('n_only_emulator')} events)"
                         f"{_status_flag(d, ec)}")
        else:
            stat = f" +- {d['rel_diff_stat']:.1%} stat" if d.get("rel_diff_stat") is not None else ""
            if d.get("rel_diff_stat_bootstrap") is not None:  # the thresholds' fluctuation included
                stat += f" (+- {d['rel_diff_stat_bootstrap']:.1%} with the thresholds, bootstrap)"
            flag = _status_flag(d, ec)
            split = ""
            if d.get("rel_diff_from_thresholds") is not None and d["rel_diff"] != 0:
                split = (f" [thresholds {d['rel_diff_from_thresholds']:+.1%}, signal scores "
                         f"{d['rel_diff_from_signal_scores']:+.1%}]")
            cells.append(f"{s} {d['rel_diff']:+.1%}{stat}{split}{flag}")
    return ["", f"efficiency check at {ec['working_point']} (emulator vs float view, relative, limit "
                f"{ec['max_rel_diff']:.0%}): {'passed' if ec['passed'] else 'FAILED'}; " + ", ".join(cells)]


def _status_flag(d: dict, ec: dict) -> str:
    if d.get("status") == "failed":
        return " FAIL"
    if d.get("status") == "beyond_limit_not_significant":
        z = "n/a" if d.get("excess_z") is None else f"{d['excess_z']:.1f}"
        return f" beyond the limit by {z} sigma: not significant (<= {ec['significance_z']:g})"
    return ""


def _signal_row(s: str, d: dict, wps: list[dict]) -> list[str]:
    row = [s, _fmt(d["auc_float_twin"]), _fmt(d["auc_float_view"]), _fmt(d["auc_emulator"])]
    for w in wps:
        e = d["working_points"][w["name"]]
        row.append(f"{_fmt(e['eff_float_twin'], 3)} / {_fmt(e['eff_float_view'], 3)} / {_fmt(e['eff_emulator'], 3)}")
        row.append(_fmt(e["xsec_100_per_month_pb"], 3))
        row.append(_fmt(e["xsec_sb_one_third_pb"], 3))
    return row


def _acceptance_sources(report: dict) -> str:
    srcs = {d.get("acceptance_x_trigger_eff_source") for d in report["signals"].values()} - {None}
    return ", ".join(sorted(srcs)) if srcs else "none"


def _emu_source(report: dict) -> str:
    """Which bit-accurate emulator produced the *emu* numbers, and what it was checked against."""
    label = report["emulator"]["label"]
    ag = report.get("agreement", {})
    parts = [label]
    if "emulator_vs_csim" in ag:
        c = ag["emulator_vs_csim"]
        parts.append(f"cross-checked against the hls4ml C-simulation on {c['n_events']} events "
                     f"({c['n_mismatched']} differ)")
    if "emulator_vs_keras" in ag:
        k = ag["emulator_vs_keras"]
        parts.append(f"against the quantized Keras model on {k['n_events']} events ({k['n_mismatched']} mismatched)")
    return ", ".join(parts)


def write_report(report: dict, out: Path, s_emu, s_fview, s_twin) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plots = make_plots(out, report, s_emu, s_fview, s_twin)
    md = [
        f"# Firmware report: {report['model']}",
        "",
        project_line(report["hls"]) + ".",
        f"Emulator: {report['emulator']['label']}. " + checks_line(report["checks"]),
        "",
        f"Sources: *emu* = {_emu_source(report)}; *view* = the quantized model's weights "
        "with quantizers off (Keras float32); *twin* = separately trained float32 model (Keras).",
        "",
        "## Summary",
        "",
        summary_table(report),
        "",
        "Cross-sections (source: emulator efficiency x acceptance x trigger efficiency, 5 fb^-1 per month; "
        "acceptance x trigger efficiency: " + _acceptance_sources(report) + ").",
        "",
        *saturation_section(report.get("saturation", {}),
                            "quantized Keras model (pre-quantizer values rounded as the quantizer rounds)."),
    ]
    if isinstance(report.get("references"), dict) and "signals" in report["references"]:
        from .references import reference_md

        md += reference_md(report["references"])
    lr = latency_resources_md(report)
    if lr:
        md += [lr]
    off = report.get("offline_scores")
    if off:
        md += ["## Offline scores of the full float VAE (source: float twin, Keras)", ""]
        md += table(["signal", "AUC KL", "AUC reco"], ([s, f"{v['kl']:.4f}", f"{v['reco']:.4f}"]
                                                       for s, v in off["auc"].items()))
        md.append("")
    md += [*code_section("Data", report["data"]), "", *code_section("Timings [s]", report["timings_s"]), "",
           "## Plots", ""]
    md += [f"![{p.stem}]({p.name})" for p in plots]
    (out / "report.md").write_text("\n".join(md) + "\n")


def make_plots(out: Path, report: dict, s_emu, s_fview, s_twin) -> list[Path]:
    """The report's HEP-style figures (mplhep, PNG + PDF; ``analysis/plots.py``); returns the PNG paths."""
    from analysis.plots import build_plots

    return build_plots(Path(out), report, s_emu, s_fview, s_twin)
