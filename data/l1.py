"""Level-1 view of the object-level simulation: the 57 L1 inputs (19 objects x (pT, eta, phi)).

Layout (the public ADC2021 "anomaly detection at 40 MHz" layout): ``Particles`` of shape (N, 19, 4) with the
last axis (pT [GeV], eta, phi [rad], class) and rows

    0       MET            class 1 (eta = 0 always)
    1 - 4   e/gamma        class 2
    5 - 8   muons          class 3
    9 - 18  jets           class 4

pT-ordered within each type, zero-padded (padded rows are all zero, class 0).  The 57 features are the rows'
(pT, eta, phi) flattened row by row: ``MET_pt, MET_eta, MET_phi, e1_pt, e1_eta, ..., j10_phi``.

How the L1 view is made from :class:`data.objects.EventObjects` (the generator's offline-like objects;
bump ``L1_VERSION`` whenever any step changes):

1. Candidates.  e/gamma: the generator's electrons (flavour 11) *and* photons, since the L1 calorimeter
   trigger does not separate them; muons: flavour 13; jets: every reconstructed jet (hadronic taus included:
   there is no separate L1 tau row in this layout); MET: the event's MET vector.
2. L1 resolution: the offline-like pT is smeared further by a Gaussian relative term so that the total
   resolution is about 6 % (e/gamma), 15 % (muons), 20 % (jets); L1 MET gets an extra 10 GeV Gaussian per
   transverse component.  Positions are not smeared: their L1 resolution is modelled by the quantisation
   grid (step 4).  These are coarse, illustrative numbers, not a CMS calibration.
3. L1 acceptance and thresholds after smearing: e/gamma pT > 5 GeV, |eta| < 2.5; muons pT > 3 GeV,
   |eta| < 2.4; jets pT > 20 GeV, |eta| < 4.7.
4. Quantisation like the CMS Stage-2 global-trigger scales: pT truncated (floored) to 0.5 GeV steps and
   saturated at the field's maximum (e/gamma and muons 9 bits: 255.5 GeV; jets 11 bits: 1023.5 GeV; MET
   12 bits: 2047.5 GeV); calorimeter eta in steps of 0.0435 (0.087 / 2) and phi in steps of 2 pi / 144;
   muon eta in steps of 0.010875 and phi in steps of 2 pi / 576 (rounded to the nearest step, phi in
   (-pi, pi]).  A kept object therefore has pT >= its threshold > 0, so ``pT == 0`` means padding.
5. pT-ordering per type (after smearing), the first 4 / 4 / 10 kept, the rest zero-padded.

The stream is the same single-lepton-triggered SM cocktail as for vae21 (the generator has no minimum-bias
model); the L1 working points treat it as the 40 MHz input (rates = FPR x 40 MHz): an approximation that
the report states.

Firmware input convention (``input_scale``): each feature is divided by a positive scale (no offset) so
that zero padding stays exactly zero at the firmware input; the scale is the RMS of the non-zero values of
that quantity pooled over the rows of the same type (e.g. all jet pT), fitted on the training sample.

Pure numpy (+ h5py): no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .arrays import checked_h5_path
from .cache import cache_path, load_or_generate
from .generator import BSM_SIGNALS, GENERATOR_VERSION, SM_PROCESSES, generate, generate_sm_cocktail
from .objects import EventObjects

L1_VERSION = "l1-1"
L1_GENERATOR_VERSION = f"{GENERATOR_VERSION}+{L1_VERSION}"

N_MET, N_EG, N_MU, N_JET = 1, 4, 4, 10
N_ROWS = N_MET + N_EG + N_MU + N_JET  # 19
N_L1_FEATURES = 3 * N_ROWS  # 57
ROWS = {"MET": slice(0, 1), "e": slice(1, 5), "mu": slice(5, 9), "j": slice(9, 19)}
CLASS_ID = {"MET": 1, "e": 2, "mu": 3, "j": 4}
ROW_CLASS = np.array([1] + [2] * 4 + [3] * 4 + [4] * 10, dtype=np.int64)


def _feature_names() -> tuple[str, ...]:
    names = []
    for kind, sl in ROWS.items():
        for k in range(sl.stop - sl.start):
            obj = kind if kind == "MET" else f"{kind}{k + 1}"
            names += [f"{obj}_pt", f"{obj}_eta", f"{obj}_phi"]
    return tuple(names)


L1_FEATURES: tuple[str, ...] = _feature_names()
PT_COLUMNS = np.arange(0, N_L1_FEATURES, 3)

# L1 emulation constants (see the module docstring)
PT_LSB = 0.5
PT_MAX = {"MET": 2047.5, "e": 255.5, "mu": 255.5, "j": 1023.5}
CALO_ETA_LSB, CALO_PHI_LSB = 0.0435, 2 * np.pi / 144
MU_ETA_LSB, MU_PHI_LSB = 0.010875, 2 * np.pi / 576
SIGMA_EXTRA = {"e": float(np.sqrt(0.06**2 - 0.02**2)), "mu": float(np.sqrt(0.15**2 - 0.015**2)),
               "j": float(np.sqrt(0.20**2 - 0.10**2))}
MET_EXTRA_GEV = 10.0
PT_MIN = {"e": 5.0, "mu": 3.0, "j": 20.0}
ABS_ETA_MAX = {"e": 2.5, "mu": 2.4, "j": 4.7}


def _quantize_phi(phi, lsb):
    n = int(round(2 * np.pi / lsb))
    idx = np.mod(np.rint(phi / lsb), n)
    idx = np.where(idx > n // 2, idx - n, idx)
    return idx * lsb


def _l1_rows(kind: str, pt, eta, phi, k: int, rng) -> np.ndarray:
    """Smear, select, quantise and pT-order one object type; returns (N, k, 3)."""
    pt = np.asarray(pt, np.float64)
    pt = np.where(pt > 0, pt * (1.0 + SIGMA_EXTRA[kind] * rng.standard_normal(pt.shape)), 0.0)
    ok = (pt > PT_MIN[kind]) & (np.abs(eta) < ABS_ETA_MAX[kind])
    eta_lsb, phi_lsb = (MU_ETA_LSB, MU_PHI_LSB) if kind == "mu" else (CALO_ETA_LSB, CALO_PHI_LSB)
    qpt = np.minimum(np.floor(pt / PT_LSB) * PT_LSB, PT_MAX[kind])
    qpt = np.where(ok, qpt, 0.0)
    qeta = np.where(ok, np.rint(np.asarray(eta, np.float64) / eta_lsb) * eta_lsb, 0.0)
    qphi = np.where(ok, _quantize_phi(np.asarray(phi, np.float64), phi_lsb), 0.0)
    order = np.argsort(-qpt, axis=1, kind="stable")[:, :k]
    out = np.zeros((pt.shape[0], k, 3))
    m = min(k, order.shape[1])
    for j, a in enumerate((qpt, qeta, qphi)):
        out[:, :m, j] = np.take_along_axis(a, order[:, :m], axis=1)
    return out


def l1_particles(ev: EventObjects, rng: np.random.Generator) -> np.ndarray:
    """The L1 view of ``ev`` in the ADC ``Particles`` layout (N, 19, 4) float32 (see the module docstring)."""
    n = len(ev)
    is_e = ev.lep_flavour == 11
    is_mu = ev.lep_flavour == 13
    eg = _l1_rows("e", np.concatenate([np.where(is_e, ev.lep_pt, 0.0), ev.pho_pt], axis=1),
                  np.concatenate([ev.lep_eta, ev.pho_eta], axis=1),
                  np.concatenate([ev.lep_phi, ev.pho_phi], axis=1), N_EG, rng)
    mu = _l1_rows("mu", np.where(is_mu, ev.lep_pt, 0.0), ev.lep_eta, ev.lep_phi, N_MU, rng)
    jets = _l1_rows("j", ev.jet_pt, ev.jet_eta, ev.jet_phi, N_JET, rng)
    mx = ev.met * np.cos(ev.met_phi) + MET_EXTRA_GEV * rng.standard_normal(n)
    my = ev.met * np.sin(ev.met_phi) + MET_EXTRA_GEV * rng.standard_normal(n)
    met = np.zeros((n, 1, 3))
    met[:, 0, 0] = np.minimum(np.floor(np.hypot(mx, my) / PT_LSB) * PT_LSB, PT_MAX["MET"])
    met[:, 0, 2] = _quantize_phi(np.arctan2(my, mx), CALO_PHI_LSB)
    out = np.zeros((n, N_ROWS, 4), np.float32)
    out[:, :, :3] = np.concatenate([met, eg, mu, jets], axis=1)
    out[:, :, 3] = np.where(out[:, :, 0] > 0, ROW_CLASS, 0)
    out[:, 0, 3] = CLASS_ID["MET"]  # MET is always present (class 1), even when its pT is 0
    return out


def particles_to_features(p: np.ndarray) -> np.ndarray:
    """(N, 19, 4 or 3) -> (N, 57) float32 (rows' pT, eta, phi flattened row by row)."""
    return np.ascontiguousarray(np.asarray(p)[:, :, :3].reshape(len(p), N_L1_FEATURES), dtype=np.float32)


def object_mask(x: np.ndarray) -> np.ndarray:
    """(N, 57) 0/1 mask of the features that belong to a present object: an object row is present when its
    pT is non-zero; MET pT and phi are always present; MET eta (always 0) never is."""
    x = np.asarray(x)
    present = (x[:, PT_COLUMNS] != 0).astype(np.float32)
    present[:, 0] = 1.0
    m = np.repeat(present, 3, axis=1)
    m[:, 1] = 0.0
    return m


def input_scale(x_train: np.ndarray) -> np.ndarray:
    """Per-feature positive scale (no offset, zero padding stays 0): RMS of the non-zero values of each
    quantity pooled over the rows of its type (1 where there are none)."""
    x = np.asarray(x_train, np.float64)
    scale = np.ones(N_L1_FEATURES)
    for sl in ROWS.values():
        for q in range(3):
            cols = np.arange(3 * sl.start + q, 3 * sl.stop, 3)
            v = x[:, cols].ravel()
            v = v[v != 0]
            if len(v):
                scale[cols] = float(np.sqrt(np.mean(v * v)))
    return scale.astype(np.float32)


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class L1Dataset:
    x_train: np.ndarray
    x_val: np.ndarray
    x_test_bkg: np.ndarray
    test_bkg_process: np.ndarray
    x_test_signal: dict[str, np.ndarray]
    feature_names: tuple[str, ...] = L1_FEATURES
    meta: dict = field(default_factory=dict)


_CHUNK = 500_000  # events per generation chunk (bounded memory for the multi-million SM test sample)


def _sm_l1(n: int, seq: np.random.SeedSequence) -> tuple[np.ndarray, np.ndarray]:
    """n SM cocktail events as (N, 57) L1 features, generated in chunks with their own random streams."""
    n = int(n)
    x = np.zeros((n, N_L1_FEATURES), np.float32)
    proc = np.zeros(n, np.int32)
    n_chunks = max(1, -(-n // _CHUNK))
    for i, child in enumerate(seq.spawn(n_chunks)):
        a, b = i * _CHUNK, min(n, (i + 1) * _CHUNK)
        rng = np.random.default_rng(child)
        ev, p = generate_sm_cocktail(b - a, rng)
        x[a:b] = particles_to_features(l1_particles(ev, rng))
        proc[a:b] = p
    return x, proc


def _write(g, x: np.ndarray, process: np.ndarray | None = None) -> None:
    kw = dict(compression="lzf", shuffle=True, chunks=(min(len(x), 65536), N_L1_FEATURES)) if len(x) else {}
    g.create_dataset("features", data=x, **kw)
    if process is not None:
        g.create_dataset("process", data=process)


def _generate(seed: int, n_train: int, n_val: int, n_test_bkg: int, n_signal: int) -> L1Dataset:
    seqs = np.random.SeedSequence([int(seed), 57]).spawn(3 + len(BSM_SIGNALS))
    x_tr, _ = _sm_l1(n_train, seqs[0])
    x_va, _ = _sm_l1(n_val, seqs[1])
    x_te, p_te = _sm_l1(n_test_bkg, seqs[2])
    x_sig = {}
    for name, s in zip(BSM_SIGNALS, seqs[3:]):
        rng = np.random.default_rng(s)
        x_sig[name] = particles_to_features(l1_particles(generate(name, n_signal, rng), rng))
    return L1Dataset(x_tr, x_va, x_te, p_te.astype(np.int64), x_sig, L1_FEATURES)


def _write_cache(f, ds: L1Dataset) -> None:
    f.attrs["feature_names"] = list(L1_FEATURES)
    f.attrs["sm_processes"] = list(SM_PROCESSES)
    _write(f.create_group("train"), ds.x_train)
    _write(f.create_group("val"), ds.x_val)
    _write(f.create_group("background"), ds.x_test_bkg, ds.test_bkg_process.astype(np.int32))
    sg = f.create_group("signals")
    for name, x in ds.x_test_signal.items():
        _write(sg.create_group(name), x)


def load_or_generate_l1(seed: int, n_train: int, n_val: int, n_test_bkg: int, n_signal: int,
                        cache_dir: Path) -> L1Dataset:
    """Cached L1 dataset for (L1_GENERATOR_VERSION, seed, counts), or generated and cached atomically
    (:mod:`data.cache`).  Independent random streams for train, val, test background and each signal."""
    counts = dict(n_train=int(n_train), n_val=int(n_val), n_test_bkg=int(n_test_bkg), n_signal=int(n_signal))
    path = cache_path(cache_dir, L1_GENERATOR_VERSION, dict(seed=int(seed), tr=counts["n_train"], va=counts["n_val"],
                                                             te=counts["n_test_bkg"], sig=counts["n_signal"]),
                      prefix="l1_57")
    c = load_or_generate(path, L1_GENERATOR_VERSION, seed, lambda: _generate(int(seed), **counts), _write_cache,
                         read_l1_h5)
    ds = c.value
    if c.from_cache:
        meta = dict(ds.meta, generator_version=L1_GENERATOR_VERSION, seed=int(seed), counts=counts, **c.meta())
    else:
        meta = dict(generator_version=L1_GENERATOR_VERSION, seed=int(seed), counts=counts, **c.meta(),
                    sm_processes=list(SM_PROCESSES))
    return L1Dataset(ds.x_train, ds.x_val, ds.x_test_bkg, ds.test_bkg_process, ds.x_test_signal, L1_FEATURES, meta)


# ------------------------------------------------------------------------------------------------
# Reader: the public ADC2021 files and this project's own layout
def validate_particles(p: np.ndarray, where: str) -> np.ndarray:
    """Check an ADC ``Particles`` array (N, 19, 4) and return its (N, 57) features."""
    if p.ndim != 3 or p.shape[1:] != (N_ROWS, 4):
        raise ValueError(
            f"{where}: shape {p.shape}, expected (N, {N_ROWS}, 4) = (pT, eta, phi, class) for rows 0 MET, "
            f"1-4 electrons, 5-8 muons, 9-18 jets (the ADC2021 'Particles' layout)"
        )
    p = np.asarray(p, np.float64)
    bad = ~np.isfinite(p)
    if bad.any():
        rows = int(bad.any(axis=(1, 2)).sum())
        raise ValueError(f"{where}: {int(np.isnan(p).sum())} NaN and {int(np.isinf(p).sum())} inf values in "
                         f"{rows} of {len(p)} events; remove or fix those events before use")
    if (p[:, :, 0] < 0).any():
        raise ValueError(f"{where}: negative pT in {int((p[:, :, 0] < 0).any(axis=1).sum())} events (pT must be >= 0)")
    cls = np.rint(p[:, 1:, 3]).astype(np.int64)
    want = np.where(p[:, 1:, 0] > 0, ROW_CLASS[1:], 0)
    wrong = cls != want
    if wrong.any():
        ev, row = np.argwhere(wrong)[0]
        raise ValueError(
            f"{where}: event {ev}, row {row + 1}: class {cls[ev, row]} but expected {want[ev, row]} (rows 1-4 "
            f"electrons class 2, 5-8 muons class 3, 9-18 jets class 4, padded rows (pT = 0) class 0); "
            f"{int(wrong.any(axis=1).sum())} events affected: is the row order MET, 4 e, 4 mu, 10 jets?"
        )
    return particles_to_features(p)


def _group_features(g, path: Path) -> np.ndarray:
    where = f"{path}:{g.name}"
    if "Particles" in g:
        return validate_particles(g["Particles"][()], f"{where}/Particles".replace("//", "/"))
    if "features" in g:
        ds = g["features"]
        if ds.ndim != 2 or ds.shape[1] != N_L1_FEATURES:
            raise ValueError(f"{where}/features: expected (N, {N_L1_FEATURES}) L1 features (19 rows x (pT, eta, "
                             f"phi): MET, 4 e, 4 mu, 10 jets), got shape {ds.shape}")
        x = np.asarray(ds[()], np.float32)
        if not np.isfinite(x).all():
            raise ValueError(f"{where}/features: {int((~np.isfinite(x)).sum())} NaN/inf values; fix those events")
        return x
    raise ValueError(f"{where}: needs a 'Particles' (N, 19, 4) or a 'features' (N, 57) dataset; found {sorted(g.keys())}")


def read_l1_h5(path) -> L1Dataset:
    """A user's file: either an ADC2021 file (``Particles`` at the root: used as the SM test sample), or this
    project's layout with groups ``/background`` (required), ``/train``, ``/val``, ``/signals/<name>``, each
    holding ``Particles`` (N, 19, 4) or ``features`` (N, 57).  Signal files of the ADC can be attached
    without copying as HDF5 external links (``f["signals/Ato4l"] = h5py.ExternalLink("Ato4l.h5", "/")``).
    Values are used as given (no extra L1 quantisation)."""
    from .root import is_root_file, read_l1_root

    if is_root_file(path):  # ROOT TTrees (data/root.py)
        return read_l1_root(path)
    path = checked_h5_path(path, "--data", " (give an ADC2021 HDF5 file with 'Particles' or the layout of data/l1.py)")
    empty = np.zeros((0, N_L1_FEATURES), np.float32)
    with h5py.File(path, "r") as f:
        if "Particles" in f and isinstance(f["Particles"], h5py.Dataset):
            x_bkg = _group_features(f, path)
            x_tr = x_va = empty
            sig = {}
        elif "background" in f:
            x_bkg = _group_features(f["background"], path)
            x_tr = _group_features(f["train"], path) if "train" in f else empty
            x_va = _group_features(f["val"], path) if "val" in f else empty
            sig = {name: _group_features(g, path) for name, g in f["signals"].items()} if "signals" in f else {}
        else:
            raise ValueError(f"{path}: neither a 'Particles' dataset (ADC2021 file) nor a /background group; "
                             f"found top-level entries {sorted(f.keys())}")
        g = f["background"] if "background" in f else f
        proc = (np.asarray(g["process"][()], np.int64) if "process" in g else np.full(len(x_bkg), -1, np.int64))
        meta = dict(generator_version=str(f.attrs.get("generator_version", "user file")),
                    seed=int(f.attrs["seed"]) if "seed" in f.attrs else None,
                    counts=dict(n_train=len(x_tr), n_val=len(x_va), n_test_bkg=len(x_bkg),
                                n_signal={k: len(v) for k, v in sig.items()}),
                    cache_path=str(path), source=str(path))
    return L1Dataset(x_tr, x_va, x_bkg, proc, sig, L1_FEATURES, meta)


def l1_validation_events(seed: int, n_sm: int, n_signal: int, stream: int) -> dict[str, np.ndarray]:
    """A validation sample for choosing an on-chip score (never the test sample): ``n_sm`` SM cocktail events and
    ``n_signal`` of every signal as (N, 57) L1 features, from ``SeedSequence([seed, stream])`` (a stream the
    dataset's train / validation / test streams, ``[seed, 57]``, do not use)."""
    if int(stream) == 57:
        raise ValueError("stream 57 is the dataset's own (train / validation / test): choose another")
    seqs = np.random.SeedSequence([int(seed), int(stream)]).spawn(1 + len(BSM_SIGNALS))
    out = {"background": _sm_l1(n_sm, seqs[0])[0]}
    for name, s in zip(BSM_SIGNALS, seqs[1:]):
        rng = np.random.default_rng(s)
        out[name] = particles_to_features(l1_particles(generate(name, int(n_signal), rng), rng))
    return out
