"""Issue 21: a reuse-factor target resolved per dense layer (hls/reuse.py), the II budget, and a bit-exact C-sim
at reuse factors > 1 under both hls4ml strategies."""

import json
import re

import numpy as np
import pytest

from hls.config import HLSConfig, Strategy, valid_reuse_factors
from hls.layer_settings import LayerSettings
from hls.reuse import describe, resolve_layer, resolve_reuse, reuse_table

VAE21 = {"enc_dense1": (21, 32), "enc_dense2": (32, 16), "mu_dense": (16, 4), "score_sum": (4, 1)}


@pytest.mark.parametrize("shape", [(21, 32), (32, 16), (16, 4), (4, 1), (57, 32), (16, 3), (3, 1), (7, 5)])
def test_resolved_value_is_the_largest_valid_one_at_or_below_the_target(shape):
    valid = valid_reuse_factors(*shape)
    for target in range(1, 70):
        r = resolve_layer(target, *shape)
        assert r in valid and r <= target and not [v for v in valid if r < v <= target]


def test_resolution_keeps_explicit_values_is_idempotent_and_printed():
    cfg = HLSConfig(reuse_target=8, layers=(LayerSettings("mu_dense", reuse_factor=2),))
    res = resolve_reuse(cfg, VAE21)
    assert {ls.name: ls.reuse_factor for ls in res.layers} == {"enc_dense1": 7, "enc_dense2": 8, "mu_dense": 2,
                                                               "score_sum": 4}
    assert resolve_reuse(res, VAE21) == res and HLSConfig.from_dict(res.to_dict()) == res
    line = describe(res, VAE21)
    assert "enc_dense1 21x32 -> 7" in line and "score_sum 4x1 -> 4" in line and "mu_dense 16x4 -> 2" in line
    assert "enc_dense2" not in line  # took the target as is
    rows = {r["layer"]: r for r in reuse_table(res, VAE21)}
    assert rows["enc_dense1"]["multiplier_limit"] == 96 and rows["enc_dense1"]["valid_le_16"] == [1, 3, 7]
    assert resolve_reuse(HLSConfig(), VAE21) == HLSConfig()  # no target: nothing changes
    assert "reuse_target" not in HLSConfig().to_dict()  # hashes of configurations without a target unchanged


@pytest.mark.parametrize("kw,needle", [
    ({"reuse_target": 0}, "must be an integer >= 1"),
    ({"reuse_target": 4, "reuse_factor": 2}, "not both"),
    ({"reuse_target": 2, "strategy": Strategy.DISTRIBUTED_ARITHMETIC}, "distributed_arithmetic needs reuse factor 1"),
])
def test_bad_targets_are_refused(kw, needle):
    with pytest.raises(ValueError, match=needle):
        HLSConfig(**kw)


def test_ii_budget_is_the_bunch_crossing_spacing():
    from analysis.budgets import Budgets, evaluate_budgets

    def run(ii, clock=5.0):
        lat = {"hls_estimate": {"cycles": 9, "ns": 9 * clock, "ii": ii}}
        return evaluate_budgets(Budgets(latency_ns=None), lat, {})

    assert run(5)["passed"] and run(5)["ii_ns"]["sources"]["hls_estimate"]["value"] == 25.0
    b = run(8)  # R = 8 at 200 MHz: a new event every 40 ns cannot follow a 40 MHz bunch-crossing rate
    assert b["failed"] == ["ii_ns"] and b["ii_ns"]["limit"] == 25.0 and "40 MHz" in b["ii_ns"]["unit"]
    assert run(8, clock=3.0)["passed"]  # 24 ns
    assert evaluate_budgets(Budgets(latency_ns=None, ii_ns=None), {"hls_estimate": {"cycles": 9, "ns": 45, "ii": 8}},
                            {})["passed"]


# ---- C-sim at reuse factors > 1 (one small model, one build per strategy, ~15 s) ----------------------------
@pytest.fixture(scope="module")
def reuse_projects(tmp_path_factory, small_vae):
    from hls.project import build_project, dense_shapes
    from models.vae21 import deployable_model

    deploy = deployable_model(small_vae[0])
    shapes = dense_shapes(deploy)
    out = {}
    for strategy in (Strategy.LATENCY, Strategy.RESOURCE):
        cfg = resolve_reuse(HLSConfig(reuse_target=4, strategy=strategy), shapes)
        d, _, _ = build_project(deploy, cfg, tmp_path_factory.mktemp("rf") / strategy.value, {"model": "rf-test"})
        out[strategy] = (d, cfg)
    return deploy, shapes, out


@pytest.mark.slow
@pytest.mark.parametrize("strategy", [Strategy.LATENCY, Strategy.RESOURCE])
def test_csim_is_bit_exact_at_reuse_factors_above_one(reuse_projects, strategy, rng, adversarial_inputs):
    from emulation.agreement import exact_agreement
    from emulation.csim import CSimEmulator

    deploy, shapes, projects = reuse_projects
    d, cfg = projects[strategy]
    rfs = {n: cfg.reuse_factor_of(n) for n in shapes}
    assert max(rfs.values()) > 1 and rfs != {n: 4 for n in shapes}  # some layers moved off the target
    md = json.loads((d / "metadata.json").read_text())
    assert {x["name"]: x["ReuseFactor"] for x in md["hls"]["layers"]} == rfs and md["hls"]["reuse_target"] == 4
    params = (d / "firmware" / "parameters.h").read_text()  # what hls4ml wrote: no silent replacement
    written = sorted(int(x) for x in re.findall(r"reuse_factor = (\d+);", params))
    for r in rfs.values():
        assert written.count(r) >= list(rfs.values()).count(r)
    x = adversarial_inputs(rng, deploy.inputs[0].shape[-1])
    y_csim = CSimEmulator(d).predict(x)
    y_keras = deploy.predict(x, batch_size=4096, verbose=0)
    assert exact_agreement(y_csim, y_keras).n_mismatched == 0
    np.testing.assert_array_equal(y_csim, y_keras.astype(np.float64))
