"""EBOPs and bit-width statistics of a deployable model, computed the same way for QKeras-API and native HGQ2 models.

Definition (one number per dense layer, summed over the model)::

    EBOPs(layer) = sum_{i,j} b_x[i] * b_w(W[i, j])  +  sum_j b_w(bias[j])

* ``W``, ``bias``: the layer's *quantized* kernel and bias (``qkernel``/``qbias``: the values in the firmware);
* ``b_w(v)``: the effective bit width of the quantized value ``v`` without its sign: 0 for ``v == 0``, otherwise
  the length of the odd integer ``m`` in ``|v| = m * 2**e`` (the span from the highest to the lowest set bit: a
  product by ``v`` is a product by ``m`` and a free shift).  A weight of 0.5 costs 1 bit, 0.75 costs 2, a
  pruned weight 0, whatever the width of its quantizer;
* ``b_x[i]``: the width of the fixed-point type of input ``i`` of the layer, sign bit included (``k + i + f`` of
  the quantizer that produced it: the layer's own input quantizer for native HGQ2 layers, else the ``Quantizer``
  layer feeding it; the product of two quantized tensors (``QMultiply``) has the sum of their widths).

This is the "effective bit operations" of HGQ (Sun et al., arXiv:2405.00645: sum over multiplications of the
product of the operands' bit widths, plus the bias additions) evaluated on the trained, quantized values.  HGQ2's
own ``layer.ebops`` (the training penalty) uses each quantizer's *configured* widths instead (``b`` of every
weight's quantizer even when the value needs fewer bits, the mean bias width times the number of outputs), so it
is an upper bound of this number; :func:`ebops_report` gives both for native HGQ2 layers.
"""

from __future__ import annotations

import numpy as np

from .graph import layer_calls


def effective_bits(values) -> np.ndarray:
    """Bits of the odd mantissa of each value (sign excluded; 0 for 0): ``|v| = m * 2**e`` with ``m`` odd ->
    ``m.bit_length()``.  Exact for every float64."""
    v = np.abs(np.asarray(values, dtype=np.float64))
    mant, _ = np.frexp(v)  # v = mant * 2**exp, mant in [0.5, 1)
    m = np.ldexp(mant, 53).astype(np.int64)  # 53-bit integer mantissa, top bit set for v != 0
    low = m & -m  # lowest set bit
    tz = np.zeros(m.shape, dtype=np.int64)
    nz = m != 0
    tz[nz] = np.log2(low[nz].astype(np.float64)).astype(np.int64)
    return np.where(nz, 53 - tz, 0).astype(np.int64)


def quantizer_widths(q, shape) -> np.ndarray:
    """Width in bits (sign included) of every element of a tensor of ``shape`` (no batch axis) quantized by the hgq2
    ``Quantizer`` ``q`` (QKeras-API or native; homogeneous or not): ``k + b`` where ``b = i + f`` (0 when b <= 0)."""
    inner = q.quantizer
    full = (1, *shape)
    k = np.asarray(inner.bw_mapper.bw_to_x(inner.k, full), dtype=np.float64)
    b = np.asarray(inner.bw_mapper.bw_to_x(inner.b, full), dtype=np.float64)
    w = np.where(b > 0, b + k, 0.0)
    return np.broadcast_to(w, full)[0].astype(np.int64)


def _stats(a) -> dict:
    a = np.asarray(a, dtype=np.float64).ravel()
    if a.size == 0:
        return {"mean": None, "min": None, "max": None}
    return {"mean": float(a.mean()), "min": int(a.min()), "max": int(a.max())}


def dense_ebops(bx: np.ndarray, kernel: np.ndarray, bias: np.ndarray | None = None) -> int:
    """EBOPs of one dense layer (see the module doc): input widths ``bx`` (n_in,), quantized ``kernel`` (n_in, n_out)."""
    bw = effective_bits(kernel)
    # a dense layer shared over constituents (input (N, n_in), a pointwise conv in hls4ml): N copies of the products
    e = int(np.sum(np.asarray(bx, dtype=np.int64).reshape(-1, bw.shape[0]) @ bw.sum(axis=1)))
    if bias is not None:
        e += int(effective_bits(bias).sum())
    return e


def _width_stats(widths: np.ndarray) -> dict:
    """Statistics of the widths of a quantizer's outputs (the ``activations`` entries of :func:`ebops_report`)."""
    return {**_stats(widths), "n": int(widths.size), "heterogeneous": bool(np.unique(widths).size > 1)}


def _dense_entry(layer, bx: np.ndarray) -> dict:
    """The :func:`ebops_report` entry of one QDense layer whose inputs have the widths ``bx``."""
    w = np.asarray(layer.qkernel, dtype=np.float64)
    b = np.asarray(layer.qbias, dtype=np.float64) if layer.bias is not None else None
    eff = effective_bits(w)
    conf = quantizer_widths(layer.kq, w.shape)
    entry = {
        "ebops": dense_ebops(bx, w, b),
        "n_weights": int(w.size),
        "n_zero_weights": int(np.count_nonzero(w == 0)),
        "weight_bits": _stats(conf),
        "weight_effective_bits_nonzero": _stats(eff[w != 0]),
        "input_bits": _stats(bx),
        "n_bias": 0 if b is None else int(b.size),
        "n_zero_bias": 0 if b is None else int(np.count_nonzero(b == 0)),
    }
    if getattr(layer, "enable_ebops", False):
        entry["hgq_ebops"] = float(np.asarray(layer._compute_ebops((1, int(layer.kernel.shape[0])))))
    return entry


def ebops_report(model) -> dict:
    """Per dense layer of ``model`` (a deployable Keras model): EBOPs (module definition), HGQ2's own EBOPs when the
    layer is a native HGQ2 layer with EBOPs, weight statistics (configured quantizer width per weight with sign,
    effective bits of the non-zero values, number of zero weights) and the widths of its inputs; per quantizer
    (``Quantizer`` layers and native layers' input quantizers): the widths of its outputs.  Totals under ``total``."""
    widths: dict[int, np.ndarray] = {}
    layers: dict[str, dict] = {}
    activations: dict[str, dict] = {}
    for call in layer_calls(model):
        layer, cls, ins, out = call.layer, call.cls, call.ins, call.out
        if cls == "Quantizer":
            widths[out] = quantizer_widths(layer, call.out_shape)
            activations[layer.name] = _width_stats(widths[out])
        elif cls == "QMultiply" and all(i in widths for i in ins):
            widths[out] = widths[ins[0]] + widths[ins[1]]
        elif cls == "QDense":
            if getattr(layer, "enable_iq", False):
                bx = quantizer_widths(layer.iq, (int(layer.kernel.shape[0]),))
                activations[f"{layer.name}/iq"] = _width_stats(bx)
            elif ins[0] in widths:
                bx = widths[ins[0]]
            else:
                raise ValueError(f"layer {layer.name!r}: its input is not quantized, no EBOPs")
            layers[layer.name] = _dense_entry(layer, bx)
        elif getattr(layer, "enable_iq", False) or getattr(layer, "enable_oq", False):
            raise ValueError(f"layer {layer.name!r} of class {cls}: own quantizers not supported by the EBOPs count")
    all_conf, all_eff = [], []
    for layer in model.layers:
        if layer.name in layers:
            w = np.asarray(layer.qkernel, dtype=np.float64)
            all_conf.append(quantizer_widths(layer.kq, w.shape).ravel())
            all_eff.append(effective_bits(w[w != 0]).ravel())
    total = {
        "ebops": int(sum(e["ebops"] for e in layers.values())),
        "n_weights": int(sum(e["n_weights"] for e in layers.values())),
        "n_zero_weights": int(sum(e["n_zero_weights"] for e in layers.values())),
        "weight_bits": _stats(np.concatenate(all_conf) if all_conf else []),
        "weight_effective_bits_nonzero": _stats(np.concatenate(all_eff) if all_eff else []),
    }
    if any("hgq_ebops" in e for e in layers.values()):
        total["hgq_ebops"] = float(sum(e.get("hgq_ebops", 0.0) for e in layers.values()))
        total["hgq_ebops_layers"] = [n for n, e in layers.items() if "hgq_ebops" in e]
    return {"definition": "sum over dense layers of sum_ij b_x[i] * b_w(W_ij) + sum_j b_w(bias_j); b_w = effective "
                          "bits of the quantized value without sign (0 for 0), b_x = input type width with sign "
                          "(quantize/ebops.py)",
            "layers": layers, "activations": activations, "total": total}
