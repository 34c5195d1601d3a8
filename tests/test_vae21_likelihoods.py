"""benchmarks/vae21_likelihoods.py: the per-feature NLL (Gaussian / Poisson / Bernoulli) against closed forms."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest


def _mod():
    p = Path(__file__).resolve().parents[1] / "benchmarks" / "vae21_likelihoods.py"
    spec = importlib.util.spec_from_file_location("vae21_likelihoods", p)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def test_per_feature_nll_matches_closed_forms():
    m = _mod()
    rng = np.random.default_rng(3)
    kinds = np.array([0, 1, 2])
    layer = m._nll_layer(kinds)
    y = np.stack([rng.normal(size=8), rng.poisson(2.0, 8), rng.integers(0, 2, 8)], 1).astype(np.float32)
    p = rng.normal(size=(8, 3)).astype(np.float32)
    nll = np.asarray(layer([y, p]))
    sig = 1.0  # log_sigma initialised at 0
    g = 0.5 * (y[:, 0] - p[:, 0]) ** 2 / sig ** 2 + math.log(sig) + 0.5 * math.log(2 * math.pi)
    po = np.exp(p[:, 1]) - y[:, 1] * p[:, 1] + np.array([math.lgamma(k + 1) for k in y[:, 1]])
    be = np.log1p(np.exp(p[:, 2])) - y[:, 2] * p[:, 2]
    np.testing.assert_allclose(nll, np.stack([g, po, be], 1), rtol=1e-5, atol=1e-5)


def test_targets_map_charge_to_bernoulli_and_keep_raw_counts():
    m = _mod()
    from data.features import HLT21_FEATURES

    n = len(HLT21_FEATURES)
    raw = np.full((2, n), 3.0, np.float32)
    raw[:, HLT21_FEATURES.index("lep_charge")] = [-1, 1]
    xs = np.zeros((2, n), np.float32)
    kinds = np.array([2 if f in m.BOOLS else 1 if f in m.COUNTS else 0 for f in HLT21_FEATURES])
    y = m._targets(raw, xs, kinds)
    assert list(y[:, HLT21_FEATURES.index("lep_charge")]) == [0.0, 1.0]
    assert list(y[:, HLT21_FEATURES.index("n_mu")]) == [3.0, 3.0]
    assert list(y[:, HLT21_FEATURES.index("lep_pt")]) == [0.0, 0.0]


def test_bad_sizes_fail_before_work():
    with pytest.raises(SystemExit):
        _mod().main(["--epochs", "0"])
