"""Import of legacy QKeras / Keras 2 files: QKeras formulas, file layouts, numpy-reference agreement, errors, and
the CLI end to end (JSON + H5 weights with a softmax classifier; a full-model H5 CNN with an inserted input
quantizer).  Model files are written by the tests from the committed configs in ``fixtures/`` (Keras 2 layout)."""

import json

import h5py
import numpy as np
import pytest

from keras2_files import (FIXTURES, classifier_reference, classifier_weights, cnn_reference, cnn_weights, qk_bits,
                          qk_relu, softmax, write_full_h5, write_json_and_weights)


# ---- quantizer formulas ---------------------------------------------------------------------------
def test_qkeras_formulas_golden():
    from quantize.legacy_qkeras import parse_quantizer

    x = np.array([0.3, -0.3, 0.9, -1.2, 0.0625, -0.0625, 0.1875, 0.0])
    qb = parse_quantizer({"class_name": "quantized_bits", "config": {"bits": 4, "integer": 0, "alpha": 1}})
    # step 2**-3 (QKeras counts the sign in bits), range [-1, 0.875], ties to even
    np.testing.assert_array_equal(qb.apply_np(x), [0.25, -0.25, 0.875, -1.0, 0.0, -0.0, 0.25, 0.0])
    qs = parse_quantizer("quantized_bits(4,0,1)")
    assert qs.apply_np(np.array([-1.2]))[0] == -0.875  # symmetric drops the most negative code
    qr = parse_quantizer("quantized_relu(3,1)")  # step 0.25, range [0, 1.75]
    np.testing.assert_array_equal(qr.apply_np(np.array([0.375, 5.0, -1.0, 0.125])), [0.5, 1.75, 0.0, 0.0])
    qp = parse_quantizer({"class_name": "quantized_po2", "config": {"bits": 4, "max_value": 1}})
    # exponents in [-8, 7], |x| clipped to max_value, 0 -> +2**min_exp as in QKeras
    np.testing.assert_array_equal(qp.apply_np(np.array([0.3, -0.7, 3.0, 0.0, 1e-4])), [0.25, -0.5, 1.0, 2.0**-8, 2.0**-8])
    qrp = parse_quantizer("quantized_relu_po2(6, quadratic_approximation=True)")
    assert qrp.apply_np(np.array([3.0]))[0] == 4.0  # sqrt(3) -> 2**1, doubled exponent


@pytest.mark.parametrize("spec", ["quantized_bits(6,0,alpha=1)", "quantized_bits(8,3)", "quantized_bits(8,2,1)",
                                  "quantized_bits(5,1,keep_negative=False)", "quantized_relu(6,2)", "quantized_relu(4)"])
def test_fixed_point_quantizers_equal_hgq2_layers(spec, rng):
    """numpy QKeras formula == fixed-point reference == the hgq2 layer the importer builds (incl. exact ties)."""
    import keras
    from qkeras.qlayers import QActivation

    from quantize.legacy_qkeras import parse_quantizer
    from quantize.precision import quantize_np

    q = parse_quantizer(spec)
    p = q.precision()
    x = np.concatenate([rng.normal(0, 4, 3000), (np.arange(-600, 600) + 0.5) * p.step, [p.max * 3, p.min * 3 - 1]])
    x = x.astype(np.float32)
    ref = q.apply_np(x)
    np.testing.assert_array_equal(ref, quantize_np(x, p))
    inp = keras.Input((1,))
    m = keras.Model(inp, QActivation(q.hgq_config())(inp))
    np.testing.assert_array_equal(m.predict(x[:, None], verbose=0)[:, 0], ref)


def test_string_and_dict_forms_agree():
    from quantize.legacy_qkeras import parse_quantizer

    a = parse_quantizer("quantized_bits(8,1,1,alpha=1)")
    b = parse_quantizer({"class_name": "quantized_bits", "config": {"bits": 8, "integer": 1, "symmetric": 1, "alpha": 1,
                                                                     "keep_negative": True, "qnoise_factor": 1.0}})
    assert a == b and a.precision().to_ap() == "ap_fixed<8,2,AP_RND_CONV,AP_SAT_SYM>"


@pytest.mark.parametrize("spec,msg", [
    ({"class_name": "quantized_bits", "config": {"bits": 8, "integer": 0, "alpha": "auto_po2"}}, "alpha='auto_po2'"),
    ("binary()", "quantizer 'binary' is not supported"),
    ("quantized_bits(8,0,use_stochastic_rounding=True)", "use_stochastic_rounding"),
    ("quantized_relu(8,0,1)", "use_sigmoid"),
    ("quantized_bits(8, foo)", "literal"),
])
def test_unsupported_quantizers(spec, msg):
    from quantize.legacy_qkeras import UnsupportedQuantizer, parse_quantizer

    with pytest.raises(UnsupportedQuantizer, match=msg.replace("(", r"\(").replace(")", r"\)")):
        parse_quantizer(spec, "somewhere")


# ---- import == numpy reference --------------------------------------------------------------------
@pytest.fixture(scope="module")
def classifier_files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("legacy_cls")
    w = classifier_weights()
    js, wp = write_json_and_weights(tmp, "qkeras_classifier.json", w)
    full = write_full_h5(tmp, "qkeras_classifier.json", w)
    return tmp, w, js, wp, full


def test_classifier_json_and_full_h5_match_numpy_reference(classifier_files):
    from models.legacy_import import load_legacy

    _, w, js, wp, full = classifier_files
    x = np.random.default_rng(5).normal(0, 3, (3000, 16)).astype(np.float32)
    z_ref, s_ref = classifier_reference(x, w)
    for im in (load_legacy(js, wp), load_legacy(full)):
        assert im.ends_in_softmax and im.inserted_input_quantizer is None
        z = im.logits.predict(x, verbose=0)
        np.testing.assert_array_equal(z, z_ref)  # fixed-point logits: exact
        np.testing.assert_allclose(im.model.predict(x, verbose=0), s_ref, atol=1e-6)
        # float view: same weights, quantizers off (relu kept where QKeras had quantized_relu)
        fv = im.logits_float_view.predict(x, verbose=0)
        h = np.maximum(x @ w["fc1"]["kernel"] + w["fc1"]["bias"], 0)
        h = np.maximum(h @ w["fc2"]["kernel"] + w["fc2"]["bias"], 0)
        np.testing.assert_allclose(fv, h @ w["fc3"]["kernel"] + w["fc3"]["bias"], rtol=1e-4, atol=1e-4)
    assert [l["class"] for l in im.layers] == ["InputLayer", "QActivation", "QDense", "QActivation", "QDense",
                                               "QActivation", "Dropout", "QDense", "Activation"]


def test_cnn_sequential_with_inserted_input_quantizer(tmp_path):
    from models.legacy_import import load_legacy
    from quantize.precision import Precision, quantize_np

    w = cnn_weights()
    js, wp = write_json_and_weights(tmp_path, "qkeras_cnn_sequential.json", w)
    x = np.random.default_rng(6).normal(0, 2, (2000, 6, 6, 1)).astype(np.float32)
    im = load_legacy(js, wp, data=x)
    iq = im.inserted_input_quantizer
    assert iq is not None and "data range" in iq["source"]
    p = Precision.parse(iq["precision"])
    assert p.width == 16 and p.max >= np.abs(x).max()
    y = im.model.predict(x, verbose=0)
    np.testing.assert_allclose(y, cnn_reference(x, w, lambda v: quantize_np(v, p)), atol=1e-6)
    im2 = load_legacy(js, wp, input_precision="ap_fixed<12,4>")
    assert im2.inserted_input_quantizer["precision"] == "ap_fixed<12,4,AP_RND_CONV,AP_SAT>"
    assert im2.inserted_input_quantizer["source"] == "--input-precision"


def _layer(cls, name, inbound, **cfg):
    return {"class_name": cls, "config": {"name": name, "trainable": True, "dtype": "float32", **cfg}, "name": name,
            "inbound_nodes": [[[i, 0, 0, {}]] for i in inbound][:1] if inbound else []}


def _float_functional_files(tmp_path):
    """Keras 2 functional float model: Reshape, Conv1D, BatchNormalization, ReLU, AveragePooling1D, Flatten, Dense,
    Softmax layer (written in the Keras 2 layout)."""
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 16], "dtype": "float32", "sparse": False,
                                                "ragged": False, "name": "in"}, "name": "in", "inbound_nodes": []},
        _layer("Reshape", "rs", ["in"], target_shape=[8, 2]),
        _layer("Conv1D", "c1", ["rs"], filters=3, kernel_size=[3], strides=[1], padding="valid",
               data_format="channels_last", dilation_rate=[1], groups=1, activation="linear", use_bias=True),
        _layer("BatchNormalization", "bn", ["c1"], axis=[2], momentum=0.99, epsilon=0.001, center=True, scale=True),
        _layer("ReLU", "r", ["bn"], max_value=None, negative_slope=0.0, threshold=0.0),
        _layer("AveragePooling1D", "ap", ["r"], pool_size=[2], strides=[2], padding="valid", data_format="channels_last"),
        _layer("Flatten", "fl", ["ap"], data_format="channels_last"),
        _layer("Dense", "d", ["fl"], units=4, activation="linear", use_bias=True),
        _layer("Softmax", "sm", ["d"], axis=-1),
    ]
    cfg = {"class_name": "Functional", "config": {"name": "f", "layers": layers, "input_layers": [["in", 0, 0]],
                                                  "output_layers": [["sm", 0, 0]]}, "keras_version": "2.9.0",
           "backend": "tensorflow"}
    r = np.random.default_rng(8)
    w = {"c1": {"kernel": r.normal(0, 0.5, (3, 2, 3)), "bias": r.normal(0, 0.2, 3)},
         "bn": {"gamma": r.uniform(0.5, 1.5, 3), "beta": r.normal(0, 0.3, 3), "moving_mean": r.normal(0, 0.3, 3),
                "moving_variance": r.uniform(0.5, 2, 3)},
         "d": {"kernel": r.normal(0, 0.5, (9, 4)), "bias": r.normal(0, 0.2, 4)}}
    (tmp_path / "f.json").write_text(json.dumps(cfg))
    from keras2_files import _write_groups

    with h5py.File(tmp_path / "fw.h5", "w") as f:
        _write_groups(f, [l["name"] for l in layers], w)
    return tmp_path / "f.json", tmp_path / "fw.h5", w


def _float_reference(x, w):
    h = x.reshape(-1, 8, 2).astype(np.float64)
    k = w["c1"]["kernel"].astype(np.float32)
    c = np.stack([np.einsum("nkc,kcf->nf", h[:, i:i + 3], k) for i in range(6)], axis=1) + w["c1"]["bias"].astype(np.float32)
    bn = {kk: v.astype(np.float32) for kk, v in w["bn"].items()}
    c = (c - bn["moving_mean"]) / np.sqrt(bn["moving_variance"] + 1e-3) * bn["gamma"] + bn["beta"]
    c = np.maximum(c, 0).reshape(-1, 3, 2, 3).mean(axis=2).reshape(-1, 9)
    return c @ w["d"]["kernel"].astype(np.float32) + w["d"]["bias"].astype(np.float32)


def test_float_functional_model_ptq(tmp_path):
    """Float model: BN folded into the conv, post-training quantizers from the data profile; the float view equals
    the numpy float reference and the quantized model stays within its quantization error."""
    from models.legacy_import import load_legacy

    js, wp, w = _float_functional_files(tmp_path)
    x = (np.round(np.random.default_rng(9).normal(0, 2, (500, 16)) * 64) / 64).astype(np.float32)
    im = load_legacy(js, wp, input_precision="ap_fixed<16,6>", data=x, ptq_bits=12)
    assert im.ends_in_softmax and im.inserted_input_quantizer["source"] == "--input-precision"
    z = _float_reference(x, w)
    np.testing.assert_allclose(im.logits_float_view.predict(x, verbose=0), z, rtol=1e-5, atol=1e-5)
    zq = im.logits.predict(x, verbose=0)
    assert 0 < np.abs(zq - z).max() < 0.05
    by = {l["name"]: l for l in im.layers}
    assert "bn" not in by and by["c1"]["folded_batchnorm"] == "bn"
    assert by["c1"]["ptq"]["kernel"].startswith("ap_fixed<12,") and by["ap"]["ptq"]["out"].startswith("ap_ufixed<12,")
    assert im.summary()["float_model_ptq_bits"] == 12
    np.testing.assert_allclose(im.model.predict(x, verbose=0), softmax(zq), atol=1e-6)


def test_old_sequential_layout_without_input_layer(tmp_path):
    """Keras <= 2.2 Sequential: ``config`` is the list of layers, the first one carries batch_input_shape."""
    from models.legacy_import import load_legacy

    cfg = {"class_name": "Sequential", "keras_version": "2.2.4", "backend": "tensorflow", "config": [
        {"class_name": "Dense", "config": {"name": "d1", "units": 3, "activation": "relu", "use_bias": True,
                                           "batch_input_shape": [None, 4], "dtype": "float32"}},
        {"class_name": "Dropout", "config": {"name": "dr", "rate": 0.1}},
        {"class_name": "Dense", "config": {"name": "d2", "units": 2, "activation": "linear", "use_bias": False}}]}
    (tmp_path / "m.json").write_text(json.dumps(cfg))
    w = {"d1": {"kernel": np.arange(12).reshape(4, 3) / 8.0 - 0.7, "bias": np.array([0.5, -0.25, 0.0])},
         "d2": {"kernel": np.array([[1.0, -0.5], [0.25, 0.75], [-1.0, 0.5]])}}
    from keras2_files import _write_groups

    with h5py.File(tmp_path / "w.h5", "w") as f:
        _write_groups(f, ["d1", "dr", "d2"], w)
    x = np.array([[0.5, -1.0, 2.0, 0.25], [1.0, 1.0, -1.5, 0.0]], np.float32)
    im = load_legacy(tmp_path / "m.json", tmp_path / "w.h5", data=x)
    expect = np.maximum(x @ w["d1"]["kernel"] + w["d1"]["bias"], 0) @ w["d2"]["kernel"]
    np.testing.assert_allclose(im.float_view.predict(x, verbose=0), expect, rtol=1e-6)
    np.testing.assert_allclose(im.model.predict(x, verbose=0), expect, atol=2e-3)  # 16-bit PTQ
    assert not im.ends_in_softmax and im.inserted_input_quantizer is not None
    with pytest.raises(ValueError, match="--precision applies only to float"):
        load_legacy(FIXTURES / "qkeras_classifier.json", tmp_path / "w.h5", ptq_bits=8)


# ---- errors ---------------------------------------------------------------------------------------
def _edit_fixture(tmp_path, fn):
    cfg = json.loads((FIXTURES / "qkeras_classifier.json").read_text())
    fn(cfg)
    p = tmp_path / "edited.json"
    p.write_text(json.dumps(cfg))
    return p


def test_unsupported_layer_names_layer_class_and_list(tmp_path, classifier_files):
    from models.legacy_import import load_legacy

    def f(cfg):
        cfg["config"]["layers"][6]["class_name"] = "LSTM"
    p = _edit_fixture(tmp_path, f)
    with pytest.raises(ValueError, match=r"layer 'dropout' of class LSTM is not supported for import; supported: .*QDense"):
        load_legacy(p, classifier_files[3])


def test_unsupported_quantizer_names_layer(tmp_path, classifier_files):
    from models.legacy_import import load_legacy

    def f(cfg):
        cfg["config"]["layers"][2]["config"]["kernel_quantizer"]["config"]["alpha"] = "auto_po2"
    p = _edit_fixture(tmp_path, f)
    with pytest.raises(ValueError, match=r"layer 'fc1' \(QDense\) kernel_quantizer: quantized_bits alpha='auto_po2'"):
        load_legacy(p, classifier_files[3])


def test_bad_files(tmp_path, classifier_files):
    from models.legacy_import import load_legacy

    _, w, js, wp, _ = classifier_files
    with pytest.raises(ValueError, match="give its weights with --weights"):
        load_legacy(js)
    with h5py.File(tmp_path / "plain.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(ValueError, match="no 'model_config' attribute"):
        load_legacy(tmp_path / "plain.h5")
    with pytest.raises(ValueError, match="no 'layer_names' attribute"):
        load_legacy(js, tmp_path / "plain.h5")
    bad = {**w, "fc2": {"kernel": np.zeros((5, 12)), "bias": np.zeros(12)}}
    js2, wp2 = write_json_and_weights(tmp_path, "qkeras_classifier.json", bad)
    with pytest.raises(ValueError, match=r"layer 'fc2' \(QDense\): weight 'kernel' has shape \(5, 12\)"):
        load_legacy(js2, wp2)


# ---- data readers ---------------------------------------------------------------------------------
def test_array_readers(tmp_path):
    from data.arrays import read_array, read_reference

    x = np.random.default_rng(1).normal(size=(20, 3)).astype(np.float32)
    np.save(tmp_path / "a.npy", x)
    np.savetxt(tmp_path / "a.dat", x, fmt="%.9g")
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("inputs", data=x)
        f.create_dataset("other/stuff", data=x * 2)
        f.create_dataset("y", data=x[:, :1])
    np.testing.assert_array_equal(read_array(tmp_path / "a.npy"), x)
    np.testing.assert_array_equal(read_array(tmp_path / "a.dat"), x)
    np.testing.assert_array_equal(read_array(tmp_path / "a.h5"), x)
    np.testing.assert_array_equal(read_array(f"{tmp_path / 'a.h5'}:/other/stuff"), 2 * x)
    assert read_reference(tmp_path / "a.h5").shape == (20, 1)
    x[2, 1] = np.nan
    np.save(tmp_path / "b.npy", x)
    with pytest.raises(ValueError, match="1 NaN and 0 inf values in 1 of 20 events"):
        read_array(tmp_path / "b.npy")
    with pytest.raises(ValueError, match="unknown file type '.csvx'"):
        (tmp_path / "c.csvx").write_text("1 2")
        read_array(tmp_path / "c.csvx")
    with pytest.raises(ValueError, match="no dataset 'nope'"):
        read_array(f"{tmp_path / 'a.h5'}:/nope")


# ---- CLI end to end (hls4ml projects) -------------------------------------------------------------
@pytest.mark.slow
def test_cli_classifier_json_weights_softmax(classifier_files, capsys):
    import build_hls

    tmp, w, js, wp, _ = classifier_files
    x = np.random.default_rng(21).normal(0, 3, (3000, 16)).astype(np.float32)
    np.save(tmp / "x.npy", x)
    _, s_ref = classifier_reference(x, w)
    np.savetxt(tmp / "ref.dat", s_ref, fmt="%.9g")
    out = tmp / "proj"
    rc = build_hls.main(["--model", str(js), "--weights", str(wp), "--data", str(tmp / "x.npy"),
                         "--reference", str(tmp / "ref.dat"), "--output", str(out)])
    printed = capsys.readouterr().out
    rep = json.loads((out / "report" / "report.json").read_text())
    assert rc == 0, rep["checks"]
    imp = rep["import"]
    assert imp["inserted_input_quantizer"] is None and len(imp["layers"]) == 9
    assert imp["reference_max_abs_diff"] < 1e-6 and imp["reference_argmax_agreement"] == 1.0
    a = rep["agreement"]["emulator_vs_keras"]
    assert a["output"] == "logits" and a["n_events"] == 3000 and a["n_mismatched"] == 0 and a["max_abs_diff"] == 0.0
    sm = rep["agreement"]["softmax"]
    # hls4ml's lookup-table softmax (default tables) vs the exact one; measured 2026-12-04 on these seeded inputs:
    # max |diff| 0.199, mean |diff| 0.0176, argmax agreement 0.9943 (deterministic: fixed weights and data)
    assert 0 < sm["max_abs_diff"] < 0.25 and sm["mean_abs_diff"] < 0.025 and 0.99 < sm["argmax_agreement"] <= 1.0
    assert sm["argmax_agreement_logits_vs_keras_softmax"] == 1.0
    assert (out / "logits" / "firmware").is_dir() and rep["working_points"] == []
    assert "emulator (C-sim) vs imported Keras model [logits]: 0 mismatched / 3000" in printed
    assert (out / "report" / "report.md").read_text().startswith("# Firmware report:")


@pytest.mark.slow
def test_cli_full_h5_cnn_inserted_quantizer(tmp_path):
    import build_hls

    w = cnn_weights()
    full = write_full_h5(tmp_path, "qkeras_cnn_sequential.json", w)
    r = np.random.default_rng(22)
    x = (np.round(np.clip(r.normal(0, 2, (1500, 36)), -7.9, 7.9) * 256) / 256).astype(np.float32)  # flat rows, on grid
    ref = cnn_reference(x.reshape(-1, 6, 6, 1), w, lambda v: v)  # QKeras on unquantized inputs
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f.create_dataset("features", data=x)
    with h5py.File(tmp_path / "ref.h5", "w") as f:
        f.create_dataset("outputs", data=ref)
    out = tmp_path / "proj"
    rc = build_hls.main(["--model", str(full), "--data", str(tmp_path / "x.h5"), "--reference", str(tmp_path / "ref.h5"),
                         "--output", str(out)])
    rep = json.loads((out / "report" / "report.json").read_text())
    assert rc == 0, rep["checks"]
    iq = rep["import"]["inserted_input_quantizer"]
    assert iq["precision"] == "ap_fixed<16,4,AP_RND_CONV,AP_SAT>" and "data range" in iq["source"]
    assert rep["import"]["reference_max_abs_diff"] < 1e-5
    a = rep["agreement"]["emulator_vs_keras"]
    assert a["n_mismatched"] == 0 and a["n_events"] == 1500 and "softmax" not in rep["agreement"]
    assert set(rep["saturation"]) >= {"input_quantizer", "act_q"}


def test_inserted_quantizer_overflow_is_refused(tmp_path, capsys):
    import build_hls

    js, wp, _ = _float_functional_files(tmp_path)
    np.save(tmp_path / "x.npy", np.random.default_rng(3).normal(0, 4, (300, 16)).astype(np.float32))
    args = ["--model", str(js), "--weights", str(wp), "--data", str(tmp_path / "x.npy"), "--output", str(tmp_path / "o"),
            "--input-precision", "ap_fixed<8,2>"]
    assert build_hls.main(args) == 2
    err = capsys.readouterr().err
    assert "input_quantizer (ap_fixed<8,2,AP_RND_CONV,AP_SAT>)" in err and "--allow-overflow" in err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_float_model_ptq_bit_exact(tmp_path):
    import build_hls

    js, wp, w = _float_functional_files(tmp_path)
    x = np.random.default_rng(23).normal(0, 2, (2000, 16)).astype(np.float32)
    np.savetxt(tmp_path / "x.dat", x, fmt="%.9g")
    np.save(tmp_path / "ref.npy", softmax(_float_reference(x, w)))
    out = tmp_path / "proj"
    rc = build_hls.main(["--model", str(js), "--weights", str(wp), "--data", str(tmp_path / "x.dat"), "--reference",
                         str(tmp_path / "ref.npy"), "--reference-tolerance", "0.05", "--output", str(out)])
    rep = json.loads((out / "report" / "report.json").read_text())
    assert rc == 0, rep["checks"]
    assert rep["import"]["float_model_ptq_bits"] == 16 and rep["import"]["inserted_input_quantizer"] is not None
    assert rep["agreement"]["emulator_vs_keras"]["n_mismatched"] == 0
    assert rep["agreement"]["emulator_vs_keras"]["max_abs_diff"] == 0.0
    assert rep["import"]["reference_argmax_agreement"] > 0.99
    assert all(v == 0 for v in rep["inserted_quantizer_overflows"]["events_out_of_range"].values())


def test_import_checks_fail_on_reference_and_emulator_differences():
    from flow.checks import import_checks as _check
    from flow.config import BuildConfig

    cfg = BuildConfig(model="m.json", reference_tolerance=1e-4)
    rep = {"agreement": {"emulator_vs_keras": {"n_mismatched": 0, "output": "logits"}},
           "import": {"reference_max_abs_diff": 1e-7, "inserted_input_quantizer": None, "reference_n_events_differing": 0}}
    assert _check(rep, cfg) == (True, [])
    rep["import"].update(reference_max_abs_diff=0.01, reference_n_events_differing=3,
                         inserted_input_quantizer={"precision": "ap_fixed<16,5>"})
    rep["agreement"]["emulator_vs_keras"]["n_mismatched"] = 2
    ok, failures = _check(rep, cfg)
    assert not ok and len(failures) == 2
    assert "2 mismatched events" in failures[0] and "max |diff| 0.01 > 0.0001 in 3 events" in failures[1]
    assert "input quantizer was inserted" in failures[1]


def test_qconv1d_maxpool1d_global_pooling_match_numpy(tmp_path):
    """QConv1D (with fused relu), MaxPooling1D, GlobalAveragePooling1D, QDense with a quantized_relu activation."""
    from models.legacy_import import load_legacy

    qb = {"class_name": "quantized_bits", "config": {"bits": 6, "integer": 0, "symmetric": 0, "alpha": 1,
                                                      "keep_negative": True, "use_stochastic_rounding": False}}
    layers = [
        {"class_name": "InputLayer", "config": {"batch_input_shape": [None, 8, 2], "dtype": "float32", "name": "in"},
         "name": "in", "inbound_nodes": []},
        _layer("QActivation", "iq", ["in"], activation="quantized_bits(10,3,alpha=1)"),
        _layer("QConv1D", "qc", ["iq"], filters=3, kernel_size=[2], strides=[1], padding="valid",
               data_format="channels_last", dilation_rate=[1], groups=1, activation="relu", use_bias=True,
               kernel_quantizer=qb, bias_quantizer=qb),
        _layer("MaxPooling1D", "mp", ["qc"], pool_size=[2], strides=[2], padding="valid", data_format="channels_last"),
        _layer("GlobalAveragePooling1D", "gap", ["mp"], data_format="channels_last"),
        _layer("QDense", "qd", ["gap"], units=2, activation="quantized_relu(8,2)", use_bias=False,
               kernel_quantizer="quantized_bits(8,1)", bias_quantizer=None),
    ]
    cfg = {"class_name": "Model", "config": {"name": "q1d", "layers": layers, "input_layers": [["in", 0, 0]],
                                             "output_layers": [["qd", 0, 0]]}, "keras_version": "2.3.1"}
    r = np.random.default_rng(4)
    w = {"qc": {"kernel": r.normal(0, 0.5, (2, 2, 3)), "bias": r.normal(0, 0.3, 3)},
         "qd": {"kernel": r.normal(0, 0.8, (3, 2))}}
    (tmp_path / "q.json").write_text(json.dumps(cfg))
    from keras2_files import _write_groups

    with h5py.File(tmp_path / "q.h5", "w") as f:
        _write_groups(f, [l["name"] for l in layers], w)
    im = load_legacy(tmp_path / "q.json", tmp_path / "q.h5")
    assert im.inserted_input_quantizer is None
    x = r.normal(0, 2, (400, 8, 2)).astype(np.float32)
    h = qk_bits(x.astype(np.float64), 10, 3)
    k, b = qk_bits(w["qc"]["kernel"].astype(np.float32), 6, 0), qk_bits(w["qc"]["bias"].astype(np.float32), 6, 0)
    c = np.maximum(np.stack([np.einsum("nkc,kcf->nf", h[:, i:i + 2], k) for i in range(7)], axis=1) + b, 0)
    c = c[:, :6].reshape(-1, 3, 2, 3).max(axis=2).mean(axis=1)
    y = qk_relu(c @ qk_bits(w["qd"]["kernel"].astype(np.float32), 8, 1), 8, 2)
    np.testing.assert_allclose(im.model.predict(x, verbose=0), y, atol=1e-12)
