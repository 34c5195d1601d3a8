"""The object that flows through a build, the step registry and ``run_flow``.

A build is one :class:`Build` passed through the steps its model family declares (``family.steps``): each
step reads what earlier steps left on it and adds its own part (data, prepared model, project, scores,
report sections).  Steps are registered by name with the steps they require; ``run_flow`` refuses a step
whose requirements have not run, and records each step's wall time (``report["flow"]["steps_s"]``).
This is hls4ml's ModelGraph-through-named-flows idea applied to a whole build.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from flow.config import BuildConfig
from models.build_util import say

STEPS: dict[str, Callable[["Build"], None]] = {}


def step(name: str, requires: tuple[str, ...] = ()):
    """Register ``fn(build)`` as the step ``name``, runnable once every step in ``requires`` has run."""

    def register(fn):
        if name in STEPS and STEPS[name] is not fn:
            raise RuntimeError(f"step {name!r} is registered twice ({STEPS[name].__module__}, {fn.__module__})")
        fn.step_name, fn.requires = name, tuple(requires)
        STEPS[name] = fn
        return fn

    return register


@dataclass
class Build:
    """Everything a build has produced so far.  Steps fill the fields; ``report`` collects the sections."""

    config: BuildConfig
    family: Any  # models.families.Family
    timings: dict[str, float] = field(default_factory=dict)  # fine-grained, as in report["timings_s"]
    steps_s: dict[str, float] = field(default_factory=dict)  # wall time of each step
    done: list[str] = field(default_factory=list)
    # data
    train_ds: Any = None
    test_ds: Any = None
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    plan: Any = None  # analysis.working_points.RatePlan, or the HLT defaults
    # model
    prepared: Any = None  # models.registry.PreparedModel
    deploy: Any = None  # the deployable Keras model (quantizer after the input)
    deploy_qkeras: Any = None  # with --rtl: the RND_CONV model the RND variant replaces
    project_dir: Path | None = None  # where the project is being written (the staging directory of a transaction)
    staging_dir: Path | None = None  # set by run_build: everything is written here, swapped in at the end
    final_dir: Path | None = None  # where the project lands when the build commits (named in the report)
    metadata: dict = field(default_factory=dict)
    # emulation (sample name -> array)
    xs: dict[str, np.ndarray] = field(default_factory=dict)
    emulator: Any = None
    csim: Any = None
    s_emu: dict[str, np.ndarray] = field(default_factory=dict)
    s_keras: dict[str, np.ndarray] = field(default_factory=dict)
    keras_dtype: str = "float64"
    csim_subset: tuple | None = None  # (sample -> events, C-sim outputs) of the cross-check
    lsb: float | None = None
    # report sections, in the order they are written
    report: dict = field(default_factory=dict)
    family_state: dict = field(default_factory=dict)  # what a family's own steps pass between themselves
    on_step: Callable[[str, "Build"], None] | None = None  # called after each step (e.g. a sweep's progress file)

    def shown_dir(self) -> Path | None:
        """The project directory as reports name it: where it will be once the build commits."""
        return self.final_dir or self.project_dir

    def all_scores(self, scores: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([scores[k] for k in self.xs])


def new_build(cfg: BuildConfig) -> Build:
    """A build of ``cfg.model``: its family resolved, options that do not apply refused, the family's default
    emulator applied."""
    from flow.config import Emulator
    from models.registry import get_family

    family = get_family(cfg.model)
    family.validate(cfg)
    per_layer_rf = {ls.name: ls.reuse_factor for ls in cfg.hls.layers if ls.reuse_factor is not None}
    shapes = family.layer_shapes(cfg) if per_layer_rf else None
    if shapes:  # per-layer reuse factors checked before any training (the convert step checks them again)
        from hls.config import check_reuse_factor

        check_reuse_factor(cfg.hls.reuse_factor, shapes, per_layer_rf)
    arch = family.architecture(cfg.model)
    if arch.emulator and cfg.emulator is Emulator.FAST and Emulator.parse(arch.emulator) is not Emulator.FAST:
        say(f"{arch.name}: the {arch.emulator} emulator produces the numbers (this model's default)")
        cfg = cfg.replace(emulator=Emulator.parse(arch.emulator))
    hw = cfg.hardware.resolved(family.rtl_by_default)
    if hw.skipped:
        say(f"{cfg.model}: the default RTL path is incomplete on this machine ({hw.skipped}); the report says so")
    if cfg.emulator is Emulator.RTL and not hw.rtl:
        raise ValueError("--emulator rtl needs --rtl (the RTL is built by the --rtl path)" +
                         (f": {hw.skipped}" if hw.skipped else ""))
    return Build(config=cfg.replace(hardware=hw), family=family)


def run_flow(build: Build, steps: Sequence[str]) -> Build:
    """Run ``steps`` in order on ``build`` (``import flow.steps`` registers the steps)."""
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise RuntimeError(f"unknown step(s) {unknown}; registered: {sorted(STEPS)}")
    from models.build_util import progress_bar

    bar = progress_bar(len(steps), f"build {build.family.name}", "step")
    for name in steps:
        fn = STEPS[name]
        if bar is not None:
            bar.set_postfix_str(name)
        missing = [r for r in fn.requires if r not in build.done]
        if missing:
            raise RuntimeError(f"step {name!r} needs {missing} first (family {build.family.name!r})")
        t0 = time.perf_counter()
        fn(build)
        build.steps_s[name] = round(time.perf_counter() - t0, 3)
        build.done.append(name)
        if bar is not None:
            bar.update(1)
        if build.on_step is not None:
            build.on_step(name, build)
    if bar is not None:
        bar.close()
    return build


