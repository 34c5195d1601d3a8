"""HEP-style figures of a build (mplhep): score distributions per sample, ROC curves, signal efficiency vs SM rate
with its uncertainty, per-layer saturation.  Every figure says "Simulation" (the events are synthetic) and names
the source of its numbers; each is written as PNG (embedded in report.md) and PDF.  No TensorFlow here.

Uncertainties: score histograms carry Poisson errors of the unweighted counts (scaled with the normalisation);
efficiencies and saturation fractions are binomial, shown as central 68.3 % Clopper-Pearson intervals.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from analysis import working_points as wp

CL68 = 0.6827


@contextlib.contextmanager
def hep_figures():
    """``plt`` with the mplhep ROOT style (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import mplhep as hep

    with plt.style.context(hep.style.ROOT):
        yield plt


def label(ax, rlabel: str = "") -> None:
    """mplhep's experiment-style label: "Simulation" (synthetic events), no experiment claimed."""
    import mplhep as hep

    hep.label.exp_label(exp="", data=False, com=None, rlabel=rlabel, loc=0, ax=ax, fontsize=13)


def save(plt, fig, png: Path) -> Path:
    """``png`` and the same figure as PDF beside it; returns the PNG's path."""
    png = Path(png)
    fig.savefig(png, dpi=80, bbox_inches="tight")
    fig.savefig(png.with_suffix(".pdf"), bbox_inches="tight")
    plt.close(fig)
    return png


def clopper_pearson(k, n, cl: float = CL68) -> tuple[np.ndarray, np.ndarray]:
    """Central Clopper-Pearson interval (lo, hi) of a binomial fraction k/n."""
    from scipy.stats import beta

    k, n = np.asarray(k, float), np.asarray(n, float)
    a = (1 - cl) / 2
    lo = np.where(k > 0, beta.ppf(a, k, n - k + 1), 0.0)
    hi = np.where(k < n, beta.ppf(1 - a, k + 1, n - k), 1.0)
    return lo, hi


def score_distributions(plt, s_by_source: dict, score_label: str):
    """One panel per source (e.g. emulator, float view): each sample's normalised score histogram."""
    import mplhep as hep

    sources = {k: v for k, v in s_by_source.items() if v is not None}
    fig, axes = plt.subplots(1, len(sources), figsize=(7.5 * len(sources), 6.5), squeeze=False)
    for ax, (title, sc) in zip(axes[0], sources.items()):
        names = list(sc)
        hi = float(np.quantile(np.concatenate([sc[k] for k in names]), 0.999))
        bins = np.linspace(0, max(hi, 1e-6), 60)
        for k in names:
            h, _ = np.histogram(np.clip(sc[k], 0, bins[-1]), bins=bins)
            norm = 1.0 / max(len(sc[k]), 1) / np.diff(bins)
            hep.histplot(h * norm, bins, yerr=np.sqrt(h) * norm, ax=ax, label=k, lw=1.5)
        ax.set_yscale("log")
        ax.set_xlabel(score_label[:60])
        ax.set_ylabel("events / (N x bin width)")
        ax.legend(fontsize=11, title=f"source: {title}", title_fontsize=11)
        label(ax)
    return fig


def roc_curves(plt, s_by_source: dict, fprs=()):
    """Signal efficiency vs SM false-positive rate per signal (solid: first source, dotted: second)."""
    fig, ax = plt.subplots(figsize=(8, 7))
    styles = ["-", ":", "--"]
    srcs = [(k, v) for k, v in s_by_source.items() if v is not None]
    sorted_bkg = {src: np.sort(sc["background"]) for src, sc in srcs}
    for i, k in enumerate(list(srcs[0][1])[1:]):
        color = f"C{i}"
        for (src, sc), ls in zip(srcs, styles):
            f, t = wp.roc_points(sorted_bkg[src], sc[k])
            ax.plot(f, t, ls, color=color, label=f"{k} ({src})")
    for f in fprs:
        ax.axvline(f, color="gray", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlim(1e-6, 1)
    ax.set_xlabel("SM false-positive rate")
    ax.set_ylabel("signal efficiency")
    ax.legend(fontsize=10)
    label(ax)
    return fig


def efficiency_vs_rate(plt, s: dict, rate_per_fpr_hz: float, source: str):
    """Signal efficiency at the threshold giving each SM rate, with its 68 % Clopper-Pearson band; the rate's own
    statistical uncertainty (Poisson, from the SM events above the threshold) as horizontal bars at a few points."""
    fig, ax = plt.subplots(figsize=(8, 7))
    bkg = np.sort(s["background"])[::-1]
    n = len(bkg)
    ranks = np.unique(np.clip(np.logspace(np.log10(10), np.log10(n - 1), 40).astype(int), 1, n - 1))
    rates = ranks / n * rate_per_fpr_hz
    for i, k in enumerate(list(s)[1:]):
        sig = np.sort(s[k])
        kk = len(sig) - np.searchsorted(sig, bkg[ranks], side="right")
        eff = kk / len(sig)
        lo, hi = clopper_pearson(kk, len(sig))
        ax.plot(rates, eff, color=f"C{i}", label=k)
        ax.fill_between(rates, lo, hi, color=f"C{i}", alpha=0.25, lw=0)
        pick = ranks[:: max(len(ranks) // 6, 1)]
        pe = (len(sig) - np.searchsorted(sig, bkg[pick], side="right")) / len(sig)
        ax.errorbar(pick / n * rate_per_fpr_hz, pe, xerr=np.sqrt(pick) / n * rate_per_fpr_hz, fmt="none",
                    color=f"C{i}", lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("SM rate [Hz]")
    ax.set_ylabel(f"signal efficiency (source: {source})")
    ax.legend(fontsize=10, title="band: 68% CL (Clopper-Pearson)", title_fontsize=10)
    label(ax)
    return fig


def saturation(plt, sat: dict, source: str):
    """Fraction of events with any value out of range, per quantizer layer and sample (68 % CL bars); None when
    the model has no quantizer layers."""
    if not sat:
        return None
    layers = list(sat)
    samples = list(next(iter(sat.values()))["samples"])
    fig, ax = plt.subplots(figsize=(max(8, 1.2 * len(layers) + 3), 7))
    width = 0.8 / len(samples)
    x = np.arange(len(layers))
    floor, top = 1.0, 0.0
    for j, smp in enumerate(samples):
        d = [sat[l]["samples"][smp] for l in layers]
        k = np.array([e["events_out_of_range"] for e in d], float)
        n = np.array([max(e["n_events"], 1) for e in d], float)
        lo, hi = clopper_pearson(k, n)
        frac = k / n
        floor, top = min(floor, float(np.min(1.0 / n)) / 10), max(top, float(np.max(hi)))
        ax.bar(x + (j - (len(samples) - 1) / 2) * width, frac, width, label=smp, color=f"C{j}")
        ax.errorbar(x + (j - (len(samples) - 1) / 2) * width, frac, yerr=[frac - lo, hi - frac], fmt="none",
                    color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_ylim(floor, min(2.0, max(top, floor * 10) * 100))  # room for the legend
    ax.set_xticks(x, [f"{l}\n{sat[l]['precision']}" for l in layers], rotation=30, ha="right", fontsize=9)
    ax.set_ylabel("fraction of events saturating")
    ax.legend(fontsize=9, ncols=2, title=f"source: {source}", title_fontsize=9)
    label(ax)
    return fig


def build_plots(out: Path, report: dict, s_emu: dict, s_fview: dict | None, s_twin: dict | None) -> list[Path]:
    """The trigger report's figures in ``out`` (PNG + PDF); returns the PNG paths."""
    out = Path(out)
    score = f"anomaly score {(report.get('model_details') or {}).get('score', 'sum(mu^2)')}"
    wps = report["working_points"]
    paths = []
    with hep_figures() as plt:
        paths.append(save(plt, score_distributions(plt, {"emulator": s_emu, "float view (Keras)": s_fview}, score),
                          out / "score_distributions.png"))
        paths.append(save(plt, roc_curves(plt, {"emulator": s_emu, "float twin (Keras)": s_twin},
                                          [w["fpr"] for w in wps]), out / "roc.png"))
        paths.append(save(plt, efficiency_vs_rate(plt, s_emu, wps[0]["background_rate_hz"] / wps[0]["fpr"],
                                                  "emulator"), out / "efficiency_vs_rate.png"))
        fig = saturation(plt, report.get("saturation") or {}, "quantized Keras model")
        if fig is not None:
            paths.append(save(plt, fig, out / "saturation.png"))
    return paths
