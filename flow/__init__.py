"""Orchestration of a build: one :class:`flow.build.Build` through the steps its model family declares.

``run_build(BuildConfig) -> (report, ok)`` is the Python API behind ``build_hls.py``; ``flow.config`` holds the
one validated configuration, ``flow.steps`` the registered steps, ``flow.report`` the report writer and its
schema, ``flow.checks`` the checks that decide the exit code.
"""

from __future__ import annotations

import os

from flow.config import BuildConfig, Emulator


def run_build(cfg: BuildConfig) -> tuple[dict, bool]:
    """Build ``cfg.model``: resolve its family, refuse options that do not apply, run the family's steps."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from flow.build import Build, run_flow
    from models.build_util import say
    from models.registry import get_family

    family = get_family(cfg.model)
    family.validate(cfg)
    if family.emulator and cfg.emulator is Emulator.FAST and Emulator.parse(family.emulator) is not Emulator.FAST:
        say(f"{family.name}: the {family.emulator} emulator produces the numbers (this model's default)")
        cfg = cfg.replace(emulator=Emulator.parse(family.emulator))
    build = run_flow(Build(config=cfg, family=family), family.steps)
    return build.report, bool(build.report["checks"]["passed"])


__all__ = ["BuildConfig", "run_build"]
