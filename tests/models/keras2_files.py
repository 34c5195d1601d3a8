"""Write Keras 2 / QKeras model files for the import tests, and compute their outputs independently in numpy.

File layouts matched (no Keras 2 can be installed here):
- ``save_weights`` HDF5: root attrs ``layer_names`` (bytes), ``backend``, ``keras_version``; one group per layer
  with attr ``weight_names`` (e.g. ``b"fc1/kernel:0"``) and the datasets at those paths inside the group, as in
  Keras 2's ``hdf5_format.save_weights_to_hdf5_group`` (and hls4ml's ``keras/*_weights.h5`` example models);
- full-model HDF5: root attrs ``model_config`` (the JSON), ``keras_version``, ``backend``, weights under
  ``/model_weights`` in the layout above.

The numpy reference below transcribes the QKeras quantizer formulas directly (google/qkeras
``qkeras/quantizers.py``); it does not call the importer or :mod:`quantize`.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

FIXTURES = Path(__file__).parent / "fixtures"


# ---- weights ------------------------------------------------------------------------------------
def classifier_weights(seed=11) -> dict[str, dict[str, np.ndarray]]:
    r = np.random.default_rng(seed)
    return {
        "fc1": {"kernel": r.normal(0, 0.35, (16, 24)), "bias": r.normal(0, 0.5, 24)},
        "fc2": {"kernel": r.normal(0, 0.3, (24, 12)), "bias": r.normal(0, 0.3, 12)},
        "fc3": {"kernel": r.normal(0, 0.5, (12, 5)), "bias": r.normal(0, 0.5, 5)},
    }


def cnn_weights(seed=12) -> dict[str, dict[str, np.ndarray]]:
    r = np.random.default_rng(seed)
    return {
        "conv": {"kernel": r.normal(0, 0.4, (3, 3, 1, 4)), "bias": r.normal(0, 0.3, 4)},
        "bn": {"gamma": r.uniform(0.5, 2.0, 4), "beta": r.normal(0, 0.5, 4), "moving_mean": r.normal(0, 0.5, 4),
               "moving_variance": r.uniform(0.3, 3.0, 4)},
        "out": {"kernel": r.normal(0, 0.4, (16, 3)), "bias": r.normal(0, 0.3, 3)},
    }


WEIGHT_ORDER = ("kernel", "bias", "gamma", "beta", "moving_mean", "moving_variance")


def _write_groups(g, layer_names, weights):
    g.attrs["layer_names"] = np.array([n.encode() for n in layer_names])
    g.attrs["backend"] = b"tensorflow"
    g.attrs["keras_version"] = b"2.4.0"
    for n in layer_names:
        lg = g.create_group(n)
        ws = weights.get(n, {})
        names = [f"{n}/{k}:0" for k in WEIGHT_ORDER if k in ws]
        lg.attrs["weight_names"] = np.array([s.encode() for s in names])
        for k in WEIGHT_ORDER:
            if k in ws:
                lg.create_dataset(f"{n}/{k}:0", data=np.asarray(ws[k], np.float32))


def layer_names_of(config: dict) -> list[str]:
    body = config["config"]
    layers = body["layers"] if isinstance(body, dict) else body
    return [l["config"]["name"] for l in layers]


def write_json_and_weights(tmp: Path, fixture: str, weights) -> tuple[Path, Path]:
    cfg = json.loads((FIXTURES / fixture).read_text())
    js = tmp / fixture
    js.write_text(json.dumps(cfg))
    wp = tmp / fixture.replace(".json", "_weights.h5")
    with h5py.File(wp, "w") as f:
        _write_groups(f, layer_names_of(cfg), weights)
    return js, wp


def write_full_h5(tmp: Path, fixture: str, weights) -> Path:
    cfg = json.loads((FIXTURES / fixture).read_text())
    p = tmp / fixture.replace(".json", "_full.h5")
    with h5py.File(p, "w") as f:
        f.attrs["model_config"] = json.dumps(cfg).encode()
        f.attrs["keras_version"] = b"2.4.0"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["training_config"] = json.dumps({"loss": "categorical_crossentropy"}).encode()
        _write_groups(f.create_group("model_weights"), layer_names_of(cfg), weights)
    return p


# ---- QKeras formulas (google/qkeras qkeras/quantizers.py), float64 --------------------------------
def qk_bits(x, bits, integer, symmetric=0, keep_negative=True):
    m = 2.0 ** (bits - int(keep_negative))
    mi = 2.0**integer
    return mi * np.clip(np.rint(x * m / mi), int(keep_negative) * (-m + symmetric), m - 1) / m


def qk_relu(x, bits, integer):
    m = 2.0**bits
    mi = 2.0**integer
    return mi * np.clip(np.rint(x * m / mi) / m, 0.0, 1.0 - 1.0 / m)


def qk_po2(x, bits, max_value=None, relu=False, quadratic=False):
    need_sign = 0 if (max_value is not None and 0 <= max_value <= 1) else 1
    eff = bits - need_sign - (0 if relu else 1)
    min_exp, max_exp = -(2**eff), 2**eff - 1
    if quadratic:
        max_exp = 2 * (max_exp // 2)
    if relu:
        x = np.maximum(x, 0)
        sign = np.ones_like(x)
    else:
        sign = np.where(x >= 0, 1.0, -1.0)
    a = np.abs(x).astype(np.float32)
    eps = np.float32(1e-7)
    filt = np.where(a < eps, eps, a)
    if max_value is not None:
        filt = np.minimum(filt, np.float32(max_value))
    q = 2.0 if quadratic else 1.0
    lx = np.sqrt(filt) if quadratic else filt
    e = q * np.clip(np.rint(np.log(lx) / np.float32(np.log(2.0))), min_exp, max_exp)
    e = np.where(a < eps, min_exp, e)
    return sign * 2.0**e


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def classifier_reference(x, w) -> tuple[np.ndarray, np.ndarray]:
    """(logits, softmax) of qkeras_classifier.json with weights ``w``, from the QKeras formulas."""
    h = qk_bits(x.astype(np.float64), 14, 4)
    h = h @ qk_bits(w["fc1"]["kernel"].astype(np.float32), 6, 0) + qk_bits(w["fc1"]["bias"].astype(np.float32), 8, 2)
    h = qk_relu(h, 8, 3)
    h = h @ qk_po2(w["fc2"]["kernel"].astype(np.float32), 4, 1) + qk_bits(w["fc2"]["bias"].astype(np.float32), 6, 0, 1)
    h = qk_relu(h, 6, 2)
    z = h @ qk_bits(w["fc3"]["kernel"].astype(np.float32), 8, 1, 1) + qk_bits(w["fc3"]["bias"].astype(np.float32), 8, 2)
    return z, softmax(z)


def cnn_reference(x, w, input_q) -> np.ndarray:
    """Outputs of qkeras_cnn_sequential.json (``input_q``: the inserted input quantizer, a function)."""
    x = input_q(x.astype(np.float64))
    k = qk_bits(w["conv"]["kernel"].astype(np.float32), 6, 0)
    b = qk_bits(w["conv"]["bias"].astype(np.float32), 6, 0)
    n = len(x)
    y = np.zeros((n, 4, 4, 4))
    for i in range(4):
        for j in range(4):
            patch = x[:, i:i + 3, j:j + 3, :]  # (n, 3, 3, 1)
            y[:, i, j, :] = np.einsum("nabc,abcf->nf", patch, k) + b
    bn = w["bn"]
    gamma = qk_po2(bn["gamma"].astype(np.float32), 6, 2048, relu=True)
    beta = qk_po2(bn["beta"].astype(np.float32), 5)
    var = qk_po2(bn["moving_variance"].astype(np.float32), 6, None, relu=True, quadratic=True)
    mean = bn["moving_mean"].astype(np.float32)
    y = (y - mean) / np.sqrt(var + 1e-3) * gamma + beta
    y = qk_relu(y, 8, 3)
    y = y.reshape(n, 2, 2, 2, 2, 4).max(axis=(2, 4))  # 2x2 max pooling, stride 2
    y = y.reshape(n, 16)
    return y @ qk_bits(w["out"]["kernel"].astype(np.float32), 8, 2) + qk_bits(w["out"]["bias"].astype(np.float32), 8, 2)


# ---- the oldest vintage: Keras <= 2.3 Sequential without an InputLayer entry -----------------------
def old_sequential_weights(seed=13) -> dict[str, dict[str, np.ndarray]]:
    r = np.random.default_rng(seed)
    return {"dense_1": {"kernel": r.normal(0, 0.5, (6, 5)), "bias": r.normal(0, 0.3, 5)},
            "dense_2": {"kernel": r.normal(0, 0.5, (5, 2)), "bias": r.normal(0, 0.3, 2)}}


def old_sequential_config(keras_version: str = "2.2.4") -> dict:
    """A float Keras 2.0-2.3 ``Sequential``: no InputLayer; the first layer carries ``batch_input_shape``.
    Keras <= 2.2.4 wrote ``config`` as the list of layers, 2.2.5 / 2.3 as ``{"name", "layers"}``."""
    layers = [
        {"class_name": "Dense", "config": {"name": "dense_1", "trainable": True, "batch_input_shape": [None, 6],
                                           "dtype": "float32", "units": 5, "activation": "relu", "use_bias": True}},
        {"class_name": "Dense", "config": {"name": "dense_2", "trainable": True, "units": 2, "activation": "linear",
                                           "use_bias": True}},
    ]
    body = layers if keras_version < "2.2.5" else {"name": "sequential_1", "layers": layers}
    return {"class_name": "Sequential", "config": body, "keras_version": keras_version, "backend": "tensorflow"}


def write_old_sequential(tmp: Path, keras_version: str = "2.2.4", full_h5: bool = False) -> tuple[Path, Path | None]:
    """(model file, weights file or None): JSON + ``save_weights`` HDF5, or one full-model HDF5."""
    cfg, w = old_sequential_config(keras_version), old_sequential_weights()
    tag = keras_version.replace(".", "")
    if full_h5:
        p = tmp / f"old_seq_{tag}_full.h5"
        with h5py.File(p, "w") as f:
            f.attrs["model_config"] = json.dumps(cfg).encode()
            f.attrs["keras_version"] = keras_version.encode()
            f.attrs["backend"] = b"tensorflow"
            _write_groups(f.create_group("model_weights"), ["dense_1", "dense_2"], w)
        return p, None
    js, wp = tmp / f"old_seq_{tag}.json", tmp / f"old_seq_{tag}_weights.h5"
    js.write_text(json.dumps(cfg))
    with h5py.File(wp, "w") as f:
        _write_groups(f, ["dense_1", "dense_2"], w)
    return js, wp


def old_sequential_reference(x: np.ndarray) -> np.ndarray:
    w = old_sequential_weights()
    h = np.maximum(x.astype(np.float64) @ w["dense_1"]["kernel"] + w["dense_1"]["bias"], 0.0)
    return h @ w["dense_2"]["kernel"] + w["dense_2"]["bias"]
