"""HLT-feature datasets: generated (and cached) toy samples, or a user's HDF5 file.

HDF5 layout (written by :func:`load_or_generate_hlt`, accepted by :func:`read_hlt_h5` as user input)::

    /                      attrs: generator_version (str), seed (int), feature_names (list of 21 str)
    /background            the SM test sample (required in user files)
        features           (N, 21) float32, columns in the order of data.features.HLT21_FEATURES
        process            (N,) int, index into list(data.generator.SM_PROCESSES) (optional; -1 = unknown)
        lep_pt ... n_neutral_hadrons   object datasets of data.objects.EventObjects.to_h5 (optional if
                                       `features` is present; used to compute the features otherwise)
    /train, /val           SM training / validation samples, same content as /background (the cache writes
                           only `features` and `process` there); optional in user files
    /signals/<name>        one group per BSM sample, same content (objects and/or features); optional

In a user file every group may hold ``features`` directly, or only the object datasets (then the features are
computed with :func:`data.features.compute_hlt21`, so the events must pass the single-lepton trigger).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .arrays import checked_h5_path
from .cache import cache_path, load_or_generate
from .features import HLT21_FEATURES, N_FEATURES, compute_hlt21
from .generator import BSM_SIGNALS, GENERATOR_VERSION, SM_PROCESSES, generate, generate_sm_cocktail
from .objects import EventObjects


@dataclass(frozen=True)
class HLTDataset:
    x_train: np.ndarray
    x_val: np.ndarray
    x_test_bkg: np.ndarray
    test_bkg_process: np.ndarray
    x_test_signal: dict[str, np.ndarray]
    feature_names: tuple[str, ...] = HLT21_FEATURES
    meta: dict = field(default_factory=dict)


def _empty() -> np.ndarray:
    return np.zeros((0, N_FEATURES), np.float32)


def _write_group(g, x: np.ndarray, process: np.ndarray | None = None, objects: EventObjects | None = None):
    g.create_dataset("features", data=x)
    if process is not None:
        g.create_dataset("process", data=process)
    if objects is not None:
        objects.to_h5(g)


@dataclass(frozen=True)
class _CacheOnly:
    """What the cache file keeps besides the dataset: the generated processes (as drawn) and event objects."""

    process_train: np.ndarray
    process_val: np.ndarray
    process_test: np.ndarray
    objects_test: EventObjects
    objects_signal: dict[str, EventObjects]


@dataclass(frozen=True)
class _Generated:
    ds: HLTDataset
    extra: _CacheOnly | None = None  # None when read back from a cache file


def _generate(seed: int, n_train: int, n_val: int, n_test_bkg: int, n_signal: int) -> _Generated:
    streams = np.random.SeedSequence(int(seed)).spawn(3 + len(BSM_SIGNALS))
    rngs = [np.random.default_rng(s) for s in streams]
    ev_tr, p_tr = generate_sm_cocktail(n_train, rngs[0])
    x_tr = compute_hlt21(ev_tr)
    del ev_tr
    ev_va, p_va = generate_sm_cocktail(n_val, rngs[1])
    x_va = compute_hlt21(ev_va)
    del ev_va
    ev_te, p_te = generate_sm_cocktail(n_test_bkg, rngs[2])
    x_te = compute_hlt21(ev_te)
    sig_ev = {name: generate(name, n_signal, r) for name, r in zip(BSM_SIGNALS, rngs[3:])}
    x_sig = {name: compute_hlt21(ev) for name, ev in sig_ev.items()}
    ds = HLTDataset(x_tr, x_va, x_te, p_te.astype(np.int64), x_sig, HLT21_FEATURES)
    return _Generated(ds, _CacheOnly(p_tr, p_va, p_te, ev_te, sig_ev))


def _write_cache(f, gen: _Generated) -> None:
    ds, e = gen.ds, gen.extra
    f.attrs["feature_names"] = list(HLT21_FEATURES)
    f.attrs["sm_processes"] = list(SM_PROCESSES)
    _write_group(f.create_group("train"), ds.x_train, e.process_train)
    _write_group(f.create_group("val"), ds.x_val, e.process_val)
    _write_group(f.create_group("background"), ds.x_test_bkg, e.process_test, e.objects_test)
    sg = f.create_group("signals")
    for name, ev in e.objects_signal.items():
        _write_group(sg.create_group(name), ds.x_test_signal[name], None, ev)


def load_or_generate_hlt(seed: int, n_train: int, n_val: int, n_test_bkg: int, n_signal: int,
                         cache_dir: Path) -> HLTDataset:
    """Read the cached dataset for (GENERATOR_VERSION, seed, counts) or generate it and write the cache atomically
    (:mod:`data.cache`).

    Independent random streams (``np.random.SeedSequence(seed).spawn``) are used for train, val, test background
    and each BSM signal, so e.g. the test sample does not depend on n_train.
    """
    counts = dict(n_train=int(n_train), n_val=int(n_val), n_test_bkg=int(n_test_bkg), n_signal=int(n_signal))
    path = cache_path(cache_dir, GENERATOR_VERSION, dict(seed=int(seed), tr=counts["n_train"], va=counts["n_val"],
                                                          te=counts["n_test_bkg"], sig=counts["n_signal"]),
                      prefix="hlt21")
    c = load_or_generate(path, GENERATOR_VERSION, seed, lambda: _generate(int(seed), **counts), _write_cache,
                         lambda p: _Generated(read_hlt_h5(p)))
    ds = c.value.ds
    if c.from_cache:
        meta = dict(ds.meta, seed=int(seed), counts=counts, **c.meta())
    else:
        meta = dict(generator_version=GENERATOR_VERSION, seed=int(seed), counts=counts, **c.meta(),
                    sm_processes=list(SM_PROCESSES))
    return HLTDataset(ds.x_train, ds.x_val, ds.x_test_bkg, ds.test_bkg_process, ds.x_test_signal,
                      ds.feature_names, meta)


# ------------------------------------------------------------------------------------------------
def _group_features(g, path: Path) -> np.ndarray:
    where = f"{path}:{g.name}"
    if "features" in g:
        ds = g["features"]
        if ds.ndim != 2 or ds.shape[1] != N_FEATURES:
            k = ds.shape[1] if ds.ndim == 2 else f"shape {ds.shape}"
            raise ValueError(
                f"{where}/features: expected {N_FEATURES} features per event (N, {N_FEATURES}) in the order "
                f"{list(HLT21_FEATURES)}, got {k}"
            )
        x = np.asarray(ds[()], dtype=np.float32)
    else:
        try:
            ev = EventObjects.from_h5(g)
        except ValueError as e:
            raise ValueError(f"{where}: no 'features' dataset and no complete object record: {e}") from None
        try:
            x = compute_hlt21(ev)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    bad = ~np.isfinite(x)
    if bad.any():
        nan, inf = int(np.isnan(x).sum()), int(np.isinf(x).sum())
        rows = int(bad.any(axis=1).sum())
        raise ValueError(
            f"{where}: {nan} NaN and {inf} inf feature values in {rows} of {len(x)} events; "
            f"remove or fix those events before use"
        )
    return x


def read_hlt_h5(path) -> HLTDataset:
    """Read a user's HDF5 file in the layout of the module docstring (only /background is required)."""
    from .root import is_root_file, read_hlt_root

    if is_root_file(path):  # ROOT TTrees (data/root.py)
        return read_hlt_root(path)
    path = checked_h5_path(path, "--data", " (give the path of an HDF5 file with a /background group)",
                           " (expected the layout described in data/dataset.py)")
    with h5py.File(path, "r") as f:
        if "background" not in f or not isinstance(f["background"], h5py.Group):
            raise ValueError(
                f"{path}: missing group /background (the SM test sample: a 'features' (N, {N_FEATURES}) dataset "
                f"or the object datasets); found top-level entries {sorted(f.keys())}"
            )
        names = f.attrs.get("feature_names")
        if names is not None:
            names = tuple(str(n.decode() if isinstance(n, bytes) else n) for n in names)
            if len(names) != N_FEATURES:
                raise ValueError(f"{path}: attribute feature_names has {len(names)} entries, expected {N_FEATURES}")
        bkg = f["background"]
        x_bkg = _group_features(bkg, path)
        proc = (np.asarray(bkg["process"][()], np.int64) if "process" in bkg
                else np.full(len(x_bkg), -1, np.int64))
        if proc.shape != (len(x_bkg),):
            raise ValueError(f"{path}:/background/process: shape {proc.shape}, expected ({len(x_bkg)},)")
        x_tr = _group_features(f["train"], path) if "train" in f else _empty()
        x_va = _group_features(f["val"], path) if "val" in f else _empty()
        sig = {}
        if "signals" in f:
            for name, g in f["signals"].items():
                if isinstance(g, h5py.Group):
                    sig[name] = _group_features(g, path)
        meta = dict(
            generator_version=str(f.attrs.get("generator_version", "user file")),
            seed=int(f.attrs["seed"]) if "seed" in f.attrs else None,
            counts=dict(n_train=len(x_tr), n_val=len(x_va), n_test_bkg=len(x_bkg),
                        n_signal={k: len(v) for k, v in sig.items()}),
            cache_path=str(path), source=str(path),
        )
    return HLTDataset(x_tr, x_va, x_bkg, proc, sig, names or HLT21_FEATURES, meta)
