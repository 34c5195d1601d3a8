"""The L1 view (57 inputs): hand-worked quantisation, layout sanity, the ADC2021 reader on written files."""

import h5py
import numpy as np
import pytest

from data import l1
from data.generator import BSM_SIGNALS, generate_sm_cocktail
from data.objects import EventObjects


def _one_event():
    ev = EventObjects.empty(1)
    # leptons: a muon (40.3 GeV) and an electron (30.26 GeV); photon 50.9 GeV (an L1 e/gamma candidate)
    ev.lep_pt[0, :2] = [40.3, 30.26]
    ev.lep_eta[0, :2] = [0.5, -1.0]
    ev.lep_phi[0, :2] = [3.14, -0.1]
    ev.lep_flavour[0, :2] = [13, 11]
    ev.pho_pt[0, 0], ev.pho_eta[0, 0], ev.pho_phi[0, 0] = 50.9, 0.2, 1.0
    ev.jet_pt[0, :3] = [120.2, 19.0, 25.0]  # the 19 GeV jet fails the 20 GeV L1 threshold
    ev.jet_eta[0, :3] = [4.0, 0.0, -2.0]
    ev.jet_phi[0, :3] = [0.3, 0.0, -3.0]
    ev.met[0], ev.met_phi[0] = 2000.0, -np.pi
    return ev


def test_hand_worked_event_without_smearing(monkeypatch):
    monkeypatch.setattr(l1, "SIGMA_EXTRA", {"e": 0.0, "mu": 0.0, "j": 0.0})
    monkeypatch.setattr(l1, "MET_EXTRA_GEV", 0.0)
    p = l1.l1_particles(_one_event(), np.random.default_rng(0))
    assert p.shape == (1, 19, 4) and p.dtype == np.float32
    r = p[0]
    # MET row: pT floored to 0.5 GeV (2000 < 2047.5 saturation), phi -pi -> +pi (phi in (-pi, pi]), eta 0
    np.testing.assert_allclose(r[0], [2000.0, 0.0, np.pi, 1], rtol=1e-6)
    # e/gamma rows: the photon (50.5) before the electron (30.0), calo eta step 0.0435, phi step 2pi/144
    np.testing.assert_allclose(r[1, :2], [50.5, 0.0435 * round(0.2 / 0.0435)], rtol=1e-6)
    np.testing.assert_allclose(r[2, :3], [30.0, 0.0435 * round(-1.0 / 0.0435), 2 * np.pi / 144 * round(-0.1 / (2 * np.pi / 144))],
                               rtol=1e-6)
    assert (r[1:3, 3] == 2).all() and (r[3:5] == 0).all()
    # muon row: muon eta / phi steps
    np.testing.assert_allclose(r[5, :3], [40.0, 0.010875 * round(0.5 / 0.010875), 2 * np.pi / 576 * round(3.14 / (2 * np.pi / 576))],
                               rtol=1e-6)
    assert r[5, 3] == 3 and (r[6:9] == 0).all()
    # jets: 120 and 25 GeV kept (pT-ordered), 19 GeV dropped
    np.testing.assert_allclose(r[9:11, 0], [120.0, 25.0])
    assert (r[9:11, 3] == 4).all() and (r[11:] == 0).all()


@pytest.fixture(scope="module")
def l1_sample():
    rng = np.random.default_rng(4)
    ev, _ = generate_sm_cocktail(20_000, rng)
    return l1.l1_particles(ev, rng)


def test_layout_and_quantisation_sanity(l1_sample):
    p = l1_sample.astype(np.float64)
    pt, eta, phi, cls = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    assert np.all(np.mod(pt, 0.5) == 0)  # 0.5 GeV steps
    present = pt > 0
    assert (cls[:, 1:] == np.where(present[:, 1:], l1.ROW_CLASS[1:], 0)).all() and (cls[:, 0] == 1).all()
    assert (eta[:, 0] == 0).all()
    assert np.all(p[:, 1:][~present[:, 1:]] == 0)  # padded rows are all zero (class 0 too)
    for kind, sl in l1.ROWS.items():
        if kind == "MET":
            continue
        x = pt[:, sl]
        assert np.all(np.diff(x, axis=1) <= 0)  # pT-ordered, padding last
        assert np.all(x[x > 0] >= l1.PT_MIN[kind]) and x.max() <= l1.PT_MAX[kind]
        e_lsb, p_lsb = (l1.MU_ETA_LSB, l1.MU_PHI_LSB) if kind == "mu" else (l1.CALO_ETA_LSB, l1.CALO_PHI_LSB)
        assert np.all(np.abs(eta[:, sl][x > 0]) <= l1.ABS_ETA_MAX[kind] + e_lsb / 2)  # cut before rounding
        np.testing.assert_allclose(eta[:, sl] / e_lsb, np.rint(eta[:, sl] / e_lsb), atol=1e-4)
        np.testing.assert_allclose(phi[:, sl] / p_lsb, np.rint(phi[:, sl] / p_lsb), atol=1e-3)
    assert phi.max() <= np.pi + 1e-6 and phi.min() > -np.pi
    # single-lepton stream (23 GeV offline): nearly all events keep an L1 lepton; muons at 2.4 < |eta| < 2.5 are lost
    lead = np.maximum(pt[:, 1], pt[:, 5])
    assert np.mean(lead > 15) > 0.95
    # some jet multiplicity and MET
    assert 0.3 < np.mean(pt[:, 9] > 0) < 0.95 and np.median(pt[:, 0]) > 10


def test_mask_and_zero_preserving_scale(l1_sample):
    x = l1.particles_to_features(l1_sample)
    m = l1.object_mask(x)
    assert m.shape == (len(x), 57)
    assert (m[:, 0] == 1).all() and (m[:, 1] == 0).all() and (m[:, 2] == 1).all()
    np.testing.assert_array_equal(m[:, 3::3], (x[:, 3::3] != 0).astype(np.float32))
    np.testing.assert_array_equal(m[:, 4::3], m[:, 3::3])
    assert np.all(x[m == 0] == 0)  # everything masked is padding (or MET eta)
    s = l1.input_scale(x)
    assert s.shape == (57,) and np.all(s > 0)
    np.testing.assert_array_equal((x / s) == 0, x == 0)
    assert s[3] == s[6] == s[12] and 5 < s[27] and s[1] == 1.0  # pooled per type; MET eta has no values


def _write_adc(path, p, names=True):
    with h5py.File(path, "w") as f:
        f.create_dataset("Particles", data=p.astype(np.float64))
        if names:
            f.create_dataset("Particles_Names", data=[b"Pt", b"Eta", b"Phi", b"Class"])
            f.create_dataset("Particles_Classes", data=[b"MET_class_1", b"Four_Ele_class_2", b"Four_Mu_class_3",
                                                         b"Ten_Jet_class_4"])


def test_reader_adc_file_and_project_layout_with_external_links(l1_sample, tmp_path):
    p = l1_sample[:500]
    _write_adc(tmp_path / "background_for_testing.h5", p)
    ds = l1.read_l1_h5(tmp_path / "background_for_testing.h5")
    assert ds.x_test_bkg.shape == (500, 57) and len(ds.x_train) == 0 and ds.x_test_signal == {}
    np.testing.assert_array_equal(ds.x_test_bkg, p[:, :, :3].reshape(500, 57))
    assert ds.feature_names[:4] == ("MET_pt", "MET_eta", "MET_phi", "e1_pt") and ds.feature_names[-1] == "j10_phi"
    # project layout: background + train from Particles, a signal attached as an external link to an ADC file
    _write_adc(tmp_path / "Ato4l.h5", l1_sample[500:600])
    with h5py.File(tmp_path / "mine.h5", "w") as f:
        f.create_dataset("background/Particles", data=p)
        f.create_dataset("train/features", data=l1.particles_to_features(l1_sample[600:900]))
        f["signals/A_4l"] = h5py.ExternalLink("Ato4l.h5", "/")
    ds = l1.read_l1_h5(tmp_path / "mine.h5")
    assert ds.x_train.shape == (300, 57) and set(ds.x_test_signal) == {"A_4l"}
    np.testing.assert_array_equal(ds.x_test_signal["A_4l"], l1.particles_to_features(l1_sample[500:600]))


@pytest.mark.parametrize("kind,msg", [
    ("shape", "expected (N, 19, 4)"),
    ("nan", "1 NaN"),
    ("order", "is the row order MET, 4 e, 4 mu, 10 jets"),
    ("negative", "negative pT"),
    ("no_particles", "neither a 'Particles' dataset"),
])
def test_reader_bad_files(l1_sample, tmp_path, kind, msg):
    p = l1_sample[:50].astype(np.float64).copy()
    path = tmp_path / "bad.h5"
    if kind == "shape":
        _write_adc(path, p[:, :18])
    elif kind == "nan":
        p[3, 9, 1] = np.nan
        _write_adc(path, p)
    elif kind == "order":
        _write_adc(path, p[:, ::-1])  # jets first
    elif kind == "negative":
        p[0, 0, 0] = -1
        _write_adc(path, p)
    else:
        with h5py.File(path, "w") as f:
            f.create_dataset("events", data=p)
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        l1.read_l1_h5(path)
    with pytest.raises(FileNotFoundError, match="no such file"):
        l1.read_l1_h5(tmp_path / "missing.h5")


def test_generate_then_read_cache(tmp_path):
    kw = dict(seed=3, n_train=2000, n_val=500, n_test_bkg=3000, n_signal=200, cache_dir=tmp_path)
    a = l1.load_or_generate_l1(**kw)
    b = l1.load_or_generate_l1(**kw)
    assert a.meta["from_cache"] is False and b.meta["from_cache"] is True
    assert a.x_train.shape == (2000, 57) and a.x_test_bkg.shape == (3000, 57)
    np.testing.assert_array_equal(a.x_test_bkg, b.x_test_bkg)
    np.testing.assert_array_equal(a.test_bkg_process, b.test_bkg_process)
    assert set(a.x_test_signal) == set(b.x_test_signal) == set(BSM_SIGNALS)
    for k in BSM_SIGNALS:
        np.testing.assert_array_equal(a.x_test_signal[k], b.x_test_signal[k])
    # A_4l has more leptons than the SM, LQ / taus more jets-with-MET: the benchmarks differ from the SM
    n_lep = lambda x: ((x[:, 3:27:3] > 0).sum(1)).mean()  # noqa: E731
    assert n_lep(a.x_test_signal["A_4l"]) > n_lep(a.x_test_bkg) + 0.5
