"""Synthetic LHC-Olympics-R&D-like dijet events, the LHCO high-level-feature reader, and a cache.

Pure numpy (no TensorFlow).  Approximations (deliberate; bump ``DIJET_GENERATOR_VERSION`` when any changes):

* QCD background: mjj is drawn from the standard dijet function
  ``f(x) = (1 - x)^p1 / x^(p2 + p3 ln x)``, x = mjj / 13 TeV (``QCD_DIJET_PARAMS``), above 2.2 TeV, by inverse
  CDF on a fine grid.  The two R = 1.0 jets are back to back in the dijet rest frame; their rapidity difference
  is drawn flat in chi = exp|dy| (the QCD t-channel shape) up to |dy| = 1.3 (the usual dijet-search cut, applied
  to signal too) and the system is boosted by a Gaussian rapidity (sigma 0.6).  The jets' common pT is solved
  exactly from mjj, the jet masses and dy, so mjj computed from the 4-vectors is the drawn one.  The event passes
  when the jets have pT > 1.2 TeV (the LHCO R&D trigger), i.e. mjj >~ 2.4 TeV cosh(dy/2): the spectrum turns on
  between 2.4 and 2.9 TeV and follows the dijet function exactly above ``FULL_ACCEPTANCE_MJJ`` (2.9 TeV).
  No pile-up, no ISR/FSR (jets are exactly balanced in pT), no detector smearing of mjj for QCD (the dijet
  function already is the detector-level shape).
* QCD jet masses: log-normal around a Sudakov-like peak with a *mild* power-law correlation with mjj,
  ``ln mj = ln(MASS_REF) + QCD_MASS_KAPPA * ln(mjj / 3.5 TeV) + N(0, 0.55)`` (kappa = 0.3: the median jet mass
  grows by ~20 % from 3 to 6 TeV), clipped to [5 GeV, 0.5 pT].  This is what makes mass sculpting a real risk.
* QCD substructure: tau21 ~ Beta(6, 3) shifted to smaller values for heavier jets (mild mass-tau21
  anti-correlation), tau32 ~ Beta(7, 3); tau1 ~ 0.05 + Gamma(3, 0.04) (dimensionless, as the LHCO values),
  tau2 = tau21 tau1, tau3 = tau32 tau2.
* Signal W'(3.5 TeV) -> X(500 GeV) Y(100 GeV), X, Y -> qq: the dijet mass is Gaussian with a 4.5 % detector-like
  resolution, and 25 % of the events lose an exponential fraction (mean 5 %) to out-of-cone radiation (low-side
  tail).  Jet masses: N(500, 25) and N(100, 8) GeV (also with a small low-side tail), two-prong substructure
  tau21 ~ Beta(3, 6) (small), tau32 ~ Beta(7, 3).  Angular distribution 1 + cos^2 theta* (spin-1 -> qq).
* Per event features (``FEATURES``): mjj, mj1 (heavier jet), mj2, tau21_1, tau21_2 (of the heavier / lighter
  jet); the jet 4-vectors (px, py, pz, E) and raw tau1/2/3 are kept too (``DijetEvents``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from .cache import cache_path, load_or_generate

DIJET_GENERATOR_VERSION = "dijet-1"
SQRT_S = 13000.0  # GeV
QCD_DIJET_PARAMS = (9.0, 5.0, 0.2)  # p1, p2, p3 of (1-x)^p1 / x^(p2 + p3 ln x)
MJJ_GEN_MIN = 2200.0
MJJ_GEN_MAX = 9000.0
PT_MIN = 1200.0
MAX_ABS_DY = 1.3
FULL_ACCEPTANCE_MJJ = 2 * PT_MIN * np.cosh(MAX_ABS_DY / 2) + 100.0  # ~2.9 TeV (jet masses add a little)
MASS_REF = 60.0  # GeV, QCD median jet mass at mjj = 3.5 TeV (lighter/heavier mixed)
QCD_MASS_KAPPA = 0.3
SIGNAL = {"m_wprime": 3500.0, "m_x": 500.0, "m_y": 100.0, "mjj_resolution": 0.045}

FEATURES = ("mjj", "mj1", "mj2", "tau21_1", "tau21_2")
LHCO_COLUMNS = tuple(f"{v}j{j}" for j in (1, 2) for v in ("px", "py", "pz", "m", "tau1", "tau2", "tau3"))


def dijet_function(mjj, p0, p1, p2, p3):
    """Standard dijet function ``p0 (1-x)^p1 / x^(p2 + p3 ln x)``, x = mjj / 13 TeV (mjj in GeV)."""
    x = np.asarray(mjj, dtype=np.float64) / SQRT_S
    return p0 * (1.0 - x) ** p1 / x ** (p2 + p3 * np.log(x))


@dataclass
class DijetEvents:
    """Per-event arrays. ``jets`` is (n, 2, 4) (px, py, pz, E) of the heavier jet then the lighter one;
    ``tau`` is (n, 2, 3) (tau1, tau2, tau3) in the same jet order; ``label`` 1 = signal, 0 = background."""

    jets: np.ndarray
    mass: np.ndarray  # (n, 2) jet masses, heavier first
    tau: np.ndarray
    label: np.ndarray

    def __len__(self):
        return len(self.label)

    @property
    def mjj(self) -> np.ndarray:
        p = self.jets.sum(axis=1)
        return np.sqrt(np.maximum(p[:, 3] ** 2 - p[:, 0] ** 2 - p[:, 1] ** 2 - p[:, 2] ** 2, 0.0))

    def features(self) -> np.ndarray:
        """(n, 5) float64 in the order of ``FEATURES``."""
        t21 = self.tau[:, :, 1] / np.maximum(self.tau[:, :, 0], 1e-12)
        return np.column_stack([self.mjj, self.mass[:, 0], self.mass[:, 1], t21[:, 0], t21[:, 1]])

    @staticmethod
    def concat(parts: list["DijetEvents"]) -> "DijetEvents":
        return DijetEvents(*(np.concatenate([getattr(p, k) for p in parts]) for k in ("jets", "mass", "tau", "label")))

    def take(self, idx) -> "DijetEvents":
        return DijetEvents(self.jets[idx], self.mass[idx], self.tau[idx], self.label[idx])


# ------------------------------------------------------------------------------------------------
def _sample_dijet_mjj(n: int, rng: np.random.Generator, params=QCD_DIJET_PARAMS) -> np.ndarray:
    grid = np.linspace(MJJ_GEN_MIN, MJJ_GEN_MAX, 20001)
    pdf = dijet_function(grid, 1.0, *params)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (pdf[1:] + pdf[:-1]) * np.diff(grid))])
    cdf /= cdf[-1]
    return np.interp(rng.random(n), cdf, grid)


def _solve_pt(mjj, m1, m2, dy) -> np.ndarray:
    """Common jet pT such that two back-to-back jets (masses m1, m2, rapidity difference dy) have mass mjj."""
    c = np.cosh(dy)
    a = mjj**2 - m1**2 - m2**2
    p = mjj / (2 * np.cosh(dy / 2))  # massless start
    for _ in range(30):
        e1, e2 = np.sqrt(p**2 + m1**2), np.sqrt(p**2 + m2**2)
        f = 2 * e1 * e2 * c + 2 * p**2 - a
        df = 2 * c * p * (e2 / e1 + e1 / e2) + 4 * p
        p = np.maximum(p - f / df, 1e-3)
    return p


def _build_jets(mjj, m1, m2, dy, rng) -> np.ndarray:
    n = len(mjj)
    pt = _solve_pt(mjj, m1, m2, dy)
    yb = rng.normal(0.0, 0.6, n)
    y = np.stack([yb + dy / 2, yb - dy / 2], axis=1)
    phi = rng.uniform(-np.pi, np.pi, n)
    phis = np.stack([phi, phi + np.pi], axis=1)
    m = np.stack([m1, m2], axis=1)
    mt = np.sqrt(pt[:, None] ** 2 + m**2)
    return np.stack([pt[:, None] * np.cos(phis), pt[:, None] * np.sin(phis), mt * np.sinh(y), mt * np.cosh(y)], axis=2)


def _taus(tau21, rng) -> np.ndarray:
    tau1 = 0.05 + rng.gamma(3.0, 0.04, tau21.shape)
    tau2 = tau21 * tau1
    tau3 = rng.beta(7.0, 3.0, tau21.shape) * tau2
    return np.stack([tau1, tau2, tau3], axis=-1)


def _finish(jets, m, tau21, rng, label) -> DijetEvents:
    """Order jets heavier first, apply pT > PT_MIN."""
    tau = _taus(tau21, rng)
    swap = m[:, 1] > m[:, 0]
    order = np.stack([swap.astype(int), (~swap).astype(int)], axis=1)
    ar = np.arange(len(m))[:, None]
    jets, m, tau = jets[ar, order], m[ar, order], tau[ar, order]
    pt = np.hypot(jets[:, :, 0], jets[:, :, 1])
    keep = np.all(pt > PT_MIN, axis=1)
    return DijetEvents(jets[keep], m[keep], tau[keep], np.full(int(keep.sum()), label, np.int8))


def _qcd_chunk(n: int, rng) -> DijetEvents:
    mjj = _sample_dijet_mjj(n, rng)
    chi = rng.uniform(1.0, np.exp(MAX_ABS_DY), n)
    dy = np.log(chi) * rng.choice([-1.0, 1.0], n)
    ln_m = np.log(MASS_REF) + QCD_MASS_KAPPA * np.log(mjj / 3500.0)
    m = np.exp(ln_m[:, None] + rng.normal(0.0, 0.55, (n, 2)))
    pt_guess = mjj / (2 * np.cosh(dy / 2))
    m = np.clip(m, 5.0, 0.5 * pt_guess[:, None])
    tau21 = rng.beta(6.0, 3.0, (n, 2)) - 0.12 * np.clip(np.log(m / 60.0), -1.5, 2.5) / 2.5
    tau21 = np.clip(tau21, 0.02, 0.99)
    return _finish(_build_jets(mjj, m[:, 0], m[:, 1], dy, rng), m, tau21, rng, 0)


def _signal_chunk(n: int, rng) -> DijetEvents:
    s = SIGNAL
    mjj = s["m_wprime"] * (1.0 + s["mjj_resolution"] * rng.normal(size=n))
    tail = rng.random(n) < 0.25
    mjj[tail] *= 1.0 - np.minimum(rng.exponential(0.05, tail.sum()), 0.5)
    cos = _sample_1_plus_cos2(n, rng)
    dy = 2 * np.arctanh(np.clip(cos, -0.999, 0.999))
    mx = s["m_x"] * (1 + 0.05 * rng.normal(size=n)) * np.where(rng.random(n) < 0.15, 1 - rng.exponential(0.1, n), 1)
    my = s["m_y"] * (1 + 0.08 * rng.normal(size=n)) * np.where(rng.random(n) < 0.15, 1 - rng.exponential(0.1, n), 1)
    m = np.clip(np.stack([mx, my], axis=1), 5.0, None)
    tau21 = np.clip(rng.beta(3.0, 6.0, (n, 2)), 0.02, 0.99)
    ev = _finish(_build_jets(mjj, m[:, 0], m[:, 1], dy, rng), m, tau21, rng, 1)
    dyk = np.abs(_rapidity(ev.jets[:, 0]) - _rapidity(ev.jets[:, 1])) < MAX_ABS_DY
    return ev.take(dyk)


def _rapidity(p):
    return 0.5 * np.log((p[:, 3] + p[:, 2]) / (p[:, 3] - p[:, 2]))


def _sample_1_plus_cos2(n, rng):
    out = np.empty(0)
    while len(out) < n:
        c = rng.uniform(-1, 1, 2 * n)
        out = np.concatenate([out, c[rng.random(2 * n) * 2 < 1 + c**2]])
    return out[:n]


def _generate(kind: str, n: int, rng: np.random.Generator) -> DijetEvents:
    fn = _qcd_chunk if kind == "qcd" else _signal_chunk
    parts, got = [], 0
    while got < n:
        ev = fn(max(int((n - got) * 1.3) + 100, 1000), rng)
        parts.append(ev)
        got += len(ev)
    return DijetEvents.concat(parts).take(slice(0, n))


def generate_qcd(n: int, rng: np.random.Generator) -> DijetEvents:
    return _generate("qcd", n, rng)


def generate_signal(n: int, rng: np.random.Generator) -> DijetEvents:
    return _generate("signal", n, rng)


# ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class DijetSample:
    """The hunt's input: features (n, 5) in ``FEATURES`` order, truth label (never used by CWoLa), and a shuffled
    order (signal injected at random positions)."""

    x: np.ndarray
    label: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def mjj(self):
        return self.x[:, 0]


def _generate_sample(seed: int, n_bkg: int, n_sig: int) -> tuple[np.ndarray, np.ndarray]:
    """(features, labels) of n_bkg QCD + n_sig signal events, shuffled."""
    s_bkg, s_sig, s_shuf = np.random.SeedSequence(int(seed)).spawn(3)
    bkg = generate_qcd(int(n_bkg), np.random.default_rng(s_bkg))
    parts = [bkg]
    if n_sig > 0:
        parts.append(generate_signal(int(n_sig), np.random.default_rng(s_sig)))
    ev = DijetEvents.concat(parts)
    perm = np.random.default_rng(s_shuf).permutation(len(ev))
    return ev.features()[perm], ev.label[perm]


def _write_cache(f, sample: tuple[np.ndarray, np.ndarray]) -> None:
    f.create_dataset("features", data=sample[0])
    f.create_dataset("label", data=sample[1])
    f.attrs["feature_names"] = list(FEATURES)


def _read_cache(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with h5py.File(path, "r") as f:
        return f["features"][()], f["label"][()]


def load_or_generate_dijets(seed: int, n_bkg: int, n_sig: int, cache_dir: Path) -> DijetSample:
    """Background (n_bkg QCD) + injected signal (n_sig W'), shuffled; cached as HDF5 keyed by version/seed/counts
    (:mod:`data.cache`).

    Independent random streams for background and signal, so the background does not depend on n_sig.
    """
    path = cache_path(cache_dir, DIJET_GENERATOR_VERSION, dict(seed=int(seed), bkg=int(n_bkg), sig=int(n_sig)))
    c = load_or_generate(path, DIJET_GENERATOR_VERSION, seed, lambda: _generate_sample(seed, n_bkg, n_sig),
                         _write_cache, _read_cache)
    meta = dict(cache_path=str(c.path), cache_key=c.key, from_cache=c.from_cache, seed=seed,
                generator_version=DIJET_GENERATOR_VERSION, time_to_generate_s=c.time_to_generate_s)
    if c.from_cache:
        meta["time_to_load_s"] = c.time_to_load_s
    return DijetSample(*c.value, meta)


# ------------------------------------------------------------------------------------------------
# LHC Olympics high-level-feature layout (pandas HDF): pxj1 pyj1 pzj1 mj1 tau1j1 tau2j1 tau3j1, same for j2, label
def write_lhco_hdf(path: Path, ev: DijetEvents, key: str = "df") -> None:
    """Write events in the LHCO R&D high-level-feature layout (pandas HDF, one DataFrame)."""
    import pandas as pd

    cols = {}
    for j in (0, 1):
        cols[f"pxj{j + 1}"] = ev.jets[:, j, 0]
        cols[f"pyj{j + 1}"] = ev.jets[:, j, 1]
        cols[f"pzj{j + 1}"] = ev.jets[:, j, 2]
        cols[f"mj{j + 1}"] = ev.mass[:, j]
        for t in range(3):
            cols[f"tau{t + 1}j{j + 1}"] = ev.tau[:, j, t]
    cols["label"] = ev.label.astype(np.float64)
    pd.DataFrame(cols).to_hdf(path, key=key, mode="w")


def read_lhco_hdf(path, key: str | None = None) -> DijetSample:
    """Read an LHC Olympics high-level-feature file (pandas HDF) into a :class:`DijetSample`.

    Jets are re-ordered heavier first; mjj is computed from the jet 4-vectors (E = sqrt(p^2 + m^2)).  ``label`` is
    optional (the black boxes have none: then every label is -1).
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LHCO file {path}: no such file")
    try:
        df = pd.read_hdf(path, key=key)
    except ImportError as e:
        raise ImportError(f"reading {path} needs PyTables: pip install tables ({e})") from e
    except (ValueError, KeyError, OSError, TypeError) as e:
        raise ValueError(f"{path}: cannot read a pandas HDF table ({e}); pass the key of the DataFrame") from e
    missing = [c for c in LHCO_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: missing LHCO columns {missing}; expected {list(LHCO_COLUMNS)} (+ optional label)")
    a = {c: df[c].to_numpy(np.float64) for c in LHCO_COLUMNS}
    bad = ~np.all(np.isfinite(np.column_stack(list(a.values()))), axis=1)
    if bad.any():
        raise ValueError(f"{path}: {int(bad.sum())} of {len(df)} events have NaN/inf values; remove them first")
    jets, mass, tau = [], [], []
    for j in (1, 2):
        p = np.column_stack([a[f"pxj{j}"], a[f"pyj{j}"], a[f"pzj{j}"]])
        m = a[f"mj{j}"]
        jets.append(np.column_stack([p, np.sqrt((p**2).sum(axis=1) + m**2)]))
        mass.append(m)
        tau.append(np.column_stack([a[f"tau1j{j}"], a[f"tau2j{j}"], a[f"tau3j{j}"]]))
    jets, mass, tau = np.stack(jets, 1), np.stack(mass, 1), np.stack(tau, 1)
    swap = mass[:, 1] > mass[:, 0]
    order = np.stack([swap.astype(int), (~swap).astype(int)], axis=1)
    ar = np.arange(len(mass))[:, None]
    label = df["label"].to_numpy().astype(np.int8) if "label" in df.columns else np.full(len(df), -1, np.int8)
    ev = DijetEvents(jets[ar, order], mass[ar, order], tau[ar, order], label)
    return DijetSample(ev.features(), ev.label, dict(source=str(path), generator_version="LHCO file",
                                                      cache_key=f"lhco-{path.stem}-{path.stat().st_size}"))
