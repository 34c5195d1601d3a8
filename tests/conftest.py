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
