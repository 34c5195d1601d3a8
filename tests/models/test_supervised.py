"""The supervised reference DNNs (models/supervised.py): trained on events disjoint from the build's test sample,
reproducible, cached."""

import numpy as np
import pytest

from data.dataset import load_or_generate_hlt
from data.generator import BSM_SIGNALS
from flow.config import BuildConfig
from models.supervised import logits, signal_training_sample, train_or_load_supervised


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sup")
    ds = load_or_generate_hlt(5, n_train=3000, n_val=1000, n_test_bkg=2000, n_signal=300, cache_dir=tmp / "data")
    cfg = BuildConfig(model="vae21", seed=5, n_signal=300, epochs=2, cache_dir=tmp / "cache")
    mean, std = ds.x_train.mean(axis=0), ds.x_train.std(axis=0)
    std[std == 0] = 1.0
    return cfg, ds, mean, std


def test_signal_training_events_are_not_the_test_events(small):
    cfg, ds, _, _ = small
    train = signal_training_sample(cfg.seed, 300, list(BSM_SIGNALS))
    for s, x in train.items():
        test_rows = {r.tobytes() for r in ds.x_test_signal[s]}
        assert x.shape == ds.x_test_signal[s].shape
        assert not any(r.tobytes() in test_rows for r in x), s
    again = signal_training_sample(cfg.seed, 300, list(BSM_SIGNALS))
    assert all(np.array_equal(train[s], again[s]) for s in train)  # seeded


def test_trained_then_cached_reproducibly(small, tmp_path):
    cfg, ds, mean, std = small
    sig = ["A_4l", "hpm_taunu"]
    xs = {"background": ((ds.x_test_bkg - mean) / std).astype(np.float32),
          **{s: ((ds.x_test_signal[s] - mean) / std).astype(np.float32) for s in sig}}
    m1, i1 = train_or_load_supervised(cfg, ds, mean, std, sig)
    assert not i1["from_cache"] and i1["A_4l"]["epochs_run"] == 2 and i1["config"]["n_signal_train"] == 300
    m2, i2 = train_or_load_supervised(cfg, ds, mean, std, sig)
    assert i2["from_cache"]
    l1, l2 = logits(m1, xs), logits(m2, xs)
    for s in sig:
        assert np.array_equal(l1[s][0], l2[s][0]) and np.array_equal(l1[s][1], l2[s][1])
        assert len(l1[s][0]) == 2000 and len(l1[s][1]) == 300
    # retrained from scratch in another cache: the same seeded networks
    m3, _ = train_or_load_supervised(cfg.replace(cache_dir=tmp_path), ds, mean, std, sig)
    assert np.allclose(logits(m3, xs)["A_4l"][1], l1["A_4l"][1], atol=1e-5)
