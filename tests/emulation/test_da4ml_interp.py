"""da4ml's interpreter (CombLogic.predict) as an emulator: bit-exact with the fast emulator and the float64 Keras
model on a da4ml-traceable (RND) model with per-element quantizers; an RND_CONV model is refused by name."""

import numpy as np
import pytest

from tests.models.test_l1_models import _l1_adversarial


@pytest.fixture(scope="module")
def hgq_deploy():
    from models import vae21 as v
    from tests.models.test_vae57_hgq import _small_hgq

    vae, _ = _small_hgq()
    return v.deployable_model(vae)


def test_da4ml_equals_fast_and_keras(hgq_deploy, rng, adversarial_inputs):
    from emulation.da4ml_interp import Da4mlEmulator
    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model
    from quantize.hgq_native import with_rounding
    from quantize.precision import Rounding

    m = with_rounding(hgq_deploy, Rounding.RND)  # the input port and mu round half to even in the original
    x = _l1_adversarial(rng, adversarial_inputs)
    y_da = Da4mlEmulator(m).predict(x)[:, 0]
    assert np.count_nonzero(y_da != FastEmulator(m).predict(x)[:, 0]) == 0
    y64 = float64_model(m).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    assert np.count_nonzero(y_da != y64) == 0
    assert np.unique(y_da).size > 50


def test_da4ml_refuses_rnd_conv(hgq_deploy):
    from emulation.da4ml_interp import Da4mlEmulator

    with pytest.raises(ValueError, match="'input_quant' rounds with RND_CONV"):
        Da4mlEmulator(hgq_deploy)
