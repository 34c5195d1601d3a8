"""The build configuration file (flow/config_file.py): hls4ml-style keys, validation at load, flags on top,
per-layer settings reaching the hls4ml configuration and the estimate, and (slow) a YAML build giving the
same project as the equivalent flags."""

import argparse
import json
from pathlib import Path

import pytest
import yaml

import build_hls
from flow.config import BuildConfig
from flow.config_file import config_to_file, file_to_dict, load_config, write_config
from hls.config import HLSConfig, Strategy
from hls.layer_settings import LayerSettings
from quantize.precision import Precision

PER_LAYER_FLAGS = ["--layer-reuse-factor", "enc_dense1=3", "--layer-strategy", "mu_dense=Resource",
                   "--layer-precision", "enc_dense1.weight=ap_fixed<6,1>",
                   "--layer-precision", "enc_relu1.result=ap_ufixed<8,3>"]
PER_LAYER_YAML = {"enc_dense1": {"ReuseFactor": 3, "Precision": {"weight": "ap_fixed<6,1>"}},
                  "mu_dense": {"Strategy": "Resource"},
                  "enc_relu1": {"Precision": {"result": "ap_ufixed<8,3>"}}}


def _cfg(argv):
    p = argparse.ArgumentParser()
    build_hls._add_build_args(p)
    return build_hls.effective_config(p.parse_args(argv), argv)


def _write(tmp_path, doc) -> Path:
    f = tmp_path / "build.yml"
    f.write_text(yaml.safe_dump(doc))
    return f


def test_yaml_equals_flags_and_round_trips(tmp_path):
    flags = _cfg(["--model", "vae21", "--n-train", "3000", "--reuse-factor", "1", "--fpr", "1e-3", *PER_LAYER_FLAGS])
    doc = {"model": "vae21", "data": {"n_train": 3000}, "working_points": {"fpr": [1e-3]},
           "hls4ml": {"Model": {"ReuseFactor": 1, "Strategy": "Latency"}, "LayerName": PER_LAYER_YAML}}
    from_file = load_config(_write(tmp_path, doc))
    assert from_file == flags
    ls = {x.name: x for x in from_file.hls.layers}
    assert ls["enc_dense1"].reuse_factor == 3 and ls["mu_dense"].strategy is Strategy.RESOURCE
    assert ls["enc_dense1"].precisions["weight"] == Precision.from_qkeras(6, 0)  # bare ap_fixed: QKeras semantics
    written = tmp_path / "proj_build.yml"
    write_config(flags, written)
    assert load_config(written) == flags  # the effective file reproduces the configuration
    assert yaml.safe_load(written.read_text())["hls4ml"]["LayerName"] == PER_LAYER_YAML


def test_flags_override_the_file(tmp_path):
    f = _write(tmp_path, {"model": "vae21", "data": {"n_train": 3000, "seed": 7},
                          "hls4ml": {"Model": {"ReuseFactor": 2}, "LayerName": {"enc_dense1": {"ReuseFactor": 4}}}})
    cfg = _cfg(["--config", str(f), "--reuse-factor", "1", "--layer-strategy", "enc_dense1=Resource",
                "--seed", "42"])
    assert cfg.n_train == 3000 and cfg.seed == 42 and cfg.hls.reuse_factor == 1  # 42 is the flag's default: still wins
    assert cfg.hls.layer("enc_dense1") == LayerSettings("enc_dense1", 4, Strategy.RESOURCE)
    assert _cfg(["--config", str(f)]).hls.reuse_factor == 2


@pytest.mark.parametrize("doc,msg", [
    ({"modle": "vae21"}, r"unknown key\(s\) \['modle'\]; valid: \[.*'model'"),
    ({"data": {"n_trian": 5}}, r"data: unknown key\(s\) \['n_trian'\]; valid: \[.*'n_train'"),
    ({"hls4ml": {"Model": {"ReuseFactr": 2}}}, r"hls4ml.Model: unknown key\(s\) \['ReuseFactr'\]; valid: \['Precision', 'ReuseFactor', 'Strategy'\]"),
    ({"hls4ml": {"Model": {"Strategy": "Fast"}}}, r"unknown strategy 'Fast'; choose one of \['Latency', 'Resource'"),
    ({"hls4ml": {"Model": {"Precision": "ap_fixed<16,6>"}}}, "takes types from the quantizers"),
    ({"hls4ml": {"LayerName": {"enc_dense1": {"Reuse": 2}}}}, r"LayerName.enc_dense1: unknown key\(s\) \['Reuse'\]"),
    ({"hls4ml": {"LayerName": {"enc_dense1": {"ReuseFactor": 0}}}}, r"LayerName.enc_dense1.ReuseFactor must be an integer >= 1"),
    ({"hls4ml": {"LayerName": {"enc_dense1": {"Precision": {"kernel": "ap_fixed<6,1>"}}}}},
     r"Precision: unknown key\(s\) \['kernel'\]; valid: \['weight', 'bias', 'result'\]"),
    ({"hls4ml": {"LayerName": {"enc_dense1": {"Precision": {"weight": "ap_fixed<6,1,AP_TRN,AP_WRAP>"}}}}},
     "cannot be a QKeras-API quantizer"),
    ({"emulation": {"emulator": "gpu"}}, "--emulator 'gpu': choose 'fast', 'csim', 'rtl'"),
    ({"working_points": {"fpr": [2.0]}}, "strictly between 0 and 1"),
    ({"cwola": {"n_fold": 3}}, r"build_config.cwola: unknown key\(s\) \['n_fold'\]"),
    ({"hardware": {"rtl": True}, "hls4ml": {"LayerName": {"enc_dense1": {"Precision": {"weight": "ap_fixed<6,1>"}}}}},
     "per-layer Precision with the RTL path"),
])
def test_file_errors_name_the_key_and_the_choices(tmp_path, doc, msg):
    with pytest.raises(ValueError, match=msg):
        load_config(_write(tmp_path, doc))


def test_bad_layer_flags_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"expected NAME.PLACE=TYPE"):
        _cfg(["--layer-precision", "enc_dense1=ap_fixed<6,1>"])
    with pytest.raises(ValueError, match=r"--layer-reuse-factor 'enc_dense1': expected NAME=R"):
        _cfg(["--layer-reuse-factor", "enc_dense1"])
    assert build_hls.main(["--config", str(tmp_path / "nope.yml")]) == 2


def test_per_layer_settings_reach_hls4ml_config_and_estimate(small_vae):
    from hls.estimate import describe_model, estimate
    from hls.project import _hls4ml_config, check_layer_names, dense_shapes
    from hls.config import check_reuse_factor
    from models.vae21 import deployable_model

    deploy = deployable_model(small_vae[0])  # enc_dense1 is 21 x 8
    cfg = HLSConfig(layers=(LayerSettings("enc_dense1", 4, Strategy.RESOURCE),))
    h = _hls4ml_config(deploy, cfg)
    assert h["LayerName"]["enc_dense1"]["ReuseFactor"] == 4 and h["LayerName"]["enc_dense1"]["Strategy"] == "Resource"
    assert h["LayerName"]["mu_dense"]["ReuseFactor"] == 1
    est = {l.name: l for l in estimate(describe_model(deploy), cfg).layers}
    base = {l.name: l for l in estimate(describe_model(deploy), HLSConfig()).layers}
    assert est["enc_dense1"].cycles == base["enc_dense1"].cycles + 3  # R - 1 more cycles
    assert est["mu_dense"].cycles == base["mu_dense"].cycles
    with pytest.raises(ValueError, match=r"LayerName.enc_dense1.ReuseFactor 5 is not valid for this 21x8 dense layer"):
        check_reuse_factor(1, dense_shapes(deploy), {"enc_dense1": 5})
    with pytest.raises(ValueError, match=r"\['enc_dens1'\] are not layers of the deployable model"):
        check_layer_names(deploy, HLSConfig(layers=(LayerSettings("enc_dens1", 2),)))


def test_layer_precision_replaces_the_quantizers(small_vae):
    import numpy as np

    from models.vae21 import deployable_model
    from quantize.layer_precision import with_layer_precisions
    from quantize.precision import quantize_np
    from quantize.qkeras import precision_of_quantizer_layer

    deploy = deployable_model(small_vae[0])
    w6 = Precision.parse("ap_fixed<6,1,AP_RND_CONV,AP_SAT>")
    relu = Precision.parse("ap_ufixed<8,3,AP_RND_CONV,AP_SAT>")
    new = with_layer_precisions(deploy, {"enc_dense1": {"weight": w6}, "enc_relu1": {"result": relu}})
    old_l, new_l = deploy.get_layer("enc_dense1"), new.get_layer("enc_dense1")
    np.testing.assert_array_equal(np.asarray(new_l.kernel), np.asarray(old_l.kernel))  # same float weights
    np.testing.assert_array_equal(np.asarray(new_l.qkernel), quantize_np(np.asarray(old_l.kernel), w6))
    assert precision_of_quantizer_layer(new.get_layer("enc_relu1")) == relu
    np.testing.assert_array_equal(np.asarray(new.get_layer("enc_dense2").qkernel),
                                  np.asarray(deploy.get_layer("enc_dense2").qkernel))  # others untouched
    with pytest.raises(ValueError, match=r"enc_dense1.Precision.result: layer 'enc_dense1' is a QDense; valid places: \['weight', 'bias'\]"):
        with_layer_precisions(deploy, {"enc_dense1": {"result": w6}})


def _comparable_metadata(project: Path) -> dict:
    md = json.loads((project / "metadata.json").read_text())
    for k in ("created_unix", "weights_dir", "timings_s", "csim_library"):  # library name: hls4ml's random stamp
        md.pop(k, None)
    md["build_config"].pop("output_dir")
    md.pop("file_sha256", None)
    return md


class _TagLoader(yaml.SafeLoader):
    """hls4ml_config.yml tags the Keras model (``!keras_model path``): read such values as plain strings."""


_TagLoader.add_multi_constructor("!", lambda loader, tag, node: loader.construct_scalar(node))


def _hls4ml_yaml(project: Path) -> dict:
    d = yaml.load((project / "hls4ml_config.yml").read_text(), Loader=_TagLoader)
    for k in ("OutputDir", "KerasModel", "Stamp"):  # Stamp: hls4ml's random per-project id
        d.pop(k, None)
    return d


@pytest.mark.slow
def test_yaml_build_gives_the_same_project_as_flags(cli_run, tmp_path):
    """~70 s with cli_run's cached data and model (two small vae21 builds)."""
    from tests.conftest import SMALL

    cache = cli_run[2] / "cache"
    a, b = tmp_path / "flags", tmp_path / "yaml"
    common = ["--model", "vae21", "--cache-dir", str(cache), "--min-spearman", "0.5", *SMALL]
    assert build_hls.main([*common, "--output", str(a), *PER_LAYER_FLAGS]) in (0, 1)
    doc = yaml.safe_load((a / "build.yml").read_text())
    doc["output"] = str(b)
    doc["hls4ml"]["LayerName"] = PER_LAYER_YAML  # hand-written form, same settings
    f = _write(tmp_path, doc)
    assert build_hls.main(["--config", str(f)]) in (0, 1)
    assert _hls4ml_yaml(a) == _hls4ml_yaml(b)
    assert _hls4ml_yaml(a)["HLSConfig"]["LayerName"]["enc_dense1"]["ReuseFactor"] == 3
    assert _comparable_metadata(a) == _comparable_metadata(b)
    for rel in ("firmware/parameters.h", "firmware/defines.h", "firmware/myproject.cpp"):
        assert (a / rel).read_text() == (b / rel).read_text(), rel
    wa, wb = sorted((a / "firmware/weights").iterdir()), sorted((b / "firmware/weights").iterdir())
    assert [p.name for p in wa] == [p.name for p in wb]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(wa, wb))
    assert "fixed<6,1" in (a / "firmware/parameters.h").read_text() + (a / "firmware/defines.h").read_text()
    rep = json.loads((a / "report" / "report.json").read_text())
    assert rep["latency"]["hls_estimate"]["ii"] == 3
    assert rep["agreement"]["emulator_vs_keras"]["n_mismatched"] == 0  # the changed quantizers stay bit-exact


def test_invalid_per_layer_reuse_factor_is_refused_before_training(tmp_path):
    from flow.build import new_build

    cfg = _cfg(["--model", "vae21", "--layer-reuse-factor", "enc_dense1=2", "--cache-dir", str(tmp_path)])
    with pytest.raises(ValueError, match=r"LayerName.enc_dense1.ReuseFactor 2 is not valid for this 21x32 dense "
                                         r"layer; valid: \[1, 3, 7, 21"):
        new_build(cfg)
    assert not any(tmp_path.iterdir())  # nothing generated or trained


def test_reuse_target_flag_alone_and_over_a_build_file(tmp_path):
    cfg = _cfg(["--model", "vae21", "--reuse-target", "4"])
    assert cfg.hls.reuse_target == 4 and cfg.hls.reuse_factor == 1
    f = tmp_path / "b.yml"
    from flow.config_file import write_config

    write_config(_cfg(["--model", "vae21", "--precision", "10"]), f)
    cfg2 = _cfg(["--config", str(f), "--reuse-target", "8"])
    assert cfg2.hls.reuse_target == 8 and cfg2.precision_bits == 10
    with pytest.raises(ValueError, match="not both"):
        _cfg(["--model", "vae21", "--reuse-target", "4", "--reuse-factor", "2"])
