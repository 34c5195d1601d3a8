"""Synthetic dijets: physics sanity, reproducibility, cache, and the LHCO high-level-feature reader."""

import numpy as np
import pandas as pd
import pytest

from data.dijet import (FEATURES, FULL_ACCEPTANCE_MJJ, LHCO_COLUMNS, PT_MIN, QCD_DIJET_PARAMS, DijetEvents,
                        dijet_function, generate_qcd, generate_signal, load_or_generate_dijets, read_lhco_hdf,
                        write_lhco_hdf)


@pytest.fixture(scope="module")
def qcd():
    return generate_qcd(200_000, np.random.default_rng(1))


@pytest.fixture(scope="module")
def sig():
    return generate_signal(5_000, np.random.default_rng(2))


def test_trigger_and_kinematics(qcd, sig):
    for ev in (qcd, sig):
        pt = np.hypot(ev.jets[:, :, 0], ev.jets[:, :, 1])
        assert np.all(pt > PT_MIN)
        # 4-vectors are on shell with the stored masses
        m2 = ev.jets[:, :, 3] ** 2 - (ev.jets[:, :, :3] ** 2).sum(axis=2)
        np.testing.assert_allclose(np.sqrt(np.maximum(m2, 0)), ev.mass, rtol=1e-6, atol=1e-2)
        assert np.all(ev.mass[:, 0] >= ev.mass[:, 1])  # heavier jet first
        f = ev.features()
        assert f.shape == (len(ev), len(FEATURES)) and np.all(np.isfinite(f))
        assert np.all((f[:, 3:] > 0) & (f[:, 3:] < 1))


def test_qcd_mjj_follows_dijet_function(qcd):
    mjj = qcd.mjj
    edges = np.linspace(FULL_ACCEPTANCE_MJJ, 5000, 22)
    counts, _ = np.histogram(mjj, edges)
    c = 0.5 * (edges[1:] + edges[:-1])
    shape = dijet_function(c, 1.0, *QCD_DIJET_PARAMS) * np.diff(edges)
    expected = shape * counts.sum() / shape.sum()
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert chi2 < 2.5 * len(c), chi2  # shape right above the trigger turn-on (a wrong exponent gives >> 100)
    # and the turn-on: hardly any events below 2.4 TeV (pT > 1.2 TeV)
    assert np.mean(mjj < 2 * PT_MIN) < 1e-3


def test_jet_mass_mildly_correlated_with_mjj(qcd):
    mjj, mj1 = qcd.mjj, qcd.mass[:, 0]
    lo = np.median(mj1[(mjj > 2900) & (mjj < 3100)])
    hi = np.median(mj1[(mjj > 4500) & (mjj < 5500)])
    assert 1.05 < hi / lo < 1.4  # rises with mjj, mildly
    assert abs(np.corrcoef(np.log(mjj), np.log(mj1))[0, 1]) < 0.3


def test_signal_resonance_and_substructure(qcd, sig):
    f, b = sig.features(), qcd.features()
    assert abs(np.median(f[:, 0]) / 3500 - 1) < 0.02
    core = np.abs(f[:, 0] / 3500 - 1) < 0.15
    assert 0.03 < np.std(f[core, 0]) / 3500 < 0.07  # detector-like width
    assert abs(np.median(f[:, 1]) - 500) < 20 and abs(np.median(f[:, 2]) - 100) < 8
    assert np.median(f[:, 3]) < np.median(b[:, 3]) - 0.2  # two-prong: small tau21
    assert np.median(f[:, 4]) < np.median(b[:, 4]) - 0.2


def test_reproducible_and_cached(tmp_path):
    a = load_or_generate_dijets(5, 20_000, 100, tmp_path)
    b = load_or_generate_dijets(5, 20_000, 100, tmp_path)
    c = load_or_generate_dijets(6, 20_000, 100, tmp_path)
    assert not a.meta["from_cache"] and b.meta["from_cache"]
    np.testing.assert_array_equal(a.x, b.x)
    assert not np.array_equal(a.x, c.x)
    assert a.label.sum() == 100 and len(a.x) == 20_100


def test_lhco_reader_round_trip(tmp_path, qcd, sig):
    ev = DijetEvents.concat([qcd.take(slice(0, 3000)), sig.take(slice(0, 200))])
    # the LHCO files order jets by pT, not mass: swap half of them to check the reader re-orders
    sw = np.arange(len(ev)) % 2 == 0
    ev2 = DijetEvents(ev.jets.copy(), ev.mass.copy(), ev.tau.copy(), ev.label)
    for arr in (ev2.jets, ev2.mass, ev2.tau):
        arr[sw] = arr[sw][:, ::-1]
    path = tmp_path / "events_anomalydetection.features.h5"
    write_lhco_hdf(path, ev2)
    df = pd.read_hdf(path)
    assert list(df.columns) == [*LHCO_COLUMNS, "label"]
    s = read_lhco_hdf(path)
    np.testing.assert_allclose(s.x, ev.features(), rtol=1e-9)
    np.testing.assert_array_equal(s.label, ev.label)


def test_lhco_reader_errors(tmp_path, qcd):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_lhco_hdf(tmp_path / "missing.h5")
    path = tmp_path / "bad.h5"
    write_lhco_hdf(path, qcd.take(slice(0, 50)))
    df = pd.read_hdf(path).drop(columns=["tau2j2", "label"])
    df.to_hdf(path, key="df", mode="w")
    with pytest.raises(ValueError, match="missing LHCO columns.*tau2j2"):
        read_lhco_hdf(path)
    write_lhco_hdf(path, qcd.take(slice(0, 50)))
    df = pd.read_hdf(path).drop(columns=["label"])
    df.loc[3, "mj1"] = np.nan
    df.to_hdf(path, key="df", mode="w")
    with pytest.raises(ValueError, match="1 of 50 events have NaN"):
        read_lhco_hdf(path)
    df.loc[3, "mj1"] = 10.0
    df.to_hdf(path, key="df", mode="w")
    assert np.all(read_lhco_hdf(path).label == -1)  # black-box files have no label
