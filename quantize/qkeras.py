"""Exact QKeras semantics on top of hgq2's ``qkeras`` compatibility module.

hgq2's compat ``quantized_bits(bits, integer)`` does not count the sign bit (its ``quantized_bits(6, 0)``
has 128 levels with step 2**-6), while QKeras's does (64 levels, step 2**-5).  This module owns the
mapping: callers speak QKeras (or :class:`~quantize.precision.Precision`) and get the hgq2 quantizer
that reproduces it exactly:

    QKeras quantized_bits(bits, integer, symmetric, keep_negative, alpha=1)
        == hgq2 qkeras.quantized_bits(bits - keep_negative, integer, symmetric, keep_negative, alpha=1)
    QKeras quantized_relu(bits, integer) == hgq2 qkeras.quantized_relu(bits, integer)   (already equal)

Both round half to even (RND_CONV, like ``tf.round``) and saturate (SAT, or SAT_SYM when symmetric).
Only ``alpha`` in (None, 1) is supported: QKeras's automatic per-channel scales ('auto', 'auto_po2')
have no fixed-point firmware meaning in hls4ml's bit-exact flow.
"""

from __future__ import annotations

from .precision import Overflow, Precision, Rounding


def _check_alpha(alpha):
    if alpha not in (None, 1, 1.0):
        raise ValueError(
            f"QKeras alpha={alpha!r} is not supported: use alpha=1 (or None). Automatic scales ('auto', "
            "'auto_po2') change the arithmetic per channel and are not reproduced bit-exactly in firmware."
        )


def quantizer_config(p: Precision):
    """hgq2 quantizer configuration implementing ``p`` exactly (RND_CONV rounding, SAT/SAT_SYM)."""
    from qkeras.quantizers import quantized_bits  # hgq2's compat module (imports Keras)

    if p.rounding is not Rounding.RND_CONV or p.overflow is Overflow.WRAP:
        raise ValueError(
            f"{p} cannot be expressed with QKeras-API quantizers (they round half-to-even and saturate); "
            "use AP_RND_CONV with AP_SAT or AP_SAT_SYM"
        )
    return quantized_bits(
        p.width - int(p.signed),
        p.integer - int(p.signed),
        symmetric=p.overflow is Overflow.SAT_SYM,
        keep_negative=p.signed,
        alpha=1,
    )


def qkeras_quantized_bits(bits: int, integer: int = 0, symmetric: bool = False, keep_negative: bool = True, alpha=1):
    """Drop-in for QKeras's ``quantized_bits`` with QKeras's bit counting."""
    _check_alpha(alpha)
    return quantizer_config(Precision.from_qkeras(bits, integer, keep_negative, bool(symmetric)))


def qkeras_quantized_relu(bits: int, integer: int = 0, alpha=1):
    """Drop-in for QKeras's ``quantized_relu`` (unsigned, step 2**(integer - bits), saturating)."""
    _check_alpha(alpha)
    return quantizer_config(Precision.from_qkeras(bits, integer, keep_negative=False))


def precision_of_quantizer_layer(layer) -> Precision | None:
    """The fixed-point precision a (homogeneous) hgq2 ``Quantizer`` layer implements, or None if it is not one."""
    q = getattr(layer, "quantizer", None)
    if q is None or not hasattr(q, "overflow_mode"):
        return None
    import numpy as np

    k = np.asarray(q.k).ravel()
    i = np.asarray(q.i).ravel()
    f = np.asarray(q.f).ravel()
    if not (np.all(k == k[0]) and np.all(i == i[0]) and np.all(f == f[0])):
        return None  # heterogeneous (per-element) quantizer: no single Precision
    signed = bool(k[0])
    integer = int(i[0]) + int(signed)
    width = integer + int(f[0])
    rnd = str(q.round_mode).upper().removeprefix("S_")
    return Precision(signed, width, integer, Rounding.parse(rnd), Overflow.parse(str(q.overflow_mode)))
