"""A model family's build defaults (models/registry.py ``Family.defaults``, e.g. cicada's Virtex-7 at 160 MHz and
small event counts) reach every entry point: the Python API (BuildConfig), a --config file, the command line and a
sweep; given values always win.  No TensorFlow, no build (well under a second)."""

import argparse
import sys

import pytest
import yaml

import build_hls
from flow.config import COUNT_DEFAULTS, BuildConfig, family_defaults
from flow.config_file import load_config
from hls.config import DEFAULT_PART, HLSConfig
from models.cicada import BUILD_DEFAULTS as CICADA, CLOCK_PERIOD_NS, PART
from models.registry import FAMILIES, get_family


def _cli(argv):
    p = argparse.ArgumentParser()
    build_hls._add_build_args(p)
    return build_hls.effective_config(p.parse_args(argv), argv)


def _fields(cfg):
    return cfg.n_train, cfg.n_val, cfg.n_signal, cfg.hls.part, cfg.hls.clock_period_ns


CICADA_FIELDS = (CICADA["n_train"], CICADA["n_val"], CICADA["n_signal"], PART, CLOCK_PERIOD_NS)
GLOBAL_FIELDS = (COUNT_DEFAULTS["n_train"], COUNT_DEFAULTS["n_val"], COUNT_DEFAULTS["n_signal"], DEFAULT_PART, 5.0)


def test_cicada_defaults_are_the_calorimeter_trigger():
    assert PART.startswith("xc7vx690t") and CLOCK_PERIOD_NS == 6.25  # issue 20: Virtex-7 690T at 160 MHz
    assert family_defaults("cicada") == CICADA and family_defaults("vae21") == {}
    assert family_defaults("vae99") == {} and family_defaults("missing/model.keras") == {}  # reported by the build
    for f in FAMILIES:  # every declared default is a known key (resolving them raises otherwise)
        f.build_defaults()


def test_api_gets_family_defaults_and_given_values_win():
    assert _fields(BuildConfig(model="cicada")) == CICADA_FIELDS
    assert _fields(BuildConfig()) == GLOBAL_FIELDS
    cfg = BuildConfig(model="cicada", n_train=7, hls={"reuse_factor": 2, "clock_period_ns": 4.0})
    assert _fields(cfg) == (7, CICADA["n_val"], CICADA["n_signal"], PART, 4.0) and cfg.hls.reuse_factor == 2
    explicit = HLSConfig(reuse_factor=2)  # an HLSConfig object is used as given
    assert BuildConfig(model="cicada", hls=explicit).hls is explicit
    assert BuildConfig.from_dict(cfg.to_dict()) == cfg  # resolved values round-trip
    assert BuildConfig(model="cicada").replace(n_train=9).hls.part == PART
    with pytest.raises(ValueError, match="hls: expected an HLSConfig or a mapping"):
        BuildConfig(model="cicada", hls="fast")


def test_config_file_gets_family_defaults(tmp_path):
    f = tmp_path / "build.yml"
    f.write_text(yaml.safe_dump({"model": "cicada", "hls4ml": {"Model": {"ReuseFactor": 1}}}))
    assert _fields(load_config(f)) == CICADA_FIELDS
    f.write_text(yaml.safe_dump({"model": "cicada", "data": {"n_train": 3000}, "hls4ml": {"Part": DEFAULT_PART}}))
    assert _fields(load_config(f)) == (3000, CICADA["n_val"], CICADA["n_signal"], DEFAULT_PART, CLOCK_PERIOD_NS)
    # the command line: the file's model and defaults, its explicit flags on top
    assert _fields(_cli(["--config", str(f), "--clock-period", "5"])) == (3000, CICADA["n_val"], CICADA["n_signal"],
                                                                           DEFAULT_PART, 5.0)
    # a --model flag naming another family: that family's defaults for what the file leaves unset
    g = tmp_path / "vae.yml"
    g.write_text(yaml.safe_dump({"model": "vae21", "data": {"seed": 3}}))
    cfg = _cli(["--config", str(g), "--model", "cicada"])
    assert _fields(cfg) == CICADA_FIELDS and cfg.seed == 3
    assert _fields(_cli(["--config", str(f), "--model", "vae21"]))[0] == 3000  # what the file sets stays


def test_command_line_keeps_its_behaviour():
    assert _fields(_cli(["--model", "cicada"])) == CICADA_FIELDS
    assert _fields(_cli(["--model", "vae21"])) == GLOBAL_FIELDS
    assert _fields(_cli(["--model", "cicada", "--part", DEFAULT_PART, "--clock-period", "5", "--n-train", "100",
                         "--n-signal", "50"])) == (100, CICADA["n_val"], 50, DEFAULT_PART, 5.0)


def test_sweep_points_get_family_defaults(tmp_path):
    from sweep.spec import SweepSpec, expand

    spec = SweepSpec(model="cicada", axes={"reuse_factor": (1,)}, output=tmp_path / "sw")
    (p,) = expand(spec)
    assert _fields(p.config) == CICADA_FIELDS and p.values["clock_period_ns"] == CLOCK_PERIOD_NS


def test_registry_does_not_import_family_modules():
    import subprocess

    code = "import sys, models.registry; print('models.cicada' in sys.modules, 'tensorflow' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
    assert get_family("cicada").defaults == "models.cicada:BUILD_DEFAULTS"
