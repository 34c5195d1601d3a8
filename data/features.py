"""The 21 HLT features of the single-lepton anomaly-detection studies (Cerri et al. 2019), computed from objects.

Definitions (all momenta in GeV; leptons are massless, jets carry their mass; "objects" are the non-padding
slots, ``pt > 0``):

 0. ``lep_pt``      pT of the *trigger lepton* = highest-pT electron or muon with pT > 23 GeV.
 1. ``lep_iso_ch``  its relative charged-hadron isolation (as stored in the objects).
 2. ``lep_iso_neu`` its relative neutral-hadron isolation.
 3. ``lep_iso_ph``  its relative photon isolation.
 4. ``lep_charge``  its charge (+1 / -1).
 5. ``lep_is_ele``  1 if it is an electron, 0 if a muon.
 6. ``st``          scalar sum of pT of all jets, leptons and photons with pT > 30 GeV and |eta| < 2.6.
 7. ``n_jets``      number of jets with pT > 30 GeV and |eta| < 2.6 ("selected jets").
 8. ``m_jets``      invariant mass of the selected jets (a single jet: its mass; 0 if none).
 9. ``n_bjets``     number of b-tagged selected jets.
10. ``met_par``     MET * cos(dphi), dphi = met_phi - phi(trigger lepton): MET component along the lepton.
11. ``met_perp``    MET * sin(dphi): component perpendicular to the lepton (sign = side of the lepton).
12. ``mt``          sqrt(2 pT_l MET (1 - cos dphi)), transverse mass of the trigger lepton and MET.
13. ``n_mu``        number of muons (any pT stored, no extra cut).
14. ``m_mu``        invariant mass of all muons (0 if fewer than 2).
15. ``pt_mu_tot``   magnitude of the vector sum of the muons' transverse momenta (0 if none).
16. ``n_ele``       number of electrons.
17. ``m_ele``       invariant mass of all electrons (0 if fewer than 2).
18. ``pt_ele_tot``  magnitude of the vector sum of the electrons' transverse momenta.
19. ``n_charged_hadrons``  event charged-hadron multiplicity (as stored).
20. ``n_neutral_hadrons``  event neutral-hadron multiplicity (as stored).

Computation is in float64, the result is float32. Events without a trigger lepton are an error (the input
should already be the single-lepton triggered stream).
"""

from __future__ import annotations

import numpy as np

from .objects import EventObjects

HLT21_FEATURES: tuple[str, ...] = (
    "lep_pt", "lep_iso_ch", "lep_iso_neu", "lep_iso_ph", "lep_charge", "lep_is_ele",
    "st", "n_jets", "m_jets", "n_bjets", "met_par", "met_perp", "mt",
    "n_mu", "m_mu", "pt_mu_tot", "n_ele", "m_ele", "pt_ele_tot",
    "n_charged_hadrons", "n_neutral_hadrons",
)
N_FEATURES = len(HLT21_FEATURES)

TRIGGER_LEPTON_PT = 23.0
SELECT_PT = 30.0
SELECT_ABS_ETA = 2.6


def _sum_p4(pt, eta, phi, mask, mass=None):
    """Summed (px, py, pz, E) over the masked slots of (N, K) arrays (only the masked slots are evaluated)."""
    n = pt.shape[0]
    rows, cols = np.nonzero(mask)
    p = pt[rows, cols].astype(np.float64)
    e_ = eta[rows, cols].astype(np.float64)
    f = phi[rows, cols].astype(np.float64)
    px = p * np.cos(f)
    py = p * np.sin(f)
    pz = p * np.sinh(e_)
    if mass is None:
        e = p * np.cosh(e_)
    else:
        m = mass[rows, cols].astype(np.float64)
        e = np.sqrt(px * px + py * py + pz * pz + m * m)
    return tuple(np.bincount(rows, weights=w, minlength=n) for w in (px, py, pz, e))


def _mass(px, py, pz, e):
    return np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))


_BLOCK = 32768


def compute_hlt21(ev: EventObjects) -> np.ndarray:
    """(N, 21) float32 features in the order of :data:`HLT21_FEATURES` (definitions in the module docstring)."""
    n = len(ev)
    _check_trigger(ev)
    if n <= _BLOCK:
        return _compute(ev)
    out = np.empty((n, N_FEATURES), np.float32)
    for i in range(0, n, _BLOCK):  # cache-sized blocks (much faster than whole-array temporaries)
        out[i:i + _BLOCK] = _compute(ev.select(slice(i, i + _BLOCK)))
    return out


def _check_trigger(ev: EventObjects) -> None:
    n = len(ev)
    ok = ((ev.lep_pt > TRIGGER_LEPTON_PT) & ((ev.lep_flavour == 11) | (ev.lep_flavour == 13))).any(axis=1)
    if not ok.all():
        bad = int((~ok).sum())
        raise ValueError(
            f"compute_hlt21: {bad} of {n} events have no electron or muon with pT > {TRIGGER_LEPTON_PT:g} GeV "
            f"(they fail the single-lepton trigger; select triggered events first, e.g. "
            f"ev.select((ev.lep_pt > {TRIGGER_LEPTON_PT:g}).any(axis=1)))"
        )


def _compute(ev: EventObjects) -> np.ndarray:
    n = len(ev)
    f64 = np.float64
    lpt = ev.lep_pt.astype(f64)
    leta = ev.lep_eta.astype(f64)
    lphi = ev.lep_phi.astype(f64)
    flav = ev.lep_flavour
    is_mu = (lpt > 0) & (flav == 13)
    is_el = (lpt > 0) & (flav == 11)

    # trigger lepton
    cand = np.where((is_mu | is_el) & (lpt > TRIGGER_LEPTON_PT), lpt, -1.0)
    it = np.argmax(cand, axis=1) if n else np.zeros(0, np.int64)
    rows = np.arange(n)
    tpt = lpt[rows, it]
    tphi = lphi[rows, it]

    out = np.zeros((n, N_FEATURES), f64)
    out[:, 0] = tpt
    out[:, 1] = ev.lep_iso_ch[rows, it]
    out[:, 2] = ev.lep_iso_neu[rows, it]
    out[:, 3] = ev.lep_iso_ph[rows, it]
    out[:, 4] = ev.lep_charge[rows, it]
    out[:, 5] = flav[rows, it] == 11

    # ST and selected jets
    jpt = ev.jet_pt.astype(f64)
    jeta = ev.jet_eta.astype(f64)
    jsel = (jpt > SELECT_PT) & (np.abs(jeta) < SELECT_ABS_ETA)
    lsel = (lpt > SELECT_PT) & (np.abs(leta) < SELECT_ABS_ETA)
    ppt = ev.pho_pt.astype(f64)
    psel = (ppt > SELECT_PT) & (np.abs(ev.pho_eta.astype(f64)) < SELECT_ABS_ETA)
    out[:, 6] = (
        np.where(jsel, jpt, 0.0).sum(1) + np.where(lsel, lpt, 0.0).sum(1) + np.where(psel, ppt, 0.0).sum(1)
    )
    out[:, 7] = jsel.sum(1)
    out[:, 8] = _mass(*_sum_p4(ev.jet_pt, ev.jet_eta, ev.jet_phi, jsel, ev.jet_mass))
    out[:, 9] = (jsel & (ev.jet_btag != 0)).sum(1)

    # MET relative to the trigger lepton
    met = ev.met.astype(f64)
    dphi = ev.met_phi.astype(f64) - tphi
    c, s = np.cos(dphi), np.sin(dphi)
    out[:, 10] = met * c
    out[:, 11] = met * s
    out[:, 12] = np.sqrt(np.maximum(2.0 * tpt * met * (1.0 - c), 0.0))

    # muons and electrons
    for col, sel in ((13, is_mu), (16, is_el)):
        px, py, pz, e = _sum_p4(ev.lep_pt, ev.lep_eta, ev.lep_phi, sel)
        cnt = sel.sum(1)
        out[:, col] = cnt
        out[:, col + 1] = np.where(cnt >= 2, _mass(px, py, pz, e), 0.0)
        out[:, col + 2] = np.hypot(px, py)

    out[:, 19] = ev.n_charged_hadrons
    out[:, 20] = ev.n_neutral_hadrons
    return out.astype(np.float32)
