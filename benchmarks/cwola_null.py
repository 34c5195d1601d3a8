"""The CWoLa hunt on background only (``--no-signal``) with seeds the tests never use: are its local p-values what
the null hypothesis predicts?

    python benchmarks/cwola_null.py [--seeds 1001,1002,1003,1004,1005] [--n-bkg 300000] [--json OUT.json]

Per seed, the dijet sample (no injected signal) is generated, every window's nested k-fold classifiers are
trained and the hunt is scanned over all (window, cut) cells: the flow's ``cwola_data`` and ``cwola_train`` steps
(no firmware is written).  Printed: per seed the largest local Z and the fit quality of the tightest cut; over
all seeds and cells the fraction of local p-values below 0.001 ... 0.25 against the null expectation (the test is
one-sided: deficits give p0 = 0.5), the quantiles of 2 p0 given an excess against the uniform ones, and a KS test
of 2 p0 (given an excess) against the uniform distribution.  Cells share events (half-overlapping windows, nested
cuts), so they are not independent: the KS p-value is indicative.  Seeds 1001-1005 are not used by any test
(the tests use seeds below 100; the build's default is 42).  Each seed writes its result to ``--json`` as soon as
it finishes, so an interrupted run keeps the seeds already done.  Run it ``nice``: ~4 min CPU per seed at 300k events.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_SEEDS = (1001, 1002, 1003, 1004, 1005)


def run_seed(seed: int, n_bkg: int, cache_dir: Path, n_toys: int, epochs: int | None = None) -> dict:
    """Background-only scan of every window for one seed: per window the hunt rows (fixed-point networks)."""
    import flow.steps  # noqa: F401  (registers the steps)
    from flow.build import new_build, run_flow
    from flow.config import BuildConfig, CWoLaOptions

    with tempfile.TemporaryDirectory() as tmp:
        cfg = BuildConfig(model="cwola", seed=seed, output_dir=Path(tmp) / "p", cache_dir=cache_dir, epochs=epochs,
                          cwola=CWoLaOptions(no_signal=True, n_bkg=n_bkg, n_toys=n_toys))
        t0 = time.perf_counter()
        b = run_flow(new_build(cfg), ["cwola_data", "cwola_train"])
        wall = time.perf_counter() - t0
    keep = ("efficiency", "n_selected", "n_sr", "b_sr", "db_sr", "p0", "z", "fit_chi2", "fit_ndf", "fit_chi2_pvalue",
            "fit_deviance", "fit_deviance_pvalue", "toys", "error")
    windows = [{"index": w["index"], "sr": w["sr"], "fit_sides": w["fit_sides"],
                "hunt": [{k: r.get(k) for k in keep} for r in w["hunt_fixed_point"]]} for w in b.family_state["win_out"]]
    return {"seed": seed, "n_bkg": n_bkg, "wall_s": wall, "windows": windows}


def summarise(runs: list[dict]) -> dict:
    from analysis.cwola_stats import null_pvalue_summary

    cells = [(r["seed"], w["index"], h["efficiency"], h["p0"], h["z"]) for r in runs for w in r["windows"]
             for h in w["hunt"]]
    out = {"seeds": [r["seed"] for r in runs], "all_cells": null_pvalue_summary([c[3] for c in cells]),
           "cut_cells": null_pvalue_summary([c[3] for c in cells if c[2] < 1.0])}
    out["max_local_z"] = {}
    for r in runs:
        zs = [(h["z"], w["index"], h["efficiency"]) for w in r["windows"] for h in w["hunt"] if h["z"] is not None]
        zc = [t for t in zs if t[2] < 1.0]
        out["max_local_z"][str(r["seed"])] = {"all": max(zs) if zs else None, "after_cut": max(zc) if zc else None}
    return out


def _print(runs: list[dict], s: dict) -> None:
    print("\nper seed: largest local Z (window, cut); tightest cut's fit: pull width and std/db (toys) per window")
    for r in runs:
        m = s["max_local_z"][str(r["seed"])]
        toys = [w["hunt"][-1].get("toys") or {} for w in r["windows"]]
        pw = " ".join(f"{t['pull_width']:.2f}" if t.get("pull_width") is not None else "n/a" for t in toys)
        sr = " ".join(f"{t['spread_ratio']:.2f}" if t.get("spread_ratio") is not None else "n/a" for t in toys)
        print(f"  seed {r['seed']}: max Z {m['all'][0]:.2f} (window {m['all'][1]}, cut {m['all'][2]:g}); after a cut "
              f"{m['after_cut'][0]:.2f} (window {m['after_cut'][1]}, cut {m['after_cut'][2]:g}); pull widths {pw}; "
              f"std/db {sr}; {r['wall_s']:.0f} s")
    for name in ("all_cells", "cut_cells"):
        a = s[name]
        print(f"\n{name}: {a['n_cells']} cells, {a['n_excess']} excesses (fraction {a['fraction_excess']:.2f}, "
              f"expected ~0.5)")
        print("  fraction with p0 <= a vs expected a: " + ", ".join(
            f"{k}: {v:.3f}" for k, v in a["fraction_p0_at_most"].items()))
        if a["quantiles_2p0_given_excess"]:
            print("  quantiles of 2 p0 given an excess (uniform: q): " + ", ".join(
                f"{k}: {v:.3f}" for k, v in a["quantiles_2p0_given_excess"].items()))
        if a["ks_2p0_vs_uniform"]:
            print(f"  KS test of 2 p0 (excesses) vs uniform: D = {a['ks_2p0_vs_uniform']['statistic']:.3f}, "
                  f"p = {a['ks_2p0_vs_uniform']['pvalue']:.3g} (cells correlated: indicative)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", default=",".join(map(str, DEFAULT_SEEDS)))
    p.add_argument("--n-bkg", type=int, default=300_000)
    p.add_argument("--toys", type=int, default=200)
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default: the build's; smoke tests only)")
    p.add_argument("--cache-dir", type=Path, default=ROOT / ".cache")
    p.add_argument("--json", type=Path, default=None, help="results (per seed, then the summary)")
    a = p.parse_args(argv)
    seeds = [int(s) for s in a.seeds.split(",") if s.strip()]
    if not seeds or a.n_bkg < 10_000:
        p.error("give at least one seed and --n-bkg >= 10000")
    done = json.loads(a.json.read_text()).get("runs", []) if a.json and a.json.is_file() else []
    runs = [r for r in done if r["seed"] in seeds and r["n_bkg"] == a.n_bkg]
    for seed in seeds:
        if any(r["seed"] == seed for r in runs):
            print(f"seed {seed}: already in {a.json}")
            continue
        runs.append(run_seed(seed, a.n_bkg, a.cache_dir, a.toys, a.epochs))
        if a.json:
            a.json.write_text(json.dumps({"runs": runs}, indent=1, default=float))
    s = summarise(runs)
    if a.json:
        a.json.write_text(json.dumps({"runs": runs, "summary": s}, indent=1, default=float))
    _print(runs, s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
