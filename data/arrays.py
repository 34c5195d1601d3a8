"""Generic array files for ``--data`` and ``--reference``: ``.h5``/``.hdf5``, ``.npy`` and whitespace-separated
``.dat``/``.txt`` (one event per line, as hls4ml's ``tb_data`` files).  No TensorFlow.

HDF5: the dataset is chosen as ``file.h5:/path/to/dataset`` when given; otherwise the file's only dataset; otherwise
the first of ``features``, ``background/features``, ``x``, ``X``, ``inputs``, ``data`` (for ``--data``) or
``outputs``, ``y``, ``predictions``, ``reference`` (for ``--reference``) that exists.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

INPUT_KEYS = ("features", "background/features", "x", "X", "inputs", "input", "data")
OUTPUT_KEYS = ("outputs", "output", "y", "predictions", "reference", "y_pred")
SUFFIXES = (".h5", ".hdf5", ".npy", ".dat", ".txt", ".csv")


def _split(path) -> tuple[Path, str | None]:
    s = str(path)
    for suf in (".h5:", ".hdf5:"):
        if suf in s:
            a, b = s.split(suf, 1)
            return Path(a + suf[:-1]), b
    return Path(s), None


def file_part(path) -> Path:
    """The file of a ``file.h5:/dataset`` argument (the argument itself otherwise)."""
    return _split(path)[0]


def checked_h5_path(path, what: str, missing: str = "", not_h5: str = "") -> Path:
    """``path`` as a Path once it is known to be an existing HDF5 file; otherwise ``FileNotFoundError``
    ``"{what} {path}: no such file{missing}"`` or ``ValueError`` ``"{what} {path}: not an HDF5 file{not_h5}"``
    (``what`` is the option, e.g. ``--data``; ``missing`` / ``not_h5`` add the fix to the message)."""
    import h5py

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p}: no such file{missing}")
    if not h5py.is_hdf5(p):
        raise ValueError(f"{what} {p}: not an HDF5 file{not_h5}")
    return p


def _h5_datasets(f) -> list[str]:
    import h5py

    out = []
    f.visititems(lambda n, o: out.append(n) if isinstance(o, h5py.Dataset) else None)
    return out


def read_array(path, what: str = "--data", keys: tuple[str, ...] = INPUT_KEYS) -> np.ndarray:
    """Read one numeric array (float32, at least 1-d, finite) from ``path``; errors name the option and the fix."""
    p, key = _split(path)
    if not p.is_file():
        raise FileNotFoundError(f"{what} {p}: no such file")
    suf = p.suffix.lower()
    if suf in (".h5", ".hdf5"):
        import h5py

        if not h5py.is_hdf5(p):
            raise ValueError(f"{what} {p}: not an HDF5 file")
        with h5py.File(p, "r") as f:
            names = _h5_datasets(f)
            if key is not None:
                key = key.lstrip("/")
                if key not in names:
                    raise ValueError(f"{what} {p}: no dataset {key!r}; datasets in the file: {names}")
            elif len(names) == 1:
                key = names[0]
            else:
                key = next((k for k in keys if k in names), None)
                if key is None:
                    raise ValueError(
                        f"{what} {p}: {len(names)} datasets {names[:10]} and none named {list(keys)}; "
                        f"choose one with '{p}:/dataset/path'"
                    )
            arr = np.asarray(f[key][()])
        src = f"{p}:/{key}"
    elif suf == ".npy":
        try:
            arr = np.load(p, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"{what} {p}: not a plain numeric .npy array ({e})") from None
        src = str(p)
    elif suf in (".dat", ".txt", ".csv"):
        try:
            arr = np.loadtxt(p, dtype=np.float64, ndmin=2, delimiter="," if suf == ".csv" else None)
        except ValueError as e:
            raise ValueError(f"{what} {p}: not a whitespace-separated numeric table ({e})") from None
        src = str(p)
    else:
        raise ValueError(f"{what} {p}: unknown file type {suf!r}; use one of {', '.join(SUFFIXES)}")
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{what} {src}: expected numbers, got dtype {arr.dtype}")
    arr = np.asarray(arr, dtype=np.float32)
    if arr.ndim == 0 or len(arr) == 0:
        raise ValueError(f"{what} {src}: empty array (shape {arr.shape})")
    if arr.ndim == 1:
        arr = arr[:, None]
    bad = ~np.isfinite(arr)
    if bad.any():
        rows = int(bad.reshape(len(arr), -1).any(axis=1).sum())
        raise ValueError(
            f"{what} {src}: {int(np.isnan(arr).sum())} NaN and {int(np.isinf(arr).sum())} inf values in {rows} of "
            f"{len(arr)} events; remove or fix those events"
        )
    return arr


def read_reference(path) -> np.ndarray:
    return read_array(path, what="--reference", keys=OUTPUT_KEYS)
