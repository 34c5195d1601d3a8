"""Per layer and per sample: how often values leave a quantizer's range (saturate, or wrap for WRAP).

For every hgq2 ``Quantizer`` layer of the deployable model, the tensor feeding it is evaluated with Keras
and rounded as the quantizer rounds; a value above ``max`` or below ``min`` is out of range.  For
unsigned quantizers (quantized ReLUs) the clipping of negative values is the ReLU itself and is not
counted; only the upper limit is.
"""

from __future__ import annotations

import numpy as np

from quantize.precision import Overflow, out_of_range_np
from quantize.qkeras import precision_of_quantizer_layer


def quantizer_layers(model) -> list:
    return [l for l in model.layers if precision_of_quantizer_layer(l) is not None]


def _input_in_model(model, layer):
    """The tensor feeding ``layer`` inside ``model`` (layers may be shared with other models)."""
    for nodes in model._nodes_by_depth.values():
        for node in nodes:
            if node.operation is layer:
                return node.input_tensors[0]
    raise ValueError(f"layer {layer.name} is not part of model {model.name}")


def saturation_counts(model, samples: dict[str, np.ndarray], chunk: int = 262_144) -> dict:
    """``{layer: {precision, mode, samples: {sample: {n_events, events_out_of_range, frac_events, frac_values}}}}``."""
    import keras

    layers = quantizer_layers(model)
    if not layers:
        return {}
    probe = keras.Model(model.inputs, [_input_in_model(model, l) for l in layers])
    out: dict = {}
    for l in layers:
        p = precision_of_quantizer_layer(l)
        out[l.name] = {
            "precision": p.to_ap(),
            "mode": "wrap" if p.overflow is Overflow.WRAP else "saturate",
            "samples": {},
        }
    for sname, x in samples.items():
        acc = {l.name: [0, 0, 0] for l in layers}  # events out, values out, values total
        for start in range(0, len(x), chunk):
            vals = probe.predict(x[start:start + chunk], batch_size=65536, verbose=0)
            if len(layers) == 1:
                vals = [vals]
            for l, v in zip(layers, vals):
                p = precision_of_quantizer_layer(l)
                hi, lo = out_of_range_np(np.asarray(v), p)
                bad = hi | (lo if p.signed else False)
                bad = bad.reshape(len(bad), -1)
                a = acc[l.name]
                a[0] += int(np.any(bad, axis=1).sum())
                a[1] += int(bad.sum())
                a[2] += bad.size
        n = len(x)
        for l in layers:
            ev, vo, vt = acc[l.name]
            out[l.name]["samples"][sname] = {
                "n_events": n,
                "events_out_of_range": ev,
                "frac_events": ev / n if n else 0.0,
                "frac_values": vo / vt if vt else 0.0,
            }
    return out
