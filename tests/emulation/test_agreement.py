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


def test_exact_agreement_every_field_by_hand():
    """Each field against a hand count (kills the mutmut survivors of emulation/agreement.py)."""
    from emulation.agreement import exact_agreement

    keras = np.array([[1.0, 2.0], [4.0, -8.0], [0.5, 0.25], [3.0, 3.0]])
    ulp = np.spacing(np.float32(4.0)).astype(np.float64)  # 4.77e-7
    emu = keras.copy()
    emu[1, 0] += ulp  # within one float32 ulp of 4: differs, not mismatched with the float32 tolerance
    emu[2, 1] += 0.125  # a real mismatch: 0.125 = 2 LSB of 1/16
    emu[3, 0] -= 0.0625  # 1 LSB
    a = exact_agreement(emu, keras, lsb=1 / 16)
    assert (a.n_events, a.n_mismatched, a.n_differ_any) == (4, 2, 3)
    assert a.max_abs_diff == 0.125 and a.max_diff_lsb == 2.0 and a.worst_event == 2
    x = exact_agreement(emu, keras, lsb=None, float32_tolerance=False)  # exact reference: every difference counts
    assert (x.n_mismatched, x.n_differ_any, x.max_diff_lsb) == (3, 3, None)
    same = exact_agreement(keras, keras, lsb=0.5)
    assert (same.n_mismatched, same.n_differ_any, same.max_abs_diff, same.max_diff_lsb, same.worst_event) == (0, 0, 0.0, 0.0, None)
    # 1-d inputs are one output per event; a shape mismatch is refused
    assert exact_agreement(np.array([1.0, 2.0]), np.array([1.0, 2.5]), float32_tolerance=False).worst_event == 1
    with pytest.raises(ValueError, match=r"emulator output shape \(4, 2\) != Keras output shape \(4, 1\)"):
        exact_agreement(emu, keras[:, :1])
    assert exact_agreement(emu, keras).to_dict()["n_mismatched"] == 2


def test_score_correlation_by_hand():
    from emulation.agreement import score_correlation

    c = score_correlation(np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 4.0, 9.0, 100.0]))
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 4.0, 9.0, 100.0])
    da, db = a - a.mean(), b - b.mean()  # Pearson written out
    assert c["score_spearman"] == pytest.approx(1.0)
    assert c["score_pearson"] == pytest.approx((da @ db) / np.sqrt((da @ da) * (db @ db)), rel=1e-12)
    # Pearson by hand for a perfectly linear pair with a sign flip
    assert score_correlation(np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])) == pytest.approx(
        {"score_pearson": -1.0, "score_spearman": -1.0})


def test_correlation_of_float32_scores_is_computed_in_float64():
    from emulation.agreement import score_correlation

    # float32 scores are correlated in float64 (a float32 Pearson differs in the 8th digit)
    rng = np.random.default_rng(0)
    a = rng.normal(size=1000).astype(np.float32)
    b = (a + rng.normal(size=1000)).astype(np.float32)
    a64, b64 = a.astype(np.float64) - a.mean(dtype=np.float64), b.astype(np.float64) - b.mean(dtype=np.float64)
    assert score_correlation(a, b)["score_pearson"] == pytest.approx(
        (a64 @ b64) / np.sqrt((a64 @ a64) * (b64 @ b64)), rel=1e-13)


def test_exact_agreement_compares_in_float64():
    """Extended-precision (long double) outputs are rounded to float64 before the comparison: a difference
    below float64 resolution (2**-60 at 1.0) is no difference, on either side."""
    one = np.ones((3, 1))
    tiny = np.ones((3, 1), dtype=np.longdouble) + np.longdouble(2.0) ** -60
    if tiny[0, 0] == 1:
        pytest.skip("long double is float64 on this platform")
    for emu, ker in ((tiny, one), (one, tiny)):
        a = exact_agreement(emu, ker, float32_tolerance=False)
        assert (a.n_mismatched, a.n_differ_any, a.max_abs_diff, a.worst_event) == (0, 0, 0.0, None)


def test_exact_agreement_degenerate_shapes():
    """Events with no outputs: nothing differs, the largest difference is 0 (not an error); no events at all
    is refused (numpy cannot infer the per-event width of an empty array)."""
    z = np.zeros((2, 0))
    a = exact_agreement(z, z, lsb=0.25)
    assert (a.n_events, a.n_mismatched, a.n_differ_any, a.max_abs_diff, a.max_diff_lsb, a.worst_event) == (
        2, 0, 0, 0.0, 0.0, None)
    with pytest.raises(ValueError):
        exact_agreement(np.zeros((0, 1)), np.zeros((0, 1)))


def test_score_correlation_accepts_long_double_scores():
    """Scores are correlated in float64: long double inputs (on which scipy's p-value has no kernel) work."""
    a = np.array([1.0, 2.0, 3.0, 4.5])
    b = np.array([1.0, 4.0, 9.0, 100.3])
    want = score_correlation(a, b)
    da, db = a - a.mean(), b - b.mean()
    assert want["score_pearson"] == pytest.approx((da @ db) / np.sqrt((da @ da) * (db @ db)), rel=1e-12)
    for x, y in ((a.astype(np.longdouble), b), (a, b.astype(np.longdouble))):
        assert score_correlation(x, y) == pytest.approx(want, rel=1e-12)
