"""Kinematics and array helpers of the event generator (:mod:`data.generator`): 4-vectors as arrays of shape
(4, n) = (px, py, pz, E), two-body decays, line shapes, and the row/column helpers of the object reconstruction.
Pure numpy; every random draw takes the caller's generator, so moving code here changes no event."""

from __future__ import annotations

import numpy as np

M_B = 4.8
M_TAU = 1.777
TWO_PI = 2.0 * np.pi


# ------------------------------------------------------------------------------------------------
# 4-vector helpers, arrays of shape (4, n) = (px, py, pz, E)
def p4_from_ptetaphim(pt, eta, phi, m):
    px = pt * np.cos(phi)
    py = pt * np.sin(phi)
    pz = pt * np.sinh(eta)
    e = np.sqrt(px * px + py * py + pz * pz + m * m)
    return np.stack([px, py, pz, e])


def pt_eta_phi(p):
    pt = np.hypot(p[0], p[1])
    eta = np.arcsinh(p[2] / np.maximum(pt, 1e-9))
    phi = np.arctan2(p[1], p[0])
    return pt, eta, phi


def inv_mass(p):
    return np.sqrt(np.maximum(p[3] ** 2 - p[0] ** 2 - p[1] ** 2 - p[2] ** 2, 0.0))


def boost(p, b):
    """Boost 4-vectors p (4, n) by velocity b (3, n)."""
    b2 = np.maximum((b * b).sum(0), 1e-300)
    gamma = 1.0 / np.sqrt(np.maximum(1.0 - b2, 1e-300))
    bp = (b * p[:3]).sum(0)
    g2 = (gamma - 1.0) / b2
    space = p[:3] + (g2 * bp + gamma * p[3]) * b
    return np.concatenate([space, (gamma * (p[3] + bp))[None]])


def two_body_decay(parent, m1, m2, rng):
    """Isotropic two-body decay of parent (4, n) into masses m1, m2 (scalars or (n,)); lab-frame daughters."""
    n = parent.shape[1]
    m = inv_mass(parent)
    m1 = np.broadcast_to(np.asarray(m1, float), (n,))
    m2 = np.broadcast_to(np.asarray(m2, float), (n,))
    pstar2 = (m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2)
    pstar = np.sqrt(np.maximum(pstar2, 0.0)) / (2.0 * np.maximum(m, 1e-9))
    cth = rng.uniform(-1.0, 1.0, n)
    sth = np.sqrt(1.0 - cth * cth)
    ph = rng.uniform(0.0, TWO_PI, n)
    d = np.stack([pstar * sth * np.cos(ph), pstar * sth * np.sin(ph), pstar * cth])
    d1 = np.concatenate([d, np.sqrt(pstar**2 + m1**2)[None]])
    d2 = np.concatenate([-d, np.sqrt(pstar**2 + m2**2)[None]])
    b = parent[:3] / parent[3]
    return boost(d1, b), boost(d2, b)


def breit_wigner(m0, width, n, rng, lo, hi):
    """Cauchy-distributed masses truncated to [lo, hi] (inverse CDF)."""
    a = np.arctan((lo - m0) / (0.5 * width))
    b = np.arctan((hi - m0) / (0.5 * width))
    return m0 + 0.5 * width * np.tan(rng.uniform(a, b, n))


def power_law(n, pmin, a, rng, pmax=3000.0):
    """dN/dp ~ p^-a for p > pmin (a > 1), capped at pmax."""
    return np.minimum(pmin * (1.0 - rng.random(n)) ** (-1.0 / (a - 1.0)), pmax)


def _wrap(phi):
    return (phi + np.pi) % TWO_PI - np.pi


# ------------------------------------------------------------------------------------------------


# ------------------------------------------------------------------------------------------------
def _stack(cols, sel, n):
    """Stack (n,) columns restricted to the rows sel into an (n_sel, k) float64 array (k >= 1)."""
    out = np.zeros((n if isinstance(sel, slice) else len(sel), max(len(cols), 1)))
    for i, c in enumerate(cols):
        out[:, i] = c[sel]
    return out


def _top_k(key, k, arrays):
    """Sort rows by key (descending), keep k columns (zero-padded to k) of every array."""
    n, kk = key.shape
    if kk > 1:
        order = np.argsort(-key, axis=1, kind="stable")[:, :k]
        flat = (order + (np.arange(n) * kk)[:, None]).ravel()
        arrays = [a.ravel()[flat].reshape(n, -1) for a in arrays]
    if arrays[0].shape[1] < k:
        padded = []
        for a in arrays:
            z = np.zeros((n, k), a.dtype)
            z[:, : a.shape[1]] = a
            padded.append(z)
        arrays = padded
    return arrays
