"""Summary and ``report.md`` for an imported legacy model (no physics working points: agreement sections only)."""

from __future__ import annotations

from pathlib import Path


def _g(v, nd=4):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{nd}g}"
    return str(v)


def import_summary(report: dict) -> str:
    imp = report["import"]
    ag = report["agreement"]
    a = ag["emulator_vs_keras"]
    lines = [f"imported model {imp['name']!r} (Keras {imp.get('keras_version') or '?'}): {len(imp['layers'])} layers, "
             f"{imp['n_events']} events"]
    if imp.get("float_model_ptq_bits"):
        lines.append(f"float (unquantized) model: post-training quantized to {imp['float_model_ptq_bits']} bits from the "
                     "data's profile (precisions per layer in the report's layer table)")
    iq = imp.get("inserted_input_quantizer")
    lines.append("input quantizer: " + (f"INSERTED {iq['precision']} (from {iq['source']})" if iq
                                        else "the model's own (first layer)"))
    if imp.get("reference") is not None:
        lines.append(f"import agreement (imported Keras 3 model vs --reference): max |diff| "
                     f"{_g(imp['reference_max_abs_diff'])}, mean |diff| {_g(imp.get('reference_mean_abs_diff'))}, "
                     f"argmax agreement {_g(imp.get('reference_argmax_agreement'), 6)}")
    else:
        lines.append("import agreement: no --reference given")
    lines.append(
        f"emulator (C-sim) vs imported Keras model [{a['output']}]: {a['n_mismatched']} mismatched / {a['n_events']} "
        f"events, max |diff| = {a['max_abs_diff']:.3g}"
        + (f" ({a['max_diff_lsb']:.3g} LSB)" if a.get("max_diff_lsb") is not None else ""))
    s = ag.get("softmax")
    if s:
        lines.append(f"softmax (C-sim lookup tables vs Keras float64): max |diff| {s['max_abs_diff']:.3g}, mean |diff| "
                     f"{s['mean_abs_diff']:.3g}, argmax agreement {_g(s.get('argmax_agreement'), 6)}; "
                     f"argmax of emulated logits vs Keras softmax {_g(s['argmax_agreement_logits_vs_keras_softmax'], 6)}")
    fv = ag.get("emulator_vs_float_view")
    if fv:
        lines.append(f"emulator vs float view [{fv['output']}]: Pearson {_g(fv.get('output_pearson'))}, Spearman "
                     f"{_g(fv.get('output_spearman'))}, max |diff| {_g(fv.get('max_abs_diff'))}"
                     + (f", argmax agreement {_g(fv['argmax_agreement'], 6)}" if "argmax_agreement" in fv else ""))
    return "\n".join(lines)


def _layers_md(layers: list[dict]) -> str:
    out = ["| layer | class | imported as | details |", "|---|---|---|---|"]
    for l in layers:
        det = {k: v for k, v in l.items() if k not in ("name", "class", "imported_as")}
        out.append(f"| {l['name']} | {l['class']} | {l.get('imported_as', '')} | `{det}` |" if det
                   else f"| {l['name']} | {l['class']} | {l.get('imported_as', '')} | |")
    return "\n".join(out)


def write_import_report(report: dict, out: Path) -> None:
    from .report import _saturation_md

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    h = report["hls"]
    md = [
        f"# Firmware report: {report['model']} (imported legacy model)",
        "",
        f"Project: `{h['project_dir']}` ({h['backend']}, part {h['part']}, clock {h['clock_period_ns']} ns, "
        f"{h['io_type']}, {h['strategy']}, reuse factor {h['reuse_factor']})."
        + (f" Logits project (final softmax removed): `{h['logits_project_dir']}`." if h.get("logits_project_dir") else ""),
        f"Checks: **{'PASSED' if report['checks']['passed'] else 'FAILED'}** " + "; ".join(report["checks"]["failures"]),
        "",
        "Sources: *C-sim* = hls4ml C-simulation (bit-accurate firmware emulator); *imported* = the Keras 3 model "
        "rebuilt by the importer with QKeras semantics; *float view* = its weights with quantizers off (Keras "
        "float32); *reference* = the outputs given with --reference.",
        "",
        "## Summary",
        "",
        "```",
        import_summary(report),
        "```",
        "",
        "## Layers",
        "",
        _layers_md(report["import"]["layers"]),
        "",
        "## Saturation / wrap per quantizer layer (fraction of events with any value out of range, count)",
        "",
        "Source: imported Keras model (pre-quantizer values rounded as the quantizer rounds).",
        "",
        _saturation_md(report.get("saturation", {})),
        "## Timings [s]",
        "",
        "```",
        str(report["timings_s"]),
        "```",
    ]
    (out / "report.md").write_text("\n".join(md) + "\n")
