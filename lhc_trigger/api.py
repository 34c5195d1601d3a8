"""``build(config) -> BuildResult``, ``check(project_dir)`` and the emulator of a built project."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from flow.config import BuildConfig


def load_config(config) -> BuildConfig:
    """A BuildConfig from a BuildConfig, a YAML file path, or a dict in the file's form (``flow/config_file.py``)."""
    from flow.config_file import config_from_tree, file_to_dict
    from flow.config_file import load_config as load_file

    if isinstance(config, BuildConfig):
        return config
    if isinstance(config, (str, Path)):
        return load_file(Path(config))
    if isinstance(config, dict):
        return config_from_tree(file_to_dict(config, "config"), "config")
    raise TypeError(f"config: expected a BuildConfig, a YAML path or a dict, got {type(config).__name__}")


class ProjectEmulator:
    """The firmware's arithmetic of a built project on new events.

    ``kind="fast"`` (default): the bit-exact fast emulator of the project's saved quantized model
    (``model/deployable.keras``); ``kind="csim"``: the project's compiled hls4ml C-simulation.  ``predict(x)``
    takes raw features (the project's feature transform, e.g. vae57's log1p of the pT fields, then its
    standardization, both from ``metadata.json``, are applied first, as upstream of the firmware's input port)
    unless ``standardized=True``; returns the outputs, shape (n, n_outputs)."""

    def __init__(self, project_dir, kind: str = "fast"):
        from hls.project import read_metadata

        self.project_dir = Path(project_dir)
        self.metadata = read_metadata(self.project_dir)
        if kind not in ("fast", "csim"):
            raise ValueError(f"kind {kind!r}: choose 'fast' or 'csim'")
        self.kind = kind
        self._impl = None
        st = self.metadata.get("standardization")
        self.mean = None if st is None else np.asarray(st["mean"], np.float32)  # the build's float32 constants
        self.std = None if st is None else np.asarray(st["std"], np.float32)
        ft = self.metadata.get("feature_transform")
        self.transform = None
        if ft is not None:
            from data.transforms import FeatureTransform

            self.transform = FeatureTransform.from_dict(self.metadata["feature_names"], ft)

    def _emulator(self):
        if self._impl is None:
            if self.kind == "csim":
                from emulation.csim import CSimEmulator

                self._impl = CSimEmulator(self.project_dir)
            else:
                from emulation.fast import FastEmulator
                from quantize.hgq_native import load_deployable

                # hgq2's layers and the lookup tables' functions registered, input quantizers kept
                model = load_deployable(self.project_dir / "model" / "deployable.keras")
                self._impl = FastEmulator(model)
        return self._impl

    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Raw features -> the firmware's input, as the build computed it (:func:`data.transforms.port_input`:
        float32 features, the feature transform, then (x - mean) / std in float32)."""
        from data.transforms import port_input

        x = np.asarray(x)
        if self.mean is not None and (x.ndim != 2 or x.shape[1] != len(self.mean)):
            raise ValueError(f"expected raw features of shape (n, {len(self.mean)}), got {x.shape}")
        if self.mean is None:  # the transform checks the shape itself
            return np.asarray(x if self.transform is None else self.transform(x), np.float64)
        return port_input(x, self.transform, self.mean, self.std).astype(np.float64)

    def predict(self, x: np.ndarray, standardized: bool = False) -> np.ndarray:
        x = np.asarray(x, np.float64) if standardized else self.standardize(x)
        return self._emulator().predict(x)


@dataclass
class BuildResult:
    config: BuildConfig
    report: dict
    ok: bool  # every check passed (the command line's exit code 0)
    project_dir: Path
    _emulator: ProjectEmulator | None = field(default=None, repr=False)

    @property
    def emulator(self) -> ProjectEmulator:
        """The fast bit-exact emulator of the built firmware (``predict(x)`` on raw features)."""
        if self._emulator is None:
            self._emulator = ProjectEmulator(self.project_dir)
        return self._emulator

    @property
    def plots(self) -> list[Path]:
        return sorted((self.project_dir / "report").glob("*.png"))

    @property
    def summary(self) -> str:
        from flow.report import summary

        return summary(self.report)


def build(config=None, on_step=None, **overrides) -> BuildResult:
    """Build a model: ``config`` is a BuildConfig, a YAML file or a dict in the file's form (None: defaults);
    ``overrides`` are BuildConfig fields set on top (``build("build.yml", n_train=20_000)``).  The same flow as
    the command line; ``on_step(name, build)`` is called after each step."""
    from flow import run_build

    cfg = load_config(config) if config is not None else BuildConfig()
    if overrides:
        cfg = cfg.replace(**overrides)  # validated again
    report, ok = run_build(cfg, on_step=on_step)
    return BuildResult(cfg, report, ok, Path(report["hls"]["project_dir"]))


def check(project_dir, rtl: bool = False):
    """``build_hls.py check``: recompile the project's C-simulation aside and compare it with the golden vectors
    and the saved Keras model; returns an ``emulation.check.CheckResult`` (``.passed``, ``.cases``)."""
    from emulation.check import run_check

    return run_check(Path(project_dir), rtl=rtl)
