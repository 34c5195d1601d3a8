"""hls4ml's distributed_arithmetic strategy (da4ml-generated dense layers, no multipliers): the C-simulation stays
bit-exact with the float64 Keras model; reuse factors other than 1 are refused up front."""

import numpy as np
import pytest


def test_da_needs_reuse_factor_1():
    from hls.config import HLSConfig, Strategy

    with pytest.raises(ValueError, match="distributed_arithmetic needs reuse factor 1"):
        HLSConfig(strategy=Strategy.parse("da"), reuse_factor=2)


@pytest.mark.slow
def test_da_csim_equals_float64_keras(small_vae, rng, adversarial_inputs, tmp_path):
    from emulation.csim import CSimEmulator
    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model
    from hls.config import HLSConfig, Strategy
    from hls.project import build_project
    from models.vae21 import deployable_model

    deploy = deployable_model(small_vae[0])
    project_dir, _, _ = build_project(deploy, HLSConfig(strategy=Strategy.DISTRIBUTED_ARITHMETIC), tmp_path / "da",
                                      {"model": "small-da"})
    firmware = "".join(p.read_text() for p in (project_dir / "firmware").rglob("*.h"))
    assert "distributed_arithmetic" in firmware  # the strategy reached the generated code
    x = adversarial_inputs(rng, 21)
    y_csim = CSimEmulator(project_dir).predict(x)[:, 0]
    y64 = float64_model(deploy).predict(x.astype(np.float64), batch_size=8192, verbose=0)[:, 0]
    assert np.count_nonzero(y_csim != y64) == 0
    assert np.count_nonzero(FastEmulator(deploy).predict(x)[:, 0] != y_csim) == 0
    assert np.unique(y_csim).size > 50
