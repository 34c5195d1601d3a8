"""Pareto front of a sweep's results table: physics (efficiency, maximised) vs resources and latency (minimised).

The resource and latency columns are chosen from whatever the table has, most trustworthy source first
(``SOURCE_PRIORITY``: vendor Vivado, vendor C-synthesis, yosys synthesis, RTL simulation, da4ml estimate,
hls4ml estimate); when no resource source exists, ``BOPs[analytic]`` (bit operations from the quantizer
widths) stands in, and is labelled as such.  Budgets (``--budget LUT=50000``, the spec's ``budgets:`` or a
report's ``budgets``) select the best point: the highest efficiency among points within every budget.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

SOURCE_PRIORITY = ("vendor_vivado", "vendor_csynth", "yosys_synthesis", "rtl_simulation", "da4ml_estimate",
                   "hls_estimate", "analytic")
RESOURCE_METRICS = ("LUT", "BOPs")
LATENCY_METRICS = ("latency_ns", "latency_cycles")


def _source_col(cols, metric: str) -> str | None:
    for src in SOURCE_PRIORITY:
        c = f"{metric}[{src}]"
        if c in cols:
            return c
    extra = sorted(c for c in cols if c.startswith(f"{metric}["))
    return extra[0] if extra else None


def pick_metric(df, kind: str, requested: str | None = None) -> str | None:
    """Column for ``kind`` in (efficiency, resource, latency); ``requested`` is a column, a metric or a signal."""
    cols = [c for c in df.columns if df[c].notna().any()]
    if kind == "efficiency":
        if requested in (None, "", "mean"):
            return "eff_mean" if "eff_mean" in cols else None
        for c in (requested, f"eff[{requested}]"):
            if c in cols:
                return c
        raise ValueError(f"pareto efficiency {requested!r}: no such column; use 'mean' or one of "
                         f"{[c[4:-1] for c in cols if c.startswith('eff[')]}")
    if requested not in (None, "", "auto"):
        if requested in cols:
            return requested
        c = _source_col(cols, requested)
        if c is None:
            raise ValueError(f"pareto {kind} {requested!r}: no such column or metric in the table")
        return c
    for m in RESOURCE_METRICS if kind == "resource" else LATENCY_METRICS:
        c = _source_col(cols, m)
        if c is not None:
            return c
    return None


def pareto_mask(costs: np.ndarray) -> np.ndarray:
    """True for rows not dominated by any other (all columns minimised; ties do not dominate)."""
    costs = np.asarray(costs, dtype=float)
    n = len(costs)
    mask = np.ones(n, bool)
    for i in range(n):
        le = np.all(costs <= costs[i], axis=1)
        lt = np.any(costs < costs[i], axis=1)
        if np.any(le & lt):
            mask[i] = False
    return mask


def resolve_budgets(df, budgets: dict) -> dict[str, float]:
    """Budget keys (column names or metric names like ``LUT``, ``latency_ns``) -> table columns.  Without
    explicit budgets, the reports' own ``budget[<metric>]`` columns are used."""
    cols = [c for c in df.columns if df[c].notna().any()]
    if not budgets:
        budgets = {c[7:-1]: float(df[c].dropna().iloc[0]) for c in cols if c.startswith("budget[")}
    out = {}
    for k, v in budgets.items():
        c = k if k in cols else _source_col(cols, k)
        if c is None:
            out[k] = float(v)  # kept: a budget with no column cannot be checked; reported as such
        else:
            out[c] = float(v)
    return out


def analyse(df, pareto: dict | None = None, budgets: dict | None = None) -> dict:
    """Front membership, best point under budgets, and the chosen columns."""
    pareto = pareto or {}
    ok = df[df["status"] == "ok"] if "status" in df else df
    eff = pick_metric(ok, "efficiency", pareto.get("efficiency")) if len(ok) else None
    res = pick_metric(ok, "resource", pareto.get("resource")) if len(ok) else None
    lat = pick_metric(ok, "latency", pareto.get("latency")) if len(ok) else None
    out = {"efficiency": eff, "resource": res, "latency": lat, "front": [], "best": None,
           "budgets": resolve_budgets(ok, budgets or {}) if len(ok) else dict(budgets or {}), "unchecked_budgets": []}
    if eff is None or not len(ok):
        return out
    objs = [c for c in (res, lat) if c is not None]
    sub = ok.dropna(subset=[eff, *objs])
    if len(sub):
        costs = np.column_stack([-sub[eff].to_numpy(float), *[sub[c].to_numpy(float) for c in objs]])
        out["front"] = list(sub["hash"][pareto_mask(costs)])
    within = sub
    for flag in ("checks_passed", "budgets_passed"):  # the best point passes its own checks and budgets
        if flag in within.columns:
            within = within[within[flag].map(lambda v: v is True or v == 1 or (isinstance(v, np.bool_) and bool(v)))]
    for c, v in out["budgets"].items():
        if c in sub.columns:
            within = within[within[c] <= v]
        else:
            out["unchecked_budgets"].append(c)
    if len(within):
        order = within.sort_values([eff, *(objs[:1])], ascending=[False, *([True] * len(objs[:1]))])
        out["best"] = order["hash"].iloc[0]
    return out


def _fmt(v, nd=4) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if isinstance(v, (float, np.floating)):
        if v != 0 and (abs(v) >= 1e5 or abs(v) < 1e-3):
            return f"{v:.3g}"
        return f"{v:.{nd}g}"
    return str(v)


def pareto_markdown(df, info: dict, title: str = "Sweep") -> str:
    eff, res, lat = info["efficiency"], info["resource"], info["latency"]
    counts = df["status"].value_counts().to_dict() if "status" in df else {}
    lines = [f"# {title}: Pareto front", ""]
    lines.append("Points: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) + f" (of {len(df)}).")
    wp = df["working_point"].dropna().iloc[0] if "working_point" in df and df["working_point"].notna().any() else None
    lines.append(f"Efficiency: `{eff}` at working point `{wp}` (emulator, i.e. the bit-accurate firmware model; "
                 "`eff_mean` = mean over the signals).")
    lines.append(f"Resources: `{res}`." if res else "Resources: no source in the table.")
    lines.append(f"Latency: `{lat}`." if lat else "Latency: no source in the table (no latency/resource report yet).")
    if info["budgets"]:
        lines.append("Budgets: " + ", ".join(f"`{c}` <= {_fmt(v)}" for c, v in info["budgets"].items())
                     + (f" (no column for {info['unchecked_budgets']}: not applied)" if info["unchecked_budgets"] else ""))
    else:
        lines.append("Budgets: none given (best = highest efficiency among points whose checks pass).")
    lines.append("")
    if eff is None or not info["front"]:
        lines.append("No completed point with an efficiency: no front.")
        return "\n".join(lines) + "\n"
    sig_cols = [c for c in df.columns if c.startswith("eff[")]
    cols = ["hash", "mode", "precision", "reuse_factor", "strategy", "clock_period_ns", eff,
            *[c for c in sig_cols if c != eff], *[c for c in (res, lat) if c], "n_mismatched", "spearman_float_view"]
    cols = [c for c in dict.fromkeys(cols) if c in df.columns]
    front = df[df["hash"].isin(info["front"])].sort_values([c for c in (res, lat) if c] or [eff])
    lines.append("| best | " + " | ".join(cols) + " |")
    lines.append("|---" * (len(cols) + 1) + "|")
    for _, r in front.iterrows():
        mark = "**best under budgets**" if r["hash"] == info["best"] else ""
        lines.append(f"| {mark} | " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    if info["best"] is not None and info["best"] not in info["front"]:
        lines.append("")
        lines.append(f"Best under budgets (not on the front): `{info['best']}`.")
    if info["best"] is None:
        lines.append("")
        lines.append("No completed point passes its checks and is within every budget.")
    return "\n".join(lines) + "\n"


def pareto_plots(df, info: dict, out_dir: Path) -> list[Path]:
    """Pareto fronts (resources vs efficiency, latency vs resources) in mplhep style, PNG + PDF."""
    from analysis.plots import hep_figures, save

    out_dir = Path(out_dir)
    eff, res, lat = info["efficiency"], info["resource"], info["latency"]
    ok = df[df["status"] == "ok"]
    written = []
    pairs = [("pareto_resources_vs_efficiency.png", res, eff), ("pareto_latency_vs_resources.png", res, lat)]
    with hep_figures() as plt:
        for name, xc, yc in pairs:
            if xc is None or yc is None or not len(ok):
                continue
            sub = ok.dropna(subset=[xc, yc])
            if len(sub):
                written.append(save(plt, _pareto_figure(plt, sub, info, xc, yc, eff), out_dir / name))
    return written


def _pareto_figure(plt, sub, info: dict, xc: str, yc: str, eff: str):
    from analysis.plots import label

    fig, ax = plt.subplots(figsize=(8, 6.5))
    labels = sub["precision"].astype(str) if "precision" in sub else None
    for lab in sorted(set(labels), key=lambda s: (len(s), s)) if labels is not None else [None]:
        s = sub if lab is None else sub[labels == lab]
        ax.scatter(s[xc], s[yc], label=None if lab is None else f"precision {lab}", s=28)
    cost_y = -sub[yc].to_numpy(float) if yc == eff else sub[yc].to_numpy(float)
    m = pareto_mask(np.column_stack([sub[xc].to_numpy(float), cost_y]))
    fr = sub[m].sort_values(xc)
    ax.step(fr[xc], fr[yc], where="post", color="k", lw=1, label="Pareto front")
    if info["best"] is not None and info["best"] in set(sub["hash"]):
        b = sub[sub["hash"] == info["best"]]
        ax.scatter(b[xc], b[yc], marker="*", s=220, facecolor="none", edgecolor="r", label="best under budgets")
    for c, v in info["budgets"].items():
        if c == xc:
            ax.axvline(v, color="r", ls="--", lw=0.8)
        if c == yc:
            ax.axhline(v, color="r", ls="--", lw=0.8)
    ax.set_xlabel(xc)
    ax.set_ylabel(yc + (" (emulator)" if yc == eff else ""))
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    label(ax, "sweep")
    return fig


# ---- the reuse-factor trade-off: every point, per-layer reuse factors, II, latency and resources ----------------
TRADE_METRICS = ("ii", "ii_ns", "latency_cycles", "latency_ns", "LUT", "FF", "DSP", "BRAM")


def _trade_cols(df) -> list[str]:
    cols = [c for c in df.columns if df[c].notna().any()]
    return [c for c in (_source_col(cols, m) for m in TRADE_METRICS) if c]


def reuse_markdown(df) -> str:
    """Every point of a sweep with a reuse-factor axis: target, per-layer reuse factors, II, latency, resources,
    efficiency, bit-exactness and budgets (empty when the sweep has one reuse factor)."""
    if "reuse_factor" not in df or df["reuse_factor"].nunique() < 2:
        return ""
    rf = [c for c in df.columns if c.startswith("rf[")]
    cols = [c for c in ("precision", "strategy", "reuse_factor", *rf, *_trade_cols(df), "eff_mean", "n_mismatched",
                        "csim_n_mismatched", "budgets_passed", "status") if c in df.columns]
    lines = ["## Reuse-factor trade-off (every point)", "",
             "`reuse_factor` is the target R; `rf[<layer>]` the reuse factor each dense layer got (largest valid value "
             "<= R, hls/reuse.py). Latency and resources: the column's source in brackets (`hls_estimate` = the "
             "analytic model of hls/estimate.py, not a synthesis).", "",
             "| " + " | ".join(cols) + " |", "|---" * len(cols) + "|"]
    keys = [c for c in ("precision", "strategy", "reuse_factor") if c in df.columns]
    for _, r in df.sort_values(keys).iterrows():
        lines.append("| " + " | ".join(_fmt(r[c]) for c in cols) + " |")
    return "\n".join(lines) + "\n"


def reuse_plot(df, out_dir: Path) -> Path | None:
    """Latency and II (rows) against LUT and DSP (columns), one marker per point, labelled by the target R."""
    from analysis.plots import hep_figures, save

    ok = df[df["status"] == "ok"] if "status" in df else df
    if "reuse_factor" not in ok or ok["reuse_factor"].nunique() < 2:
        return None
    cols = [c for c in ok.columns if ok[c].notna().any()]
    xs = [_source_col(cols, m) for m in ("LUT", "DSP")]
    ys = [_source_col(cols, m) for m in ("latency_ns", "ii_ns")]
    if None in xs or None in ys:
        return None
    keys = [c for c in ("strategy", "precision") if c in ok.columns]
    groups = [(", ".join(f"{x} bits" if c == "precision" else str(x) for c, x in zip(keys, np.atleast_1d(k))), g)
              for k, g in ok.groupby(keys, dropna=False)]
    with hep_figures() as plt:
        fig, axes = plt.subplots(2, 2, figsize=(10, 8.5))
        for i, yc in enumerate(ys):
            for j, xc in enumerate(xs):
                ax = axes[i][j]
                for k, g in groups:
                    g = g.sort_values("reuse_factor")
                    ax.plot(g[xc], g[yc], marker="o", label=k)
                    for _, r in g.iterrows():
                        ax.annotate(f"R={int(r['reuse_factor'])}", (r[xc], r[yc]), fontsize=8,
                                    xytext=(3, 3), textcoords="offset points")
                if yc.startswith("ii_ns"):
                    ax.axhline(25.0, color="r", ls="--", lw=0.8, label="25 ns (40 MHz)")
                ax.set_xlabel(xc, fontsize=13)
                ax.set_ylabel(yc, fontsize=13)
                ax.tick_params(labelsize=11)
                ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=8)
        axes[1][0].legend(fontsize=8)
        fig.suptitle("reuse-factor targets R (labels); figures from the columns' sources", fontsize=11)
        fig.tight_layout()
        return save(plt, fig, Path(out_dir) / "pareto_reuse.png")
