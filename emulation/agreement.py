"""Agreement metrics between an emulator and a reference (counts, LSBs, correlations).

Keras evaluates the fixed-point graph in float32, so a wide fixed-point output (a sum of squares) can
differ from the exact value the C-simulation returns by float32 rounding.  An event counts as
mismatched only when the difference exceeds one float32 ulp of the Keras value; the largest difference
is also given in units of the output's LSB.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class ExactAgreement:
    n_events: int
    n_mismatched: int  # beyond 1 float32 ulp of the Keras value
    n_differ_any: int  # any difference at all (float32 rounding included)
    max_abs_diff: float
    max_diff_lsb: float | None
    worst_event: int | None

    def to_dict(self):
        return asdict(self)


def exact_agreement(emulated: np.ndarray, keras_out: np.ndarray, lsb: float | None = None,
                    float32_tolerance: bool = True) -> ExactAgreement:
    """``float32_tolerance=False`` when the reference was computed in float64 (exact): any difference counts."""
    e = np.asarray(emulated, dtype=np.float64).reshape(len(emulated), -1)
    k = np.asarray(keras_out, dtype=np.float64).reshape(len(keras_out), -1)
    if e.shape != k.shape:
        raise ValueError(f"emulator output shape {e.shape} != Keras output shape {k.shape}")
    diff = np.abs(e - k)
    tol = np.spacing(np.abs(k).astype(np.float32)).astype(np.float64) if float32_tolerance else 0.0
    ev_mis = np.any(diff > tol, axis=1)
    ev_any = np.any(diff > 0, axis=1)
    per_ev = diff.max(axis=1) if diff.size else np.zeros(len(e))
    worst = int(np.argmax(per_ev)) if len(per_ev) and per_ev.max() > 0 else None
    mx = float(per_ev.max()) if len(per_ev) else 0.0
    return ExactAgreement(
        n_events=len(e),
        n_mismatched=int(ev_mis.sum()),
        n_differ_any=int(ev_any.sum()),
        max_abs_diff=mx,
        max_diff_lsb=(mx / lsb) if lsb else None,
        worst_event=worst,
    )


def score_correlation(a: np.ndarray, b: np.ndarray) -> dict:
    a = np.asarray(a, dtype=np.float64).ravel()
    b = np.asarray(b, dtype=np.float64).ravel()
    return {
        "score_pearson": float(stats.pearsonr(a, b).statistic),
        "score_spearman": float(stats.spearmanr(a, b).statistic),
    }
