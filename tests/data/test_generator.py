import numpy as np
import pytest

from data.features import HLT21_FEATURES, compute_hlt21
from data.generator import BSM_SIGNALS, GENERATOR_VERSION, SM_PROCESSES, generate, generate_sm_cocktail
from data.objects import EventObjects

F = {name: i for i, name in enumerate(HLT21_FEATURES)}
N = 20_000


@pytest.fixture(scope="module")
def samples():
    rng = np.random.default_rng(7)
    out = {}
    for name in list(SM_PROCESSES) + list(BSM_SIGNALS):
        ev = generate(name, N if name in SM_PROCESSES else 5000, rng)
        out[name] = (ev, compute_hlt21(ev))
    return out


def test_constants():
    assert GENERATOR_VERSION == "hlt-objects-3"
    assert list(SM_PROCESSES) == ["W", "QCD", "Z", "ttbar"]
    assert SM_PROCESSES["W"] == (0.592, 110e6) and SM_PROCESSES["ttbar"] == (0.003, 0.6e6)
    assert set(BSM_SIGNALS) == {"LQ_btau", "A_4l", "h0_tautau", "hpm_taunu"}
    assert BSM_SIGNALS["A_4l"]["mass_gev"] == 50 and BSM_SIGNALS["LQ_btau"]["acceptance_x_trigger_eff"] == 0.12


def test_unknown_process():
    with pytest.raises(ValueError, match="valid names.*W.*LQ_btau"):
        generate("Wprime", 10, np.random.default_rng(0))


def test_reproducible():
    a = generate("W", 3000, np.random.default_rng(1))
    b = generate("W", 3000, np.random.default_rng(1))
    c = generate("W", 3000, np.random.default_rng(2))
    assert a == b
    assert not np.array_equal(a.lep_pt, c.lep_pt)
    ea, la = generate_sm_cocktail(5000, np.random.default_rng(3))
    eb, lb = generate_sm_cocktail(5000, np.random.default_rng(3))
    assert ea == eb and np.array_equal(la, lb)


def test_counts_padding_and_trigger(samples):
    for name, (ev, x) in samples.items():
        assert len(ev) == (N if name in SM_PROCESSES else 5000)
        trig = ((ev.lep_pt > 23) & (np.abs(ev.lep_eta) < 2.5) & np.isin(ev.lep_flavour, (11, 13))
                & (ev.lep_iso_ch < 0.45))
        assert trig.any(axis=1).all(), name
        assert np.isfinite(x).all(), name
        for pre in ("lep", "jet", "pho"):
            pt = getattr(ev, f"{pre}_pt")
            assert (np.diff(pt, axis=1) <= 0).all(), f"{name}: {pre} not pT-ordered"
        pad = ev.lep_pt == 0
        assert (ev.lep_flavour[pad] == 0).all() and (ev.lep_charge[pad] == 0).all()
        assert set(np.unique(ev.lep_flavour[~pad])) <= {11, 13}
        assert (np.abs(ev.lep_eta[~pad]) < 2.5).all() and (ev.lep_pt[~pad] > 5).all()
        jets = ev.jet_pt > 0
        assert (ev.jet_pt[jets] > 20).all() and (np.abs(ev.jet_eta[jets]) < 4.7).all()
        assert (ev.jet_btag[~jets] == 0).all()


def test_w_jacobian_edge(samples):
    mt = samples["W"][1][:, F["mt"]]
    in_peak = np.mean((mt > 60) & (mt < 90))
    assert in_peak > 0.45
    # steep drop above the edge: density in [90, 110] far below the density in [70, 85]
    d_edge = np.mean((mt > 70) & (mt < 85)) / 15
    d_above = np.mean((mt > 90) & (mt < 110)) / 20
    assert d_above < 0.2 * d_edge
    assert 60 < np.median(mt) < 85


def test_z_pair_mass(samples):
    ev, x = samples["Z"]
    masses = []
    for fl, col in ((13, F["m_mu"]), (11, F["m_ele"])):
        n = (ev.lep_flavour == fl).sum(1)
        q = np.where(ev.lep_flavour == fl, ev.lep_charge, 0).sum(1)
        two_os = (n == 2) & (q == 0)
        assert two_os.mean() > 0.25
        masses.append(x[two_os, col])
    m = np.concatenate(masses)
    peak = m[m > 60]
    assert abs(np.median(peak) - 91.19) < 3.0
    assert np.mean(np.abs(peak - 91.19) < 10) > 0.8
    # the Drell-Yan continuum below the peak (hlt-objects-2)
    assert 0.15 < np.mean(m < 60) < 0.6


def test_ttbar_vs_w(samples):
    xw, xt = samples["W"][1], samples["ttbar"][1]
    assert xt[:, F["n_jets"]].mean() > xw[:, F["n_jets"]].mean() + 1.0
    assert xt[:, F["n_bjets"]].mean() > 0.5 > 10 * xw[:, F["n_bjets"]].mean()
    assert xt[:, F["st"]].mean() > 2 * xw[:, F["st"]].mean()


def test_qcd_non_isolated_low_met(samples):
    xw, xq = samples["W"][1], samples["QCD"][1]
    iso_w = np.median(xw[:, F["lep_iso_ch"]] + xw[:, F["lep_iso_neu"]] + xw[:, F["lep_iso_ph"]])
    iso_q = np.median(xq[:, F["lep_iso_ch"]] + xq[:, F["lep_iso_neu"]] + xq[:, F["lep_iso_ph"]])
    assert iso_q > 3 * iso_w  # the stream's isolation (charged < 0.45) keeps only the more isolated QCD leptons
    assert np.median(np.hypot(xq[:, F["met_par"]], xq[:, F["met_perp"]])) < 0.7 * np.median(
        np.hypot(xw[:, F["met_par"]], xw[:, F["met_perp"]]))
    # W leptons are isolated, QCD ones only partly (fakes and the isolated tail of heavy-flavour leptons)
    assert np.mean(xw[:, F["lep_iso_ch"]] < 0.1) > 0.9
    assert 0.1 < np.mean(xq[:, F["lep_iso_ch"]] < 0.1) < 0.7


def test_a4l_has_more_leptons(samples):
    nlep = {k: (v[0].lep_pt > 0).sum(1).mean() for k, v in samples.items()}
    assert nlep["A_4l"] > 2.5
    assert all(nlep["A_4l"] > v for k, v in nlep.items() if k != "A_4l")


def test_signals_tau_features(samples):
    # tau neutrinos: h+- -> tau nu has more MET than Z; LQ has b jets
    met = {k: np.median(np.hypot(v[1][:, F["met_par"]], v[1][:, F["met_perp"]])) for k, v in samples.items()}
    assert met["hpm_taunu"] > met["Z"]
    assert samples["LQ_btau"][1][:, F["n_bjets"]].mean() > 0.5


def test_cocktail_fractions():
    ev, lab = generate_sm_cocktail(40_000, np.random.default_rng(11))
    assert len(ev) == len(lab) == 40_000
    frac = np.bincount(lab, minlength=4) / len(lab)
    np.testing.assert_allclose(frac, [v[0] for v in SM_PROCESSES.values()], atol=0.01)
    assert not np.all(np.diff(lab) >= 0)  # shuffled
    assert isinstance(ev, EventObjects)
    compute_hlt21(ev)
