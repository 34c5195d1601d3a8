"""Synthetic calorimeter region images for the ``cicada`` family (CICADA-like 18 x 14 region ET maps).

Layout: ``(N, 18, 14)`` unsigned integers, axis 1 = phi region (18 x 20 degrees, region i covers
[-pi + i * 2 pi / 18, -pi + (i + 1) * 2 pi / 18)), axis 2 = eta region (14 regions of equal width
3 / 7 covering |eta| < 3.0).  Each entry is the region's transverse energy as a **10-bit unsigned integer
with an LSB of 0.5 GeV** (floored; saturated at 1023 = 511.5 GeV).  These choices are illustrative (the
CMS Layer-1 regions are 4 x 4 towers; their eta widths are not uniform).

How an image is made from :class:`data.objects.EventObjects` (bump ``CALO_VERSION`` on any change):

1. Jets (hadronic taus included, as in the generator's jet list): 75 % of the pT in the jet axis' region,
   the remaining 25 % split equally between the 4 edge neighbours (phi wraps around; shares falling
   outside |eta| < 3 are lost).  Jets with |eta| >= 3 are not seen.
2. Electrons and photons (e/gamma): 100 % in their region.  Muons: a 2 GeV minimum-ionising deposit.
3. MET: neutrinos leave nothing; the imbalance of the hard event shows only as the vector sum of the
   deposits (the hadronic recoil is already in the jets).  MET is not deposited.
4. Pile-up: each region gets Poisson(``PU_MEAN``) soft deposits, each exponential with mean
   ``PU_ET_MEAN`` GeV, uniform in the image (an approximation).
5. Electronic noise: Gaussian sigma ``NOISE_SIGMA`` GeV per region; the sum is clipped at 0, floored to
   the LSB and saturated at 10 bits.

SM background: the generator's SM cocktail; signals: the generator's four BSM processes.  Pure numpy
(+ h5py): no TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .arrays import checked_h5_path
from .cache import cache_path, load_or_generate
from .generator import BSM_SIGNALS, GENERATOR_VERSION, generate, generate_sm_cocktail
from .objects import EventObjects

CALO_VERSION = "calo-1"
CALO_GENERATOR_VERSION = f"{GENERATOR_VERSION}+{CALO_VERSION}"
N_PHI, N_ETA = 18, 14
IMAGE_SHAPE = (N_PHI, N_ETA)
ETA_MAX = 3.0
ET_LSB = 0.5  # GeV per count
ET_BITS = 10
ET_MAX_COUNT = (1 << ET_BITS) - 1
JET_CORE_FRACTION = 0.75
MUON_MIP_GEV = 2.0
PU_MEAN = 0.6
PU_ET_MEAN = 1.5
NOISE_SIGMA = 0.4


def region_index(eta, phi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(phi index, eta index, inside |eta| < ETA_MAX) of positions (arrays of any shape)."""
    eta = np.asarray(eta, np.float64)
    phi = np.mod(np.asarray(phi, np.float64) + np.pi, 2 * np.pi)
    iphi = np.minimum((phi / (2 * np.pi) * N_PHI).astype(np.int64), N_PHI - 1)
    ieta_f = np.floor((eta + ETA_MAX) / (2 * ETA_MAX) * N_ETA)
    inside = (ieta_f >= 0) & (ieta_f < N_ETA)
    return iphi, np.clip(ieta_f, 0, N_ETA - 1).astype(np.int64), inside


def _deposit(img, ev_idx, iphi, ieta, et, ok) -> None:
    ok = ok & (et > 0)
    np.add.at(img, (ev_idx[ok], iphi[ok], ieta[ok]), et[ok])


def _deposit_jets(img, ev: EventObjects) -> None:
    n, k = ev.jet_pt.shape
    ev_idx = np.repeat(np.arange(n), k).reshape(n, k)
    iphi, ieta, inside = region_index(ev.jet_eta, ev.jet_phi)
    pt = ev.jet_pt.astype(np.float64)
    _deposit(img, ev_idx, iphi, ieta, JET_CORE_FRACTION * pt, inside)
    share = (1 - JET_CORE_FRACTION) / 4 * pt
    for dphi, deta in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        e2 = ieta + deta
        _deposit(img, ev_idx, (iphi + dphi) % N_PHI, np.clip(e2, 0, N_ETA - 1), share,
                 inside & (e2 >= 0) & (e2 < N_ETA))


def calo_images(ev: EventObjects, rng: np.random.Generator) -> np.ndarray:
    """(N, 18, 14) uint16 region ET counts (LSB ``ET_LSB`` GeV, ``ET_BITS`` bits) of the events."""
    n = len(ev)
    img = np.zeros((n, N_PHI, N_ETA), np.float64)
    _deposit_jets(img, ev)
    is_e, is_mu = ev.lep_flavour == 11, ev.lep_flavour == 13
    for pt, eta, phi, et in ((ev.pho_pt, ev.pho_eta, ev.pho_phi, ev.pho_pt),
                             (ev.lep_pt, ev.lep_eta, ev.lep_phi, np.where(is_e, ev.lep_pt, 0.0)),
                             (ev.lep_pt, ev.lep_eta, ev.lep_phi, np.where(is_mu, MUON_MIP_GEV, 0.0))):
        k = pt.shape[1]
        ev_idx = np.repeat(np.arange(n), k).reshape(n, k)
        iphi, ieta, inside = region_index(eta, phi)
        _deposit(img, ev_idx, iphi, ieta, np.asarray(et, np.float64), inside & (pt > 0))
    n_pu = rng.poisson(PU_MEAN, size=img.shape)
    img += rng.gamma(np.maximum(n_pu, 1), PU_ET_MEAN) * (n_pu > 0)  # sum of n_pu exponentials
    img += rng.normal(0.0, NOISE_SIGMA, size=img.shape)
    counts = np.floor(np.clip(img, 0, None) / ET_LSB)
    return np.minimum(counts, ET_MAX_COUNT).astype(np.uint16)


@dataclass
class CaloDataset:
    """Region images (uint16 counts) for training, validation, SM test background and each signal."""

    x_train: np.ndarray
    x_val: np.ndarray
    x_test_bkg: np.ndarray
    x_test_signal: dict[str, np.ndarray]
    meta: dict = field(default_factory=dict)
    feature_names: tuple[str, ...] = ("region_et_counts",)  # one channel per region (the build's input axis)


def generate_calo(seed: int, n_train: int, n_val: int, n_test_bkg: int, n_signal: int) -> CaloDataset:
    """Independent random streams for train, val, test background and each BSM signal."""
    seqs = np.random.SeedSequence([int(seed), 1814]).spawn(3 + len(BSM_SIGNALS))

    def sm(n, s):
        rng = np.random.default_rng(s)
        return calo_images(generate_sm_cocktail(int(n), rng)[0], rng)

    sig = {}
    for name, s in zip(BSM_SIGNALS, seqs[3:]):
        rng = np.random.default_rng(s)
        sig[name] = calo_images(generate(name, int(n_signal), rng), rng)
    meta = dict(generator_version=CALO_GENERATOR_VERSION, seed=int(seed))
    return CaloDataset(sm(n_train, seqs[0]), sm(n_val, seqs[1]), sm(n_test_bkg, seqs[2]), sig, meta)


# ------------------------------------------------------------------------------------------------
# HDF5 layout: /background/images (required), /train/images, /val/images, /signals/<name>/images,
# each (N, 18, 14) or (N, 18, 14, 1) non-negative integers (ET counts, LSB ET_LSB GeV).
def _checked_images(ds, where: str) -> np.ndarray:
    x = np.asarray(ds[()])
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{where}: region images of shape {x.shape}, expected (N, {N_PHI}, {N_ETA}) "
                         f"or (N, {N_PHI}, {N_ETA}, 1) (phi x eta regions)")
    if not np.issubdtype(x.dtype, np.integer) and np.any(x != np.floor(x)):
        raise ValueError(f"{where}: region ET must be integer counts (LSB {ET_LSB} GeV)")
    if x.size and (x.min() < 0 or x.max() > ET_MAX_COUNT):
        raise ValueError(f"{where}: region ET counts outside [0, {ET_MAX_COUNT}] ({ET_BITS} bits)")
    return x.astype(np.uint16)


def write_calo_h5(path, ds: CaloDataset) -> None:
    with h5py.File(path, "w") as f:
        f.attrs["generator_version"] = str(ds.meta.get("generator_version", "user"))
        _write_groups(f, ds)


def _write_groups(f, ds: CaloDataset) -> None:
    for name, x in (("train", ds.x_train), ("val", ds.x_val), ("background", ds.x_test_bkg)):
        f.create_group(name).create_dataset("images", data=x)
    sg = f.create_group("signals")
    for name, x in ds.x_test_signal.items():
        sg.create_group(name).create_dataset("images", data=x)


def read_calo_h5(path) -> CaloDataset:
    """A region-image file in the layout above; a clear error on a missing group or a wrong shape."""
    path = Path(checked_h5_path(path, "--data", " (give an HDF5 file with /background/images (N, 18, 14))"))
    empty = np.zeros((0, *IMAGE_SHAPE), np.uint16)
    with h5py.File(path, "r") as f:
        if "background" not in f or "images" not in f["background"]:
            raise ValueError(f"{path}: no /background/images dataset; found top-level entries {sorted(f.keys())}")
        bkg = _checked_images(f["background/images"], f"{path}:/background/images")
        opt = {k: (_checked_images(f[f"{k}/images"], f"{path}:/{k}/images") if f"{k}/images" in f else empty)
               for k in ("train", "val")}
        sig = {name: _checked_images(g["images"], f"{path}:/signals/{name}/images")
               for name, g in f["signals"].items()} if "signals" in f else {}
        meta = dict(generator_version=str(f.attrs.get("generator_version", "user file")), source=str(path))
    return CaloDataset(opt["train"], opt["val"], bkg, sig, meta)


# ------------------------------------------------------------------------------------------------
# the build flow's data family ``calo`` (models/registry.py): x as (n, 18, 14, 1) float32 counts
def as_build_inputs(ds: CaloDataset, meta: dict | None = None) -> CaloDataset:
    """``ds`` with every image as (n, 18, 14, 1) float32 ET counts (the input the build standardises)."""
    f = lambda x: np.asarray(x, np.float32).reshape(len(x), *IMAGE_SHAPE, 1)
    return CaloDataset(f(ds.x_train), f(ds.x_val), f(ds.x_test_bkg), {k: f(v) for k, v in ds.x_test_signal.items()},
                       dict(ds.meta if meta is None else meta))


def load_or_generate_calo(seed: int, n_train: int, n_val: int, n_test_bkg: int, n_signal: int,
                          cache_dir: Path) -> CaloDataset:
    """Cached region images for (CALO_GENERATOR_VERSION, seed, counts), or generated and cached atomically."""
    counts = dict(n_train=int(n_train), n_val=int(n_val), n_test_bkg=int(n_test_bkg), n_signal=int(n_signal))
    path = cache_path(cache_dir, CALO_GENERATOR_VERSION, dict(seed=int(seed), tr=n_train, va=n_val, te=n_test_bkg,
                                                              sig=n_signal), prefix="calo")
    c = load_or_generate(path, CALO_GENERATOR_VERSION, seed, lambda: generate_calo(int(seed), **counts),
                         _write_groups, read_calo_h5)
    return as_build_inputs(c.value, dict(generator_version=CALO_GENERATOR_VERSION, seed=int(seed), counts=counts,
                                         **c.meta()))


def read_calo_for_build(path) -> CaloDataset:
    """A user's region-image file (layout above) as build inputs."""
    return as_build_inputs(read_calo_h5(path))
