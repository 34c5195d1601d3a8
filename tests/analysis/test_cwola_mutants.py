"""Independent known answers for small cwola.py helpers (kills mutation-test survivors, issue 22).

References: scipy quad for the bin integrals, scipy's chi2 survival function and hand-computed Poisson
deviances, hand-counted balanced weights, the known-background Asimov Z of Cowan et al. evaluated by hand.
"""

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import chi2

from analysis.cwola import _bin_integrals, asimov_z, balanced_weights, gof_pvalue, poisson_deviance
from data.dijet import dijet_function


def test_balanced_weights_hand_counted():
    is_sr = np.array([True, True, False, False, False, True])
    use = np.array([True, True, True, True, True, False])
    w = balanced_weights(is_sr, use)
    # 5 used events: 2 SR share 0.5*5, 3 SB share 0.5*5; the unused event gets 0
    np.testing.assert_allclose(w, [1.25, 1.25, 5 / 6, 5 / 6, 5 / 6, 0.0])
    # one SB event is enough (not an empty window)
    w1 = balanced_weights(np.array([True, False]), np.array([True, True]))
    np.testing.assert_allclose(w1, [1.0, 1.0])
    with pytest.raises(ValueError):
        balanced_weights(np.array([True, True]), np.array([True, True]))


def test_bin_integrals_match_quad():
    params = np.array([math.log(3.0), 8.0, 4.0, 0.1])
    edges = np.array([2600.0, 2900.0, 3300.0, 3800.0])
    got = _bin_integrals(params, edges)
    ref = [3.0 * quad(lambda m: dijet_function(m, 1.0, *params[1:]), a, b)[0] for a, b in zip(edges[:-1], edges[1:])]
    assert got.shape == (3,)
    np.testing.assert_allclose(got, ref, rtol=1e-3)


def test_poisson_deviance_hand_values():
    # single bin k = 4, mu = 2: 2 * (2 - 4 + 4 ln 2)
    assert poisson_deviance([4], [2]) == pytest.approx(2 * (2 - 4 + 4 * math.log(2)), rel=1e-12)
    # empty bin contributes 2 mu
    assert poisson_deviance([0, 3], [1.5, 3]) == pytest.approx(3.0, rel=1e-12)
    assert poisson_deviance([5, 7], [5, 7]) == pytest.approx(0.0, abs=1e-12)


def test_gof_pvalue_vs_chi2():
    assert gof_pvalue(3.0, 2) == pytest.approx(math.exp(-1.5), rel=1e-12)  # chi2 with 2 dof: exp(-x/2)
    assert gof_pvalue(10.0, 5) == pytest.approx(chi2.sf(10.0, 5), rel=1e-12)
    assert gof_pvalue(1.0, 1) == pytest.approx(0.31731050786291415, rel=1e-9)
    assert math.isnan(gof_pvalue(1.0, 0))
    assert math.isnan(gof_pvalue(float("nan"), 3))
    assert not math.isnan(gof_pvalue(1.0, 1))


def test_asimov_z_hand_values():
    # s = 10, b = 100, known b: sqrt(2 (110 ln 1.1 - 10))
    assert asimov_z(10, 100) == pytest.approx(math.sqrt(2 * (110 * math.log(1.1) - 10)), rel=1e-12)
    # large b limit tends to s / sqrt(b)
    assert asimov_z(10, 1e6) == pytest.approx(0.01, rel=1e-3)
    # an uncertainty on b lowers Z; tiny uncertainty recovers the known-b value
    assert asimov_z(10, 100, 5.0) < asimov_z(10, 100)
    assert asimov_z(10, 100, 1e-3) == pytest.approx(asimov_z(10, 100), rel=1e-4)
