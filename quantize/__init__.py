"""Exact fixed-point and QKeras semantics (``Precision``; hgq2 quantizers with QKeras bit counting)."""

from .precision import Overflow, Precision, Rounding, out_of_range_np, quantize_np

__all__ = ["Overflow", "Precision", "Rounding", "out_of_range_np", "quantize_np"]
