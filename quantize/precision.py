"""Fixed-point precision as a value: ``Precision(signed, width, integer, rounding, overflow)``.

Conventions follow Xilinx ``ap_fixed<W, I>``: ``width`` counts every bit, ``integer`` counts the
integer bits *including* the sign bit when signed.  The representable values are
``k * 2**-(W - I)`` for integer ``k`` in ``[-2**(W-1), 2**(W-1) - 1]`` (signed) or
``[0, 2**W - 1]`` (unsigned).  ``SAT_SYM`` drops the most negative code.

Strings from users are parsed here once (``Precision.parse``) and deep code only sees the enums.
``quantize_np`` is the numpy reference of the arithmetic, used by tests and by the saturation counters.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

import numpy as np


class Rounding(enum.Enum):
    TRN = "TRN"  # truncate towards -inf
    RND = "RND"  # round half up (towards +inf)
    RND_CONV = "RND_CONV"  # round half to even (QKeras / tf.round)

    @classmethod
    def parse(cls, s: str) -> "Rounding":
        key = s.upper().removeprefix("AP_")
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"unknown rounding mode {s!r}; choose one of {[m.value for m in cls]}") from None


class Overflow(enum.Enum):
    WRAP = "WRAP"
    SAT = "SAT"
    SAT_SYM = "SAT_SYM"

    @classmethod
    def parse(cls, s: str) -> "Overflow":
        key = s.upper().removeprefix("AP_")
        try:
            return cls(key)
        except ValueError:
            raise ValueError(f"unknown overflow mode {s!r}; choose one of {[m.value for m in cls]}") from None


_AP_RE = re.compile(r"^\s*(ap_)?(u?fixed)\s*<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,\s*(\w+)\s*)?(?:,\s*(\w+)\s*)?(?:,\s*0\s*)?>\s*$",
                    re.I)  # an explicit 5th argument (saturation bits) is accepted when 0, as hls4ml writes it


@dataclass(frozen=True)
class Precision:
    signed: bool
    width: int
    integer: int
    rounding: Rounding = Rounding.RND_CONV
    overflow: Overflow = Overflow.SAT

    def __post_init__(self):
        if self.width < 1:
            raise ValueError(f"fixed-point width must be >= 1, got {self.width}")
        if self.signed and self.width < 2:
            raise ValueError("a signed fixed-point type needs at least 2 bits (sign + 1)")

    # ---- derived quantities -------------------------------------------------------------
    @property
    def frac(self) -> int:
        return self.width - self.integer

    @property
    def step(self) -> float:
        return 2.0 ** -self.frac

    @property
    def max(self) -> float:
        return 2.0 ** (self.integer - int(self.signed)) - self.step

    @property
    def min(self) -> float:
        if not self.signed:
            return 0.0
        if self.overflow is Overflow.SAT_SYM:
            return -self.max
        return -(2.0 ** (self.integer - 1))

    @property
    def levels(self) -> int:
        return int(round((self.max - self.min) / self.step)) + 1

    # ---- conversions --------------------------------------------------------------------
    @classmethod
    def parse(cls, s: str) -> "Precision":
        """Parse ``ap_fixed<W,I[,Q[,O]]>``, ``ap_ufixed<...>``, ``fixed<...>`` or ``ufixed<...>``."""
        m = _AP_RE.match(s)
        if not m:
            raise ValueError(
                f"cannot parse precision {s!r}: expected e.g. 'ap_fixed<16,6>' or 'ap_ufixed<8,3,AP_RND,AP_SAT>'"
            )
        signed = not m.group(2).lower().startswith("u")
        rnd = Rounding.parse(m.group(5)) if m.group(5) else Rounding.TRN
        ovf = Overflow.parse(m.group(6)) if m.group(6) else Overflow.WRAP
        return cls(signed, int(m.group(3)), int(m.group(4)), rnd, ovf)

    def to_ap(self) -> str:
        base = "ap_fixed" if self.signed else "ap_ufixed"
        return f"{base}<{self.width},{self.integer},AP_{self.rounding.value},AP_{self.overflow.value}>"

    @classmethod
    def from_qkeras(cls, bits: int, integer: int = 0, keep_negative: bool = True, symmetric: bool = False) -> "Precision":
        """QKeras ``quantized_bits(bits, integer, symmetric, keep_negative)`` with alpha=1.

        QKeras counts the sign bit in ``bits`` but not in ``integer``: step = 2**(integer - bits + keep_negative).
        """
        if bits < 1 + int(keep_negative):
            raise ValueError(f"QKeras quantized_bits needs bits >= {1 + int(keep_negative)}, got {bits}")
        return cls(
            signed=bool(keep_negative),
            width=int(bits),
            integer=int(integer) + int(bool(keep_negative)),
            rounding=Rounding.RND_CONV,
            overflow=Overflow.SAT_SYM if symmetric else Overflow.SAT,
        )

    def qkeras_args(self) -> dict:
        """Inverse of :meth:`from_qkeras` (QKeras conventions: sign counted in bits, not in integer)."""
        return dict(
            bits=self.width,
            integer=self.integer - int(self.signed),
            keep_negative=self.signed,
            symmetric=self.overflow is Overflow.SAT_SYM,
        )

    def __str__(self) -> str:
        return self.to_ap()


def round_np(y: np.ndarray, rounding: Rounding) -> np.ndarray:
    if rounding is Rounding.TRN:
        return np.floor(y)
    if rounding is Rounding.RND:
        return np.floor(y + 0.5)
    return np.rint(y)  # half to even


def quantize_np(x: np.ndarray, p: Precision) -> np.ndarray:
    """Numpy reference of fixed-point quantization (float64 arithmetic, exact for width <= 52)."""
    y = round_np(np.asarray(x, dtype=np.float64) / p.step, p.rounding)
    lo, hi = p.min / p.step, p.max / p.step
    if p.overflow is Overflow.WRAP:
        span = 2.0**p.width
        y = np.mod(y - lo, span) + lo
    else:
        y = np.clip(y, lo, hi)
    return y * p.step


def out_of_range_np(x: np.ndarray, p: Precision) -> tuple[np.ndarray, np.ndarray]:
    """Masks of values that after rounding fall above ``max`` / below ``min`` (i.e. saturate or wrap).

    Compared without rounding every value: with H = max / step and L = min / step (integers), round(x / step) > H
    exactly when x >= (H + 1) step (TRN) or x >= (H + 1/2) step (RND, RND_CONV); < L when x < L step (TRN) or
    x < (L - 1/2) step.  The bounds are exact in float64 and, when they fit, in x's own float32
    (no float64 copy of millions of values).  :func:`out_of_range_rounded_np` is the rounding reference."""
    x = np.asarray(x)
    H, L = p.max / p.step, p.min / p.step
    if p.rounding is Rounding.TRN:
        up, down = (H + 1) * p.step, L * p.step
    else:
        # RND and RND_CONV give the same masks for every valid type (a signed one has >= 2 bits): a tie at H + 1/2
        # rounds to H + 1 = 2^(W - signed), even, under both; a tie at L - 1/2 (L = -2^(W-1) or 0) rounds up to L
        # under RND and to the even L rather than the odd L - 1 under RND_CONV
        up, down = (H + 0.5) * p.step, (L - 0.5) * p.step
    if x.dtype == np.float32 and float(np.float32(up)) == up and float(np.float32(down)) == down:
        return x >= np.float32(up), x < np.float32(down)
    x = x.astype(np.float64, copy=False)
    return x >= up, x < down


def out_of_range_rounded_np(x: np.ndarray, p: Precision) -> tuple[np.ndarray, np.ndarray]:
    """Reference of :func:`out_of_range_np`: every value rounded as the quantizer rounds, then compared."""
    y = round_np(np.asarray(x, dtype=np.float64) / p.step, p.rounding) * p.step
    return y > p.max, y < p.min
