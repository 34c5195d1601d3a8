"""Shared by the L1 models (``ae57``, ``vae57``): QKeras-style quantizer settings, input scaling, the cached
training of a QAT model and its float twin, and the L1 working points.

Input convention: the 57 L1 features divided by :func:`data.l1.input_scale` (no offset: zero padding stays
exactly 0 at the firmware input port); the scale is stored in the project's ``metadata.json``
(``standardization``: mean 0, std = scale) and applied upstream of the firmware.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from quantize.precision import Precision


@dataclass(frozen=True)
class L1Quant:
    """QKeras-style settings (``bits`` count the sign, ``integer`` does not).  Defaults: input
    ``quantized_bits(9, 6)`` = ap_fixed<9,7>, weights and biases 6 bits, as in the CMS L1 models.

    The input port is the CMS-style ap_fixed<8,6> (step 1/4 of a feature's RMS) with one more integer bit:
    its range must hold every value the L1 fields can carry, and the saturated L1 MET (2047.5 GeV) is ~51x
    its RMS on the SM sample.  With ap_fixed<8,6> (range +-32) the ~2.5e-5 of SM events with MET above
    ~1.3 TeV were clipped at the port: exactly the background tail that sets the 1 kHz threshold, so the
    firmware's threshold dropped and its signal efficiency rose 10-40 % above the float view's.
    :func:`port_range_check` reports the margin for the data at hand."""

    input_bits: int = 9
    input_integer: int = 6
    weight_bits: int = 6
    weight_integer: int = 1
    act_bits: int = 10
    act_integer: int = 4
    latent_bits: int = 12
    latent_integer: int = 4
    out_bits: int = 12  # ae57 reconstruction (signed)
    out_integer: int = 5

    @property
    def input_precision(self) -> Precision:
        return Precision.from_qkeras(self.input_bits, self.input_integer)

    @property
    def weight_precision(self) -> Precision:
        return Precision.from_qkeras(self.weight_bits, self.weight_integer)

    @property
    def act_precision(self) -> Precision:
        return Precision.from_qkeras(self.act_bits, self.act_integer, keep_negative=False)

    @property
    def latent_precision(self) -> Precision:
        return Precision.from_qkeras(self.latent_bits, self.latent_integer)

    @property
    def out_precision(self) -> Precision:
        return Precision.from_qkeras(self.out_bits, self.out_integer)

    def with_bits(self, bits: int) -> "L1Quant":
        """``--precision N``: weights and biases at N bits (integer bits kept)."""
        return replace(self, weight_bits=bits)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(input=self.input_precision.to_ap(), weight=self.weight_precision.to_ap(),
                 activation=self.act_precision.to_ap(), latent=self.latent_precision.to_ap(),
                 output=self.out_precision.to_ap())
        return d


def quant_from_build(cfg, q: L1Quant) -> L1Quant:
    """Apply ``--precision`` (weight bits) and ``--input-precision`` (input port) to the defaults."""
    if cfg.precision_bits is not None:
        if cfg.precision_bits < 3:
            raise ValueError(f"--precision {cfg.precision_bits}: need at least 3 bits")
        q = q.with_bits(cfg.precision_bits)
    if cfg.input_precision is not None:
        p = Precision.parse(cfg.input_precision)
        if not p.signed:
            raise ValueError("--input-precision must be signed (ap_fixed<W,I>): the phi and eta inputs are negative too")
        a = p.qkeras_args()
        q = replace(q, input_bits=a["bits"], input_integer=a["integer"])
    return q


def port_range_check(q: L1Quant, scale: np.ndarray) -> dict:
    """Largest value the L1 fields can carry (pT at its field maximum, |eta| at the acceptance edge, |phi| = pi),
    in units of the input scale, against the input port's range: the report's ``model_details``."""
    from data.l1 import ABS_ETA_MAX, L1_FEATURES, PT_MAX

    field_max = []
    for name in L1_FEATURES:
        obj, qty = name.split("_")
        kind = "MET" if obj == "MET" else obj.rstrip("0123456789")
        field_max.append({"pt": PT_MAX[kind], "eta": ABS_ETA_MAX.get(kind, 0.0), "phi": np.pi}[qty])
    ratio = np.asarray(field_max) / np.asarray(scale, np.float64)
    worst = int(np.argmax(ratio))
    port = q.input_precision
    if ratio[worst] > port.max:
        from models.build_util import say

        say(f"warning: the input port {port.to_ap()} (max {port.max:g}) cannot hold {L1_FEATURES[worst]} at its L1 field "
            f"maximum ({ratio[worst]:.3g} in scaled units): such events saturate at the port (see the saturation table)")
    return {"port": port.to_ap(), "port_max": float(port.max), "largest_field_value_scaled": float(ratio[worst]),
            "largest_field": L1_FEATURES[worst], "covers_field_range": bool(ratio[worst] <= port.max)}


def scaled(train_ds):
    """(scale, x_train / scale, x_val / scale) with the zero-preserving L1 input scale."""
    from data.l1 import input_scale

    scale = input_scale(train_ds.x_train)
    xt, xv = train_ds.x_train, train_ds.x_val
    if len(xv) == 0:  # a user file with /train but no /val: the last 10 % of /train validate
        if len(xt) < 20:
            raise ValueError(f"only {len(xt)} training events: need at least 20 (and many more to train usefully)")
        k = len(xt) - max(len(xt) // 10, 1)
        xt, xv = xt[:k], xt[k:]
    return scale, (xt / scale).astype(np.float32), (xv / scale).astype(np.float32)


def fit(model, x_train, x_val, loss, epochs, batch_size, learning_rate, patience) -> dict:
    import keras

    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=loss)
    cb = [keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
          keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=max(1, patience // 2))]
    t0 = time.perf_counter()
    hist = model.fit(x_train, x_train, validation_data=(x_val, x_val), epochs=epochs, batch_size=batch_size,
                     shuffle=True, verbose=0, callbacks=cb)
    h = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    return {"epochs_run": len(h["loss"]), "final_loss": h["loss"][-1], "best_val_loss": min(h["val_loss"]),
            "seconds": round(time.perf_counter() - t0, 1)}


def train_or_load(cfg, tag: str, model_cfg: dict, train_ds, models: dict, train_fn, timings: dict) -> dict:
    """Load the weights of ``models`` (name -> Keras model) from the cache keyed by (tag, model config, data),
    or train each with ``train_fn(name, model) -> info`` and cache them.  Sets ``timings['train']``."""
    import keras

    from models.build_util import config_hash, say

    key = config_hash({"model": model_cfg, "data": train_ds.meta.get("cache_key", train_ds.meta),
                       "keras": keras.__version__})
    mdir = Path(cfg.cache_dir) / "models" / f"{tag}-{key}"
    info_path = mdir / "info.json"
    t0 = time.perf_counter()
    if info_path.is_file() and not cfg.retrain:
        for name, m in models.items():
            m.load_weights(mdir / f"{name}.weights.h5")
        info = json.loads(info_path.read_text())
        info["from_cache"] = True
        say(f"loaded trained models from cache {mdir}")
    else:
        say(f"training {tag} ({', '.join(models)}) on {len(train_ds.x_train)} SM events")
        info = {name: train_fn(name, m) for name, m in models.items()}
        mdir.mkdir(parents=True, exist_ok=True)
        for name, m in models.items():
            m.save_weights(mdir / f"{name}.weights.h5")
        info_path.write_text(json.dumps(info, indent=2))
        info["from_cache"] = False
    timings["train"] = time.perf_counter() - t0
    info["cache_dir"] = str(mdir)
    return info


def copy_weights_by_name(dst, src) -> None:
    """Float view: give ``dst`` (float build) the trained kernels/biases of ``src`` (QAT build), by layer name."""
    names = {l.name for l in src.layers}
    for layer in dst.layers:
        if layer.name not in names:
            continue
        s = src.get_layer(layer.name)
        if hasattr(layer, "kernel"):
            layer.kernel.assign(np.asarray(s.kernel))
            if getattr(layer, "bias", None) is not None:
                layer.bias.assign(np.asarray(s.bias))
        elif layer.weights:
            layer.set_weights(s.get_weights())
