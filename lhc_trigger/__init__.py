"""The toolkit's Python API (what ``build_hls.py`` and the ``lhc-trigger-build`` console script sit on).

.. code-block:: python

    import lhc_trigger as lt

    res = lt.build("build.yml")                       # or a BuildConfig, or a dict in the file's form
    res = lt.build(lt.BuildConfig(model="vae21", n_train=20_000))
    res.ok, res.report["physics"], res.project_dir    # checks passed?, report.json as a dict, the HLS project
    scores = res.emulator.predict(x_raw)              # the firmware's arithmetic on new events (raw features)
    lt.check(res.project_dir).passed                  # the firmware regression check (golden vectors)

``build`` runs the same flow as the command line (:func:`flow.run_build`) and returns a :class:`BuildResult`;
``check`` is ``build_hls.py check``; :class:`ProjectEmulator` opens any project directory; ``load_config`` reads a
build configuration file (``flow/config_file.py``).
"""

from __future__ import annotations

from lhc_trigger.quiet import quiet_tensorflow

quiet_tensorflow()  # TensorFlow imported now, its start-up messages filtered out of stderr

from lhc_trigger.api import BuildResult, ProjectEmulator, build, check, load_config  # noqa: E402
from flow.config import BuildConfig  # noqa: E402


def main(argv=None) -> int:
    """The command line (``lhc-trigger-build``, same as ``python build_hls.py``)."""
    import build_hls

    return build_hls.main(argv)


__all__ = ["BuildConfig", "BuildResult", "ProjectEmulator", "build", "check", "load_config", "main"]
