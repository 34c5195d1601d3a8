"""The contents of the golden test vectors, checked event by event against the selection rules."""

import numpy as np

from emulation.golden import limit_vectors, select_golden
from quantize.precision import Precision


def test_limit_vectors_by_hand():
    p = Precision(width=16, integer=6, signed=True)  # ap_fixed<16,6>: [-32, 32 - 2^-10]
    v = limit_vectors(3, p)
    hi, lo = 32 - 2.0**-10, -32.0
    assert (p.max, p.min) == (hi, lo)
    expected = [[0, 0, 0], [hi] * 3, [lo] * 3, [64] * 3, [-64] * 3, [hi, lo, hi],
                [hi, 0, 0], [lo, 0, 0], [0, hi, 0], [0, lo, 0], [0, 0, hi], [0, 0, lo]]
    np.testing.assert_array_equal(v, np.asarray(expected, np.float32))
    assert v.dtype == np.float32
    np.testing.assert_array_equal(limit_vectors(2, None)[:3], [[0, 0], [1, 1], [-1, -1]])


def test_select_golden_contents():
    rng = np.random.default_rng(3)
    xs = {"background": rng.normal(size=(1000, 4)).astype(np.float32), "sig": rng.normal(size=(80, 4)).astype(np.float32)}
    scores = {k: v[:, 0].astype(np.float64) * 10 + np.arange(len(v)) * 1e-6 for k, v in xs.items()}  # distinct
    g, counts = select_golden(xs, scores, None, seed=1, n_bulk=20, n_tail=5, n_signal=6)
    assert counts == {"background_random": 20, "background_top_score": 5, "sig_random": 3, "sig_top_score": 3,
                      "input_limits": 6 + 2 * 4}
    assert len(g) == sum(counts.values()) and g.dtype == np.float32
    # the top-score blocks are exactly the highest-scoring events, in descending order
    np.testing.assert_array_equal(g[20:25], xs["background"][np.argsort(scores["background"])[::-1][:5]])
    np.testing.assert_array_equal(g[28:31], xs["sig"][np.argsort(scores["sig"])[::-1][:3]])
    # the random blocks are distinct events of their own sample; the limits close the file
    bkg_rows = {r.tobytes() for r in xs["background"]}
    assert len({r.tobytes() for r in g[:20]}) == 20 and all(r.tobytes() in bkg_rows for r in g[:20])
    np.testing.assert_array_equal(g[-14:], limit_vectors(4, None))
    # seeded: the same selection again, another seed another one
    np.testing.assert_array_equal(select_golden(xs, scores, None, seed=1, n_bulk=20, n_tail=5, n_signal=6)[0], g)
    assert not np.array_equal(select_golden(xs, scores, None, seed=2, n_bulk=20, n_tail=5, n_signal=6)[0][:20], g[:20])
