"""4-vector kinematics of the toy simulation (:mod:`data.processes`): arrays of shape (4, n) = (px, py, pz, E),
two-body decays, Breit-Wigner and power-law samplers.  Pure numpy."""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi


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
