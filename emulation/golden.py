"""Golden test vectors: events chosen to cover the score range and the input quantizer's limits."""

from __future__ import annotations

import numpy as np

from quantize.precision import Precision


def limit_vectors(n_features: int, p: Precision | None) -> np.ndarray:
    """Zeros, every feature at max / min / beyond, and one feature at a time at max and min."""
    hi = p.max if p is not None else 1.0
    lo = p.min if p is not None else -1.0
    span = max(abs(hi), abs(lo))
    rows = [np.zeros(n_features), np.full(n_features, hi), np.full(n_features, lo),
            np.full(n_features, 2 * span), np.full(n_features, -2 * span),
            np.where(np.arange(n_features) % 2 == 0, hi, lo)]
    for i in range(n_features):
        for v in (hi, lo):
            r = np.zeros(n_features)
            r[i] = v
            rows.append(r)
    return np.asarray(rows, dtype=np.float32)


def select_golden(xs: dict[str, np.ndarray], scores: dict[str, np.ndarray], p_in: Precision | None,
                  seed: int = 0, n_bulk: int = 200, n_tail: int = 50, n_signal: int = 50) -> tuple[np.ndarray, dict]:
    """Background bulk (random), background tail (highest scores), each signal (random + highest), limits."""
    rng = np.random.default_rng(seed)
    parts, counts = [], {}
    for name, x in xs.items():
        s = scores[name]
        n_rand = n_bulk if name == "background" else n_signal // 2
        n_top = n_tail if name == "background" else n_signal - n_signal // 2
        idx_rand = rng.choice(len(x), size=min(n_rand, len(x)), replace=False)
        idx_top = np.argsort(s)[::-1][: min(n_top, len(x))]
        parts += [x[idx_rand].reshape(len(idx_rand), -1), x[idx_top].reshape(len(idx_top), -1)]  # flat port order
        counts[f"{name}_random"] = int(len(idx_rand))
        counts[f"{name}_top_score"] = int(len(idx_top))
    lim = limit_vectors(parts[0].shape[1], p_in)
    parts.append(lim)
    counts["input_limits"] = int(len(lim))
    return np.concatenate(parts).astype(np.float32), counts
