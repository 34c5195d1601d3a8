"""ROOT input (uproot; awkward for the ragged object lists): ``--data events.root``.

A file holds one TTree per sample, named like the HDF5 groups: ``background`` (required, the SM test sample),
``train`` and ``val`` (optional), and one tree per signal in the directory ``signals/`` (``signals/Ato4l``).

**L1 models (57 inputs, ``data/l1.py`` layout)**, per tree either

* per-object branches (a flat L1 ntuple with ragged collections): ``MET_pt``, ``MET_phi`` (one value per
  event) and, for each of ``e`` (e/gamma), ``mu`` and ``j`` (jets), the variable-length branches
  ``<obj>_pt``, ``<obj>_eta``, ``<obj>_phi``.  Each collection is pT-ordered (descending), the first 4 / 4 / 10
  objects are kept and the rest zero-padded, exactly the ADC2021 ``Particles`` rows (MET eta = 0); or
* one branch per feature, named like ``data.l1.L1_FEATURES`` (``MET_pt, MET_eta, MET_phi, e1_pt, ..., j10_phi``),
  already in the 57-feature layout.

**HLT models (21 features, ``data/dataset.py``)**: one branch per feature, named like
``data.features.HLT21_FEATURES``; an optional integer branch ``process`` in ``background``.

Values are used as given (no extra L1 quantisation); the L1 rows are checked as the HDF5 reader checks them
(:func:`data.l1.validate_particles`).  No TensorFlow.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SAMPLES = ("background", "train", "val")
OBJECTS = {"e": 4, "mu": 4, "j": 10}  # collections in row order after MET, with their kept counts


def is_root_file(path) -> bool:
    p = Path(str(path))
    if p.suffix.lower() == ".root":
        return True
    try:
        with open(p, "rb") as f:
            return f.read(4) == b"root"
    except OSError:
        return False


def _open(path):
    import uproot

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--data {p}: no such file")
    try:
        return uproot.open(p)
    except Exception as exc:  # noqa: BLE001  (uproot raises many kinds for a broken file)
        raise ValueError(f"--data {p}: not a readable ROOT file ({type(exc).__name__}: {exc})") from None


def _trees(f, path) -> dict[str, object]:
    """sample name -> TTree (``background``, ``train``, ``val``, ``signals/<name>`` as ``signal:<name>``)."""
    names = {k.split(";")[0] for k in f.keys(recursive=False)}
    if "background" not in names:
        raise ValueError(f"--data {path}: no TTree 'background' (the SM test sample); found {sorted(names)}. "
                         "Layout: trees background, train, val and signals/<name> (see data/root.py)")
    out = {s: f[s] for s in SAMPLES if s in names}
    if "signals" in names:
        for k in f["signals"].keys(recursive=False):
            out[f"signal:{k.split(';')[0]}"] = f["signals"][k.split(";")[0]]
    return out


def _flat(tree, names, where: str) -> np.ndarray:
    missing = [n for n in names if n not in tree.keys()]
    if missing:
        raise ValueError(f"{where}: missing branch(es) {missing[:6]}{' ...' if len(missing) > 6 else ''}")
    arrays = tree.arrays(list(names), library="np")
    try:
        x = np.column_stack([np.asarray(arrays[n], np.float64) for n in names])
    except (ValueError, TypeError):
        raise ValueError(f"{where}: branches {list(names)[:3]}... must hold one number per event") from None
    if not np.isfinite(x).all():
        raise ValueError(f"{where}: {int((~np.isfinite(x)).sum())} NaN/inf values in "
                         f"{int((~np.isfinite(x)).any(axis=1).sum())} of {len(x)} events; fix those events")
    return x


def _collection_rows(tree, obj: str, k: int, where: str) -> np.ndarray:
    """(N, k, 3) pT-ordered, truncated, zero-padded (pT, eta, phi) of the ragged collection ``obj``."""
    import awkward as ak

    branches = [f"{obj}_pt", f"{obj}_eta", f"{obj}_phi"]
    a = tree.arrays(branches, library="ak")
    pt = a[branches[0]]
    if pt.ndim != 2:
        raise ValueError(f"{where}: branch {branches[0]} must be a variable-length list per event")
    order = ak.argsort(pt, axis=1, ascending=False, stable=True)
    cols = []
    for b in branches:
        v = a[b][order][:, :k]
        cols.append(ak.to_numpy(ak.fill_none(ak.pad_none(v, k, axis=1, clip=True), 0.0)).astype(np.float64))
    return np.stack(cols, axis=-1)


def l1_particles_from_tree(tree, where: str) -> np.ndarray:
    """The (N, 19, 4) ADC ``Particles`` array of a tree with per-object (ragged) branches."""
    from data.l1 import ROW_CLASS

    met = _flat(tree, ["MET_pt", "MET_phi"], where)
    rows = [np.stack([met[:, 0], np.zeros(len(met)), met[:, 1]], axis=-1)[:, None, :]]
    for obj, k in OBJECTS.items():
        missing = [b for b in (f"{obj}_pt", f"{obj}_eta", f"{obj}_phi") if b not in tree.keys()]
        if missing:
            raise ValueError(f"{where}: missing branch(es) {missing} (per-object layout: MET_pt, MET_phi and "
                             f"<obj>_pt/_eta/_phi for obj in {list(OBJECTS)}; see data/root.py)")
        rows.append(_collection_rows(tree, obj, k, where))
    p = np.concatenate(rows, axis=1)
    cls = np.where(p[:, :, 0] > 0, ROW_CLASS[None, :], 0).astype(np.float64)
    cls[:, 0] = ROW_CLASS[0]
    return np.concatenate([p, cls[..., None]], axis=-1)


def _l1_features(tree, where: str) -> np.ndarray:
    from data.l1 import L1_FEATURES, validate_particles

    if all(n in tree.keys() for n in L1_FEATURES):
        return _flat(tree, L1_FEATURES, where).astype(np.float32)
    if "MET_pt" in tree.keys() and "e_pt" in tree.keys():
        return validate_particles(l1_particles_from_tree(tree, where), where).astype(np.float32)
    raise ValueError(f"{where}: neither per-object branches (MET_pt, MET_phi, e_pt/e_eta/e_phi, mu_*, j_*) nor the 57 "
                     f"feature branches ({L1_FEATURES[0]}, ..., {L1_FEATURES[-1]}); found {sorted(tree.keys())[:10]}")


def _read(path, features) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray | None]:
    """(sample -> x for background/train/val, signal name -> x, background process or None)."""
    f = _open(path)
    with f:
        samples, signals, proc = {}, {}, None
        for name, tree in _trees(f, path).items():
            where = f"--data {path}:{name.replace('signal:', 'signals/')}"
            x = features(tree, where)
            if name.startswith("signal:"):
                signals[name.split(":", 1)[1]] = x
            else:
                samples[name] = x
        bkg = f["background"]
        if "process" in bkg.keys():
            proc = np.asarray(bkg["process"].array(library="np"), np.int64)
    return samples, signals, proc


def _dataset(cls, path, n_features: int, features, feature_names):
    samples, sig, proc = _read(path, features)
    empty = np.zeros((0, n_features), np.float32)
    x_bkg = samples["background"]
    x_tr, x_va = samples.get("train", empty), samples.get("val", empty)
    meta = dict(generator_version="user file (ROOT)", seed=None,
                counts=dict(n_train=len(x_tr), n_val=len(x_va), n_test_bkg=len(x_bkg),
                            n_signal={k: len(v) for k, v in sig.items()}),
                cache_path=str(path), source=str(path))
    proc = proc if proc is not None else np.full(len(x_bkg), -1, np.int64)
    return cls(x_tr, x_va, x_bkg, proc, sig, feature_names, meta)


def read_l1_root(path):
    """A user's ROOT file for an L1 model -> ``data.l1.L1Dataset``."""
    from data.l1 import L1_FEATURES, N_L1_FEATURES, L1Dataset

    return _dataset(L1Dataset, path, N_L1_FEATURES, _l1_features, L1_FEATURES)


def read_hlt_root(path):
    """A user's ROOT file for an HLT-feature model (21 feature branches per tree) -> ``data.dataset.HLTDataset``."""
    from data.dataset import HLTDataset
    from data.features import HLT21_FEATURES

    return _dataset(HLTDataset, path, len(HLT21_FEATURES),
                    lambda t, w: _flat(t, HLT21_FEATURES, w).astype(np.float32), HLT21_FEATURES)
