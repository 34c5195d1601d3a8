"""Checks of event arrays before anything expensive runs: not empty, finite, of the expected width, and
(once the input port is known) inside the port's range.  Pure numpy; no TensorFlow."""

from __future__ import annotations

import numpy as np

# a value this many times beyond the input port's largest magnitude is a unit error or a sentinel (1e30, -999)
ABSURD_FACTOR = 16.0
# more than this fraction of a sample's events saturating the input port is not a tail but a wrong input
MAX_SATURATED_FRACTION = 0.01


def check_events(x: np.ndarray, what: str, width: int | None = None) -> np.ndarray:
    """``x`` (n events, ...) unchanged, or ValueError naming ``what``, the rows and the columns at fault."""
    x = np.asarray(x)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"{what}: no events (an empty sample); give at least one event per row")
    flat = x.reshape(len(x), -1)
    if width is not None and flat.shape[1] != width:
        raise ValueError(f"{what}: {flat.shape[1]} values per event, expected {width}")
    if not np.issubdtype(flat.dtype, np.number):
        raise ValueError(f"{what}: values of type {flat.dtype} are not numbers")
    bad = ~np.isfinite(flat)
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise ValueError(f"{what}: {int(bad.any(axis=1).sum())} event(s) hold NaN or infinite values (first: row "
                         f"{int(rows[0])}, column {int(cols[0])} = {flat[rows[0], cols[0]]}); remove or fix them")
    return x


def port_range_problems(samples: dict[str, np.ndarray], lo: float, hi: float, port: str) -> list[str]:
    """Why the (standardised) inputs do not fit the input port [lo, hi], one line per sample at fault; empty
    when they fit (a tail below :data:`MAX_SATURATED_FRACTION` that stays within :data:`ABSURD_FACTOR` is fine)."""
    out = []
    limit = ABSURD_FACTOR * max(abs(lo), abs(hi))
    for name, x in samples.items():
        flat = np.asarray(x, np.float64).reshape(len(x), -1)
        if not len(flat):
            continue
        outside = (flat < lo) | (flat > hi)
        frac = float(outside.any(axis=1).mean())
        worst = np.unravel_index(int(np.argmax(np.abs(flat))), flat.shape)
        vmax = float(flat[worst])
        if abs(vmax) > limit or frac > MAX_SATURATED_FRACTION:
            out.append(f"{name}: {frac:.2%} of {len(flat)} events saturate the input port {port} (range [{lo:g}, "
                       f"{hi:g}] after standardisation); largest |value| {vmax:.4g} (event {int(worst[0])}, "
                       f"feature {int(worst[1])})")
    return out
