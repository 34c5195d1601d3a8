"""Golden table of QKeras quantizer semantics and the Precision value type."""

import numpy as np
import pytest

from quantize.precision import Overflow, Precision, Rounding, out_of_range_np, quantize_np

# QKeras quantized_bits(bits, integer, keep_negative, symmetric) with alpha=1, from QKeras's formula
# step = 2**(integer - (bits - keep_negative)); codes clip to [keep_negative * (-m + symmetric), m - 1]
# with m = 2**(bits - keep_negative).
GOLDEN = [
    # bits, integer, keep_negative, symmetric, levels, step, min, max
    (6, 0, True, False, 64, 2**-5, -1.0, 1 - 2**-5),
    (8, 3, True, False, 256, 2**-4, -8.0, 8 - 2**-4),
    (6, 0, True, True, 63, 2**-5, -(1 - 2**-5), 1 - 2**-5),
    (4, 0, False, False, 16, 2**-4, 0.0, 1 - 2**-4),
    (16, 5, True, False, 2**16, 2**-10, -32.0, 32 - 2**-10),
    (2, 1, True, False, 4, 1.0, -2.0, 1.0),
    (4, 2, False, False, 16, 0.25, 0.0, 3.75),  # quantized_relu(4, 2)
]


@pytest.mark.parametrize("bits,integer,kn,sym,levels,step,lo,hi", GOLDEN)
def test_qkeras_golden(bits, integer, kn, sym, levels, step, lo, hi):
    p = Precision.from_qkeras(bits, integer, kn, sym)
    assert p.levels == levels
    assert p.step == step
    assert p.min == lo
    assert p.max == hi
    assert p.qkeras_args() == dict(bits=bits, integer=integer, keep_negative=kn, symmetric=sym)


def test_qkeras_rounding_half_to_even_and_saturation():
    p = Precision.from_qkeras(6, 0)  # step 1/32
    x = np.array([1 / 64, 3 / 64, -1 / 64, -3 / 64, 5.0, -5.0, 0.49 / 32])
    np.testing.assert_array_equal(quantize_np(x, p), [0.0, 2 / 32, 0.0, -2 / 32, 31 / 32, -1.0, 0.0])


def test_rounding_modes_and_wrap():
    x = np.array([0.5, 1.5, -0.5, 2.25])
    assert list(quantize_np(x, Precision(True, 8, 8, Rounding.TRN, Overflow.SAT))) == [0, 1, -1, 2]
    assert list(quantize_np(x, Precision(True, 8, 8, Rounding.RND, Overflow.SAT))) == [1, 2, 0, 2]
    assert list(quantize_np(x, Precision(True, 8, 8, Rounding.RND_CONV, Overflow.SAT))) == [0, 2, -0.0, 2]
    w = Precision(True, 4, 4, Rounding.TRN, Overflow.WRAP)  # [-8, 7]
    assert list(quantize_np(np.array([8.0, 9.0, -9.0]), w)) == [-8, -7, 7]


def test_out_of_range_counts_rounding():
    p = Precision.from_qkeras(6, 0)
    hi, lo = out_of_range_np(np.array([31 / 32 + 1 / 128, 31 / 32 + 1 / 64 + 1e-6, -1.0, -1.02]), p)
    assert list(hi) == [False, True, False, False]
    assert list(lo) == [False, False, False, True]


@pytest.mark.parametrize(
    "s,expected",
    [
        ("ap_fixed<16,6>", Precision(True, 16, 6, Rounding.TRN, Overflow.WRAP)),
        ("ap_ufixed<8,3,AP_RND,AP_SAT>", Precision(False, 8, 3, Rounding.RND, Overflow.SAT)),
        ("fixed<10, 4, RND_CONV, SAT_SYM>", Precision(True, 10, 4, Rounding.RND_CONV, Overflow.SAT_SYM)),
    ],
)
def test_parse_roundtrip(s, expected):
    p = Precision.parse(s)
    assert p == expected
    assert Precision.parse(p.to_ap()) == p


@pytest.mark.parametrize("bad", ["ap_fixed<16>", "int8", "ap_fixed<16,6,AP_FOO>", "ap_fixed<0,0>"])
def test_parse_errors(bad):
    with pytest.raises(ValueError):
        Precision.parse(bad)


def test_ap_strings_written_out():
    """The exact hls4ml type strings (lower-case ap_fixed / ap_ufixed, explicit modes), not only a round trip."""
    assert str(Precision.parse("ap_fixed<8,3>")) == "ap_fixed<8,3,AP_TRN,AP_WRAP>"
    assert Precision.parse("ufixed<6,2,RND,SAT>").to_ap() == "ap_ufixed<6,2,AP_RND,AP_SAT>"


def test_from_qkeras_defaults_and_limits():
    """quantized_bits(8) is integer=0 -> ap_fixed<8,1> with QKeras's round-half-to-even; the smallest legal widths."""
    assert Precision.from_qkeras(8) == Precision(True, 8, 1, Rounding.RND_CONV, Overflow.SAT)
    assert Precision.from_qkeras(8).rounding is Rounding.RND_CONV
    assert Precision.from_qkeras(2).levels == 4 and Precision.from_qkeras(1, keep_negative=False).levels == 2
    assert Precision(False, 1, 1).levels == 2  # a 1-bit unsigned type is legal: {0, 1}
    with pytest.raises(ValueError, match=r"^QKeras quantized_bits needs bits >= 2, got 1$"):
        Precision.from_qkeras(1)
    with pytest.raises(ValueError, match=r"^QKeras quantized_bits needs bits >= 1, got 0$"):
        Precision.from_qkeras(0, keep_negative=False)


def test_error_messages_name_the_problem():
    with pytest.raises(ValueError, match=r"^fixed-point width must be >= 1, got 0$"):
        Precision(False, 0, 0)
    with pytest.raises(ValueError, match=r"^a signed fixed-point type needs at least 2 bits \(sign \+ 1\)$"):
        Precision(True, 1, 1)
    with pytest.raises(ValueError, match=r"^unknown rounding mode 'AP_FOO'; choose one of \['TRN', 'RND', 'RND_CONV'\]$"):
        Rounding.parse("AP_FOO")
    with pytest.raises(ValueError, match=r"^unknown overflow mode 'SATX'; choose one of \['WRAP', 'SAT', 'SAT_SYM'\]$"):
        Overflow.parse("SATX")
    with pytest.raises(ValueError, match=r"^cannot parse precision 'int8': expected e\.g\. 'ap_fixed<16,6>'"):
        Precision.parse("int8")


def test_float32_inputs_are_quantized_in_float64():
    """A 32-bit type's largest code 2**31 - 1 is not a float32: float32 inputs must be handled in float64."""
    p = Precision(True, 32, 32, Rounding.TRN, Overflow.SAT)  # integers in [-2**31, 2**31 - 1]
    x = np.array([3.0e9, 2.0**31, 5.0], dtype=np.float32)
    q = quantize_np(x, p)
    assert q.dtype == np.float64 and list(q) == [2**31 - 1, 2**31 - 1, 5.0]
    hi, lo = out_of_range_np(x, p)
    assert list(hi) == [True, True, False] and not lo.any()


def test_out_of_range_uses_the_types_rounding():
    """1.9 at step 1/4: truncation gives 1.75 (= max, in range); round-to-nearest gives 2.0 (above max)."""
    x = np.array([1.9, -2.1])
    hi, lo = out_of_range_np(x, Precision(True, 4, 2, Rounding.TRN, Overflow.SAT))
    assert list(hi) == [False, False] and list(lo) == [False, True]  # floor(-8.4) = -9 -> -2.25 < -2
    hi, lo = out_of_range_np(x, Precision(True, 4, 2, Rounding.RND_CONV, Overflow.SAT))
    assert list(hi) == [True, False] and list(lo) == [False, False]  # rint(-8.4) = -8 -> -2.0 = min


@pytest.mark.parametrize("rounding", list(Rounding))
@pytest.mark.parametrize("signed,width,integer", [(True, 8, 3), (False, 10, 4), (True, 4, 2), (True, 24, 12),
                                                  (False, 3, 5), (True, 6, -1)])
def test_out_of_range_by_bounds_equals_rounding_every_value(rounding, signed, width, integer):
    """The bound comparison gives the masks of rounding every value then comparing, in float32 and float64, on
    values around both bounds including the exact ties (half steps) that each rounding mode breaks its own way."""
    from quantize.precision import out_of_range_rounded_np

    p = Precision(signed, width, integer, rounding, Overflow.SAT)
    rng = np.random.default_rng(width * 31 + integer)
    grid = np.concatenate([np.arange(-4, 4.5, 0.5) * p.step + b for b in (p.max, p.min)])
    nz = grid[grid != 0]  # (the reference's x / step underflows to -0 for the denormal next to 0)
    x = np.concatenate([grid, np.nextafter(nz, np.inf), np.nextafter(nz, -np.inf),
                        rng.uniform(p.min - 8 * p.step, p.max + 8 * p.step, 2000)])
    for arr in (x, x.astype(np.float32)):
        got, ref = out_of_range_np(arr, p), out_of_range_rounded_np(arr, p)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    assert out_of_range_np(x, p)[0].any() and out_of_range_np(x, p)[1].any()  # both sides are exercised
