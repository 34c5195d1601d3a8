"""vae21's (and vae57's) ``score_candidates`` step: every on-chip score candidate on the test sample beside the deployed one.

Per candidate: its deployable model through the fast bit-exact emulator (the deployed one's numbers are the
build's own, C-sim cross-checked) and through the quantized Keras model in float64 (0 mismatches expected), the
float view and the float twin; AUC and efficiency (binomial uncertainty) at every working point, the threshold's
headroom to the score's largest value in LSBs (a threshold in saturation fails the build) and
``decision_accepted_overlap``.  The efficiency check (emulator vs float view, paired) runs at ~30 SM events/day.
"""

from __future__ import annotations

import math

import numpy as np

from flow.build import Build, step
from models.build_util import say

MAIN_WP = "30_per_day"


def _binomial(eff: float | None, n: int) -> float | None:
    return None if eff is None or n == 0 else math.sqrt(max(eff * (1 - eff), 0.0) / n)


def _candidate_scores(b: Build, name: str, model):
    from emulation.fast import FastEmulator
    from emulation.keras_ref import CompiledPredictor, float64_model

    off = b.family_state["offline"]
    if name == b.prepared.extras["score"]:
        s_emu, s_keras = b.s_emu, b.s_keras
    else:
        emu = FastEmulator(model)
        s_emu = {k: emu.predict(v)[:, 0] for k, v in b.xs.items()}
        run64 = CompiledPredictor(float64_model(model))  # XLA, as the deployed score's reference step
        s_keras = {k: np.asarray(run64(v.astype(np.float64)), np.float64).reshape(len(v), -1)[:, 0]
                   for k, v in b.xs.items()}
    s_view = {k: off[k][f"view_{name}"] for k in b.xs}
    s_twin = {k: off[k][name] for k in b.xs}
    n_mis = int(sum(np.count_nonzero(s_emu[k] != s_keras[k]) for k in b.xs))
    return s_emu, s_view, s_twin, n_mis


def candidate_entry(b: Build, name: str, model) -> dict:
    from analysis.report import physics_section
    from models.vae21_select import headroom, score_range

    st = b.family_state
    s_emu, s_view, s_twin, n_mis = _candidate_scores(b, name, model)
    phys = physics_section(st["wps"], s_emu, s_view, s_twin, None, st["sm_month"], st["acceptances"])
    s_max, lsb = score_range(model)
    head = headroom({w["name"]: w["threshold_emulator"] for w in phys["working_points"]}, s_max, lsb)
    wps = {w["name"]: {"threshold_emulator": w["threshold_emulator"],
                       "decision_accepted_overlap": w.get("decision_accepted_overlap"), **head[w["name"]]}
           for w in phys["working_points"]}
    sig = {}
    for s, d in phys["signals"].items():
        n = len(s_emu[s])
        sig[s] = {"auc_emulator": d["auc_emulator"], "auc_float_view": d["auc_float_view"],
                  "auc_float_twin": d["auc_float_twin"], "n_events": n,
                  "working_points": {w: {**{f"eff_{src}": e[f"eff_{src}"] for src in
                                            ("emulator", "float_view", "float_twin")},
                                         **{f"eff_{src}_binomial": _binomial(e[f"eff_{src}"], n) for src in
                                            ("emulator", "float_view", "float_twin")},
                                         "eff_rel_diff_emu_vs_view": e.get("eff_rel_diff_emu_vs_view"),
                                         "eff_rel_diff_stat": e.get("eff_rel_diff_stat")}
                                     for w, e in d["working_points"].items()}}
    return {"deployed": name == b.prepared.extras["score"], "emulator_vs_keras_float64_mismatched": n_mis,
            "n_events": int(sum(len(v) for v in s_emu.values())), "working_points": wps, "signals": sig}


def offline_entry(b: Build) -> dict:
    """The candidates that are not on chip (vae57: KL with the log-variance, total = reco + beta KL with mu in place
    of the sample): AUC and efficiency of the float twin and the float view, each at its own thresholds."""
    from analysis import working_points as wp

    st, off = b.family_state, b.family_state["offline"]
    out = {}
    for name in [n for n in ("kl", "total") if n not in b.prepared.extras["candidates"]]:
        for src, key in (("float_twin", name), ("float_view", f"view_{name}")):
            thr = {w.name: wp.threshold_at_fpr(off["background"][key], w.fpr)[0] for w in st["wps"]}
            sigs = [s for s in b.xs if s != "background"]
            a = wp.aucs(off["background"][key], {s: off[s][key] for s in sigs})
            out.setdefault(name, {})[src] = {
                s: {"auc": a[s], **{f"eff_{w}": wp.efficiency(off[s][key], t) for w, t in thr.items()}} for s in sigs}
    return out


@step("score_candidates", requires=("physics",))
def score_candidates(b: Build) -> None:
    """Every candidate score's figures (emulator, float view, float twin) and the headroom; the efficiency check
    of the deployed score at ~30 SM events/day."""
    from analysis.working_points import efficiency_check

    if "candidates" not in b.prepared.extras:  # an L1 model with a single score (ae57)
        return
    main_wp = b.plan.efficiency_check_wp if b.plan is not None and b.plan.efficiency_check_wp else MAIN_WP
    out = {}
    for name, model in b.prepared.extras["candidates"].items():
        out[name] = candidate_entry(b, name, model)
        e = out[name]
        effs = {s: d["working_points"].get(main_wp, {}).get("eff_emulator") for s, d in e["signals"].items()}
        say(f"score {name}{' (deployed)' if e['deployed'] else ''}: emulator vs Keras {e['emulator_vs_keras_float64_mismatched']}"
            f" mismatched; eff at {main_wp}: " + ", ".join(f"{s} {v:.2e}" for s, v in effs.items() if v is not None))
    b.report["score_candidates"] = {"chosen": b.prepared.extras["score"], "candidates": out,
                                    "selection": b.prepared.description.get("score_selection"),
                                    "offline_only": offline_entry(b)}
    if "efficiency_check" not in b.report and b.family_state["s_fview"] is not None:
        b.report["efficiency_check"] = efficiency_check(b.report["signals"], MAIN_WP,
                                                        b.config.tolerances.max_rel_eff_diff_float_view)
        _add_full_uncertainty(b, b.report["efficiency_check"])


def _add_full_uncertainty(b: Build, ec: dict) -> None:
    """The check's relative differences with their full uncertainty (the thresholds' fluctuation included:
    :mod:`analysis.eff_bootstrap`) beside the paired signal-only one; the check is re-decided with it (a difference
    beyond the limit fails when it is significant against this uncertainty)."""
    from analysis.eff_bootstrap import rel_diff_bootstrap
    from analysis.working_points import decide_efficiency_check

    wp = next((w for w in b.family_state["wps"] if w.name == ec["working_point"]), None)
    if wp is None:
        return
    view = b.family_state["s_fview"]
    sig = [s for s in ec["signals"]]
    boot = rel_diff_bootstrap(b.s_emu["background"], view["background"], {s: b.s_emu[s] for s in sig},
                              {s: view[s] for s in sig}, wp.fpr)
    for s, d in ec["signals"].items():
        d["rel_diff_stat_bootstrap"] = boot["signals"][s]["std"]
        d["rel_diff_bootstrap_16_84"] = [boot["signals"][s]["p16"], boot["signals"][s]["p84"]]
        d["rel_diff_bootstrap_undefined_fraction"] = boot["signals"][s]["fraction_undefined"]
    ec["bootstrap"] = {k: v for k, v in boot.items() if k != "signals"}
    decide_efficiency_check(ec)
    say(f"efficiency check at {ec['working_point']} (emulator vs float view, limit {ec['max_rel_diff']:.0%}): " + ", ".join(
        f"{s} " + ("undefined" if d["rel_diff"] is None else f"{d['rel_diff']:+.1%}") + " +- " +
        ("n/a" if d["rel_diff_stat"] is None else f"{d['rel_diff_stat']:.1%}") + " (signal, paired) +- " +
        ("n/a" if d["rel_diff_stat_bootstrap"] is None else f"{d['rel_diff_stat_bootstrap']:.1%}") +
        " (bootstrap, thresholds included)" for s, d in ec["signals"].items()))
