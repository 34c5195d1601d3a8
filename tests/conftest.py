"""Shared, session-scoped fixtures: one small compiled firmware project reused by many tests."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest


@pytest.fixture(scope="session")
def small_vae():
    """An untrained-but-initialised small quantized VAE (bit-exactness does not need training)."""
    from models.vae21 import VAE21Config, build_vae

    cfg = VAE21Config(hidden=(8, 6), latent=3)
    return build_vae(cfg, quantized=True), cfg


@pytest.fixture(scope="session")
def small_project(tmp_path_factory, small_vae):
    from hls.config import HLSConfig
    from hls.project import build_project
    from models.vae21 import deployable_model

    vae, _ = small_vae
    deploy = deployable_model(vae)
    out = tmp_path_factory.mktemp("fw") / "small"
    project_dir, _, _ = build_project(deploy, HLSConfig(), out, {"model": "small-test"})
    return project_dir, deploy


@pytest.fixture()
def rng():
    return np.random.default_rng(12345)


def _adversarial_inputs(rng, n_features):
    lim = 32.0  # the input quantizer ap_fixed<16,6> covers [-32, 32)
    step = 2.0**-10
    blocks = [
        rng.normal(0, 1, (4000, n_features)),
        rng.normal(0, 20, (2000, n_features)),  # well beyond the range: saturation
        np.zeros((10, n_features)),
        np.full((5, n_features), lim - step),
        np.full((5, n_features), -lim),
        np.full((5, n_features), lim + 100.0),
        np.full((5, n_features), -lim - 100.0),
        np.round(rng.normal(0, 4, (2000, n_features)) / step * 2) * step / 2,  # exact half-steps: ties
    ]
    x = np.concatenate(blocks).astype(np.float32)
    x[::7, ::3] = 0.0  # padding-like zero patterns
    return x



@pytest.fixture()
def adversarial_inputs():
    """Random, far-out-of-range, zero, limit and exact-tie inputs for the vae21 input quantizer ap_fixed<16,6>."""
    return _adversarial_inputs


SMALL = ["--n-train", "4000", "--n-signal", "2000", "--n-test-bkg", "20000", "--fpr", "1e-3", "--epochs", "2"]


@pytest.fixture(scope="session")
def cli_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    out = tmp / "proj"
    import build_hls

    rc = build_hls.main(["--model", "vae21", "--output", str(out), "--cache-dir", str(tmp / "cache"),
                         *SMALL])  # the default gates (Spearman >= 0.98): not loosened
    return rc, out, tmp




# Fixtures that build a firmware project, train a model or run Verilator: every test using one is slow
# (``pytest -m "not slow"`` is the developers' fast subset; CI runs everything).
HEAVY_FIXTURES = frozenset({"cli_run", "rtl_cli_run", "rtl_build", "small_project", "light_project"})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if HEAVY_FIXTURES.intersection(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
