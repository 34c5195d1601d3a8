"""The report's table of on-chip score candidates (vae21's ``score_candidates`` section): per candidate and
signal, AUC and efficiency at each working point for the float twin, the float view and the emulator (binomial
uncertainties), the threshold headroom in LSBs and ``decision_accepted_overlap``; the validation split's choice."""

from __future__ import annotations

import math

from analysis.markdown import table

# the published efficiencies at ~30 SM events/day of the VAE-for-new-physics-mining study (Cerri et al., JHEP 05
# (2019) 036), as quoted in issue 15: the reference the emulator is compared with (factor-3 target)
PUBLISHED_EFF_30_PER_DAY = {"A_4l": 2.8e-3, "LQ_btau": 6.5e-4, "h0_tautau": 3.6e-4, "hpm_taunu": 1.2e-3}
MAIN_WP = "30_per_day"


def side_by_side(report: dict) -> list[str]:
    """Per signal at ~30 SM events/day, the deployed score: float twin, float view, emulator (binomial
    uncertainties, n = the signal's test events) and the published value; the emulator / published ratio."""
    rows = []
    n_sig = report["data"]["n_test_signal"]
    for s, d in report["signals"].items():
        e = d["working_points"].get(MAIN_WP)
        if e is None:
            return []
        n = n_sig[s]
        cells = [f"{e[k]:.2e} +- {math.sqrt(e[k] * (1 - e[k]) / n):.1e}" if e[k] is not None else "-"
                 for k in ("eff_float_twin", "eff_float_view", "eff_emulator")]
        pub = PUBLISHED_EFF_30_PER_DAY.get(s)
        ratio = None if pub is None else e["eff_emulator"] / pub
        rows.append([s, *cells, "-" if pub is None else f"{pub:.1e}", "-" if ratio is None else f"{ratio:.2f}",
                     "-" if ratio is None else ("yes" if 1 / 3 <= ratio <= 3 else "no")])
    return ["", f"deployed score at {MAIN_WP} (this build) vs the published values (Cerri et al. 2019, issue 15)"] + table(
        ["signal", "eff float twin", "eff float view", "eff emulator", "published", "emu / published",
         "within x3"], rows)


def _eff(e: dict, src: str) -> str:
    v, u = e.get(f"eff_{src}"), e.get(f"eff_{src}_binomial")
    return "-" if v is None else f"{v:.2e} +- {u:.1e}"


def candidate_lines(report: dict) -> list[str]:
    sc = report.get("score_candidates")
    if not sc:
        return []
    lines = side_by_side(report)
    d = report.get("data") or {}
    n_test = (f"{d['n_test_background']} SM, " + ", ".join(f"{k} {v}" for k, v in d["n_test_signal"].items())
              if "n_test_background" in d else "size not recorded")
    lines += ["", f"on-chip score candidates (deployed: {sc['chosen']}; figures below: this build's test sample, "
                  f"{n_test} events)"]
    sel = sc.get("selection") or {}
    val = sel.get("validation")
    if val:
        stream = val.get("seed_stream")
        lines.append(f"choice: {sel['how']}; validation split ({val['n_background']} SM, {val['n_signal_each']} per "
                     f"signal, generated with its own random stream {stream} (not the training, validation or test "
                     f"events), {val['source']}) at FPR {val['fpr_used']:.3g}: " + ", ".join(
                         f"{k} mean eff {v['mean_efficiency']:.3g}" for k, v in val["candidates"].items()))
    rows = []
    for name, c in sc["candidates"].items():
        for s, d in c["signals"].items():
            for w, e in d["working_points"].items():
                h = c["working_points"][w]
                ov = h.get("decision_accepted_overlap")
                rows.append([name, s, w, f"{d['auc_float_twin']:.3f} / {d['auc_float_view']:.3f} / {d['auc_emulator']:.3f}",
                             _eff(e, "float_twin"), _eff(e, "float_view"), _eff(e, "emulator"),
                             f"{h['headroom_lsb']}" + (" SATURATED" if h["saturated"] else ""),
                             "-" if ov is None else f"{ov:.3f}"])
    lines += table(["score", "signal", "working point", "AUC twin / view / emu", "eff twin", "eff view", "eff emu",
                    "headroom [LSB]", "accepted overlap"], rows)
    mis = {k: c["emulator_vs_keras_float64_mismatched"] for k, c in sc["candidates"].items()}
    lines.append("emulator vs quantized Keras (float64), every test event: "
                 + ", ".join(f"{k} {v} mismatched" for k, v in mis.items()))
    return lines + _offline_lines(sc.get("offline_only"))


def _offline_lines(off: dict | None) -> list[str]:
    if not off:
        return []
    lines = ["", "not on chip (offline, float models): AUC and efficiency at each working point"]
    for name, srcs in off.items():
        for src, sig in srcs.items():
            lines.append(f"{name} ({src}): " + "; ".join(
                f"{s} AUC {d['auc']:.3f}, " + ", ".join(f"{k[4:]} {v:.2e}" for k, v in d.items() if k != "auc")
                for s, d in sig.items()))
    return lines
