"""The RND-rounding native-HGQ2 copy of a QKeras-API deployable model (the da4ml/RTL variant)."""

import numpy as np
import pytest

from quantize.precision import Overflow, Rounding
from quantize.qkeras import precision_of_quantizer_layer


@pytest.mark.slow  # one hls4ml compile (the C-simulation is the exact reference)
def test_variant_keeps_types_and_weights_changes_only_rounding(small_vae, rng, adversarial_inputs, tmp_path):
    from emulation.csim import CSimEmulator
    from emulation.keras_ref import float64_model
    from hls.config import HLSConfig
    from hls.project import build_project
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
    y_var = np.asarray(float64_model(var).predict(x.astype(np.float64), verbose=0, batch_size=4096), np.float64)
    # the variant is exactly the fixed-point arithmetic with RND rounding: bit-equal (no ulp slack) to an
    # independent exact reference, the hls4ml C-simulation of the variant (AP_RND)
    project_dir, _, _ = build_project(var, HLSConfig(), tmp_path / "rnd", {"model": "rnd-variant-test"})
    y_ref = CSimEmulator(project_dir).predict(x)
    np.testing.assert_array_equal(y_ref.reshape(y_var.shape), y_var)
    # ...and differs from the RND_CONV original (ties exist among these inputs), by construction only there
    y_orig = np.asarray(float64_model(deploy).predict(x.astype(np.float64), verbose=0, batch_size=4096), np.float64)
    assert 0 < np.count_nonzero(y_orig != y_var) < len(x) // 2


def test_unsupported_layer_is_named():
    import keras

    from quantize.hgq_native import with_rounding

    inp = keras.Input((3,))
    m = keras.Model(inp, keras.layers.Dense(2, name="plain")(inp))
    with pytest.raises(ValueError, match="layer 'plain' of class Dense cannot be converted"):
        with_rounding(m)
