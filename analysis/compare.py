"""QKeras-API model vs its HGQ2-native companion (e.g. ``vae57`` vs ``vae57hgq``): the section users compare.

Pure functions of the two builds' ``report.json`` dicts (no TensorFlow): bits (weights, activations), EBOPs
(``quantize/ebops.py``, the same definition for both, plus HGQ2's own count where it exists), bit-exactness
(``n_mismatched``), physics at the working point (AUC and emulator efficiency per signal, relative difference)
and every latency/resource source each report has, with its source label.
"""

from __future__ import annotations

from .markdown import BLANK, table
from .markdown import fmt as _f

PREFERRED_WORKING_POINT = "l1_1kHz"


def _wp_name(report: dict, preferred: str = PREFERRED_WORKING_POINT) -> str | None:
    names = [w["name"] for w in report.get("working_points", [])]
    if preferred in names:
        return preferred
    return names[0] if names else None


def _rel(a, b):
    """(b - a) / a, None when undefined."""
    if a is None or b is None or a == 0:
        return None
    return (b - a) / a


def model_summary(report: dict, wp_name: str | None) -> dict:
    eb = report.get("ebops") or {}
    tot = eb.get("total") or {}
    acts = eb.get("activations") or {}
    sig = {}
    for s, d in (report.get("signals") or {}).items():
        e = (d.get("working_points") or {}).get(wp_name) or {}
        sig[s] = {"auc_emulator": d.get("auc_emulator"), "auc_float_view": d.get("auc_float_view"),
                  "eff_emulator": e.get("eff_emulator"), "eff_float_view": e.get("eff_float_view")}
    a = (report.get("agreement") or {}).get("emulator_vs_keras") or {}
    return {
        "model": report.get("model"),
        "project_dir": (report.get("hls") or {}).get("project_dir"),
        "checks_passed": (report.get("checks") or {}).get("passed"),
        "emulator": (report.get("emulator") or {}).get("label"),
        "n_mismatched": a.get("n_mismatched"),
        "n_events": a.get("n_events"),
        "ebops": tot.get("ebops"),
        "hgq_ebops": tot.get("hgq_ebops"),
        "weight_bits": tot.get("weight_bits"),
        "weight_effective_bits_nonzero": tot.get("weight_effective_bits_nonzero"),
        "n_weights": tot.get("n_weights"),
        "n_zero_weights": tot.get("n_zero_weights"),
        "activation_bits": acts,
        "layers": {n: {k: e.get(k) for k in ("ebops", "hgq_ebops", "input_bits", "weight_bits", "n_weights",
                                            "n_zero_weights")}
                   for n, e in (eb.get("layers") or {}).items()},
        "ebops_error": eb.get("error"),
        "signals": sig,
        "latency_resources": (report.get("latency_resources") or {}).get("sources") or {},
        "missing_sources": (report.get("hardware") or {}).get("missing_sources") or {},
    }


def comparison(qkeras_report: dict, hgq_report: dict) -> dict:
    """The ``comparison`` entry of report.json: both models' summaries and the relative differences (HGQ2 vs QKeras)."""
    wp = _wp_name(qkeras_report)
    a, b = model_summary(qkeras_report, wp), model_summary(hgq_report, wp)
    rel = {"ebops": _rel(a["ebops"], b["ebops"]), "signals": {}}
    for s in a["signals"]:
        if s in b["signals"]:
            rel["signals"][s] = {k: _rel(a["signals"][s][k], b["signals"][s][k]) for k in ("auc_emulator", "eff_emulator")}
    lr = {}
    for src in sorted(set(a["latency_resources"]) | set(b["latency_resources"])):
        ra, rb = a["latency_resources"].get(src) or {}, b["latency_resources"].get(src) or {}
        lr[src] = {k: _rel(ra.get(k), rb.get(k)) for k in ("latency_ns", "lut", "ff", "dsp")}
    rel["latency_resources"] = lr
    return {"status": "ok", "working_point": wp, "qkeras": a, "hgq": b,
            "relative_difference": rel, "relative_difference_definition": "(HGQ2-native - QKeras-API) / QKeras-API"}


def _pct(v):
    return "n/a" if v is None else f"{100 * v:+.1f}%"


def _bits(st: dict | None) -> str:
    if not st or st.get("mean") is None:
        return "n/a"
    return f"{st['mean']:.3g} ({st['min']}-{st['max']})"


def comparison_md(comp: dict) -> str:
    """The report.md section "QKeras-API vs HGQ2-native"."""
    lines = ["## QKeras-API vs HGQ2-native", ""]
    if comp.get("status") != "ok":
        lines += [f"**Companion build FAILED**: {comp.get('error', 'unknown error')}", ""]
        if comp.get("project_dir"):
            lines += [f"Companion project: `{comp['project_dir']}`", ""]
        return "\n".join(lines) + "\n"
    a, b = comp["qkeras"], comp["hgq"]
    lines += [f"QKeras-API model `{a['model']}` (this project) vs HGQ2-native model `{b['model']}` "
              f"(project `{b['project_dir']}`, its own full report in `report/`). Relative differences are "
              "(HGQ2 - QKeras) / QKeras.", ""]
    lines += _bits_md(a, b, comp["relative_difference"])
    lines += _physics_md(a, b, comp["relative_difference"], comp["working_point"])
    lines += _latency_resources_md(a, b, comp["relative_difference"])
    return "\n".join(lines) + "\n"


def _bits_md(a: dict, b: dict, rel: dict) -> list[str]:
    lines = ["### Bits and EBOPs (source: the deployable models' quantizers and quantized weights, quantize/ebops.py)", "",
             "EBOPs = sum over dense layers of sum_ij b_x[i] * b_w(W_ij) + bias bits, with b_w the effective bits of each "
             "quantized weight (sign excluded, 0 for a zero weight) and b_x the width of the layer's input type; "
             "*HGQ2 EBOPs* is hgq2's own training-penalty count (configured widths) for its native layers.", ""]
    lines += table(["model", "EBOPs", "HGQ2 EBOPs", "weight bits mean (min-max)", "effective bits of non-zero weights",
                    "zero weights", "mismatched events (emulator vs Keras)", "checks"],
                   ([m["model"], _f(m["ebops"]), _f(m["hgq_ebops"]), _bits(m["weight_bits"]),
                     _bits(m["weight_effective_bits_nonzero"]), f"{_f(m['n_zero_weights'])} / {_f(m['n_weights'])}",
                     f"{_f(m['n_mismatched'])} / {_f(m['n_events'])}", "passed" if m["checks_passed"] else "FAILED"]
                    for m in (a, b)))
    lines += ["", f"EBOPs relative difference: {_pct(rel['ebops'])}.", "",
              "Per dense layer: input (activation) bits and weight bits, mean (min-max) over the elements "
              f"({a['model']} / {b['model']}):", ""]
    lines += table(["layer", "input bits", "weight bits", "zero weights", "EBOPs"],
                   (_layer_row(n, a["layers"].get(n, {}), b["layers"].get(n, {}))
                    for n in dict.fromkeys([*a["layers"], *b["layers"]])))
    lines += ["", "Activation bit widths per quantizer (mean (min-max) over the tensor's elements):", ""]
    names = list(dict.fromkeys([*a["activation_bits"], *b["activation_bits"]]))
    lines += table(["quantizer", *(m["model"] for m in (a, b))],
                   ([n, *(_bits(m["activation_bits"].get(n)) for m in (a, b))] for n in names))
    return lines


def _layer_row(n: str, la: dict, lb: dict) -> list[str]:
    return [n, f"{_bits(la.get('input_bits'))} / {_bits(lb.get('input_bits'))}",
            f"{_bits(la.get('weight_bits'))} / {_bits(lb.get('weight_bits'))}",
            f"{_f(la.get('n_zero_weights'))} / {_f(lb.get('n_zero_weights'))} of {_f(la.get('n_weights'))}",
            f"{_f(la.get('ebops'))} / {_f(lb.get('ebops'))}"]


def _physics_md(a: dict, b: dict, rel: dict, wp: str | None) -> list[str]:
    lines = ["", f"### Physics at working point {wp} (source: each model's bit-accurate emulator: "
             f"{a['emulator']} / {b['emulator']})", ""]
    rows = []
    for s, da in a["signals"].items():
        db = b["signals"].get(s, {})
        r = rel["signals"].get(s, {})
        rows.append([s, _f(da["auc_emulator"]), _f(db.get("auc_emulator")), _pct(r.get("auc_emulator")),
                     _f(da["eff_emulator"], 3), _f(db.get("eff_emulator"), 3), _pct(r.get("eff_emulator"))])
    return lines + table(["signal", f"AUC {a['model']}", f"AUC {b['model']}", "rel. diff", f"eff {a['model']}",
                          f"eff {b['model']}", "rel. diff"], rows)


def _latency_resources_md(a: dict, b: dict, rel: dict) -> list[str]:
    lines = ["", "### Latency and resources (every row names its source)", ""]
    srcs = list(dict.fromkeys([*a["latency_resources"], *b["latency_resources"]]))
    rows = []
    for src in srcs:
        for m in (a, b):
            r = m["latency_resources"].get(src)
            if r is None:
                rows.append([src, m["model"], "not available: "
                             f"{m['missing_sources'].get(src, 'no such source in this build')}", BLANK, BLANK, BLANK])
            else:
                rows.append([r.get("label", src), m["model"], _f(r.get("latency_ns")), _f(r.get("lut")),
                             _f(r.get("ff")), _f(r.get("dsp"))])
        d = rel["latency_resources"].get(src, {})
        rows.append([src, "rel. diff", _pct(d.get("latency_ns")), _pct(d.get("lut")), _pct(d.get("ff")),
                     _pct(d.get("dsp"))])
    lines += table(["source", "model", "latency [ns]", "LUT", "FF", "DSP"], rows)
    missing = {s for m in (a, b) for s in m["missing_sources"]} - set(srcs)
    if missing:
        lines += ["", "Sources in neither build: " + ", ".join(sorted(missing)) + " (see each report's latency section)."]
    return lines
