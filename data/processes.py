"""Generator-level physics of the toy simulation (:mod:`data.generator`): the process tables, 4-vector
kinematics, the truth-object collector :class:`_Truth` and one filling function per process (W, Z, ttbar,
QCD multijet and the four BSM benchmarks).  The approximations are described in :mod:`data.generator`; the
detector simulation, the trigger and :func:`data.generator.generate` live there too.  Any change here that
alters the generated events needs a bump of ``data.generator.GENERATOR_VERSION``.
"""

from __future__ import annotations

import numpy as np

# name -> (fraction of the triggered stream, events per month)
SM_PROCESSES: dict[str, tuple[float, float]] = {
    "W": (0.592, 110e6),
    "QCD": (0.338, 63e6),
    "Z": (0.067, 12e6),
    "ttbar": (0.003, 0.6e6),
}

# ``published``: the published VAE's figures at ~30 SM events/day (Cerri et al., JHEP 05 (2019) 036, as quoted in
# issue 15): signal efficiency and the cross-sections [pb] for 100 selected events per month and for S/B ~ 1/3.
# Reference metadata only (the one copy of the published values; analysis/references.py puts them in the report).
BSM_SIGNALS: dict[str, dict] = {
    "LQ_btau": dict(mass_gev=80.0, acceptance_x_trigger_eff=0.12,
                    description="pair-produced 80 GeV leptoquark, LQ -> b tau",
                    published=dict(eff_30_per_day=6.5e-4, xsec_100_per_month_pb=31.0, xsec_sb_one_third_pb=120.0)),
    "A_4l": dict(mass_gev=50.0, acceptance_x_trigger_eff=0.05,
                 description="50 GeV neutral scalar a -> Z* Z* -> 4 leptons",
                 published=dict(eff_30_per_day=2.8e-3, xsec_100_per_month_pb=7.1, xsec_sb_one_third_pb=27.0)),
    "h0_tautau": dict(mass_gev=60.0, acceptance_x_trigger_eff=0.06,
                      description="60 GeV neutral scalar h0 -> tau tau",
                      published=dict(eff_30_per_day=3.6e-4, xsec_100_per_month_pb=56.0, xsec_sb_one_third_pb=220.0)),
    "hpm_taunu": dict(mass_gev=60.0, acceptance_x_trigger_eff=0.12,
                      description="60 GeV charged scalar h+- -> tau nu",
                      published=dict(eff_30_per_day=1.2e-3, xsec_100_per_month_pb=17.0, xsec_sb_one_third_pb=67.0)),
}

M_W, G_W = 80.38, 2.09
M_Z, G_Z = 91.19, 2.50
M_T, G_T = 172.5, 1.4
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
class _Truth:
    """Collects generator-level objects as columns of (n,) arrays; absent objects have mask False."""

    def __init__(self, n: int, rng):
        self.n = n
        self.rng = rng
        self.lep_cols: list[tuple] = []
        self.jet_cols: list[tuple] = []
        self.nu_px = np.zeros(n)
        self.nu_py = np.zeros(n)
        self.n_extra_photons = 0.1

    def _mask(self, mask):
        return np.ones(self.n, bool) if mask is None else mask

    def lepton(self, pt, eta, phi, charge, flavour, mask=None, iso=None):
        self.lep_cols.append((pt, eta, phi, np.broadcast_to(charge, (self.n,)), np.broadcast_to(flavour, (self.n,)),
                         self._mask(mask), iso))

    def lepton_p4(self, p, charge, flavour, mask=None, iso=None):
        self.lepton(*pt_eta_phi(p), charge, flavour, mask, iso)

    def jet(self, pt, eta, phi, flavour, mask=None):
        self.jet_cols.append((pt, eta, phi, np.broadcast_to(flavour, (self.n,)), self._mask(mask)))

    def jet_p4(self, p, flavour, mask=None):
        self.jet(*pt_eta_phi(p), flavour, mask)

    def neutrino(self, px, py, mask=None):
        if mask is None:
            self.nu_px += px
            self.nu_py += py
        else:
            self.nu_px += np.where(mask, px, 0.0)
            self.nu_py += np.where(mask, py, 0.0)

    def neutrino_p4(self, p, mask=None):
        self.neutrino(p[0], p[1], mask)


def _isr_and_boson(t: _Truth, mass, rng, y_sigma=1.8, isr_probs=(0.5, 0.3, 0.13, 0.05, 0.02), isr_a=4.0):
    """Add ISR jets to t and return the boson 4-vector recoiling against them."""
    n = t.n
    k = len(isr_probs) - 1
    n_isr = np.searchsorted(np.cumsum(isr_probs) / np.sum(isr_probs), rng.random(n), side="right")
    bx = rng.normal(0.0, 4.0, n)
    by = rng.normal(0.0, 4.0, n)
    for j in range(k):
        present = n_isr > j
        pt = power_law(n, 15.0, isr_a, rng)
        phi = rng.uniform(-np.pi, np.pi, n)
        eta = np.clip(rng.normal(0.0, 1.8, n), -4.9, 4.9)
        u = rng.random(n)
        flav = np.where(u < 0.02, 5, np.where(u < 0.07, 4, 0))
        t.jet(pt, eta, phi, flav, present)
        bx -= np.where(present, pt * np.cos(phi), 0.0)
        by -= np.where(present, pt * np.sin(phi), 0.0)
    y = rng.normal(0.0, y_sigma, n)
    mt = np.sqrt(mass * mass + bx * bx + by * by)
    return np.stack([bx, by, mt * np.sinh(y), mt * np.cosh(y)])


def _tau_decay(t: _Truth, tau, charge, rng, mask=None):
    """Leptonic (35.2 %, collinear e/mu + neutrinos) or hadronic (tau jet + neutrino) tau decays."""
    n = t.n
    mask = t._mask(mask)
    leptonic = rng.random(n) < 0.352
    flav = np.where(rng.random(n) < 0.5, 11, 13)
    x_lep = 1.0 - np.sqrt(rng.random(n))
    x_had = rng.uniform(0.3, 1.0, n)
    x = np.where(leptonic, x_lep, x_had)
    pt, eta, phi = pt_eta_phi(tau)
    t.lepton(x * pt, eta, phi, charge, flav, mask & leptonic)
    t.jet(x * pt, eta, phi, 15, mask & ~leptonic)
    t.neutrino((1.0 - x) * tau[0], (1.0 - x) * tau[1], mask)


def _w_to_lnu(t: _Truth, w, charge, rng, mask=None, br=(1 / 3, 1 / 3, 1 / 3, 0.0)):
    """W -> e nu / mu nu / tau nu / q q' with branching ratios br; returns nothing (adds to t)."""
    n = t.n
    mask = t._mask(mask)
    cum = np.cumsum(br) / np.sum(br)
    u = rng.random(n)
    ch = np.searchsorted(cum, u, side="right")  # 0 e, 1 mu, 2 tau, 3 qq
    m2 = np.where(ch == 2, M_TAU, 0.0)
    d1, d2 = two_body_decay(w, m2, 0.0, rng)
    is_lep = mask & (ch <= 1)
    t.lepton_p4(d1, charge, np.where(ch == 0, 11, 13), is_lep)
    t.neutrino_p4(d2, mask & (ch <= 2))
    is_tau = mask & (ch == 2)
    if is_tau.any():
        _tau_decay(t, d1, charge, rng, is_tau)
    is_qq = mask & (ch == 3)
    if is_qq.any():
        cflav = np.where(rng.random(n) < 0.5, 4, 0)
        t.jet_p4(d1, cflav, is_qq)
        t.jet_p4(d2, 0, is_qq)


def _random_charge(n, rng, p_plus=0.5):
    return np.where(rng.random(n) < p_plus, 1, -1)


# ------------------------------------------------------------------------------------------------
# processes: each fills a _Truth
def _proc_w(t: _Truth, rng):
    n = t.n
    w = _isr_and_boson(t, breit_wigner(M_W, G_W, n, rng, 50.0, 150.0), rng)
    _w_to_lnu(t, w, _random_charge(n, rng, 0.58), rng)


def _proc_z(t: _Truth, rng):
    n = t.n
    z = _isr_and_boson(t, breit_wigner(M_Z, G_Z, n, rng, 60.0, 130.0), rng)
    u = rng.random(n)
    ch = np.where(u < 1 / 3, 11, np.where(u < 2 / 3, 13, 15))
    is_tau = ch == 15
    m = np.where(is_tau, M_TAU, 0.0)
    l1, l2 = two_body_decay(z, m, m, rng)
    q = _random_charge(n, rng)
    t.lepton_p4(l1, q, ch, ~is_tau)
    t.lepton_p4(l2, -q, ch, ~is_tau)
    if is_tau.any():
        _tau_decay(t, l1, q, rng, is_tau)
        _tau_decay(t, l2, -q, rng, is_tau)


def _proc_ttbar(t: _Truth, rng):
    n = t.n
    mt1 = breit_wigner(M_T, G_T, n, rng, 160.0, 185.0)
    mt2 = breit_wigner(M_T, G_T, n, rng, 160.0, 185.0)
    mtt = mt1 + mt2 + 10.0 + rng.gamma(2.0, 70.0, n)
    sys = _isr_and_boson(t, mtt, rng, y_sigma=1.0, isr_probs=(0.35, 0.3, 0.2, 0.1, 0.05))
    top, atop = two_body_decay(sys, mt1, mt2, rng)
    br = (0.108, 0.108, 0.108, 0.676)
    for p, q in ((top, 1), (atop, -1)):
        mw = breit_wigner(M_W, G_W, n, rng, 60.0, 100.0)
        w, b = two_body_decay(p, mw, M_B, rng)
        t.jet_p4(b, 5)
        _w_to_lnu(t, w, q, rng, br=br)
    t.n_extra_photons = 0.2


def _proc_qcd(t: _Truth, rng):
    n = t.n
    fake = rng.random(n) < 0.10
    lep_pt = power_law(n, 20.0, 4.5, rng)
    eta = np.clip(rng.normal(0.0, 1.3, n), -2.49, 2.49)
    phi = rng.uniform(-np.pi, np.pi, n)
    flav = np.where(fake, np.where(rng.random(n) < 0.75, 11, 13), np.where(rng.random(n) < 0.45, 11, 13))
    q = _random_charge(n, rng)
    # heavy-flavour jet: lepton carries z, the rest is a jet next to the lepton
    z = rng.beta(2.0, 3.0, n)
    is_b = rng.random(n) < 0.7
    hf_flav = np.where(fake, 0, np.where(is_b, 5, 4))
    rest_pt = np.where(fake, lep_pt * rng.uniform(0.3, 3.0, n), lep_pt * (1.0 - z) / z)
    rest_eta = eta + rng.normal(0.0, 0.08, n)
    rest_phi = _wrap(phi + rng.normal(0.0, 0.08, n))
    t.jet(rest_pt, rest_eta, rest_phi, hf_flav)
    nu_pt = np.where(fake, 0.0, lep_pt * rng.uniform(0.1, 0.7, n))
    t.neutrino(nu_pt * np.cos(phi), nu_pt * np.sin(phi))
    # isolation: a fraction of the rest of the jet falls inside the cone, split ch / neu / photons
    ue = rng.exponential(1.0, (3, n)) * np.array([[1.0], [0.6], [0.8]])
    cone = np.where(fake, 0.0, rest_pt * rng.uniform(0.4, 1.0, n))
    w = rng.gamma(np.array([[6.0], [1.5], [3.0]]), 1.0, (3, n))
    w /= w.sum(0)
    iso = (cone * w + ue) / lep_pt
    t.lepton(lep_pt, eta, phi, q, flav, None, iso)
    # recoil jet balancing the whole heavy-flavour jet
    tot = lep_pt + rest_pt + nu_pt
    rec_pt = tot * np.clip(rng.normal(1.0, 0.15, n), 0.3, None)
    rec_phi = _wrap(phi + np.pi + rng.normal(0.0, 0.3, n))
    rec_eta = np.clip(rng.normal(0.0, 1.8, n), -4.9, 4.9)
    rec_flav = np.where(is_b & ~fake & (rng.random(n) < 0.5), 5, 0)
    t.jet(rec_pt, rec_eta, rec_phi, rec_flav)
    _isr_and_boson(t, np.zeros(n), rng, isr_probs=(0.45, 0.3, 0.15, 0.07, 0.03))
    t.n_extra_photons = 0.4


_BSM_PRODUCTION = dict(y_sigma=1.3, isr_probs=(0.2, 0.3, 0.25, 0.15, 0.1), isr_a=3.0)


def _proc_lq(t: _Truth, rng):
    n = t.n
    m = BSM_SIGNALS["LQ_btau"]["mass_gev"]
    m1 = breit_wigner(m, 0.5, n, rng, m - 3, m + 3)
    m2 = breit_wigner(m, 0.5, n, rng, m - 3, m + 3)
    sys = _isr_and_boson(t, m1 + m2 + rng.gamma(2.0, 40.0, n), rng, y_sigma=1.3)
    lq1, lq2 = two_body_decay(sys, m1, m2, rng)
    q = _random_charge(n, rng)
    for lq, s in ((lq1, 1), (lq2, -1)):
        b, tau = two_body_decay(lq, M_B, M_TAU, rng)
        t.jet_p4(b, 5)
        _tau_decay(t, tau, s * q, rng)


def _proc_a4l(t: _Truth, rng):
    n = t.n
    m = BSM_SIGNALS["A_4l"]["mass_gev"]
    a = _isr_and_boson(t, np.full(n, m), rng, **_BSM_PRODUCTION)
    mz1 = rng.uniform(12.0, m - 6.0, n)
    mz2 = 4.0 + rng.random(n) * (m - 1.0 - mz1 - 4.0)
    z1, z2 = two_body_decay(a, mz1, mz2, rng)
    for z in (z1, z2):
        fl = np.where(rng.random(n) < 0.5, 11, 13)
        l1, l2 = two_body_decay(z, 0.0, 0.0, rng)
        q = _random_charge(n, rng)
        t.lepton_p4(l1, q, fl)
        t.lepton_p4(l2, -q, fl)


def _proc_h0(t: _Truth, rng):
    n = t.n
    m = BSM_SIGNALS["h0_tautau"]["mass_gev"]
    h = _isr_and_boson(t, np.full(n, m), rng, **_BSM_PRODUCTION)
    t1, t2 = two_body_decay(h, M_TAU, M_TAU, rng)
    q = _random_charge(n, rng)
    _tau_decay(t, t1, q, rng)
    _tau_decay(t, t2, -q, rng)


def _proc_hpm(t: _Truth, rng):
    n = t.n
    m = BSM_SIGNALS["hpm_taunu"]["mass_gev"]
    h = _isr_and_boson(t, np.full(n, m), rng, **_BSM_PRODUCTION)
    tau, nu = two_body_decay(h, M_TAU, 0.0, rng)
    t.neutrino_p4(nu)
    _tau_decay(t, tau, _random_charge(n, rng), rng)


_PROCESSES = {
    "W": _proc_w, "QCD": _proc_qcd, "Z": _proc_z, "ttbar": _proc_ttbar,
    "LQ_btau": _proc_lq, "A_4l": _proc_a4l, "h0_tautau": _proc_h0, "hpm_taunu": _proc_hpm,
}
_EFF_GUESS = {"W": 0.5, "QCD": 0.6, "Z": 0.6, "ttbar": 0.3, "LQ_btau": 0.2, "A_4l": 0.05, "h0_tautau": 0.1,
              "hpm_taunu": 0.15}
