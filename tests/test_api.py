"""The Python API (lhc_trigger): configurations from every form, the emulator of a built project on new
events, check().  Uses the CLI fixture's project (no build of its own); ~10 s after the fixture."""

import json

import numpy as np
import pytest

import lhc_trigger as lt


def test_load_config_forms(tmp_path):
    d = {"model": "vae21", "data": {"n_train": 5000}, "hls4ml": {"LayerName": {"mu_dense": {"ReuseFactor": 2}}}}
    cfg = lt.load_config(d)
    assert cfg.n_train == 5000 and cfg.hls.reuse_factor_of("mu_dense") == 2
    assert lt.load_config(cfg) is cfg
    with pytest.raises(TypeError, match="expected a BuildConfig, a YAML path or a dict"):
        lt.load_config(42)
    with pytest.raises(ValueError, match=r"config: unknown key\(s\) \['n_train'\]"):
        lt.load_config({"n_train": 5})  # belongs under data:


@pytest.mark.slow
def test_project_emulator_reproduces_the_firmware(cli_run):
    rc, proj, _ = cli_run
    x = np.loadtxt(proj / "tb_data" / "tb_input_features.dat")
    y = np.loadtxt(proj / "tb_data" / "tb_output_predictions.dat").reshape(len(x), -1)  # the C-simulation's
    fast = lt.ProjectEmulator(proj)
    np.testing.assert_array_equal(fast.predict(x, standardized=True), y)
    np.testing.assert_array_equal(lt.ProjectEmulator(proj, kind="csim").predict(x, standardized=True), y)
    md = json.loads((proj / "metadata.json").read_text())
    raw = (np.random.default_rng(1).normal(size=(20000, 21)) * 3).astype(np.float32)  # the datasets' dtype
    if "feature_transform" in md:  # upstream of the standardisation, as the build applies it
        from data.transforms import FeatureTransform

        raw_t = FeatureTransform(tuple(md["feature_names"]), tuple(md["feature_transform"]["features"]))(raw)
    else:
        raw_t = raw
    mean, std = (np.asarray(md["standardization"][k], np.float32) for k in ("mean", "std"))
    want = (raw_t - mean) / std  # float32 arithmetic, as the build's emulate step computes the port's input
    assert want.dtype == np.float32
    np.testing.assert_array_equal(fast.standardize(raw), want.astype(np.float64))
    # the same formula in float64, rounded once (ProjectEmulator before 2026-12-05), differs on some values: the
    # comparison above can tell the two apart
    rounded64 = ((raw_t.astype(np.float64) - mean.astype(np.float64)) / std.astype(np.float64)).astype(np.float32)
    assert np.count_nonzero(rounded64 != want) > 0
    np.testing.assert_array_equal(fast.predict(raw[:500]), fast.predict(want[:500].astype(np.float64),
                                                                        standardized=True))
    with pytest.raises(ValueError, match=r"expected raw features of shape \(n, 21\)"):
        fast.predict(raw[:, :5])
    with pytest.raises(ValueError, match="choose 'fast' or 'csim'"):
        lt.ProjectEmulator(proj, kind="rtl")
    assert lt.check(proj).passed


@pytest.mark.slow
def test_project_emulator_in_a_fresh_process(cli_run):
    """A new Python process (no hgq2 / qkeras module imported yet) loads the saved deployable model, lookup tables
    included, and reproduces the C-simulation's golden outputs."""
    import subprocess
    import sys
    from pathlib import Path

    _, proj, _ = cli_run
    code = ("import numpy as np, lhc_trigger as lt; p = __import__('sys').argv[1]; "
            "x = np.loadtxt(p + '/tb_data/tb_input_features.dat'); "
            "y = np.loadtxt(p + '/tb_data/tb_output_predictions.dat').reshape(len(x), -1); "
            "print(int(np.count_nonzero(lt.ProjectEmulator(p).predict(x, standardized=True) != y)), len(x))")
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code, str(proj)], capture_output=True, text=True, cwd=root,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    n_diff, n = map(int, out.stdout.split()[-2:])
    assert n_diff == 0 and n > 100
