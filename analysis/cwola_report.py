"""CWoLa report: summary tables (printed and in report.md) and plots.  Every figure names its score source."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .cwola import _bin_integrals
from .markdown import checks_line, code_section, project_line, saturation_section, table

SOURCE_LABELS = {
    "fixed_point": "fixed-point networks (numpy exact arithmetic = firmware arithmetic)",
    "emulator": "emulator (fast bit-exact emulator of the firmware; deployed net also hls4ml C-sim)",
    "keras": "quantized Keras model (hgq2, QKeras API)",
    "float_view": "float view (same weights, quantizers off)",
    "float_twin": "float twin (separately trained float networks)",
    "supervised": "fully supervised reference (truth labels, independent sample)",
}


def _f(v, fmt="{:.2f}"):
    return "n/a" if v is None else fmt.format(v)


def cwola_summary(report: dict) -> str:
    c = report["cwola"]
    a = report["agreement"]
    lines = [
        f"data: {report['data']['n_events']} events, {report['data']['n_signal_injected']} injected signal "
        f"(truth, not used by CWoLa); networks trained: {c['networks_trained']}",
        f"C-sim vs quantized Keras (deployed network, all events): {a['emulator_vs_keras']['n_mismatched']} mismatched "
        f"/ {a['emulator_vs_keras']['n_events']}; fast emulator vs C-sim: {a['fast_vs_csim']['n_mismatched']} differ",
        f"fold networks (emulator vs Keras): {a['hunt_networks_emulator_vs_keras']['n_mismatched']} mismatched / "
        f"{a['hunt_networks_emulator_vs_keras']['n_events']} (event, network) pairs",
        f"emulator vs float view: Pearson {a['emulator_vs_float_view']['score_pearson']:.4f}, "
        f"Spearman {a['emulator_vs_float_view']['score_spearman']:.4f}",
        "",
        "Scan (source: fixed-point networks = firmware arithmetic), local Z per window and cut:",
        *table(["window", "SR [GeV]", "n_SR", "n_SB", "sig. in SR (truth)", "SR background (fit bins below/above)",
                *(f"Z {r['efficiency']:g}" for r in c["windows"][0]["hunt_fixed_point"])],
               (_window_row(w, c["deployed_window"]) for w in c["windows"])),
        "", *fit_quality_lines(c["windows"]),
        "", f"Deployed window {c['deployed_window']} (*): local Z (n_SR observed / b fitted +- db) per source",
        *table(["cut", *_HUNT_SOURCES, "sel. differ emu/keras", "sel. agreement emu/view"], map(_cut_row, c["cuts"])),
        "", c["trials"],
    ]
    return "\n".join(lines)


_HUNT_SOURCES = ("emulator", "keras", "float_view", "float_twin", "supervised")


def _window_row(w: dict, deployed: int) -> list:
    mark = " *" if w["index"] == deployed else ""
    fs = w.get("fit_sides")
    sides = f"{fs['background_estimate']} ({fs['n_fit_bins_below_sr']}/{fs['n_fit_bins_above_sr']})" if fs else "n/a"
    return [f"{w['index']}{mark}", f"{w['sr'][0]:.0f}-{w['sr'][1]:.0f}", w["n_SR"], w["n_SB"], w["n_signal_SR_truth"],
            sides, *(_f(r["z"]) for r in w["hunt_fixed_point"])]


def fit_quality_lines(windows: list[dict]) -> list[str]:
    """Goodness of fit per window and cut, and the tightest cut's pseudo-experiments (source: fixed-point)."""
    cuts = [r["efficiency"] for r in windows[0]["hunt_fixed_point"]]

    def gof(r):
        if r.get("fit_deviance") is None:
            return "n/a"
        return (f"{r['fit_chi2']:.1f}/{r['fit_ndf']} (p {r['fit_chi2_pvalue']:.2g}); "
                f"D {r['fit_deviance']:.1f} (p {r['fit_deviance_pvalue']:.2g})")

    lines = ["Background fit quality (source: fixed-point networks): Pearson chi2/ndf (p-value) and Poisson deviance D "
             "(asymptotic p-value) per window and cut", "",
             *table(["window", *(f"cut {e:g}" for e in cuts)],
                    ([w["index"], *(gof(r) for r in w["hunt_fixed_point"])] for w in windows)), "",
             f"Tightest cut ({cuts[-1]:g}): pseudo-experiments from the fitted function (Poisson per bin), refitted; "
             "spread of the SR prediction vs the fit's db, pulls (b_toy - b_fit) / db_toy, deviance p-value from the toys",
             ""]
    rows = []
    for w in windows:
        t = w["hunt_fixed_point"][-1].get("toys")
        if not t or t.get("spread_ratio") is None:
            rows.append([w["index"], "n/a", "", "", "", "", "", ""])
            continue
        rows.append([w["index"], f"{t['n_toys'] - t['n_failed']}/{t['n_toys']}", f"{t['b_true']:.1f} +- {t['db_fit']:.1f}",
                     f"{t['std_b_toys']:.1f}", f"{t['spread_ratio']:.2f}",
                     f"{t['pull_mean']:+.2f} +- {t['pull_mean_error']:.2f}", f"{t['pull_width']:.2f}",
                     f"{t['deviance_pvalue_toys']:.3f}"])
    lines += table(["window", "toys ok", "b_SR fit +- db", "std b_toys", "std / db", "pull mean", "pull width",
                    "deviance p (toys)"], rows)
    return lines


def _cut_row(r: dict) -> list:
    cells = [f"{_f(r[f'z_{k}'])} ({r[f'n_sr_{k}']}/{_f(r[f'b_sr_{k}'], '{:.0f}')}+-{_f(r[f'db_sr_{k}'], '{:.0f}')})"
             for k in _HUNT_SOURCES]
    return [f"{r['efficiency']:g}", *cells, r["selection_differs_emulator_vs_keras"],
            f"{r['selection_agreement_emulator_vs_float_view']:.5f}"]


def write_cwola_report(report, out: Path, mjj, edges, windows, sources, raw_x, label, features, mean, std) -> None:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plots = make_plots(out, report, mjj, edges, windows, sources, raw_x)
    h = report["hls"]
    md = [
        "# Firmware report: cwola (CWoLa hunting on dijets)", "",
        project_line(h) + "; firmware output: the classifier logit.",
        checks_line(report["checks"]),
        "", "Sources: " + "; ".join(f"*{k}* = {v}" for k, v in SOURCE_LABELS.items()), "",
        "## Summary", "", cwola_summary(report), "",
        "Significance: binned Poisson fit (iminuit) of the dijet function to the selected spectrum outside the SR, "
        "background prediction in the SR with the fit's uncertainty, discovery test q0 (pyhf, asymptotic).", "",
        *saturation_section(report.get("saturation", {}), "quantized Keras model.",
                            "Saturation / wrap per quantizer layer of the deployed network (fraction of events, count)"),
        *code_section("Data", report["data"]), "", *code_section("Timings [s]", report["timings_s"]), "", "## Plots", "",
    ]
    md += [f"![{p.stem}]({p.name})" for p in plots]
    (out / "report.md").write_text("\n".join(md) + "\n")


def make_plots(out: Path, report, mjj, edges, windows, sources, raw_x) -> list[Path]:
    """The hunt's figures in mplhep style ("Simulation"), PNG + PDF; returns the PNG paths."""
    from analysis.plots import hep_figures

    with hep_figures() as plt:
        return _make_plots(plt, out, report, mjj, edges, windows, sources, raw_x)


def _make_plots(plt, out: Path, report, mjj, edges, windows, sources, raw_x) -> list[Path]:
    import matplotlib

    from analysis.plots import label, save

    c = report["cwola"]
    wi = c["deployed_window"]
    w = windows[wi]
    paths = []
    centers = np.sqrt(edges[:-1] * edges[1:])
    # 1. spectra with fits, deployed window, emulator scores
    hunts = c["hunts_deployed_window"]["emulator"]
    fig, axes = plt.subplots(2, 1, figsize=(7.5, 8), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    for r in hunts:
        cnt = np.asarray(r["counts"], float)
        l = axes[0].errorbar(centers, cnt, yerr=np.sqrt(cnt), fmt="o", ms=3, label=f"eff {r['efficiency']:g}: Z = {_f(r['z'])}")
        if r.get("fit_params"):
            fit = _bin_integrals(np.asarray(r["fit_params"]), edges)
            axes[0].plot(centers, fit, "-", color=l[0].get_color(), lw=1)
            axes[1].plot(centers, (cnt - fit) / np.sqrt(np.maximum(fit, 1)), "o-", ms=2, color=l[0].get_color())
    for ax in axes:
        ax.axvspan(*w.sr, color="orange", alpha=0.2)
    axes[0].set_yscale("log")
    axes[0].set_ylim(bottom=0.3)
    axes[0].set_ylabel("events / bin")
    axes[0].set_title(f"mjj after cuts on the window-{wi} classifier (source: emulator); fit: dijet function", fontsize=10, pad=28)
    axes[0].legend(fontsize=8)
    axes[1].set_ylabel("(data - fit) / sqrt(fit)")
    axes[1].set_xlabel("mjj [GeV]")
    label(axes[0])
    fig.tight_layout()
    p = out / "mjj_spectra_fits.png"
    save(plt, fig, p)
    paths.append(p)
    # 2. significance and p0 per window
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    cen = [wo["center"] for wo in c["windows"]]
    for i, r0 in enumerate(c["windows"][0]["hunt_fixed_point"]):
        z = [wo["hunt_fixed_point"][i]["z"] for wo in c["windows"]]
        p0 = [wo["hunt_fixed_point"][i]["p0"] for wo in c["windows"]]
        z = [np.nan if v is None else v for v in z]
        p0 = [np.nan if v is None else v for v in p0]
        axes[0].plot(cen, z, "o-", label=f"eff {r0['efficiency']:g}")
        axes[1].plot(cen, p0, "o-", label=f"eff {r0['efficiency']:g}")
    axes[0].set_ylabel("local significance Z")
    axes[1].set_yscale("log")
    axes[1].set_ylabel("local p0 (deficits: 0.5)")
    for a in (1, 2, 3):
        axes[1].axhline(float(_norm_sf(a)), color="gray", lw=0.7, ls=":")
    for ax in axes:
        ax.set_xlabel("SR centre [GeV]")
        ax.legend(fontsize=8)
    title = "background only (--no-signal)" if report["data"]["no_signal"] else "signal injected"
    label(axes[0])
    fig.suptitle(f"CWoLa scan, {title} (source: fixed-point networks = firmware arithmetic)")
    fig.tight_layout()
    p = out / "significance_per_window.png"
    save(plt, fig, p)
    paths.append(p)
    # 3. what the classifier learned: selected events in the mj1-mj2 plane (SR of the deployed window)
    sr = (mjj >= w.sr[0]) & (mjj < w.sr[1])
    s = sources["emulator"]
    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    ax.hist2d(raw_x[sr, 1], raw_x[sr, 2], bins=[np.linspace(0, 800, 81), np.linspace(0, 400, 81)], cmap="Greys",
              norm=matplotlib.colors.LogNorm())
    for eff, col in ((0.01, "tab:blue"), (0.002, "tab:red")):
        thr = np.quantile(s, 1 - eff, method="higher")
        m = sr & (s > thr)
        ax.scatter(raw_x[m, 1], raw_x[m, 2], s=4, color=col, label=f"selected, eff {eff:g} ({m.sum()} in SR)")
    ax.set_xlabel("mj1 (heavier jet) [GeV]")
    ax.set_ylabel("mj2 [GeV]")
    ax.set_title(f"SR of window {wi}: all (grey) and selected (source: emulator)", fontsize=9, pad=28)
    ax.legend(fontsize=8)
    label(ax)
    fig.tight_layout()
    p = out / "selected_mj1_mj2.png"
    save(plt, fig, p)
    paths.append(p)
    # 4. emulator vs float view and float twin scores
    fig, ax = plt.subplots(figsize=(6, 5))
    idx = np.random.default_rng(0).choice(len(s), size=min(20000, len(s)), replace=False)
    ax.scatter(sources["float_view"][idx], s[idx], s=2, label="float view")
    ax.set_xlabel("float view logit (ensemble)")
    ax.set_ylabel("emulator logit (ensemble)")
    ax.set_title(f"window {wi}: emulator vs float view (20k random events)", fontsize=9, pad=28)
    label(ax)
    fig.tight_layout()
    p = out / "emulator_vs_float_view.png"
    save(plt, fig, p)
    paths.append(p)
    return paths


def _norm_sf(z):
    from scipy.stats import norm

    return norm.sf(z)
