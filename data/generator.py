"""Fast, vectorised, object-level toy simulation of the L1-accepted single-lepton stream at the LHC.

The sample composition follows the "variational autoencoders for new physics mining" / ADC studies
(Cerri et al. 2019): a single-lepton (e or mu, pT > 23 GeV, |eta| < 2.5) triggered stream made of W, QCD
multijet, Z and ttbar events, plus four low-mass BSM benchmarks. The simulation is deliberately simple: it aims
at sensible shapes of the 21 HLT features (:mod:`data.features`), not at precision physics.

Approximations (all of them deliberate; bump ``GENERATOR_VERSION`` whenever any of this changes):

* Kinematics: 4-vectors as (4, n) arrays (px, py, pz, E). Two-body decays are isotropic in the parent rest frame
  (no spin correlations, no V-A angular distributions, no W polarisation) and boosted to the lab frame.
  Resonance masses are non-relativistic Breit-Wigner (Cauchy) distributions truncated to a window; the BSM
  states are narrow. No parton showers, no final-state radiation, no photon/Z interference (Drell-Yan
  continuum) and no PDFs: boson rapidities are Gaussian (sigma ~1.3-2), ttbar / LQ-pair system masses are
  threshold + Gamma distributions.
* Production / ISR: a boson (or the ttbar / LQ-pair system) recoils against 0-4 ISR jets whose pT follows a
  falling power law (dN/dpT ~ pT^-a above 15 GeV) at random azimuth; the boson's transverse momentum is minus
  the vector sum of the ISR jets plus a small Gaussian intrinsic kT. ISR jets are light (gluon) jets with small
  c / b admixtures.
* W -> l nu (l = e, mu, tau with equal branching ratios, W+ : W- = 58 : 42); the lepton-MET transverse mass
  has its Jacobian edge at the W mass. Z -> l+ l- (same flavour, opposite charge; e, mu, tau).
* ttbar: t -> b W with W -> e nu / mu nu / tau nu (10.8 % each) or q q' (67.6 %, half of them with a c quark).
  Jets from quarks are massless partons turned into jets by the detector step.
* Taus decay leptonically in 35.2 % of the cases (e or mu equally): the lepton is collinear with the tau and
  carries a fraction x ~ 2(1-x) of its momentum (close to the true (5 - 9x^2 + 4x^3)/3 spectrum), the two
  neutrinos take the rest (into MET). Otherwise a visible tau jet (fraction x ~ U(0.3, 1)) plus a neutrino.
* QCD multijet: the trigger lepton comes from a semileptonic b (70 %) or c (30 %) hadron decay inside a jet.
  The lepton pT follows a power law (a = 4.5 above 20 GeV), carries a fraction z ~ Beta(2, 3) of the
  heavy-flavour jet; the rest of that jet is reconstructed as a jet next to the lepton and a fraction
  U(0.4, 1) of it falls inside the isolation cone (split randomly between charged hadrons, neutral hadrons and
  photons), so the lepton is mostly non-isolated. The semileptonic neutrino takes U(0.1, 0.7) of the lepton pT,
  which, together with the jet resolution, makes a small MET. A recoil jet balances the heavy-flavour jet
  (b with 50 % probability for b events). 10 % of the QCD events instead carry an isolated *fake* lepton
  (misidentified hadron / conversion, mostly electrons) with no neutrino.
* BSM: LQ_btau = pair-produced 80 GeV leptoquarks, each -> b tau; A_4l = a 50 GeV scalar -> Z* Z* -> 4 l
  (Z* masses uniform in the allowed phase space, l = e/mu); h0_tautau = 60 GeV neutral scalar -> tau tau;
  hpm_taunu = 60 GeV charged scalar -> tau nu, singly produced (its real production via top decays is ignored).
  All produced like the SM bosons (with ISR recoil); the listed acceptance x trigger efficiencies are the
  reference numbers of the benchmark papers, used only as metadata.
* Detector: leptons are reconstructed for |eta| < 2.5 and pT > 5 GeV with 100 % efficiency and Gaussian pT
  resolution (2 % e, 1.5 % mu); prompt leptons get a small pile-up / underlying-event isolation (exponential
  cone sums of ~1 GeV). Jets: 10 % Gaussian pT resolution, reconstructed for pT > 20 GeV and |eta| < 4.7;
  jet mass = pT x U(0.05, 0.2) (tau jets ~1 GeV); b-tag (|eta| < 2.5) with efficiency 0.7 for b, 0.1 for c,
  0.03 for hadronic tau, 0.01 for light jets. Photons (extra soft photons, Poisson) with 2 % resolution for
  pT > 10 GeV and |eta| < 2.5. MET = vector sum of the neutrinos minus the vector sum of the mismeasurements of
  the reconstructed objects plus a Gaussian resolution term per component of 0.5 sqrt(sum ET + 200 GeV).
  No fake jets, no pile-up jets, no lepton inefficiency, no overlap removal beyond the QCD lepton-in-jet split.
* Hadron multiplicities: gamma-Poisson (negative binomial, shape 4) with means 40 + 0.25 HT (charged) and
  20 + 0.12 HT (neutral), HT = scalar sum of the reconstructed jet pT.
* Objects are kept pT-ordered in 4 lepton, 10 jet and 2 photon slots (the softest beyond that are dropped).
* Every returned event passes the trigger (>= 1 e/mu with reconstructed pT > 23 GeV and |eta| < 2.5); the
  generator oversamples and selects.
"""

from __future__ import annotations

import numpy as np

from .kinematics import (  # noqa: F401  (re-exported: data.generator's public kinematics)
    M_B, M_TAU, TWO_PI, _stack, _top_k, _wrap, boost, breit_wigner, inv_mass, p4_from_ptetaphim, power_law, pt_eta_phi,
    two_body_decay)
from .objects import N_JETS, N_LEPTONS, N_PHOTONS, OBJECT_FIELDS, EventObjects

GENERATOR_VERSION = "hlt-objects-1"

# name -> (fraction of the triggered stream, events per month)
SM_PROCESSES: dict[str, tuple[float, float]] = {
    "W": (0.592, 110e6),
    "QCD": (0.338, 63e6),
    "Z": (0.067, 12e6),
    "ttbar": (0.003, 0.6e6),
}

BSM_SIGNALS: dict[str, dict] = {
    "LQ_btau": dict(mass_gev=80.0, acceptance_x_trigger_eff=0.12,
                    description="pair-produced 80 GeV leptoquark, LQ -> b tau"),
    "A_4l": dict(mass_gev=50.0, acceptance_x_trigger_eff=0.05,
                 description="50 GeV neutral scalar a -> Z* Z* -> 4 leptons"),
    "h0_tautau": dict(mass_gev=60.0, acceptance_x_trigger_eff=0.06,
                      description="60 GeV neutral scalar h0 -> tau tau"),
    "hpm_taunu": dict(mass_gev=60.0, acceptance_x_trigger_eff=0.12,
                      description="60 GeV charged scalar h+- -> tau nu"),
}

TRIGGER_PT = 23.0
TRIGGER_ABS_ETA = 2.5

M_W, G_W = 80.38, 2.09
M_Z, G_Z = 91.19, 2.50
M_T, G_T = 172.5, 1.4


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


def _reconstruct(t: _Truth, rng) -> tuple[EventObjects, np.ndarray]:
    """Detector simulation; returns the objects of the events passing the trigger and the trigger mask."""
    n = t.n
    # leptons first: the trigger decision, then everything else only for triggered events
    lc = t.lep_cols
    everything = slice(None)
    pt_t = _stack([c[0] for c in lc], everything, n)
    eta = _stack([c[1] for c in lc], everything, n)
    present = _stack([c[5] for c in lc], everything, n) > 0
    is_e = _stack([c[4] for c in lc], everything, n) == 11
    pt = pt_t * (1.0 + np.where(is_e, 0.02, 0.015) * rng.standard_normal(pt_t.shape))
    ok = present & (pt > 5.0) & (np.abs(eta) < 2.5)
    # (compare in float32, the stored precision, so that stored events pass exactly)
    trig = (ok & (pt.astype(np.float32) > TRIGGER_PT) & (np.abs(eta) < TRIGGER_ABS_ETA)).any(1)
    sel = np.flatnonzero(trig)
    m = len(sel)
    pt, pt_t, eta, ok = pt[sel], pt_t[sel], eta[sel], ok[sel]
    pt = np.where(ok, pt, 0.0)
    phi = _stack([c[2] for c in lc], sel, n)
    charge = _stack([c[3] for c in lc], sel, n)
    flav = _stack([c[4] for c in lc], sel, n)
    # isolation: absolute prompt (UE / pile-up) cone sums unless the process provided relative values
    inv = 1.0 / np.maximum(pt, 1e-9)
    iso = [rng.exponential(s, pt.shape) * inv for s in (1.0, 0.6, 0.8)]
    for i, c in enumerate(lc):
        if c[6] is not None:
            for j in range(3):
                iso[j][:, i] = c[6][j][sel]
    d = pt - np.where(ok, pt_t, 0.0)
    mis_x = (d * np.cos(phi)).sum(1)
    mis_y = (d * np.sin(phi)).sum(1)
    sum_et = pt.sum(1)
    f32, i8 = np.float32, np.int8
    lep = _top_k(pt, N_LEPTONS, [pt.astype(f32), np.where(ok, eta, 0.0).astype(f32),
                                 np.where(ok, phi, 0.0).astype(f32), np.where(ok, charge, 0).astype(i8),
                                 np.where(ok, flav, 0).astype(i8), *[np.where(ok, a, 0.0).astype(f32) for a in iso]])

    # jets
    jc = t.jet_cols
    jpt_t = _stack([c[0] for c in jc], sel, n)
    jeta = _stack([c[1] for c in jc], sel, n)
    jphi = _stack([c[2] for c in jc], sel, n)
    jflav = _stack([c[3] for c in jc], sel, n)
    jpres = _stack([c[4] for c in jc], sel, n) > 0
    jpt = jpt_t * (1.0 + 0.10 * rng.standard_normal(jpt_t.shape))
    jok = jpres & (jpt > 20.0) & (np.abs(jeta) < 4.7)
    jpt = np.where(jok, jpt, 0.0)
    d = jpt - np.where(jok, jpt_t, 0.0)
    mis_x += (d * np.cos(jphi)).sum(1)
    mis_y += (d * np.sin(jphi)).sum(1)
    ht = jpt.sum(1)
    sum_et += ht
    jmass = jpt * rng.uniform(0.05, 0.2, jpt.shape)
    is_tau = jflav == 15
    if is_tau.any():
        jmass = np.where(is_tau, rng.uniform(0.5, 1.7, jpt.shape), jmass)
    eff = np.where(jflav == 5, 0.7, np.where(jflav == 4, 0.1, np.where(is_tau, 0.03, 0.01)))
    btag = (rng.random(jpt.shape) < eff) & (np.abs(jeta) < 2.5) & jok
    jets = _top_k(jpt, N_JETS, [jpt.astype(f32), np.where(jok, jeta, 0.0).astype(f32),
                                np.where(jok, jphi, 0.0).astype(f32), np.where(jok, jmass, 0.0).astype(f32),
                                btag.view(i8)])

    # photons: extra soft photons (ISR / pi0 / FSR), Poisson number, power-law pT
    n_pho = rng.poisson(t.n_extra_photons, m)
    ppt_t = power_law((m, N_PHOTONS), 8.0, 4.0, rng)
    peta = rng.uniform(-3.0, 3.0, (m, N_PHOTONS))
    pphi = rng.uniform(-np.pi, np.pi, (m, N_PHOTONS))
    ppt = ppt_t * (1.0 + 0.02 * rng.standard_normal((m, N_PHOTONS)))
    pok = (n_pho[:, None] > np.arange(N_PHOTONS)) & (ppt > 10.0) & (np.abs(peta) < 2.5)
    ppt = np.where(pok, ppt, 0.0)
    d = ppt - np.where(pok, ppt_t, 0.0)
    mis_x += (d * np.cos(pphi)).sum(1)
    mis_y += (d * np.sin(pphi)).sum(1)
    sum_et += ppt.sum(1)
    pho = _top_k(ppt, N_PHOTONS, [ppt, np.where(pok, peta, 0.0), np.where(pok, pphi, 0.0)])

    # MET
    sig = 0.5 * np.sqrt(sum_et + 200.0)
    mx = t.nu_px[sel] - mis_x + sig * rng.standard_normal(m)
    my = t.nu_py[sel] - mis_y + sig * rng.standard_normal(m)

    # hadron multiplicities (gamma-Poisson)
    k = 4.0
    n_ch = rng.poisson(rng.gamma(k, (40.0 + 0.25 * ht) / k))
    n_neu = rng.poisson(rng.gamma(k, (20.0 + 0.12 * ht) / k))

    ev = EventObjects(
        lep_pt=lep[0], lep_eta=lep[1], lep_phi=lep[2], lep_charge=lep[3], lep_flavour=lep[4],
        lep_iso_ch=lep[5], lep_iso_neu=lep[6], lep_iso_ph=lep[7],
        jet_pt=jets[0], jet_eta=jets[1], jet_phi=jets[2], jet_mass=jets[3], jet_btag=jets[4],
        pho_pt=pho[0], pho_eta=pho[1], pho_phi=pho[2],
        met=np.hypot(mx, my), met_phi=np.arctan2(my, mx),
        n_charged_hadrons=n_ch, n_neutral_hadrons=n_neu,
    )
    return ev, trig



# ------------------------------------------------------------------------------------------------
_MAX_CHUNK = 131_072  # events per generation chunk (bounded temporaries: much faster than huge arrays)


def generate(process: str, n: int, rng: np.random.Generator) -> EventObjects:
    """n triggered events of one process (a key of SM_PROCESSES or BSM_SIGNALS); oversample and select."""
    if process not in _PROCESSES:
        raise ValueError(
            f"unknown process {process!r}; valid names: SM {list(SM_PROCESSES)}, BSM {list(BSM_SIGNALS)}"
        )
    n = int(n)
    if n < 0:
        raise ValueError(f"generate: n must be >= 0, got {n}")
    fill = _PROCESSES[process]
    eff = _EFF_GUESS[process]
    parts: list[EventObjects] = []
    have = 0
    tries = 0
    while have < n:
        need = n - have
        m = int(min(max(need / eff * 1.1 + 64, 256), _MAX_CHUNK))
        t = _Truth(m, rng)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            fill(t, rng)
            ev, trig = _reconstruct(t, rng)
        k = len(ev)
        eff = max(k / m, 1e-3)
        if k:
            parts.append(ev if k <= need else ev.head(need))
            have += min(k, need)
        tries += 1
        if tries > 10_000:
            raise RuntimeError(f"generate({process!r}): trigger efficiency too small to produce {n} events")
    if not parts:
        return EventObjects.empty(0)
    return parts[0] if len(parts) == 1 else EventObjects.concatenate(parts)


def generate_sm_cocktail(n: int, rng: np.random.Generator) -> tuple[EventObjects, np.ndarray]:
    """SM mixture by SM_PROCESSES fractions (multinomial counts), shuffled; labels index list(SM_PROCESSES)."""
    names = list(SM_PROCESSES)
    frac = np.array([SM_PROCESSES[k][0] for k in names])
    counts = rng.multinomial(int(n), frac / frac.sum())
    evs = [generate(name, int(c), rng) for name, c in zip(names, counts)]
    labels = np.repeat(np.arange(len(names), dtype=np.int32), counts)
    perm = rng.permutation(int(n))
    # shuffled[i] = concatenated[perm[i]], done as one scatter per process instead of concatenate + gather
    dest = np.empty(int(n), np.intp)
    dest[perm] = np.arange(int(n))
    out = EventObjects.empty(int(n))
    start = 0
    for ev in evs:
        idx = dest[start:start + len(ev)]
        for name in OBJECT_FIELDS:
            getattr(out, name)[idx] = getattr(ev, name)
        start += len(ev)
    return out, labels[perm]
