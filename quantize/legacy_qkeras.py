"""Quantizer settings of legacy QKeras (Keras 2) model files, parsed and mapped to exact equivalents.

A legacy QKeras model stores its quantizers in the layer configs, either as a serialised dict
(``{"class_name": "quantized_bits", "config": {"bits": 6, "integer": 0, "symmetric": 0, "alpha": 1,
"keep_negative": true, "use_stochastic_rounding": false, "qnoise_factor": 1.0}}``) or as a string
(``"quantized_relu(3,1)"``), as in hls4ml's example models (fastmachinelearning/example-models
``keras/qkeras_mnist_cnn.json`` and ``keras/qkeras_mnist_dense.json``).

:func:`parse_quantizer` turns either form into a :class:`LegacyQuantizer` and refuses, with a message
naming the option, every setting whose arithmetic is not reproduced exactly here.  The numpy formulas
(:meth:`LegacyQuantizer.apply_np`) transcribe QKeras's ``qkeras/quantizers.py`` (google/qkeras):

- ``quantized_bits(bits, integer, symmetric, keep_negative, alpha)``: ``m = 2**(bits - keep_negative)``,
  ``m_i = 2**integer``, ``xq = m_i * clip(round(x * m / m_i), keep_negative * (-m + symmetric), m - 1) / m``
  (``round`` = ``tf.round``, half to even).  Only ``alpha`` in (None, 1): a numeric alpha multiplies
  the output by alpha *without* dividing the input, and 'auto'/'auto_po2' compute per-channel scales.
- ``quantized_relu(bits, integer)``: ``m = 2**bits``, ``xq = m_i * clip(round(x * m / m_i) / m, 0, 1 - 1/m)``
  (``use_sigmoid=0`` and ``negative_slope=0`` only).
- ``quantized_po2(bits, max_value)`` (weights only): sign (0 counts as +) times ``2**clip(round(log2|x|),
  min_exp, max_exp)``, ``|x| < 1e-7`` gives ``2**min_exp``, ``|x|`` clipped to ``max_value`` first;
  ``min_exp = -2**(bits - 1 - s)``, ``max_exp = 2**(bits - 1 - s) - 1`` with ``s = 1`` unless
  ``0 <= max_value <= 1``.  ``quantized_relu_po2`` likewise with ``bits - s`` and no sign.  With
  ``quadratic_approximation`` the exponent of ``sqrt|x|`` is rounded and doubled (``max_exp`` made even).
  The logarithm is evaluated in float32 like TensorFlow's.

Fixed-point quantizers (``quantized_bits``, ``quantized_relu``) become hgq2 quantizers with QKeras bit
counting through :mod:`quantize.qkeras`; power-of-two quantizers are applied to the frozen weights at
import time and the weights are stored in a fixed-point type that holds every resulting value exactly.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field

import numpy as np

from .precision import Precision, Rounding, quantize_np

SUPPORTED_QUANTIZERS = ("quantized_bits", "quantized_relu", "quantized_po2 (weights)", "quantized_relu_po2 (weights)")
KERAS_EPSILON = 1e-7


class UnsupportedQuantizer(ValueError):
    pass


@dataclass(frozen=True)
class LegacyQuantizer:
    kind: str  # quantized_bits | quantized_relu | quantized_po2 | quantized_relu_po2
    params: dict = field(default_factory=dict)

    # ---- fixed-point view ---------------------------------------------------------------------
    @property
    def is_fixed_point(self) -> bool:
        return self.kind in ("quantized_bits", "quantized_relu")

    def precision(self) -> Precision:
        """The ``ap_fixed`` type whose RND_CONV/SAT quantization equals this QKeras quantizer."""
        p = self.params
        if self.kind == "quantized_bits":
            return Precision.from_qkeras(p["bits"], p["integer"], bool(p["keep_negative"]), bool(p["symmetric"]))
        if self.kind == "quantized_relu":
            return Precision.from_qkeras(p["bits"], p["integer"], keep_negative=False)
        raise UnsupportedQuantizer(f"{self} is not a fixed-point quantizer")

    def hgq_config(self):
        """hgq2 quantizer configuration (QKeras-API layers) reproducing this quantizer exactly."""
        from .qkeras import quantizer_config

        return quantizer_config(self.precision())

    # ---- numpy reference (QKeras formulas) -----------------------------------------------------
    def apply_np(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        p = self.params
        if self.kind == "quantized_bits":
            k = int(bool(p["keep_negative"]))
            m = 2.0 ** (p["bits"] - k)
            mi = 2.0 ** p["integer"]
            lo = k * (-m + int(bool(p["symmetric"])))
            return mi * np.clip(np.rint(x * m / mi), lo, m - 1) / m
        if self.kind == "quantized_relu":
            m = 2.0 ** p["bits"]
            mi = 2.0 ** p["integer"]
            return mi * np.clip(np.rint(x * m / mi) / m, 0.0, 1.0 - 1.0 / m)
        if self.kind in ("quantized_po2", "quantized_relu_po2"):
            min_exp, max_exp = self.exponent_range()
            sign = np.sign(x)
            sign = sign + (1.0 - np.abs(sign))
            if self.kind == "quantized_relu_po2":
                x = np.maximum(x, 0.0)
                sign = np.ones_like(x)
            a = np.abs(x).astype(np.float32)
            filt = np.where(a < KERAS_EPSILON, np.float32(KERAS_EPSILON), a)
            if p.get("max_value") is not None:
                filt = np.where(filt >= p["max_value"], np.float32(p["max_value"]), filt)
            qf = 2.0 if p.get("quadratic_approximation") else 1.0
            xin = np.sqrt(filt) if qf == 2.0 else filt
            e = qf * np.clip(np.rint(np.log(xin) / np.float32(np.log(2.0))), min_exp, max_exp)
            e = np.where(a < KERAS_EPSILON, min_exp, e)
            return sign * 2.0 ** e.astype(np.float64)
        raise UnsupportedQuantizer(self.kind)

    def exponent_range(self) -> tuple[int, int]:
        p = self.params
        mv = p.get("max_value")
        need_sign = 0 if (mv is not None and 0 <= mv <= 1) else 1
        eff = p["bits"] - need_sign - (1 if self.kind == "quantized_po2" else 0)
        max_exp = 2**eff - 1
        if p.get("quadratic_approximation"):
            max_exp = 2 * (max_exp // 2)
        return -(2**eff), max_exp

    def __str__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{self.kind}({args})"

    def to_dict(self) -> dict:
        d = {"class_name": self.kind, **self.params}
        if self.is_fixed_point:
            d["ap_type"] = self.precision().to_ap()
        return d


def exact_precision_for(values: np.ndarray) -> Precision:
    """Smallest signed RND_CONV/SAT fixed-point type that holds every value of ``values`` exactly
    (for weights already quantized at import time, e.g. powers of two)."""
    v = np.asarray(values, dtype=np.float64).ravel()
    nz = np.abs(v[v != 0])
    if nz.size == 0:
        return Precision(True, 2, 1, Rounding.RND_CONV)
    f = 0
    while np.any(nz * 2.0**f != np.round(nz * 2.0**f)):
        f += 1
        if f > 60:
            raise UnsupportedQuantizer("weights are not representable in fixed point with <= 60 fractional bits")
    i = max(1, int(math.floor(math.log2(nz.max()))) + 1)  # integer bits without sign covering max |v|
    # signed: integer includes the sign bit; the most negative code -2**(i) is representable too
    return Precision(True, i + 1 + f, i + 1, Rounding.RND_CONV)


# ------------------------------------------------------------------------------------------------
_DEFAULTS = {
    "quantized_bits": dict(bits=8, integer=0, symmetric=0, keep_negative=True, alpha=None,
                           use_stochastic_rounding=False, scale_axis=None, qnoise_factor=1.0, var_name=None,
                           use_ste=True, use_variables=False),
    "quantized_relu": dict(bits=8, integer=0, use_sigmoid=0, negative_slope=0.0, use_stochastic_rounding=False,
                           relu_upper_bound=None, is_quantized_clip=True, qnoise_factor=1.0, var_name=None,
                           use_ste=True, use_variables=False),
    "quantized_po2": dict(bits=8, max_value=None, use_stochastic_rounding=False, quadratic_approximation=False,
                          log2_rounding="rnd", qnoise_factor=1.0, var_name=None, use_ste=True, use_variables=False),
    "quantized_relu_po2": dict(bits=8, max_value=None, negative_slope=0, use_stochastic_rounding=False,
                               quadratic_approximation=False, log2_rounding="rnd", qnoise_factor=1.0, var_name=None,
                               use_ste=True, use_variables=False),
}
_POSITIONAL = {k: list(v) for k, v in _DEFAULTS.items()}


def _parse_string(s: str) -> tuple[str, dict]:
    """``"quantized_bits(8,3,alpha=1)"`` -> (name, kwargs), with literal arguments only (no eval)."""
    s = s.strip()
    try:
        node = ast.parse(s, mode="eval").body
    except SyntaxError:
        raise UnsupportedQuantizer(f"cannot parse quantizer string {s!r}") from None
    if isinstance(node, ast.Name):
        return node.id, {}
    if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
        raise UnsupportedQuantizer(f"cannot parse quantizer string {s!r}: expected e.g. 'quantized_bits(8,3)'")
    name = node.func.id
    if name not in _POSITIONAL:
        return name, {}
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
    except ValueError:
        raise UnsupportedQuantizer(f"quantizer string {s!r}: only literal arguments are supported") from None
    names = _POSITIONAL[name]
    if len(args) > len(names):
        raise UnsupportedQuantizer(f"quantizer string {s!r}: too many arguments")
    for n, a in zip(names, args):
        if n in kwargs:
            raise UnsupportedQuantizer(f"quantizer string {s!r}: argument {n} given twice")
        kwargs[n] = a
    return name, kwargs


def parse_quantizer(spec, where: str = "") -> LegacyQuantizer | None:
    """A QKeras quantizer from its serialised dict or string (None for None).  Raises
    :class:`UnsupportedQuantizer` naming ``where`` and the setting for anything not reproduced exactly."""
    if spec is None:
        return None
    pre = f"{where}: " if where else ""
    if isinstance(spec, dict):
        name = spec.get("class_name")
        cfg = dict(spec.get("config") or {})
    elif isinstance(spec, str):
        name, cfg = _parse_string(spec)
    else:
        raise UnsupportedQuantizer(f"{pre}cannot interpret quantizer {spec!r}")
    if name not in _DEFAULTS:
        raise UnsupportedQuantizer(
            f"{pre}quantizer {name!r} is not supported; supported: {', '.join(SUPPORTED_QUANTIZERS)}"
        )
    unknown = set(cfg) - set(_DEFAULTS[name])
    if unknown:
        raise UnsupportedQuantizer(f"{pre}{name}: unknown arguments {sorted(unknown)}")
    p = {**_DEFAULTS[name], **cfg}
    if p.get("use_stochastic_rounding"):
        raise UnsupportedQuantizer(f"{pre}{name}: use_stochastic_rounding=True has no deterministic firmware equivalent")
    if p.get("qnoise_factor") not in (None, 1, 1.0):
        raise UnsupportedQuantizer(f"{pre}{name}: qnoise_factor={p['qnoise_factor']} (only 1.0, full quantization)")
    if name == "quantized_bits":
        if p["alpha"] not in (None, 1, 1.0):
            raise UnsupportedQuantizer(
                f"{pre}quantized_bits alpha={p['alpha']!r} is not supported: only alpha=1 or None (QKeras's automatic "
                "scales 'auto'/'auto_po2' and numeric alphas change the arithmetic per channel)"
            )
        if int(p["bits"]) - int(bool(p["keep_negative"])) < 1:
            raise UnsupportedQuantizer(f"{pre}quantized_bits({p['bits']}) with keep_negative is a binary quantizer: not supported")
        keep = dict(bits=int(p["bits"]), integer=int(p["integer"]), symmetric=int(bool(p["symmetric"])),
                    keep_negative=bool(p["keep_negative"]), alpha=p["alpha"])
    elif name == "quantized_relu":
        if p["use_sigmoid"] or p["negative_slope"]:
            raise UnsupportedQuantizer(f"{pre}quantized_relu with use_sigmoid or negative_slope is not supported")
        if not p["is_quantized_clip"] and p["relu_upper_bound"] is not None:
            raise UnsupportedQuantizer(f"{pre}quantized_relu relu_upper_bound is not supported")
        keep = dict(bits=int(p["bits"]), integer=int(p["integer"]))
    else:
        if p["log2_rounding"] != "rnd":
            raise UnsupportedQuantizer(f"{pre}{name}: log2_rounding={p['log2_rounding']!r} is not supported (only 'rnd')")
        if name == "quantized_relu_po2" and p["negative_slope"]:
            raise UnsupportedQuantizer(f"{pre}quantized_relu_po2 with negative_slope is not supported")
        keep = dict(bits=int(p["bits"]), max_value=p["max_value"],
                    quadratic_approximation=bool(p["quadratic_approximation"]))
    return LegacyQuantizer(name, keep)


def quantize_weights_np(q: LegacyQuantizer | None, w: np.ndarray) -> np.ndarray:
    """The weights QKeras uses at inference (numpy formulas of this module)."""
    if q is None:
        return np.asarray(w, dtype=np.float64)
    return q.apply_np(w)


def check_fixed_point_np(q: LegacyQuantizer, x) -> np.ndarray:
    """Cross-check helper: the fixed-point equivalent (``quantize_np`` of :meth:`precision`)."""
    return quantize_np(x, q.precision())
