import numpy as np
import pytest

from emulation.agreement import exact_agreement, score_correlation


def test_exact_agreement_tolerates_one_float32_ulp_only():
    k = np.array([1.0, 1000.0, 3.0, 7.0], dtype=np.float32)
    e = k.astype(np.float64).copy()
    e[1] += np.spacing(np.float32(1000.0)) * 0.5  # float32 rounding: differs, not a mismatch
    e[2] += 2 ** -6  # a real mismatch of 4 LSB at LSB 2**-8
    a = exact_agreement(e[:, None], k[:, None], lsb=2**-8)
    assert a.n_mismatched == 1 and a.n_differ_any == 2 and a.worst_event == 2
    assert a.max_diff_lsb == 4.0


def test_score_correlation():
    x = np.arange(100.0)
    c = score_correlation(x, x**3)
    assert c["score_spearman"] == pytest.approx(1.0) and c["score_pearson"] < 1.0
