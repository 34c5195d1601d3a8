"""data/jets.py: the toy constituent generator (shapes, padding, ordering) and the HDF5 reader (round trip, errors)."""

import subprocess
import sys

import h5py
import numpy as np
import pytest

from data.jets import N_CONST, N_FEAT, JetDataset, generate_jets, read_jets_h5, write_jets_h5


def test_generated_jets_are_sorted_padded_and_differ_by_kind():
    rng = np.random.default_rng(3)
    jets = {k: generate_jets(k, 300, rng) for k in ("qcd", "w", "top", "tau")}
    for k, x in jets.items():
        assert x.shape == (300, N_CONST, N_FEAT) and x.dtype == np.float32
        pt = x[:, :, 0]
        assert np.all(np.diff(pt, axis=1) <= 0), k  # sorted by pT, padding (0) at the end
        pad = pt == 0
        assert np.all(x[pad] == 0), k  # a padded constituent is all zeros
        assert np.all(np.isin(x[~pad][:, 3], (1, 2, 3))), k
    n = {k: np.mean(np.sum(x[:, :, 0] > 0, axis=1)) for k, x in jets.items()}
    assert n["tau"] < 5 < n["qcd"]  # taus: few constituents
    width = {k: np.mean(np.sum(x[:, :, 0] * np.hypot(x[:, :, 1], x[:, :, 2]), 1) / np.sum(x[:, :, 0], 1))
             for k, x in jets.items()}
    assert width["tau"] < width["qcd"] < width["w"]  # narrow taus, 2-prong W wider than a q/g core


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown jet kind"):
        generate_jets("higgs", 1, np.random.default_rng(0))


def _ds(rng, n_const=N_CONST):
    x = lambda n: np.abs(rng.normal(size=(n, n_const, N_FEAT))).astype(np.float32)  # noqa: E731
    return JetDataset(x(20), rng.integers(0, 2, 20), x(10), rng.integers(0, 2, 10), x(30), {"w": x(5)})


def test_reader_round_trip_and_padding(tmp_path):
    rng = np.random.default_rng(1)
    ds = _ds(rng)
    with h5py.File(tmp_path / "jets.h5", "w") as f:
        write_jets_h5(f, ds)
    back = read_jets_h5(tmp_path / "jets.h5")
    np.testing.assert_array_equal(back.x_train, ds.x_train)
    np.testing.assert_array_equal(back.y_val, ds.y_val)
    np.testing.assert_array_equal(back.x_test_signal["w"], ds.x_test_signal["w"])
    short = _ds(rng, n_const=5)  # fewer constituents: zero-padded to N_CONST
    with h5py.File(tmp_path / "short.h5", "w") as f:
        write_jets_h5(f, short)
    b2 = read_jets_h5(tmp_path / "short.h5")
    assert b2.x_test_bkg.shape == (30, N_CONST, N_FEAT) and np.all(b2.x_test_bkg[:, 5:] == 0)
    np.testing.assert_array_equal(b2.x_test_bkg[:, :5], short.x_test_bkg)


def test_reader_errors(tmp_path):
    p = tmp_path / "bad.h5"
    with h5py.File(p, "w") as f:
        f.create_group("background").create_dataset("constituents", data=np.zeros((4, 16, 3)))
    with pytest.raises(ValueError, match=r"shape \(n_jets, n_constituents, 4\).*\(4, 16, 3\)"):
        read_jets_h5(p)
    with h5py.File(p, "w") as f:
        f.create_group("train").create_dataset("constituents", data=np.zeros((4, 16, 4)))
    with pytest.raises(ValueError, match="background/constituents"):
        read_jets_h5(p)
    with h5py.File(p, "w") as f:
        f.create_group("background").create_dataset("constituents", data=np.zeros((4, 16, 4)))
        f.create_group("train").create_dataset("constituents", data=np.zeros((4, 16, 4)))
    with pytest.raises(ValueError, match="no 'label'"):
        read_jets_h5(p)


def test_data_jets_does_not_import_tensorflow():
    code = "import sys, data.jets; assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
