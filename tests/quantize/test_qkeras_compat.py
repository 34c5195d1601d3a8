"""The hgq2 quantizers built by quantize.qkeras reproduce QKeras semantics exactly (vs the numpy reference)."""

import numpy as np
import pytest

from quantize.precision import Precision, quantize_np

keras = pytest.importorskip("keras")


@pytest.mark.parametrize(
    "bits,integer,kn,sym",
    [(6, 0, True, False), (8, 3, True, False), (6, 0, True, True), (4, 0, False, False), (10, 4, False, False),
     (16, 5, True, False), (3, 0, True, True)],
)
def test_layer_matches_reference(bits, integer, kn, sym):
    from qkeras.qlayers import QActivation

    from quantize.qkeras import precision_of_quantizer_layer, qkeras_quantized_bits

    p = Precision.from_qkeras(bits, integer, kn, sym)
    rng = np.random.default_rng(1)
    x = np.concatenate([
        rng.normal(0, 2.0 ** integer, 20000),
        np.arange(-2 * 2**integer, 2 * 2**integer, p.step / 2),  # every half-step: exercises ties
    ]).astype(np.float32)
    layer = QActivation(qkeras_quantized_bits(bits, integer, symmetric=sym, keep_negative=kn))
    y = np.asarray(layer(x[None, :]))[0]
    np.testing.assert_array_equal(y, quantize_np(x, p).astype(np.float32))
    assert len(np.unique(y[np.abs(x) < 4 * 2**integer])) == p.levels
    assert precision_of_quantizer_layer(layer) == p


def test_hgq_compat_differs_from_qkeras_by_one_bit():
    """Documents why quantize/ exists: hgq2's compat quantized_bits(6, 0) has step 2**-6, QKeras's 2**-5."""
    from qkeras.qlayers import QActivation
    from qkeras.quantizers import quantized_bits

    from quantize.qkeras import qkeras_quantized_bits

    x = np.linspace(-1, 1, 4001, dtype=np.float32)[None, :]
    raw = np.unique(np.asarray(QActivation(quantized_bits(6, 0, alpha=1))(x)))
    ours = np.unique(np.asarray(QActivation(qkeras_quantized_bits(6, 0))(x)))
    assert len(raw) == 128 and len(ours) == 64


def test_unsupported_alpha():
    from quantize.qkeras import qkeras_quantized_bits

    with pytest.raises(ValueError, match="alpha"):
        qkeras_quantized_bits(8, 0, alpha="auto_po2")
