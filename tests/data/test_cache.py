"""The one cached-dataset helper: key -> path, load when valid, regenerate otherwise, atomic writes."""

import threading

import h5py
import numpy as np
import pytest

from data.cache import cache_path, load_or_generate


def _calls():
    calls = []

    def generate():
        calls.append(1)
        return np.arange(10.0) + len(calls)

    return calls, generate


def _write(f, x):
    f.create_dataset("x", data=x)


def _read(path):
    with h5py.File(path, "r") as f:
        return f["x"][()]


def test_cache_path_from_key(tmp_path):
    assert cache_path(tmp_path, "v1", dict(seed=5, tr=10, sig=3), prefix="hlt21").name == "hlt21_v1_seed5_tr10_sig3.h5"
    assert cache_path(tmp_path, "dijet-1", dict(seed=5, bkg=20)) == tmp_path / "dijet-1_seed5_bkg20.h5"


def test_generate_then_load(tmp_path):
    calls, gen = _calls()
    path = cache_path(tmp_path, "v1", dict(seed=1))
    a = load_or_generate(path, "v1", 1, gen, _write, _read)
    b = load_or_generate(path, "v1", 1, gen, _write, _read)
    assert (a.from_cache, b.from_cache, len(calls)) == (False, True, 1)
    np.testing.assert_array_equal(a.value, b.value)
    assert b.time_to_generate_s == pytest.approx(a.time_to_generate_s) and b.time_to_load_s is not None
    assert list(a.meta()) == ["cache_path", "cache_key", "from_cache", "time_to_generate_s", "time_to_write_s"]
    assert list(b.meta()) == ["cache_path", "cache_key", "from_cache", "time_to_generate_s", "time_to_load_s"]
    assert a.key == "v1_seed1"
    with h5py.File(path, "r") as f:
        assert f.attrs["generator_version"] == "v1" and int(f.attrs["seed"]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v1_seed1.h5"]


@pytest.mark.parametrize("bad", ["truncated", "version", "seed", "missing dataset"])
def test_invalid_file_is_regenerated(tmp_path, bad):
    calls, gen = _calls()
    path = cache_path(tmp_path, "v2", dict(seed=1))
    if bad == "truncated":
        path.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 20)
    else:
        with h5py.File(path, "w") as f:
            f.attrs["generator_version"] = "v1" if bad == "version" else "v2"
            f.attrs["seed"] = 2 if bad == "seed" else 1
            if bad != "missing dataset":
                f.create_dataset("x", data=np.zeros(3))
    with pytest.warns(RuntimeWarning, match="generating it again"):
        c = load_or_generate(path, "v2", 1, gen, _write, _read)
    assert not c.from_cache and len(calls) == 1
    np.testing.assert_array_equal(load_or_generate(path, "v2", 1, gen, _write, _read).value, c.value)


def test_interrupted_write_leaves_nothing(tmp_path):
    def broken(f, x):
        f.create_dataset("x", data=x)
        raise KeyboardInterrupt

    path = cache_path(tmp_path, "v1", dict(seed=1))
    with pytest.raises(KeyboardInterrupt):
        load_or_generate(path, "v1", 1, _calls()[1], broken, _read)
    assert list(tmp_path.iterdir()) == []


def test_concurrent_writers(tmp_path):
    path = cache_path(tmp_path, "v1", dict(seed=1))
    out, errors = [], []

    def run():
        try:
            out.append(load_or_generate(path, "v1", 1, lambda: np.arange(1000.0), _write, _read))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(out) == 4
    np.testing.assert_array_equal(_read(path), np.arange(1000.0))
    assert [p.name for p in tmp_path.iterdir()] == [path.name]
