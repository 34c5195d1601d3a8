"""Analytic HLS estimate on hand-computed small layers, and on the small VAE."""

import numpy as np
import pytest

from hls.config import HLSConfig, Strategy
from hls.estimate import LayerSpec, csd_digits, describe_model, estimate, estimate_layer


@pytest.mark.parametrize("code,digits", [(0, 0), (1, 1), (3, 2), (5, 2), (7, 2), (11, 3), (12, 2), (15, 2), (-5, 2), (85, 4)])
def test_csd_digits(code, digits):
    assert csd_digits(code) == digits


def _dense(in_w=8, w_w=6):
    # codes (weight_frac 4): [[12, 8], [0, 5]]: two multipliers (12 = 16 - 4, 5 = 4 + 1), one shift, one zero
    w = np.array([[0.75, 0.5], [0.0, 0.3125]])
    return LayerSpec("d", "dense", 2, in_width=in_w, weight_width=w_w, weight_frac=4, kernel=w, bias=np.array([0.0, 0.25]))


def test_dense_lut_multipliers_by_hand():
    e = estimate_layer(_dense(), Strategy.LATENCY, 1, 5.0)
    assert (e.n_mult, e.n_shift, e.DSP, e.BRAM) == (2, 1, 0, 0)
    # shift-add multipliers: (2-1)*(8+1) twice = 18; accumulator 8+6+1 = 15 bits; column terms 1 and 3 -> 2 adders
    assert e.LUT == 18 + 2 * 15
    assert e.adder_depth == 2
    # 2.0 ns multiplier + 2 x 1.0 ns adders = 4 ns over a usable 5 * 0.73 ns -> 2 cycles, + output register
    assert e.cycles == 3
    assert e.FF == 3 * 2 * 15


def test_dense_dsp_reuse_and_bram_by_hand():
    e = estimate_layer(_dense(12, 12), Strategy.LATENCY, 1, 5.0)
    assert e.DSP == 2 and e.LUT == 2 * (12 + 12 + 1)
    e2 = estimate_layer(_dense(12, 12), Strategy.RESOURCE, 2, 5.0)
    assert e2.DSP == 2  # hls4ml's multiplier_limit ceil(4 / 2) - 1 zero // 2 = 2 (the 2^-1 weight is no shift now)
    assert e2.cycles == 3 + 1 + 1 + 1  # DSP pipeline + adder cycle + register + (R - 1)
    assert e2.BRAM == 1  # ROM 2 deep x (4/2 * 12) bits fits one RAMB36
    assert estimate_layer(_dense(12, 12), Strategy.LATENCY, 2, 5.0).BRAM == 0


def test_quantizer_and_multiply_by_hand():
    q = estimate_layer(LayerSpec("r", "quant", 4, in_width=20, out_width=10, saturating=True, rounding=True, relu=True),
                       Strategy.LATENCY, 1, 5.0)
    assert (q.LUT, q.cycles, q.FF) == (80, 1, 40)
    cast = estimate_layer(LayerSpec("c", "quant", 4, out_width=10), Strategy.LATENCY, 1, 5.0)
    assert (cast.LUT, cast.cycles) == (0, 0)
    m = estimate_layer(LayerSpec("m", "multiply", 3, in_width=12, in2_width=12), Strategy.LATENCY, 1, 5.0)
    assert (m.DSP, m.LUT) == (3, 0)
    m8 = estimate_layer(LayerSpec("m", "multiply", 3, in_width=8, in2_width=8), Strategy.LATENCY, 1, 5.0)
    assert (m8.DSP, m8.LUT) == (0, 3 * 32)


def test_estimate_of_small_vae(small_vae):
    from models.vae21 import deployable_model

    deploy = deployable_model(small_vae[0])
    specs = describe_model(deploy)
    assert [s.kind for s in specs] == ["quant", "dense", "quant", "dense", "quant", "dense", "quant", "multiply", "dense"]
    est = estimate(specs, HLSConfig())
    d = est.to_dict()
    assert d["cycles"] == sum(l["cycles"] for l in d["layers"]) > 0
    assert d["ns"] == d["cycles"] * 5.0 and d["ii"] == 1
    k = np.asarray(deploy.get_layer("enc_dense1").qkernel) * 2.0**7
    codes = np.abs(np.rint(k).astype(int))
    expect = int(np.sum((codes != 0) & ((codes & (codes - 1)) != 0)))
    assert d["layers"][1]["n_mult"] == expect
    assert d["layers"][7]["DSP"] == 3  # mu (12 bits) squared: three 12x12 products on DSPs
    assert estimate(specs, HLSConfig(reuse_factor=2)).ii == 2


def test_layer_specs_file_round_trip(small_vae, tmp_path):
    """`resources` reads the estimate's inputs from model/estimate_layers.json: the same specs, the same estimate."""
    from hls.estimate import load_layer_specs, save_layer_specs
    from models.vae21 import deployable_model

    specs = describe_model(deployable_model(small_vae[0]))
    save_layer_specs(specs, tmp_path / "m" / "estimate_layers.json")
    back = load_layer_specs(tmp_path / "m" / "estimate_layers.json")
    assert [s.name for s in back] == [s.name for s in specs]
    for a, b in zip(specs, back):
        if a.kernel is not None:
            np.testing.assert_array_equal(a.kernel, b.kernel)
    assert estimate(back, HLSConfig()).to_dict() == estimate(specs, HLSConfig()).to_dict()
    (tmp_path / "bad.json").write_text('{"format": "x", "layers": []}')
    with pytest.raises(ValueError, match="expected 'estimate-layers-1'"):
        load_layer_specs(tmp_path / "bad.json")

def test_dense_reuse_uses_hls4ml_multiplier_limit():
    # 4x4 kernel, 4 zeros, 12 non-zero non-power-of-two weights (codes 3, weight_frac 2) on 12-bit DSP operands
    w = np.full((4, 4), 0.75)
    np.fill_diagonal(w, 0.0)
    spec = LayerSpec("d", "dense", 4, in_width=12, weight_width=12, weight_frac=2, kernel=w)
    dsp = {r: estimate_layer(spec, Strategy.LATENCY, r, 5.0).DSP for r in (1, 2, 4, 8, 16)}
    # R = 1: 12 constant multipliers; R > 1: ceil(16 / R) - 4 // R (hls4ml core_templates.py)
    assert dsp == {1: 12, 2: 6, 4: 3, 8: 2, 16: 1}
    cyc = {r: estimate_layer(spec, Strategy.LATENCY, r, 5.0).cycles for r in (1, 4)}
    assert cyc[4] - cyc[1] == 3


def test_per_layer_reuse_factors_set_ii_and_cycles():
    from hls.layer_settings import LayerSettings

    specs = [_dense(12, 12), LayerSpec("q", "quant", 2, in_width=25, out_width=8, saturating=True)]
    base = estimate(specs, HLSConfig())
    est = estimate(specs, HLSConfig(layers=(LayerSettings("d", reuse_factor=4),)))
    assert (base.ii, est.ii) == (1, 4) and est.cycles == base.cycles + 3


@pytest.mark.parametrize("kernel,lut,depth", [
    ([[1.0], [1.0]], 8, 1),  # x1 + x2 of two 8-bit inputs: one adder, 8 LUTs on the carry chain (da4ml's cost model)
    ([[1.0, 0.0], [0.0, 1.0]], 0, 0),  # wires only
    ([[3.0], [0.0]], 8, 1),  # 3x = x + (x << 1)
    ([[1.0], [1.0], [1.0], [1.0]], 25, 2),  # a two-level tree: 8 + 8 + 9 bits
])
def test_distributed_arithmetic_estimate_counts_the_adder_graph(kernel, lut, depth):
    """Under hls4ml's distributed_arithmetic strategy a dense layer is an adder graph: no DSP, no multiplier, LUTs
    one per adder bit, latency from the graph's depth (hand-counted adders on 8-bit inputs)."""
    k = np.array(kernel)
    spec = LayerSpec("d", "dense", n_out=k.shape[1], in_width=8, weight_width=3, weight_frac=0, kernel=k)
    e = estimate_layer(spec, Strategy.DISTRIBUTED_ARITHMETIC, 1, 5.0)
    assert (e.DSP, e.n_mult, e.LUT, e.adder_depth) == (0, 0, lut, depth)
    assert e.cycles == (1 if depth == 0 else 2)  # depth x T_ADD_NS = 1-2 ns fits one cycle, plus the output register
    lat = estimate_layer(spec, Strategy.LATENCY, 1, 5.0)
    assert lat.n_mult == int(np.count_nonzero(k == 3.0))  # the Latency model multiplies by 3, DA adds
