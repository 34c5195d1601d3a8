"""Jets as lists of constituents for the ``deepsets`` tagger: a toy parton-shower-like generator and an HDF5 reader.

Each jet is an ``(N_CONST, 4)`` array of constituents ``(pt [GeV], deta, dphi, pid)`` sorted by pT (descending),
zero-padded (a padded row is all zeros, pT 0), with ``deta``/``dphi`` relative to the pT-weighted jet axis and
``pid`` an integer particle type (1 charged hadron, 2 neutral hadron, 3 photon, 4 lepton; 0 = padding).
pT is quantised to 0.25 GeV and angles to 1/256 (the L1 constituent LSBs this toy assumes).

Generator (``JETS_GENERATOR_VERSION``): a jet of pT ~ U(200, 500) GeV is made of prongs; each prong showers into
constituents with Dirichlet energy fractions and Gaussian angular spread.

- ``qcd`` (background): one prong (light quark, 60 %, or gluon, 40 %), Poisson(10) / Poisson(16) constituents,
  angular width 0.10 / 0.14 rad, hierarchical fractions (Dirichlet alpha 0.6);
- ``w``: two prongs at dR = 2 m_W / pT (z ~ U(0.25, 0.75)), Poisson(5) constituents each, width 0.03;
- ``top``: three prongs (b + W -> qq) at dR ~ 2 m / pT, Poisson(4) constituents each, width 0.035;
- ``tau``: one or three charged prongs (70 / 30 %) plus Poisson(1.5) photons, width 0.02 (narrow).

HDF5 layout (written by the cache and accepted as user input by :func:`read_jets_h5`)::

    /train/constituents, /val/constituents          (n, N, 4) float  training / validation jets, labels in
    /train/label, /val/label                         (n,) int (0 background, 1 signal)
    /background/constituents                         (n, N, 4)  test background jets (required)
    /signals/<name>/constituents                     (n, N, 4)  test signal jets (optional)

``N`` may differ from 16 (it is truncated or zero-padded to ``N_CONST``); the last axis must be 4.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .arrays import checked_h5_path
from .cache import cache_path, load_or_generate

JETS_GENERATOR_VERSION = "jets-v1"
N_CONST = 16  # a power of two: mean pooling = a shift
N_FEAT = 4
JET_FEATURES = ("pt", "deta", "dphi", "pid")
JET_SIGNALS = ("w", "top", "tau")
PT_LSB, ANGLE_LSB = 0.25, 1.0 / 256
SIGNAL_FRACTION = 0.5  # of the training / validation jets


@dataclass(frozen=True)
class JetDataset:
    """Training/validation jets with labels (1 = signal), test background jets and test signal jets per signal.
    ``x_*`` are (n, N_CONST, N_FEAT) float32."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test_bkg: np.ndarray
    x_test_signal: dict[str, np.ndarray]
    feature_names: tuple[str, ...] = JET_FEATURES
    meta: dict = field(default_factory=dict)

    @property
    def test_bkg_process(self) -> np.ndarray:
        return np.zeros(len(self.x_test_bkg), np.int64)


def _prong_constituents(rng, pt: float, n: int, width: float, alpha: float, pid_probs) -> np.ndarray:
    n = max(1, int(n))
    frac = rng.dirichlet(np.full(n, alpha))
    ang = rng.normal(0.0, width, (n, 2)) * (1.0 / np.sqrt(np.maximum(frac * n, 0.3)))[:, None]  # soft = wider
    pid = rng.choice(np.arange(1, 4), size=n, p=pid_probs)
    return np.column_stack([pt * frac, ang, pid])


def _prongs(rng, kind: str, pt: float) -> list[np.ndarray]:
    had = (0.65, 0.15, 0.20)
    if kind == "qcd":
        gluon = rng.random() < 0.4
        return [_prong_constituents(rng, pt, rng.poisson(16 if gluon else 10), 0.14 if gluon else 0.10, 0.6, had)]
    if kind == "tau":
        n_ch = 1 if rng.random() < 0.7 else 3
        ch = _prong_constituents(rng, 0.75 * pt, n_ch, 0.02, 2.0, (1.0, 0.0, 0.0))
        ph = _prong_constituents(rng, 0.25 * pt, rng.poisson(1.5), 0.02, 2.0, (0.0, 0.0, 1.0))
        return [ch, ph]
    mass, k, n_mean = (80.4, 2, 5) if kind == "w" else (173.0, 3, 4)
    z = rng.dirichlet(np.full(k, 3.0)) if k == 3 else np.array([u := rng.uniform(0.25, 0.75), 1 - u])
    dr = min(0.6, 2 * mass / pt)
    phi0 = rng.uniform(0, 2 * np.pi)
    axes = [dr * np.sqrt((1 - zi)) * np.array([np.cos(phi0 + 2 * np.pi * i / k), np.sin(phi0 + 2 * np.pi * i / k)])
            for i, zi in enumerate(z)]
    out = []
    for zi, ax in zip(z, axes):
        c = _prong_constituents(rng, pt * zi, rng.poisson(n_mean), 0.035, 1.5, had)
        c[:, 1:3] += ax
        out.append(c)
    return out


def _finish(c: np.ndarray) -> np.ndarray:
    """Relative to the pT-weighted axis, sorted by pT, quantised, truncated / zero-padded to N_CONST."""
    c = c[c[:, 0] >= PT_LSB]
    c[:, 1:3] -= np.average(c[:, 1:3], axis=0, weights=c[:, 0])
    c = c[np.argsort(-c[:, 0], kind="stable")][:N_CONST]
    c[:, 0] = np.round(c[:, 0] / PT_LSB) * PT_LSB
    c[:, 1:3] = np.clip(np.round(c[:, 1:3] / ANGLE_LSB), -127, 127) * ANGLE_LSB
    out = np.zeros((N_CONST, N_FEAT), np.float32)
    out[:len(c)] = c
    return out


def generate_jets(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` jets of ``kind`` ("qcd" or one of JET_SIGNALS) as (n, N_CONST, N_FEAT) float32."""
    if kind != "qcd" and kind not in JET_SIGNALS:
        raise ValueError(f"unknown jet kind {kind!r}: use 'qcd' or one of {list(JET_SIGNALS)}")
    out = np.zeros((int(n), N_CONST, N_FEAT), np.float32)
    for i in range(int(n)):
        pt = rng.uniform(200.0, 500.0)
        out[i] = _finish(np.concatenate(_prongs(rng, kind, pt)))
    return out


def _labelled(n: int, seq: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """n jets, SIGNAL_FRACTION of them signal (an equal mix of JET_SIGNALS), shuffled; labels 1 = signal."""
    s_bkg, s_sig, s_mix = seq.spawn(3)
    n_sig = int(round(SIGNAL_FRACTION * n))
    parts = np.array_split(np.arange(n_sig), len(JET_SIGNALS))
    sig = [generate_jets(k, len(p), np.random.default_rng(s)) for k, p, s in
           zip(JET_SIGNALS, parts, s_sig.spawn(len(JET_SIGNALS)))]
    x = np.concatenate([generate_jets("qcd", n - n_sig, np.random.default_rng(s_bkg)), *sig])
    y = np.r_[np.zeros(n - n_sig), np.ones(n_sig)].astype(np.int64)
    perm = np.random.default_rng(s_mix).permutation(n)
    return x[perm], y[perm]


def _generate(seed: int, n_train: int, n_val: int, n_test_bkg: int, n_signal: int) -> JetDataset:
    s_tr, s_va, s_te, s_sig = np.random.SeedSequence(int(seed)).spawn(4)
    x_tr, y_tr = _labelled(n_train, s_tr)
    x_va, y_va = _labelled(n_val, s_va)
    x_te = generate_jets("qcd", n_test_bkg, np.random.default_rng(s_te))
    sig = {k: generate_jets(k, n_signal, np.random.default_rng(s)) for k, s in zip(JET_SIGNALS, s_sig.spawn(3))}
    return JetDataset(x_tr, y_tr, x_va, y_va, x_te, sig)


def write_jets_h5(f, ds: JetDataset) -> None:
    """Write ``ds`` into the open h5py file ``f`` in the layout :func:`read_jets_h5` reads."""
    for name, x, y in (("train", ds.x_train, ds.y_train), ("val", ds.x_val, ds.y_val)):
        g = f.create_group(name)
        g.create_dataset("constituents", data=x)
        g.create_dataset("label", data=y)
    f.create_group("background").create_dataset("constituents", data=ds.x_test_bkg)
    sg = f.create_group("signals")
    for name, x in ds.x_test_signal.items():
        sg.create_group(name).create_dataset("constituents", data=x)


def load_or_generate_jets(seed: int, n_train: int, n_val: int, n_test_bkg: int, n_signal: int,
                          cache_dir: Path) -> JetDataset:
    """Cached jet dataset for (JETS_GENERATOR_VERSION, seed, counts), or generated and cached atomically."""
    counts = dict(n_train=int(n_train), n_val=int(n_val), n_test_bkg=int(n_test_bkg), n_signal=int(n_signal))
    path = cache_path(cache_dir, JETS_GENERATOR_VERSION, dict(seed=int(seed), tr=n_train, va=n_val, te=n_test_bkg,
                                                              sig=n_signal), prefix="jets")
    c = load_or_generate(path, JETS_GENERATOR_VERSION, seed, lambda: _generate(int(seed), **counts), write_jets_h5,
                         read_jets_h5)
    ds = c.value
    meta = dict(generator_version=JETS_GENERATOR_VERSION, seed=int(seed), counts=counts, **c.meta())
    return JetDataset(ds.x_train, ds.y_train, ds.x_val, ds.y_val, ds.x_test_bkg, ds.x_test_signal, JET_FEATURES, meta)


def validate_constituents(x, where: str) -> np.ndarray:
    """An (n, N, 4) constituent array as (n, N_CONST, 4) float32 (truncated / zero-padded); clear errors otherwise."""
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[2] != N_FEAT:
        raise ValueError(f"{where}: expected jet constituents of shape (n_jets, n_constituents, {N_FEAT}) "
                         f"with columns {list(JET_FEATURES)}, got shape {x.shape}")
    if not np.issubdtype(x.dtype, np.number):
        raise ValueError(f"{where}: constituents must be numeric, got dtype {x.dtype}")
    x = x.astype(np.float32)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{where}: {int(np.sum(~np.isfinite(x)))} non-finite values")
    if np.any(x[:, :, 0] < 0):
        raise ValueError(f"{where}: negative constituent pT (padding must be all zeros)")
    out = np.zeros((len(x), N_CONST, N_FEAT), np.float32)
    k = min(N_CONST, x.shape[1])
    out[:, :k] = x[:, :k]
    return out


def _group(f, name: str, path: Path, required: bool = True) -> np.ndarray | None:
    if name not in f or "constituents" not in f[name]:
        if required:
            raise ValueError(f"{path}: no '/{name}/constituents' dataset (see data/jets.py for the layout)")
        return None
    return validate_constituents(f[name]["constituents"][()], f"{path}:/{name}/constituents")


def _labels(f, name: str, n: int, path: Path) -> np.ndarray:
    if "label" not in f[name]:
        raise ValueError(f"{path}: '/{name}' has constituents but no 'label' dataset")
    y = np.asarray(f[name]["label"][()]).astype(np.int64).ravel()
    if len(y) != n or not np.all(np.isin(y, (0, 1))):
        raise ValueError(f"{path}:/{name}/label: need {n} labels of 0/1, got {len(y)} with values {np.unique(y)[:5]}")
    return y


def read_jets_h5(path) -> JetDataset:
    """A jet dataset from an HDF5 file in the layout of this module (train/val optional, background required)."""
    path = checked_h5_path(path, "--data")
    empty = np.zeros((0, N_CONST, N_FEAT), np.float32)
    with h5py.File(path, "r") as f:
        bkg = _group(f, "background", path)
        split = {}
        for name in ("train", "val"):
            x = _group(f, name, path, required=False)
            split[name] = (empty, np.zeros(0, np.int64)) if x is None else (x, _labels(f, name, len(x), path))
        sig = {k: validate_constituents(g["constituents"][()], f"{path}:/signals/{k}/constituents")
               for k, g in f.get("signals", {}).items() if "constituents" in g}
    return JetDataset(*split["train"], *split["val"], bkg, sig, JET_FEATURES, {"source": str(path)})


__all__ = ["JetDataset", "generate_jets", "load_or_generate_jets", "read_jets_h5", "write_jets_h5",
           "validate_constituents", "N_CONST", "N_FEAT", "JET_FEATURES", "JET_SIGNALS", "JETS_GENERATOR_VERSION"]
