"""The checks that decide a build's exit code, one function per report kind: ``(report, config) -> (ok, failures)``.
Every failure is a sentence naming the comparison, the count and the limit."""

from __future__ import annotations

from dataclasses import asdict

from flow.config import BuildConfig, Tolerances
from models.registry import ReportKind


def tolerances_dict(cfg: BuildConfig, kind=None) -> dict:
    """The tolerances the checks of ``kind`` apply (an import applies only the mismatch count and
    --reference-tolerance: the float-view tolerances are not listed for it)."""
    from models.registry import ReportKind

    if kind is ReportKind.IMPORT:
        return {"max_mismatched": cfg.tolerances.max_mismatched, "reference_tolerance": cfg.reference_tolerance}
    return asdict(cfg.tolerances)


def _mismatch_failures(agreement: dict) -> list[str]:
    out = []
    c = agreement.get("emulator_vs_csim")
    if c is not None and c["n_mismatched"] > 0:
        out.append(f"fast emulator vs C-sim: {c['n_mismatched']} of {c['n_events']} events differ")
    for key in ("rtl_vs_keras", "rtl_vs_csim", "fast_vs_rtl_all_events"):
        r = agreement.get(key)
        if r is not None and r["n_mismatched"] > 0:
            out.append(f"{key.replace('_', ' ')}: {r['n_mismatched']} of {r['n_events']} events mismatched")
    return out


def _budget_failures(report: dict) -> list[str]:
    b = report.get("budgets")
    if b is None or not b.get("enforced") or b["passed"]:
        return []
    return ["budgets failed (--enforce-budgets): " + ", ".join(
        f"{n} {b[n]['sources'][s]['value']:.4g} > {b[n]['limit']:.4g} ({s})"
        for n in b["failed"] for s in b[n]["decided_by"] if not b[n]["sources"][s]["pass"])]


def _efficiency_failures(report: dict) -> list[str]:
    ec = report.get("efficiency_check")
    if ec is None or ec["working_point"] is None or ec["passed"]:
        return []
    bad = [f"{s} " + ("undefined (the float view selects none" if d["rel_diff"] is None else f"{d['rel_diff']:+.1%}")
           + (f", {d['excess_z']:.1f} sigma beyond the limit" if d.get("excess_z") is not None else "")
           + (")" if d["rel_diff"] is None else "")
           for s, d in ec["signals"].items() if not d["passed"]]
    return [f"emulator vs float view efficiency at {ec['working_point']}: {', '.join(bad)} "
            f"(limit {ec['max_rel_diff']:.0%}, failed beyond {ec.get('significance_z', 0):g} sigma)"]


def efficiency_warnings(report: dict) -> list[str]:
    """Signals whose efficiency difference lies beyond the limit but not significantly (passed, said)."""
    ec = report.get("efficiency_check")
    if not ec or not ec.get("working_point"):
        return []
    return [f"emulator vs float view efficiency at {ec['working_point']}: {s} "
            + ("undefined (the float view selects none)" if d["rel_diff"] is None else f"{d['rel_diff']:+.1%}")
            + f" is beyond the {ec['max_rel_diff']:.0%} limit but not significantly ("
            + ("n/a" if d.get("excess_z") is None else f"{d['excess_z']:.1f}") + f" <= {ec['significance_z']:g} sigma; "
            f"{d.get('n_only_emulator')} events selected by the emulator only, {d.get('n_only_float_view')} by the view only)"
            for s, d in ec["signals"].items() if d.get("status") == "beyond_limit_not_significant"]


def headroom_failures(report: dict) -> list[str]:
    """A working-point threshold of an on-chip score candidate that sits in saturation (vae21's
    ``score_candidates``: no event can lie above it)."""
    out = []
    for name, c in ((report.get("score_candidates") or {}).get("candidates") or {}).items():
        for wp, h in c["working_points"].items():
            if h["saturated"]:
                out.append(f"score {name} at {wp}: threshold {h['threshold']:.6g} sits in saturation (score maximum "
                           f"{h['score_max']:.6g}, headroom {h['headroom_lsb']} LSB)")
    return out


def trigger_checks(report: dict, tol: Tolerances) -> tuple[bool, list[str]]:
    """Exact agreement (Keras, C-sim, RTL), budgets when enforced, the efficiency check, the float-view rank
    correlation."""
    failures = []
    a = report["agreement"]["emulator_vs_keras"]
    if a["n_mismatched"] > tol.max_mismatched:
        failures.append(f"emulator vs Keras: {a['n_mismatched']} mismatched events (> {tol.max_mismatched})")
    failures += _mismatch_failures(report["agreement"])
    failures += _budget_failures(report)
    failures += _efficiency_failures(report)
    failures += headroom_failures(report)
    fv = report["agreement"].get("emulator_vs_float_view")
    if fv is not None and fv["score_spearman"] < tol.min_spearman_float_view:
        failures.append(
            f"emulator vs float view: Spearman {fv['score_spearman']:.4f} < {tol.min_spearman_float_view}"
        )
    return not failures, failures


def hunt_checks(report: dict) -> tuple[bool, list[str]]:
    """The deployed network and every fold network bit-exact; the hunt's selections identical for the emulator
    and the quantized Keras models; no fold leakage."""
    f = []
    a = report["agreement"]
    if a["emulator_vs_keras"]["n_mismatched"]:
        f.append(f"C-sim vs Keras: {a['emulator_vs_keras']['n_mismatched']} mismatched events")
    if a["fast_vs_csim"]["n_mismatched"]:
        f.append(f"fast emulator vs C-sim: {a['fast_vs_csim']['n_mismatched']} events differ")
    if a["hunt_networks_emulator_vs_keras"]["n_mismatched"]:
        f.append(f"fold networks emulator vs Keras: {a['hunt_networks_emulator_vs_keras']['n_mismatched']} mismatched")
    if a["emulator_vs_fixed_point_scan"]["n_mismatched"]:
        f.append("emulator scores differ from the fixed-point scores of the scan")
    for c in report["cwola"]["cuts"]:
        if c["selection_differs_emulator_vs_keras"]:
            f.append(f"cut {c['efficiency']:g}: {c['selection_differs_emulator_vs_keras']} events selected differently "
                     "by the emulator and the quantized Keras model")
    for wo in report["cwola"]["windows"]:
        if wo["leakage_pairs"]:
            f.append(f"window {wo['index']}: fold leakage")
    return not f, f


def import_checks(report: dict, cfg: BuildConfig) -> tuple[bool, list[str]]:
    """The C-simulation bit-exact to the imported model; the imported model within tolerance of --reference."""
    failures = []
    a = report["agreement"]["emulator_vs_keras"]
    if a["n_mismatched"] > cfg.tolerances.max_mismatched:
        failures.append(f"emulator vs imported Keras model ({a['output']}): {a['n_mismatched']} mismatched events")
    imp = report["import"]
    if imp["reference_max_abs_diff"] is not None and imp["reference_max_abs_diff"] > cfg.reference_tolerance:
        hint = (" (first make sure --reference holds the model's own outputs for --data, not e.g. an "
                "autoencoder's targets; if it does: an input quantizer was inserted because the legacy model has "
                "none, and inputs off its grid change the outputs; give --input-precision matching your data or "
                "--reference-tolerance)" if imp["inserted_input_quantizer"] else
                " (does --reference hold the model's own outputs for --data, row by row?)")
        failures.append(f"imported model vs --reference: max |diff| {imp['reference_max_abs_diff']:.3g} > "
                        f"{cfg.reference_tolerance:g} in {imp['reference_n_events_differing']} events{hint}")
    return not failures, failures


CHECKS = {
    ReportKind.TRIGGER: lambda report, cfg: trigger_checks(report, cfg.tolerances),
    ReportKind.HUNT: lambda report, cfg: hunt_checks(report),
    ReportKind.IMPORT: import_checks,
}
