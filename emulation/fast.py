"""Fast bit-exact emulator: the quantized graph evaluated in exact dyadic arithmetic with float64 BLAS.

Every tensor of a QKeras-API/hgq2 model deployed through hls4ml's bit-exact flow holds fixed-point
values k * 2**-f.  float64 represents such a value exactly while it has at most 53 significant bits, and
a dense layer's products and partial sums stay exact as long as the accumulator's bound fits in 53 bits,
whatever the summation order.  So ``x @ W + b`` in float64 (BLAS, multi-threaded), followed by the
quantizers' rounding and saturation done exactly (:func:`quantize.precision.quantize_np`), is the same
arithmetic as the firmware (and the hls4ml C-simulation): exact accumulation, then RND_CONV/SAT at each
quantizer.  The emulator checks the 53-bit bound for every layer when it is built and refuses a model
where it does not hold, rather than return approximate numbers.

Supported layers: InputLayer, Quantizer (QActivation), QDense (linear activation), QMultiply, QAdd,
QSubtract.  Anything else raises ``ValueError`` naming the layer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from quantize.precision import Precision, quantize_np
from quantize.qkeras import precision_of_quantizer_layer

MANTISSA_BITS = 53


@dataclass
class _Bound:
    """Magnitude bound and fractional bits of an exact tensor (for the 53-bit check)."""

    max_abs: float
    frac: int

    @property
    def bits(self) -> int:
        if self.max_abs == 0:
            return 1
        return int(math.ceil(math.log2(self.max_abs * 2.0**self.frac + 1))) + 1


def _frac_bits(values: np.ndarray) -> int:
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[v != 0]
    f = 0
    while f < 60 and np.any(v * 2.0**f != np.round(v * 2.0**f)):
        f += 1
    return f


class FastEmulator:
    name = "fast"
    label = "fast exact emulator (float64 BLAS on fixed-point values)"

    def __init__(self, keras_model):
        self._steps = []  # (kind, out_id, in_ids, params)
        nodes = []
        for depth in sorted(keras_model._nodes_by_depth, reverse=True):
            nodes.extend(keras_model._nodes_by_depth[depth])
        self._input_ids = [id(t) for t in keras_model.inputs]
        self._output_ids = [id(t) for t in keras_model.outputs]
        self.n_inputs = int(keras_model.inputs[0].shape[-1])
        self.n_outputs = int(keras_model.outputs[0].shape[-1])
        bounds: dict[int, _Bound | None] = {i: None for i in self._input_ids}
        for node in nodes:
            layer = node.operation
            cls = layer.__class__.__name__
            ins = [id(t) for t in node.input_tensors]
            out = id(node.output_tensors[0])
            if cls == "InputLayer":
                continue
            if cls == "Quantizer":
                p = precision_of_quantizer_layer(layer)
                if p is None or layer.scaler not in (None, 1, 1.0) or layer.affine is not None:
                    raise ValueError(f"layer {layer.name!r}: only homogeneous, unscaled quantizers are supported")
                self._steps.append(("quant", out, ins, p))
                bounds[out] = _Bound(max(abs(p.min), abs(p.max)), p.frac)
            elif cls == "QDense":
                if getattr(layer, "enable_iq", False) or getattr(layer, "enable_oq", False):
                    raise ValueError(f"layer {layer.name!r}: QDense with its own input/output quantizer is not supported")
                act = getattr(layer.activation, "__name__", "linear")
                if act != "linear":
                    raise ValueError(f"layer {layer.name!r}: QDense activation {act!r} is not supported (use QActivation)")
                w = np.asarray(layer.qkernel, dtype=np.float64)
                b = np.asarray(layer.qbias, dtype=np.float64) if layer.bias is not None else None
                bx = bounds[ins[0]]
                if bx is None:
                    raise ValueError(f"layer {layer.name!r}: needs a quantizer before it (unquantized input)")
                fw = _frac_bits(w)
                fb = _frac_bits(b) if b is not None else 0
                frac = max(bx.frac + fw, fb)
                col = np.abs(w).sum(axis=0).max() * bx.max_abs + (np.abs(b).max() if b is not None else 0.0)
                bd = _Bound(float(col), frac)
                self._check(layer, bd, bx, _Bound(float(np.abs(w).max()), fw))
                self._steps.append(("dense", out, ins, (w, b)))
                bounds[out] = bd
            elif cls in ("QMultiply", "QAdd", "QSubtract"):
                bs = [bounds[i] for i in ins]
                if any(b is None for b in bs):
                    raise ValueError(f"layer {layer.name!r}: needs quantized inputs")
                if cls == "QMultiply":
                    bd = _Bound(math.prod(b.max_abs for b in bs), sum(b.frac for b in bs))
                else:
                    bd = _Bound(sum(b.max_abs for b in bs), max(b.frac for b in bs))
                if bd.bits > MANTISSA_BITS:
                    raise ValueError(f"layer {layer.name!r}: {bd.bits} bits exceed float64's exact range")
                self._steps.append((cls, out, ins, None))
                bounds[out] = bd
            else:
                raise ValueError(
                    f"layer {layer.name!r} of class {cls} is not supported by the fast emulator; "
                    "supported: Quantizer, QDense, QMultiply, QAdd, QSubtract (use the C-sim emulator)"
                )

    @staticmethod
    def _check(layer, out: _Bound, x: _Bound, w: _Bound):
        prod_bits = _Bound(x.max_abs * w.max_abs, x.frac + w.frac).bits
        if max(out.bits, prod_bits) > MANTISSA_BITS:
            raise ValueError(
                f"layer {layer.name!r}: the accumulator needs {max(out.bits, prod_bits)} bits, more than float64's "
                f"{MANTISSA_BITS}: not exact in the fast emulator (use the C-sim emulator)"
            )

    def predict(self, x: np.ndarray, chunk: int = 1 << 18) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"emulator expects inputs of shape (n, {self.n_inputs}), got {x.shape}")
        out = np.empty((len(x), self.n_outputs), dtype=np.float64)
        for s in range(0, len(x), chunk):
            out[s:s + chunk] = self._run(np.asarray(x[s:s + chunk], dtype=np.float64))
        return out

    def _run(self, x: np.ndarray) -> np.ndarray:
        vals = {self._input_ids[0]: x}
        for kind, out, ins, params in self._steps:
            a = vals[ins[0]]
            if kind == "quant":
                vals[out] = quantize_np(a, params)
            elif kind == "dense":
                w, b = params
                y = a @ w
                if b is not None:
                    y += b
                vals[out] = y
            elif kind == "QMultiply":
                vals[out] = a * vals[ins[1]]
            elif kind == "QAdd":
                vals[out] = a + vals[ins[1]]
            else:
                vals[out] = a - vals[ins[1]]
        return vals[self._output_ids[0]].reshape(len(x), -1)


def precision_summary(p: Precision) -> str:
    return p.to_ap()
