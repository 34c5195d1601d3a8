import h5py
import numpy as np
import pytest

from data.dataset import HLTDataset, load_or_generate_hlt, read_hlt_h5
from data.features import HLT21_FEATURES, compute_hlt21
from data.generator import BSM_SIGNALS, GENERATOR_VERSION, generate
from data.objects import EventObjects

KW = dict(n_train=3000, n_val=1000, n_test_bkg=2000, n_signal=300)


@pytest.fixture(scope="module")
def cached(tmp_path_factory):
    d = tmp_path_factory.mktemp("cache")
    first = load_or_generate_hlt(seed=5, cache_dir=d, **KW)
    second = load_or_generate_hlt(seed=5, cache_dir=d, **KW)
    return d, first, second


def test_generate_then_read_cache(cached):
    d, first, second = cached
    assert isinstance(first, HLTDataset)
    assert first.meta["from_cache"] is False and second.meta["from_cache"] is True
    assert first.meta["generator_version"] == GENERATOR_VERSION and first.meta["seed"] == 5
    assert first.meta["cache_path"] == second.meta["cache_path"]
    assert first.meta["cache_key"] == second.meta["cache_key"]
    assert first.x_train.shape == (3000, 21) and first.x_train.dtype == np.float32
    assert first.x_val.shape == (1000, 21) and first.x_test_bkg.shape == (2000, 21)
    assert set(first.x_test_signal) == set(BSM_SIGNALS)
    for a, b in ((first.x_train, second.x_train), (first.x_val, second.x_val),
                 (first.x_test_bkg, second.x_test_bkg), (first.test_bkg_process, second.test_bkg_process)):
        np.testing.assert_array_equal(a, b)
    for k in BSM_SIGNALS:
        np.testing.assert_array_equal(first.x_test_signal[k], second.x_test_signal[k])
    assert tuple(second.feature_names) == HLT21_FEATURES
    assert [p.name for p in d.iterdir() if p.name.startswith(".")] == []  # no temp file left
    assert second.meta["time_to_generate_s"] == pytest.approx(first.meta["time_to_generate_s"])


def test_independent_streams(tmp_path):
    a = load_or_generate_hlt(seed=5, cache_dir=tmp_path, **{**KW, "n_train": 500})
    b = load_or_generate_hlt(seed=5, cache_dir=tmp_path, **{**KW, "n_train": 800})
    assert a.meta["cache_path"] != b.meta["cache_path"]
    np.testing.assert_array_equal(a.x_test_bkg, b.x_test_bkg)  # test sample does not depend on n_train
    c = load_or_generate_hlt(seed=6, cache_dir=tmp_path, **{**KW, "n_train": 500})
    assert not np.array_equal(a.x_test_bkg, c.x_test_bkg)


def test_cache_file_layout(cached):
    d, first, _ = cached
    with h5py.File(first.meta["cache_path"], "r") as f:
        assert f.attrs["generator_version"] == GENERATOR_VERSION and int(f.attrs["seed"]) == 5
        assert [str(n) for n in f.attrs["feature_names"]] == list(HLT21_FEATURES)
        assert f["background/features"].shape == (2000, 21) and f["background/process"].shape == (2000,)
        ev = EventObjects.from_h5(f["background"])
        np.testing.assert_array_equal(compute_hlt21(ev), first.x_test_bkg)
        assert "lep_pt" in f["signals/A_4l"]


def _write(path, groups, attrs=None):
    with h5py.File(path, "w") as f:
        for k, v in (attrs or {}).items():
            f.attrs[k] = v
        for name, content in groups.items():
            g = f.create_group(name)
            if isinstance(content, EventObjects):
                content.to_h5(g)
            else:
                g.create_dataset("features", data=content)


def test_user_file_objects_only_and_optional_groups(tmp_path):
    rng = np.random.default_rng(0)
    bkg = generate("W", 500, rng)
    sig = generate("A_4l", 200, rng)
    p = tmp_path / "user.h5"
    _write(p, {"background": bkg})
    with h5py.File(p, "a") as f:
        bkg.to_h5(f.create_group("signals/my_signal"))
        del f["signals/my_signal"]
        sig.to_h5(f["signals"].create_group("my_signal"))
    ds = read_hlt_h5(p)
    np.testing.assert_array_equal(ds.x_test_bkg, compute_hlt21(bkg))
    assert ds.x_train.shape == (0, 21) and ds.x_val.shape == (0, 21)
    assert (ds.test_bkg_process == -1).all()
    np.testing.assert_array_equal(ds.x_test_signal["my_signal"], compute_hlt21(sig))
    # features directly
    p2 = tmp_path / "feat.h5"
    x = np.random.default_rng(1).normal(size=(100, 21)).astype(np.float32)
    _write(p2, {"background": x, "train": x[:50]})
    ds2 = read_hlt_h5(p2)
    np.testing.assert_array_equal(ds2.x_test_bkg, x)
    assert ds2.x_train.shape == (50, 21) and ds2.x_test_signal == {}


def test_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        read_hlt_h5(tmp_path / "nope.h5")
    txt = tmp_path / "notes.h5"
    txt.write_text("hello")
    with pytest.raises(ValueError, match="not an HDF5 file"):
        read_hlt_h5(txt)
    p = tmp_path / "nobkg.h5"
    _write(p, {"train": np.zeros((5, 21), np.float32)})
    with pytest.raises(ValueError, match="missing group /background"):
        read_hlt_h5(p)
    p = tmp_path / "k.h5"
    _write(p, {"background": np.zeros((5, 17), np.float32)})
    with pytest.raises(ValueError, match="expected 21 features.*got 17"):
        read_hlt_h5(p)
    x = np.zeros((10, 21), np.float32)
    x[2, 3] = np.nan
    x[4, 0] = np.inf
    x[5, 1] = np.nan
    p = tmp_path / "nan.h5"
    _write(p, {"background": x})
    with pytest.raises(ValueError, match=r"2 NaN and 1 inf .* 3 of 10 events") as e:
        read_hlt_h5(p)
    assert "/background" in str(e.value)
    # NaN in a signal group is reported with that group's name
    p = tmp_path / "nansig.h5"
    with h5py.File(p, "w") as f:
        f.create_group("background").create_dataset("features", data=np.zeros((3, 21), np.float32))
        f.create_group("signals/bad").create_dataset("features", data=x)
    with pytest.raises(ValueError, match="/signals/bad"):
        read_hlt_h5(p)


def test_from_h5_errors(tmp_path):
    ev = generate("Z", 50, np.random.default_rng(3))
    p = tmp_path / "obj.h5"
    with h5py.File(p, "w") as f:
        g = f.create_group("background")
        ev.to_h5(g)
        del g["jet_btag"]
        g2 = f.create_group("shape")
        ev.to_h5(g2)
        del g2["lep_pt"]
        g2.create_dataset("lep_pt", data=np.zeros((50, 3), np.float32))
    with h5py.File(p, "r") as f:
        with pytest.raises(ValueError, match="jet_btag"):
            EventObjects.from_h5(f["background"])
        with pytest.raises(ValueError, match=r"lep_pt: shape \(50, 3\), expected \(50, 4\)"):
            EventObjects.from_h5(f["shape"])
    with pytest.raises(ValueError, match="jet_btag"):
        read_hlt_h5(p)
    # roundtrip
    p2 = tmp_path / "rt.h5"
    with h5py.File(p2, "w") as f:
        ev.to_h5(f.create_group("g"))
    with h5py.File(p2, "r") as f:
        assert EventObjects.from_h5(f["g"]) == ev


def test_untriggered_objects_in_user_file(tmp_path):
    ev = generate("W", 20, np.random.default_rng(4))
    ev.lep_pt[:3] = 0.0
    p = tmp_path / "untrig.h5"
    _write(p, {"background": ev})
    with pytest.raises(ValueError, match="3 of 20 events"):
        read_hlt_h5(p)
