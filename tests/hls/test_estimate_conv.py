"""The analytic estimate of kernels applied at several positions (Conv2D output pixels, Deep Sets' per-particle
Dense) and of global average pooling, by hand; and describe_model on the cicada student and the Deep Sets / EFN
taggers (untrained, seeded: no build).  About 5 s (Keras model construction)."""

import math
from dataclasses import replace

import numpy as np
import pytest

from hls.config import HLSConfig, Strategy
from hls.estimate import LayerSpec, describe_model, estimate, estimate_layer, load_layer_specs, save_layer_specs


def _dense(n_pos=1):
    w = np.array([[0.75, 0.5], [0.0, 0.3125]])  # tests/hls/test_estimate.py: 2 multipliers, 1 shift, 48 LUT at R = 1
    return LayerSpec("d", "dense", 2, in_width=8, weight_width=6, weight_frac=4, kernel=w, bias=np.array([0.0, 0.25]),
                     n_pos=n_pos)


@pytest.mark.parametrize("reuse", [1, 2])
def test_positions_multiply_resources_not_latency(reuse):
    one = estimate_layer(_dense(), Strategy.LATENCY, reuse, 5.0)
    many = estimate_layer(_dense(48), Strategy.LATENCY, reuse, 5.0)
    assert (many.LUT, many.FF, many.DSP, many.n_mult, many.n_shift) == (48 * one.LUT, 48 * one.FF, 48 * one.DSP,
                                                                       96, 48)
    assert many.cycles == one.cycles and many.adder_depth == one.adder_depth
    if reuse == 1:
        assert one.LUT == 48


def test_pool_by_hand():
    e = estimate_layer(LayerSpec("p", "pool", 16, in_width=10, n_pos=16), Strategy.LATENCY, 1, 5.0)
    # 15 adders of 10 + 4 bits per channel, depth 4 x 1 ns over a usable 3.65 ns -> 2 cycles + output register
    assert (e.LUT, e.cycles, e.adder_depth, e.DSP) == (16 * 15 * 14, 3, 4, 0) and e.FF == 3 * 16 * 14
    assert "a shift" in e.notes
    assert "constant multiplier" in estimate_layer(LayerSpec("p", "pool", 2, in_width=8, n_pos=10),
                                                   Strategy.LATENCY, 1, 5.0).notes


def test_specs_round_trip_positions(tmp_path):
    specs = [_dense(16), LayerSpec("p", "pool", 2, in_width=8, n_pos=16)]
    save_layer_specs(specs, tmp_path / "s.json")
    back = load_layer_specs(tmp_path / "s.json")
    assert [s.n_pos for s in back] == [16, 16] and np.array_equal(back[0].kernel, specs[0].kernel)


def test_cicada_student_conv_is_per_pixel():
    from models.cicada import build_student, dense_shapes_for_build

    from flow.config import BuildConfig

    m = build_student()
    specs = {s.name: s for s in describe_model(m)}
    conv = specs["conv"]
    assert conv.kind == "dense" and conv.n_pos == 8 * 6 and conv.kernel.shape == (9, 4) and conv.in_width == 10
    assert specs["dense"].n_pos == 1 and specs["dense"].kernel.shape == (192, 16)
    assert specs["conv_relu"].n_out == 8 * 6 * 4  # the ReLU sees every pixel's filters
    ref = estimate_layer(replace(conv, n_pos=1), Strategy.LATENCY, 1, 6.25)
    est = estimate(list(specs.values()), HLSConfig(clock_period_ns=6.25)).to_dict()
    got = next(l for l in est["layers"] if l["name"] == "conv")
    assert got["LUT"] == 48 * ref.LUT and got["cycles"] == ref.cycles
    # the shapes the sweep validates reuse factors with are the model's (hls.project.dense_shapes)
    from hls.project import dense_shapes

    assert dense_shapes(m) == dense_shapes_for_build(BuildConfig(model="cicada"))


@pytest.mark.parametrize("variant", ["deepsets", "efn"])
def test_deepsets_per_particle_dense_and_pool(variant):
    from flow.config import BuildConfig
    from hls.project import dense_shapes
    from models.deepsets import DeepSetsConfig, Variant, build_model, dense_shapes as ds_shapes

    mc = DeepSetsConfig(variant=Variant(variant))
    m = build_model(mc)
    specs = {s.name: s for s in describe_model(m)}
    assert specs["phi1"].n_pos == 16 and specs["phi1"].kernel.shape == (4, 32) and specs["head1"].n_pos == 1
    pool = specs["pool"]
    assert pool.kind == "pool" and pool.n_pos == 16 and pool.n_out == mc.phi[-1]
    est = estimate(list(specs.values()), HLSConfig(reuse_factor=1)).to_dict()
    assert est["cycles"] == sum(l["cycles"] for l in est["layers"]) and est["LUT"] > 0
    assert dense_shapes(m) == ds_shapes(mc)
    from models.registry import get_family

    assert get_family(variant).layer_shapes(BuildConfig(model=variant)) == ds_shapes(mc)


def test_precision_reaches_the_families_and_bad_values_are_refused():
    from flow.config import BuildConfig
    from models.cicada import student_bits
    from models.deepsets import config_from_build

    assert student_bits(BuildConfig(model="cicada", precision_bits=6)) == (6, (6, 4))
    mc = config_from_build(BuildConfig(model="deepsets", precision_bits=9))
    assert mc.weight_bits == (9, 1) and mc.act_bits == (9, 6)
    with pytest.raises(ValueError, match="at least 7 bits"):
        config_from_build(BuildConfig(model="deepsets", precision_bits=6))
    with pytest.raises(ValueError, match="at least 5 bits"):
        student_bits(BuildConfig(model="cicada", precision_bits=4))
    with pytest.raises(ValueError, match="only qat"):
        config_from_build(BuildConfig(model="deepsets", quant_mode="ptq"))
    assert math.isclose(BuildConfig(model="cicada").hls.clock_period_ns, 6.25)
