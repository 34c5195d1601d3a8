"""Shared by the L1 models (``ae57``, ``vae57``, ``vae57hgq``): input scaling, the input port's range, the float
view's weights.

Input convention: the 57 L1 features divided by :func:`data.l1.input_scale` (no offset: zero padding stays
exactly 0 at the firmware input port); the scale is stored in the project's ``metadata.json``
(``standardization``: mean 0, std = scale) and applied upstream of the firmware.

The input port: the CMS L1 models' ap_fixed<8,6> (step 1/4 of a feature's RMS) needs one more integer bit,
:data:`L1_INPUT` = QKeras quantized_bits(9, 6) = ap_fixed<9,7>: its range must hold every value the L1 fields
can carry, and the saturated L1 MET (2047.5 GeV) is ~51x its RMS on the SM sample.  With ap_fixed<8,6> (range
+-32) the ~2.5e-5 of SM events with MET above ~1.3 TeV were clipped at the port: exactly the background tail
that sets the 1 kHz threshold, so the firmware's threshold dropped and its signal efficiency rose 10-40 % above
the float view's.  :func:`port_range_check` reports the margin for the data at hand.
"""

from __future__ import annotations

import numpy as np

from data.l1 import L1_FEATURES
from quantize.spec import QuantSpec

L1_INPUT = (9, 6)  # QKeras (bits, integer) of the CMS-like input port plus one integer bit (see above)
# vae57's features: log1p of every pT (a lookup on the integer L1 pT upstream of the port, data.transforms) and the
# zero-preserving scale: the largest field value is then jet |eta| 4.7 at ~2.9 in scaled units, so the port keeps 9
# bits with range +-4: quantized_bits(9, 2) = ap_fixed<9,3>, step 1/64 (~5 % in pT).
L1_LOG1P_PT = tuple(name for name in L1_FEATURES if name.endswith("_pt"))  # MET, 4 e/gamma, 4 mu, 10 jets
L1_LOG_INPUT = (9, 2)


def port_range_check(q: QuantSpec, scale: np.ndarray, transform=None) -> dict:
    """Largest value the L1 fields can carry (pT at its field maximum, |eta| at the acceptance edge, |phi| = pi),
    after ``transform`` (a :class:`data.transforms.FeatureTransform` or None) and in units of the input scale,
    against the input port's range: the report's ``model_details``."""
    from data.l1 import ABS_ETA_MAX, L1_FEATURES, PT_MAX

    field_max = []
    for name in L1_FEATURES:
        obj, qty = name.split("_")
        kind = "MET" if obj == "MET" else obj.rstrip("0123456789")
        field_max.append({"pt": PT_MAX[kind], "eta": ABS_ETA_MAX.get(kind, 0.0), "phi": np.pi}[qty])
    field_max = np.asarray(field_max, np.float64)[None, :]
    field_max = (transform(field_max) if transform is not None else field_max)[0]
    ratio = np.asarray(field_max, np.float64) / np.asarray(scale, np.float64)
    worst = int(np.argmax(ratio))
    port = q.precision("input")
    if ratio[worst] > port.max:
        from models.build_util import say

        say(f"warning: the input port {port.to_ap()} (max {port.max:g}) cannot hold {L1_FEATURES[worst]} at its L1 field "
            f"maximum ({ratio[worst]:.3g} in scaled units): such events saturate at the port (see the saturation table)")
    return {"port": port.to_ap(), "port_max": float(port.max), "largest_field_value_scaled": float(ratio[worst]),
            "largest_field": L1_FEATURES[worst], "covers_field_range": bool(ratio[worst] <= port.max)}


def log1p_transform(mc, feature_names):
    """The model's ``log1p`` features as a :class:`data.transforms.FeatureTransform` (None when it has none)."""
    from data.transforms import FeatureTransform

    return FeatureTransform(tuple(feature_names), tuple(mc.log1p)) if mc.log1p else None


def scaled(train_ds, transform=None):
    """(scale, x_train / scale, x_val / scale) with the zero-preserving L1 input scale, fitted after ``transform``
    (a :class:`data.transforms.FeatureTransform` applied upstream of the port, or None)."""
    from data.l1 import input_scale

    tf = transform if transform is not None else (lambda x: x)
    xt, xv = tf(train_ds.x_train), tf(train_ds.x_val)
    scale = input_scale(xt)
    if len(xv) == 0:  # a user file with /train but no /val: the last 10 % of /train validate
        if len(xt) < 20:
            raise ValueError(f"only {len(xt)} training events: need at least 20 (and many more to train usefully)")
        k = len(xt) - max(len(xt) // 10, 1)
        xt, xv = xt[:k], xt[k:]
    return scale, (xt / scale).astype(np.float32), (xv / scale).astype(np.float32)
