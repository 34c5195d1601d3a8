"""Summary and ``report.md`` for an imported legacy model (no physics working points: agreement sections only)."""

from __future__ import annotations

from pathlib import Path

from .markdown import BLANK, checks_line, code_section, project_line, saturation_section, table
from .markdown import fmt as _g


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


def _layer_row(l: dict) -> list:
    det = {k: v for k, v in l.items() if k not in ("name", "class", "imported_as")}
    return [l["name"], l["class"], l.get("imported_as", ""), f"`{det}`" if det else BLANK]


def _layers_md(layers: list[dict]) -> str:
    return "\n".join(table(["layer", "class", "imported as", "details"], map(_layer_row, layers)))


def write_import_report(report: dict, out: Path) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    h = report["hls"]
    md = [
        f"# Firmware report: {report['model']} (imported legacy model)",
        "",
        project_line(h) + "."
        + (f" Logits project (final softmax removed): `{h['logits_project_dir']}`." if h.get("logits_project_dir") else ""),
        checks_line(report["checks"]),
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
        *saturation_section(report.get("saturation", {}),
                            "imported Keras model (pre-quantizer values rounded as the quantizer rounds)."),
        *code_section("Timings [s]", report["timings_s"]),
    ]
    (out / "report.md").write_text("\n".join(md) + "\n")
