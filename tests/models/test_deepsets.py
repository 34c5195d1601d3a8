"""models/deepsets.py: hls4ml io_parallel bit-exactness (pointwise dense, pooling, EFN pT weighting), permutation
invariance, the EFN's IRC safety in float, and ``build_hls.py --model deepsets`` end to end on tiny sizes."""

import json

import numpy as np
import pytest

from data.jets import N_CONST, generate_jets
from models.deepsets import PORT_SCALE, DeepSetsConfig, Variant, build_model, float_view


def _random_model(variant: Variant, seed: int = 0):
    m = build_model(DeepSetsConfig(variant=variant), name=variant.value)
    rng = np.random.default_rng(seed)
    for layer in m.layers:
        if getattr(layer, "kernel", None) is not None and layer.trainable:
            k = rng.normal(0, 0.5, layer.kernel.shape).astype(np.float32)
            layer.kernel.assign(k if layer.kernel_constraint is None else layer.kernel_constraint(k))  # as training
            if layer.bias is not None:
                layer.bias.assign(rng.normal(0, 0.2, layer.bias.shape).astype(np.float32))
    return m


def _jets(n: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (np.concatenate([generate_jets(k, n, rng) for k in ("qcd", "w", "top", "tau")]) * PORT_SCALE)


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(Variant))
def test_hls4ml_csim_bit_exact(tmp_path, variant):
    import hls4ml

    from emulation.keras_ref import float64_model

    m = _random_model(variant)
    x = _jets(200).astype(np.float32)
    m64 = float64_model(m)
    assert m64 is not None
    y = np.asarray(m64(x.astype(np.float64)), np.float64)
    c = hls4ml.utils.config_from_keras_model(m, granularity="name", backend="Vitis")
    hm = hls4ml.converters.convert_from_keras_model(m, hls_config=c, output_dir=str(tmp_path / "prj"),
                                                    backend="Vitis", io_type="io_parallel")
    classes = {layer.name: layer.class_name for layer in hm.get_layers()}
    assert classes["phi1"] == "PointwiseConv1D" and classes["pool"] == "GlobalPooling1D"
    hm.compile()
    y_c = hm.predict(np.ascontiguousarray(x.reshape(len(x), -1), np.float64)).reshape(y.shape)
    assert np.count_nonzero(y_c != y) == 0 and np.std(y) > 0


@pytest.mark.parametrize("variant", list(Variant))
def test_permutation_invariant_and_padding_inert(variant):
    m = _random_model(variant, seed=2)
    x = _jets(50, seed=3).astype(np.float32)
    y = np.asarray(m(x))
    perm = np.random.default_rng(4).permutation(N_CONST)
    np.testing.assert_array_equal(np.asarray(m(x[:, perm])), y)  # quantized sums are exact: bit-identical


def test_efn_is_irc_safe_in_float():
    fv = float_view(_random_model(Variant.EFN, seed=5), DeepSetsConfig(variant=Variant.EFN))
    x = _jets(50, seed=6).astype(np.float64)
    x = x[np.sum(x[:, :, 0] > 0, axis=1) < N_CONST - 1]  # a free slot for the added / split constituent
    k = np.sum(x[:, :, 0] > 0, axis=1)
    y = np.asarray(fv(x), np.float64)
    soft = x.copy()  # infrared: a zero-pT constituent at arbitrary angles and type
    soft[np.arange(len(x)), k, 1:] = (0.3, -0.2, 0.5)
    np.testing.assert_allclose(np.asarray(fv(soft)), y, rtol=1e-5, atol=1e-6)
    split = x.copy()  # collinear: the leading constituent split 30/70 at the same angles
    split[np.arange(len(x)), k] = split[:, 0]
    split[:, 0, 0] *= 0.3
    split[np.arange(len(x)), k, 0] *= 0.7
    np.testing.assert_allclose(np.asarray(fv(split)), y, rtol=1e-5, atol=1e-6)
    ds = float_view(_random_model(Variant.DEEPSETS, seed=5), DeepSetsConfig())  # the plain Deep Sets is not
    assert np.max(np.abs(np.asarray(ds(split)) - np.asarray(ds(x)))) > 1e-3


@pytest.mark.slow
def test_cli_deepsets_end_to_end(tmp_path):
    import build_hls

    out = tmp_path / "ds"
    rc = build_hls.main(["--model", "deepsets", "--output", str(out), "--cache-dir", str(tmp_path / "cache"),
                         "--n-train", "3000", "--n-test-bkg", "10300", "--n-signal", "300", "--epochs", "3",
                         "--min-spearman", "0.5", "--no-rtl"])  # the RTL default: test_cicada.py's CLI test
    rep = json.loads((out / "report" / "report.json").read_text())
    assert rc == 0 and rep["model"] == "deepsets"
    assert rep["agreement"]["emulator_vs_keras"]["n_mismatched"] == 0
    assert rep["agreement"]["emulator_vs_keras"]["n_events"] == 10300 + 3 * 300
    assert {w["name"] for w in rep["working_points"]} == {"mistag_1pct", "mistag_10pct", "mistag_0.1pct"}
    assert set(rep["signals"]) == {"w", "top", "tau"}
    assert rep["signals"]["top"]["auc_emulator"] > 0.8
    assert rep["emulator"]["name"] == "fast" and "fast_emulator_fallback" not in rep["agreement"]  # pooling lowered
    assert build_hls.main(["check", str(out)]) == 0
