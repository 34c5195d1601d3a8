"""Seed ensembles of vae57's on-chip ``reco`` score, from the chip scores ``benchmarks/vae57hgq_validation.py
--scores-dir DIR`` wrote (issue 15, section 2: is vae57's 1 kHz shortfall on hpm_taunu training noise that an
average over trainings removes?).

An ensemble of k trainings scores an event with the SUM of the k models' chip scores: what an on-chip adder after k
copies of the deployable model computes exactly (the scores are fixed-point values held exactly in float64), at k
times the model's resources.  Each ensemble's threshold is set at FPR 2.5e-5 (1 kHz) on its own SM validation
scores and its decisions are paired with ae57's on the same events (McNemar z), as in vae57hgq_validation.
Validation events only (never the test sample); synthetic events (data.generator).

    .venv/bin/python -m benchmarks.vae57_seed_ensembles --scores-dir /tmp/scores \
        --models "vae57_{seed_13,_beta_0.01}" "vae57_{seed_14,_beta_0.01}" ... --k 2
"""

from __future__ import annotations

import argparse
import math
from itertools import combinations
from pathlib import Path

import numpy as np


def load(scores_dir: Path, name: str) -> dict:
    path = scores_dir / (name if name.endswith(".npz") else name + ".npz")
    if not path.is_file():
        have = ", ".join(sorted(p.stem for p in scores_dir.glob("*.npz"))) or "none"
        raise SystemExit(f"{path}: no such scores file (written by vae57hgq_validation --scores-dir; here: {have})")
    z = np.load(path)
    return {k: np.asarray(z[k], np.float64) for k in z.files}


def ensemble(members: list[dict]) -> dict:
    """Event-wise sum of the members' scores (same events, same samples required)."""
    keys = set(members[0])
    for m in members[1:]:
        if set(m) != keys or any(len(m[k]) != len(members[0][k]) for k in keys):
            raise ValueError("ensemble members were scored on different events")
    return {k: np.sum([m[k] for m in members], axis=0) for k in keys}


def main(argv=None) -> int:
    from benchmarks.vae57hgq_validation import score_table, show

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scores-dir", type=Path, required=True)
    p.add_argument("--reference", default="ae57", help="the reference's scores file (ae57's default training)")
    p.add_argument("--models", nargs="+", required=True, help="members' scores files (without .npz)")
    p.add_argument("--k", type=int, nargs="+", default=[2], help="ensemble sizes (every combination of --models)")
    a = p.parse_args(argv)
    if any(k < 1 or k > len(a.models) for k in a.k):
        raise SystemExit(f"--k {a.k}: each size must lie in 1..{len(a.models)} (the number of --models)")
    ref_scores = load(a.scores_dir, a.reference)
    scores = {m: load(a.scores_dir, m) for m in a.models}  # every file read before any table
    ref = score_table(ref_scores, None)
    show(a.reference, ref)
    for k in a.k:
        tally = {}
        for combo in combinations(a.models, k):
            tab = score_table(ensemble([scores[m] for m in combo]), ref)
            show(" + ".join(combo), tab)
            for s, r in tab["signals"].items():
                tally.setdefault(s, []).append(r["vs_ae57"]["mcnemar_z_b_minus_a"])
        print(f"  k={k}: {math.comb(len(a.models), k)} ensembles; per signal, ensembles at least the reference's "
              "count (z >= 0) / beyond -2 sigma below it: " + " | ".join(
                  f"{s} {sum(z >= 0 for z in zs)} / {sum(z < -2 for z in zs)}" for s, zs in tally.items()), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
