"""Two built L1 projects' decisions at the same rate on the *same* signal test events, paired (issue 15, section 2:
"at 1 kHz at least ae57's efficiency").

    .venv/bin/python -m benchmarks.l1_paired_decisions --data .cache/data/l1_57_...h5 firmware_projects/ae57 \\
        firmware_projects/vae57 [--fpr 2.5e-5]

Each project's firmware (its fast bit-exact emulator, through :class:`lhc_trigger.ProjectEmulator`: the project's
feature transform and standardisation from ``metadata.json``) scores the data file's SM test events and signals;
the threshold is set on the SM test events at ``--fpr`` (and checked against the project's report when it holds
that working point).  Per signal: events selected by A, by B, by A only, by B only, and the McNemar z of B - A,
(n_B_only - n_A_only) / sqrt(n_A_only + n_B_only): how many standard deviations B's efficiency lies above A's on
the same events.  Synthetic events (data.generator)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def paired_counts(a: np.ndarray, b: np.ndarray) -> dict:
    """Selected by A, by B, by A only, by B only, and the McNemar z of B - A (0 when no event differs)."""
    a, b = np.asarray(a, bool), np.asarray(b, bool)
    if a.shape != b.shape:
        raise ValueError(f"decisions on different events: {a.shape} vs {b.shape}")
    oa, ob = int(np.count_nonzero(a & ~b)), int(np.count_nonzero(b & ~a))
    z = (ob - oa) / np.sqrt(oa + ob) if oa + ob else 0.0
    return {"n_a": int(a.sum()), "n_b": int(b.sum()), "only_a": oa, "only_b": ob, "mcnemar_z_b_minus_a": float(z)}


def decisions(project: Path, bkg: np.ndarray, signals: dict, fpr: float) -> tuple[dict, float, int]:
    from analysis import working_points as wp
    from lhc_trigger.api import ProjectEmulator

    emu = ProjectEmulator(project)
    t, n_above = wp.threshold_at_fpr(emu.predict(bkg)[:, 0], fpr)
    rep = project / "report" / "report.json"
    if rep.is_file():
        for w in json.loads(rep.read_text()).get("working_points", []):
            if w.get("fpr") == fpr and "threshold_emulator" in w and w["threshold_emulator"] != t:
                raise SystemExit(f"{project}: threshold {t} on these events, {w['threshold_emulator']} in its report: "
                                 "give the --data file the project was built on")
    return {k: emu.predict(x)[:, 0] > t for k, x in signals.items()}, float(t), n_above


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="the L1 dataset file both projects were built on")
    p.add_argument("a", type=Path, help="project directory A (the reference, e.g. firmware_projects/ae57)")
    p.add_argument("b", type=Path, help="project directory B")
    p.add_argument("--fpr", type=float, default=2.5e-5, help="SM fraction accepted (default 2.5e-5: 1 kHz of 40 MHz)")
    a = p.parse_args(argv)
    for d in (a.a, a.b):
        if not (d / "metadata.json").is_file():
            raise SystemExit(f"{d}: not a built project (no metadata.json)")
    from data.l1 import read_l1_h5

    ds = read_l1_h5(a.data)
    res = {}
    for d in (a.a, a.b):
        res[d], t, n = decisions(d, ds.x_test_bkg, ds.x_test_signal, a.fpr)
        print(f"{d}: threshold {t:.6g}, {n} of {len(ds.x_test_bkg)} SM test events above (FPR {a.fpr:g})")
    print(f"| signal | events | A = {a.a.name} | B = {a.b.name} | A only | B only | McNemar z (B - A) |")
    print("|---|---|---|---|---|---|---|")
    for k, x in ds.x_test_signal.items():
        c = paired_counts(res[a.a][k], res[a.b][k])
        print(f"| {k} | {len(x)} | {c['n_a']} | {c['n_b']} | {c['only_a']} | {c['only_b']} | "
              f"{c['mcnemar_z_b_minus_a']:+.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
