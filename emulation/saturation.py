"""Per layer and per sample: how often values leave a quantizer's range (saturate, or wrap for WRAP).

For every hgq2 ``Quantizer`` layer of the deployable model, and every native HGQ2 layer's own input quantizer
(reported as ``<layer>/iq``), the tensor feeding it is evaluated with Keras and rounded as the quantizer rounds; a
value above ``max`` or below ``min`` is out of range.  Per-element (heterogeneous) quantizers are compared with
each element's own range; their precision is shown as the covering type with "per element".  For
unsigned quantizers (quantized ReLUs) the clipping of negative values is the ReLU itself and is not
counted; only the upper limit is.
"""

from __future__ import annotations

import numpy as np

from quantize.graph import input_in_model
from quantize.precision import Overflow, out_of_range_np
from quantize.qkeras import precision_of_quantizer_layer


def quantizer_layers(model) -> list:
    """Homogeneous ``Quantizer`` layers of ``model``."""
    return [l for l in model.layers if precision_of_quantizer_layer(l) is not None]


class _ElementRange:
    """Per-element rounding step and range of a (possibly heterogeneous) hgq2 quantizer on a tensor of ``shape``."""

    def __init__(self, q, shape):
        from quantize.hgq_native import covering_precision
        from quantize.precision import Rounding

        inner = q.quantizer
        full = (1, *shape)

        def per(v):
            return np.broadcast_to(np.asarray(inner.bw_mapper.bw_to_x(v, full), dtype=np.float64), full)

        self.step = 2.0 ** -per(inner.f)
        self.lo, self.hi = per(inner.min), per(inner.max)
        self.signed = per(inner.k) > 0
        self.rounding = Rounding.parse(str(inner.round_mode).upper().removeprefix("S_"))
        self.overflow = str(inner.overflow_mode).upper()
        cov = covering_precision(q, shape)
        self.label = (cov.to_ap() if cov is not None else "zero width") + " (per element)"

    def out_of_range(self, v):
        from quantize.precision import round_np

        y = round_np(np.asarray(v, dtype=np.float64) / self.step, self.rounding) * self.step
        return y > self.hi, (y < self.lo) & self.signed


def _entries(model) -> list:
    """(report name, layer whose input is probed, Precision or _ElementRange) for every quantizer of ``model``."""
    out = []
    for l in model.layers:
        cls = l.__class__.__name__
        if cls == "Quantizer":
            p = precision_of_quantizer_layer(l)
            if p is None:
                p = _ElementRange(l, tuple(int(d) for d in input_in_model(model, l).shape[1:]))
            out.append((l.name, l, p))
        elif getattr(l, "enable_iq", False) and hasattr(l, "iq") and hasattr(l.iq, "quantizer"):
            shape = (int(l.kernel.shape[0]),) if hasattr(l, "kernel") else None
            if shape is None:
                continue  # multi-input layers' quantizers: not counted
            p = precision_of_quantizer_layer(l.iq) or _ElementRange(l.iq, shape)
            out.append((f"{l.name}/iq", l, p))
    return out


def saturation_counts(model, samples: dict[str, np.ndarray], chunk: int = 262_144) -> dict:
    """``{layer: {precision, mode, samples: {sample: {n_events, events_out_of_range, frac_events, frac_values}}}}``."""
    import keras

    entries = _entries(model)
    if not entries:
        return {}
    probe = keras.Model(model.inputs, [input_in_model(model, l) for _, l, _ in entries])
    from emulation.keras_ref import CompiledPredictor

    run = CompiledPredictor(probe)  # XLA-compiled once (float32, as predict), Keras predict if XLA cannot
    out: dict = {}
    for name, _, p in entries:
        het = isinstance(p, _ElementRange)
        out[name] = {
            "precision": p.label if het else p.to_ap(),
            "mode": "wrap" if (p.overflow == "WRAP" if het else p.overflow is Overflow.WRAP) else "saturate",
            "samples": {},
        }
    for sname, x in samples.items():
        acc = {name: [0, 0, 0] for name, _, _ in entries}  # events out, values out, values total
        for start in range(0, len(x), chunk):
            vals = run(x[start:start + chunk])
            if len(entries) == 1 and not isinstance(vals, list):
                vals = [vals]
            for (name, _, p), v in zip(entries, vals):
                if isinstance(p, _ElementRange):
                    hi, lo = p.out_of_range(v)
                    bad = hi | lo
                else:
                    hi, lo = out_of_range_np(np.asarray(v), p)
                    bad = hi | (lo if p.signed else False)
                bad = bad.reshape(len(bad), -1)
                a = acc[name]
                a[0] += int(np.any(bad, axis=1).sum())
                a[1] += int(bad.sum())
                a[2] += bad.size
        n = len(x)
        for name, _, _ in entries:
            ev, vo, vt = acc[name]
            out[name]["samples"][sname] = {
                "n_events": n,
                "events_out_of_range": ev,
                "frac_events": ev / n if n else 0.0,
                "frac_values": vo / vt if vt else 0.0,
            }
    return out
