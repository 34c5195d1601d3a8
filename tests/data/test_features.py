import numpy as np
import pytest

from data.features import HLT21_FEATURES, compute_hlt21
from data.objects import N_JETS, N_LEPTONS, N_PHOTONS, EventObjects

F = {name: i for i, name in enumerate(HLT21_FEATURES)}


def _event(leptons=(), jets=(), photons=(), met=0.0, met_phi=0.0, nch=0, nneu=0):
    """One event; leptons: (pt, eta, phi, charge, flavour, iso_ch, iso_neu, iso_ph); jets: (pt, eta, phi, m, btag)."""
    ev = EventObjects.empty(1)
    for i, lep in enumerate(leptons):
        for name, v in zip(("lep_pt", "lep_eta", "lep_phi", "lep_charge", "lep_flavour", "lep_iso_ch",
                            "lep_iso_neu", "lep_iso_ph"), lep):
            getattr(ev, name)[0, i] = v
    for i, j in enumerate(jets):
        for name, v in zip(("jet_pt", "jet_eta", "jet_phi", "jet_mass", "jet_btag"), j):
            getattr(ev, name)[0, i] = v
    for i, p in enumerate(photons):
        for name, v in zip(("pho_pt", "pho_eta", "pho_phi"), p):
            getattr(ev, name)[0, i] = v
    ev.met[0], ev.met_phi[0] = met, met_phi
    ev.n_charged_hadrons[0], ev.n_neutral_hadrons[0] = nch, nneu
    return ev


def test_names():
    assert len(HLT21_FEATURES) == 21
    assert HLT21_FEATURES[0] == "lep_pt" and HLT21_FEATURES[12] == "mt" and HLT21_FEATURES[-1] == "n_neutral_hadrons"


def test_single_muon_met_perpendicular():
    ev = _event(leptons=[(40.0, 0.5, 0.0, -1, 13, 0.1, 0.2, 0.05)], met=30.0, met_phi=np.pi / 2, nch=57, nneu=12)
    x = compute_hlt21(ev)[0]
    assert x.dtype == np.float32
    exp = np.zeros(21)
    exp[F["lep_pt"]] = 40.0
    exp[[F["lep_iso_ch"], F["lep_iso_neu"], F["lep_iso_ph"]]] = [0.1, 0.2, 0.05]
    exp[F["lep_charge"]] = -1
    exp[F["lep_is_ele"]] = 0
    exp[F["st"]] = 40.0  # the lepton (> 30 GeV, |eta| < 2.6)
    exp[F["met_par"]] = 0.0
    exp[F["met_perp"]] = 30.0
    exp[F["mt"]] = np.sqrt(2 * 40 * 30)  # cos(dphi) = 0
    exp[F["n_mu"]] = 1
    exp[F["pt_mu_tot"]] = 40.0
    exp[F["n_charged_hadrons"]], exp[F["n_neutral_hadrons"]] = 57, 12
    np.testing.assert_allclose(x, exp, rtol=1e-5, atol=1e-4)


def test_back_to_back_muons_jets_and_electron():
    # two muons back to back at eta 0: M = 2 sqrt(pt1 pt2) (massless, cosh(0) = 1, dphi = pi) = 2*sqrt(50*45)
    # an electron below 30 GeV (not in ST), a photon at 35 GeV (in ST), jets: two selected + one forward + one soft
    ev = _event(
        leptons=[(50.0, 0.0, 0.0, 1, 13, 0.01, 0, 0), (45.0, 0.0, np.pi, -1, 13, 0, 0, 0),
                 (25.0, 1.0, 1.0, 1, 11, 0, 0, 0)],
        jets=[(100.0, 0.0, np.pi / 2, 10.0, 1), (60.0, 0.0, -np.pi / 2, 5.0, 0),
              (80.0, 3.0, 0.0, 8.0, 1), (25.0, 0.0, 0.0, 3.0, 1)],
        photons=[(35.0, 0.2, 2.0)],
        met=20.0, met_phi=np.pi,  # anti-parallel to the leading muon
    )
    x = compute_hlt21(ev)[0]
    assert x[F["lep_pt"]] == pytest.approx(50.0)
    assert x[F["lep_charge"]] == 1 and x[F["lep_is_ele"]] == 0
    assert x[F["st"]] == pytest.approx(50 + 45 + 100 + 60 + 35, rel=1e-6)
    assert x[F["n_jets"]] == 2 and x[F["n_bjets"]] == 1
    # jets: (px, py, pz, E) = (0, 100, 0, sqrt(100^2+10^2)) + (0, -60, 0, sqrt(60^2+5^2))
    e = np.sqrt(100**2 + 10**2) + np.sqrt(60**2 + 5**2)
    assert x[F["m_jets"]] == pytest.approx(np.sqrt(e**2 - 40.0**2), rel=1e-5)
    assert x[F["met_par"]] == pytest.approx(-20.0, abs=1e-4)
    assert x[F["met_perp"]] == pytest.approx(0.0, abs=1e-4)
    assert x[F["mt"]] == pytest.approx(np.sqrt(2 * 50 * 20 * 2), rel=1e-5)
    assert x[F["n_mu"]] == 2
    assert x[F["m_mu"]] == pytest.approx(2 * np.sqrt(50 * 45), rel=1e-5)
    assert x[F["pt_mu_tot"]] == pytest.approx(5.0, rel=1e-4)
    assert x[F["n_ele"]] == 1 and x[F["m_ele"]] == 0.0
    assert x[F["pt_ele_tot"]] == pytest.approx(25.0)


def test_trigger_electron_not_leading_slot_and_dielectron_mass():
    # electrons at different eta: M^2 = 2 pt1 pt2 (cosh(deta) - cos(dphi)); soft muon first is below 23 GeV
    ev = _event(leptons=[(30.0, 0.0, 0.0, -1, 11, 0.3, 0.0, 0.1), (20.0, 1.0, np.pi / 3, 1, 11, 0, 0, 0),
                         (22.0, 0.0, 0.0, 1, 13, 0, 0, 0)],
                jets=[(40.0, 1.0, 2.0, 6.0, 0)], met=10.0, met_phi=np.pi / 4)
    x = compute_hlt21(ev)[0]
    assert x[F["lep_pt"]] == pytest.approx(30.0) and x[F["lep_is_ele"]] == 1 and x[F["lep_charge"]] == -1
    m2 = 2 * 30 * 20 * (np.cosh(1.0) - np.cos(np.pi / 3))
    assert x[F["m_ele"]] == pytest.approx(np.sqrt(m2), rel=1e-5)
    assert x[F["n_jets"]] == 1 and x[F["m_jets"]] == pytest.approx(6.0, rel=1e-5)  # one jet: its own mass
    assert x[F["met_par"]] == pytest.approx(10 * np.cos(np.pi / 4), rel=1e-5)
    assert x[F["met_perp"]] == pytest.approx(10 * np.sin(np.pi / 4), rel=1e-5)
    assert x[F["st"]] == pytest.approx(40.0)  # the 30 GeV electron is not > 30
    px = 30 + 20 * np.cos(np.pi / 3)
    py = 20 * np.sin(np.pi / 3)
    assert x[F["pt_ele_tot"]] == pytest.approx(np.hypot(px, py), rel=1e-5)
    assert x[F["n_mu"]] == 1 and x[F["m_mu"]] == 0.0


def test_untriggered_events_raise():
    ev = EventObjects.concatenate([_event(leptons=[(40.0, 0, 0, 1, 13, 0, 0, 0)]),
                                   _event(leptons=[(20.0, 0, 0, 1, 13, 0, 0, 0)]), _event()])
    with pytest.raises(ValueError, match="2 of 3 events"):
        compute_hlt21(ev)


def test_object_shapes():
    ev = EventObjects.empty(3)
    assert ev.lep_pt.shape == (3, N_LEPTONS) and ev.jet_pt.shape == (3, N_JETS) and ev.pho_pt.shape == (3, N_PHOTONS)
    assert len(ev.select([0, 2])) == 2
    with pytest.raises(ValueError, match="jet_pt"):
        EventObjects(**{**{k: getattr(ev, k) for k in ev.__dataclass_fields__}, "jet_pt": np.zeros((3, 4))})
