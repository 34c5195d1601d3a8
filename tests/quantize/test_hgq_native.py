"""The RND-rounding native-HGQ2 copy of a QKeras-API deployable model (the da4ml/RTL variant)."""

import numpy as np
import pytest

from quantize.precision import Overflow, Rounding
from quantize.qkeras import precision_of_quantizer_layer


def test_variant_keeps_types_and_weights_changes_only_rounding(small_vae, rng, adversarial_inputs):
    from emulation.fast import FastEmulator
    from models.vae21 import deployable_model
    from quantize.hgq_native import input_precision, with_rounding

    deploy = deployable_model(small_vae[0])
    var = with_rounding(deploy, Rounding.RND)
    for a, b in zip(deploy.layers, var.layers):
        assert a.name == b.name
        pa, pb = precision_of_quantizer_layer(a), precision_of_quantizer_layer(b)
        if pa is not None:
            assert (pb.signed, pb.width, pb.integer, pb.overflow) == (pa.signed, pa.width, pa.integer, pa.overflow)
            assert pa.rounding is Rounding.RND_CONV and pb.rounding is Rounding.RND
        if hasattr(a, "qkernel"):
            np.testing.assert_array_equal(np.asarray(b.qkernel), np.asarray(a.qkernel))
    assert input_precision(var).overflow is Overflow.SAT
    x = adversarial_inputs(rng, 21)
    y_var = var.predict(x, verbose=0, batch_size=4096).astype(np.float64)
    # the variant is exactly the fixed-point arithmetic with RND rounding (numpy reference of the fast emulator)
    y_ref = FastEmulator(var).predict(x)
    tol = np.spacing(np.abs(y_var).astype(np.float32))
    assert np.all(np.abs(y_ref - y_var) <= tol)
    # ...and differs from the RND_CONV original (ties exist among these inputs), by construction only there
    y_orig = FastEmulator(deploy).predict(x)
    assert 0 < np.count_nonzero(y_orig != y_ref) < len(x) // 2


def test_unsupported_layer_is_named():
    import keras

    from quantize.hgq_native import with_rounding

    inp = keras.Input((3,))
    m = keras.Model(inp, keras.layers.Dense(2, name="plain")(inp))
    with pytest.raises(ValueError, match="layer 'plain' of class Dense cannot be converted"):
        with_rounding(m)
