"""Orchestration of a build: one :class:`flow.build.Build` through the steps its model family declares.

``run_build(BuildConfig) -> (report, ok)`` is the Python API behind ``build_hls.py``; ``flow.config`` holds the
one validated configuration, ``flow.build`` the Build object and the step registry, ``flow.steps`` the
registered steps, ``flow.report`` the report writer and its schema, ``flow.checks`` the checks that decide the
exit code.
"""

from __future__ import annotations

import os

from flow.config import BuildConfig


def run_build(cfg: BuildConfig, on_step=None) -> tuple[dict, bool]:
    """Build ``cfg.model``: resolve its family, refuse options that do not apply, run the family's steps
    (``on_step(name, build)`` is called after each)."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    import flow.steps  # noqa: F401  (registers the steps)
    from flow.build import new_build, run_flow

    from flow.preflight import preflight
    from hls.transaction import ProjectTransaction

    preflight(cfg)  # every input checked before anything expensive runs
    from models.training import configure_determinism

    configure_determinism(cfg.seed)  # before TensorFlow's runtime starts: fixed thread counts
    build = new_build(cfg)
    build.on_step = on_step
    # a transaction: everything is written into a locked staging directory, swapped in at the very end
    with ProjectTransaction(cfg.resolved_output_dir()) as txn:
        build.staging_dir, build.final_dir = txn.staging, txn.out_dir
        run_flow(build, build.family.steps)
        txn.commit()
    return build.report, bool(build.report["checks"]["passed"])


__all__ = ["BuildConfig", "run_build"]
