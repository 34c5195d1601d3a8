"""Synthetic calorimeter region images (data/calo.py): shape/encoding, physics sanity, HDF5 round trip."""

import h5py
import numpy as np
import pytest

from data.calo import (ET_LSB, ET_MAX_COUNT, IMAGE_SHAPE, CaloDataset, calo_images, generate_calo, read_calo_h5,
                       region_index, write_calo_h5)
from data.generator import generate


def test_region_index_edges():
    iphi, ieta, inside = region_index(np.array([-2.99, 2.99, 3.01, 0.0]), np.array([-np.pi, np.pi - 1e-6, 0.0, 0.0]))
    assert iphi.tolist() == [0, 17, 9, 9]
    assert ieta.tolist()[:2] == [0, 13] and inside.tolist() == [True, True, False, True]
    assert ieta[3] == 7  # eta = 0 sits at the lower edge of region 7 of 14


def test_images_encoding_and_signal_has_more_et():
    ds = generate_calo(seed=3, n_train=200, n_val=10, n_test_bkg=200, n_signal=200)
    assert ds.x_train.shape == (200, *IMAGE_SHAPE) and ds.x_train.dtype == np.uint16
    assert ds.x_train.max() <= ET_MAX_COUNT
    assert set(ds.x_test_signal) and all(x.shape == (200, *IMAGE_SHAPE) for x in ds.x_test_signal.values())
    sm_ht = np.median(ds.x_test_bkg.sum(axis=(1, 2))) * ET_LSB
    assert sm_ht > 10.0  # leptons/jets of the single-lepton-triggered cocktail plus pile-up
    # at least one BSM process deposits clearly more total ET than the SM cocktail
    assert max(np.median(x.sum(axis=(1, 2))) * ET_LSB for x in ds.x_test_signal.values()) > 1.2 * sm_ht


def test_jet_deposit_conserved_inside_acceptance():
    rng = np.random.default_rng(0)
    ev = generate("ttbar", 50, rng)
    ev.jet_eta[:] = np.where(ev.jet_pt > 0, 0.1, 0)  # central: every neighbour share stays inside
    ev.lep_pt[:] = 0
    ev.pho_pt[:] = 0
    img = calo_images(ev, np.random.default_rng(1)).astype(float) * ET_LSB
    # pile-up/noise add energy, flooring removes < 1 LSB per region: sum >= jet sum - 252 * LSB
    assert np.all(img.sum(axis=(1, 2)) >= ev.jet_pt.sum(axis=1) - IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * ET_LSB)


def test_h5_round_trip_and_wrong_shape(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 100, (7, *IMAGE_SHAPE)).astype(np.uint16)
    ds = CaloDataset(x[:3], x[3:4], x[4:], {"sig": x[:2]}, {"generator_version": "test"})
    p = tmp_path / "calo.h5"
    write_calo_h5(p, ds)
    back = read_calo_h5(p)
    np.testing.assert_array_equal(back.x_test_bkg, x[4:])
    np.testing.assert_array_equal(back.x_test_signal["sig"], x[:2])
    bad = tmp_path / "bad.h5"
    with h5py.File(bad, "w") as f:
        f.create_dataset("background/images", data=np.zeros((4, 14, 18), np.uint16))
    with pytest.raises(ValueError, match=r"expected \(N, 18, 14\)"):
        read_calo_h5(bad)
    with h5py.File(bad, "w") as f:
        f.create_dataset("images", data=np.zeros((4, 18, 14), np.uint16))
    with pytest.raises(ValueError, match="no /background/images"):
        read_calo_h5(bad)


def test_build_data_family_cache_and_user_file(tmp_path):
    """The flow's data family ``calo``: (n, 18, 14, 1) float32 counts, cached on the second call; a user's file read
    the same way."""
    from data.calo import load_or_generate_calo, read_calo_for_build

    a = load_or_generate_calo(3, 40, 10, 30, 5, tmp_path)
    b = load_or_generate_calo(3, 40, 10, 30, 5, tmp_path)
    assert a.x_train.shape == (40, *IMAGE_SHAPE, 1) and a.x_train.dtype == np.float32
    assert not a.meta["from_cache"] and b.meta["from_cache"]
    np.testing.assert_array_equal(a.x_test_bkg, b.x_test_bkg)
    assert set(b.x_test_signal) == set(a.x_test_signal) and len(b.x_test_signal["A_4l"]) == 5
    x = np.random.default_rng(2).integers(0, ET_MAX_COUNT + 1, (6, *IMAGE_SHAPE)).astype(np.uint16)
    write_calo_h5(tmp_path / "user.h5", CaloDataset(x[:0], x[:0], x, {}, {}))
    u = read_calo_for_build(tmp_path / "user.h5")
    assert u.x_test_bkg.shape == (6, *IMAGE_SHAPE, 1) and len(u.x_train) == 0
    np.testing.assert_array_equal(u.x_test_bkg[..., 0], x)
