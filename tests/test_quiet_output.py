"""Quiet, informative output: no TensorFlow start-up noise on stderr (lhc_trigger/quiet.py), real errors kept,
progress bars only on a terminal (plain lines in logs).  15-50 s (two Python start-ups importing TensorFlow)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, **env) -> subprocess.CompletedProcess:
    e = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "LHC_TRIGGER_VERBOSE")}
    e.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=e, capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_tensorflow_start_up_is_silent_and_errors_still_show():
    r = _run("from lhc_trigger.quiet import quiet_tensorflow; quiet_tensorflow(); import keras, qkeras, hls4ml; "
             "import sys; print('real problem', file=sys.stderr)")
    assert r.returncode == 0, r.stderr
    assert r.stderr.strip() == "real problem"
    loud = _run("import tensorflow, keras", TF_CPP_MIN_LOG_LEVEL="0")
    assert loud.returncode == 0
    from lhc_trigger.quiet import _is_noise

    noisy = [ln for ln in loud.stderr.splitlines() if ln.strip()]
    assert noisy  # there is start-up noise to filter in the first place
    assert all(_is_noise(ln) for ln in noisy), [ln for ln in noisy if not _is_noise(ln)]  # what we filter is noise


def test_progress_bars_only_on_a_terminal(capsys, monkeypatch):
    from models import build_util

    monkeypatch.delenv("CI", raising=False)
    assert not build_util.interactive()  # pytest captures stdout: not a terminal
    assert build_util.progress_bar(10, "x") is None and build_util.keras_verbose() == 0
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    bar = build_util.progress_bar(3, "training", "epoch")
    assert bar is not None and bar.total == 3
    bar.close()
    monkeypatch.setenv("CI", "true")
    assert build_util.progress_bar(3, "x") is None  # CI logs get plain lines even on a pseudo-terminal
