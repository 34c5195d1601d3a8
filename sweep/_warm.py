"""Imported once by the sweep's forkserver so that every point process starts with TensorFlow, Keras and
hls4ml already imported (a point is a fork of this pre-warmed process, not a fresh interpreter)."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")

import hls4ml  # noqa: E402,F401
import keras  # noqa: E402,F401
import matplotlib.pyplot  # noqa: E402,F401
import qkeras.qlayers  # noqa: E402,F401
import tensorflow  # noqa: E402,F401

import analysis.report  # noqa: E402,F401
import flow.steps  # noqa: E402,F401
import hls.project  # noqa: E402,F401
import models.vae21  # noqa: E402,F401
