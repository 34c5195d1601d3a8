"""Events for a user's own model (``--model FILE.keras --data FILE``): any number of input features.

``--data`` is either an HDF5 file in the HLT layout of :mod:`data.dataset` with a ``features`` dataset per group
(``/background/features`` required; ``/signals/<name>/features``, ``/train/features``, ``/val/features``
optional), or any array file :func:`data.arrays.read_array` reads (``.h5``, ``.npy``, ``.dat``: one event per
row), taken as the background sample.  No TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from data.arrays import file_part, read_array


class UserEvents:
    """The dataset interface of the builds (x_train, x_val, x_test_bkg, x_test_signal, feature_names, meta)."""

    def __init__(self, x_bkg: np.ndarray, signals: dict[str, np.ndarray], x_train: np.ndarray, x_val: np.ndarray,
                 source: str):
        self.x_test_bkg, self.x_test_signal, self.x_train, self.x_val = x_bkg, signals, x_train, x_val
        self.feature_names = tuple(f"x{i}" for i in range(x_bkg.shape[1]))
        self.meta = {"generator_version": "user file", "source": source, "cache_path": source,
                     "counts": {"n_train": len(x_train), "n_val": len(x_val), "n_test_bkg": len(x_bkg),
                                "n_signal": {k: len(v) for k, v in signals.items()}}}


def _features(group: str, path, width: int | None) -> np.ndarray:
    x = read_array(f"{path}:/{group}/features", "--data")
    x = x.reshape(len(x), -1)
    if width is not None and x.shape[1] != width:
        raise ValueError(f"--data {path}:/{group}/features has {x.shape[1]} features per event, "
                         f"/background/features has {width}")
    return x


def read_user_events(path) -> UserEvents:
    """Read ``--data`` for a user model (layout in the module docstring); errors name the file and the fix."""
    import h5py

    p = file_part(path)
    if not p.is_file():
        raise FileNotFoundError(f"--data {path}: no such file")
    if str(path) == str(p) and h5py.is_hdf5(p):
        with h5py.File(p, "r") as f:
            layout = "background" in f and isinstance(f["background"], h5py.Group) and "features" in f["background"]
            groups = {k: list(f[k].keys()) for k in ("signals",) if k in f and isinstance(f[k], h5py.Group)}
            extra = [k for k in ("train", "val") if k in f and isinstance(f[k], h5py.Group) and "features" in f[k]]
        if layout:
            bkg = _features("background", p, None)
            w = bkg.shape[1]
            sig = {n: _features(f"signals/{n}", p, w) for n in groups.get("signals", [])}
            tv = {k: (_features(k, p, w) if k in extra else np.zeros((0, w), np.float32)) for k in ("train", "val")}
            return UserEvents(bkg, sig, tv["train"], tv["val"], str(path))
    x = read_array(path, "--data")
    x = x.reshape(len(x), -1)
    empty = np.zeros((0, x.shape[1]), np.float32)
    return UserEvents(x, {}, empty, empty, str(path))
