"""Builds are transactions (hls/transaction.py): lock, staging, .previous generations, stale clean-up,
restore, abort.  No TensorFlow, no compile: a few milliseconds each."""

import json
import os
import subprocess
import sys

import pytest

from hls.transaction import KEEP_PREVIOUS, OutputBusy, ProjectTransaction, check_output_path


def _complete(d, tag):
    (d / "report").mkdir(parents=True, exist_ok=True)
    (d / "metadata.json").write_text(json.dumps({"tag": tag}))
    (d / "report" / "report.json").write_text("{}")


def _build(out, tag, say=None):
    msgs = []
    with ProjectTransaction(out, say=(say or msgs.append)) as txn:
        _complete(txn.staging, tag)
        txn.commit()
    return msgs


def _tag(d):
    return json.loads((d / "metadata.json").read_text())["tag"]


def test_previous_keeps_the_last_generations_and_says_so(tmp_path):
    out = tmp_path / "P"
    msgs = []
    for i in range(KEEP_PREVIOUS + 2):
        msgs += _build(out, f"gen{i}")
    last = KEEP_PREVIOUS + 1
    assert _tag(out) == f"gen{last}"
    prev = tmp_path / ".previous"
    kept = [prev / "P"] + [prev / f"P.{i}" for i in range(1, KEEP_PREVIOUS)]
    assert [_tag(d) for d in kept] == [f"gen{last - 1 - i}" for i in range(KEEP_PREVIOUS)]
    assert not (prev / f"P.{KEEP_PREVIOUS}").exists() and len(list(prev.iterdir())) == KEEP_PREVIOUS
    assert sum("kept the replaced project" in m for m in msgs) == KEEP_PREVIOUS + 1
    assert not list(tmp_path.glob(".P.building-*"))


def test_second_build_into_the_same_output_is_refused_naming_the_first(tmp_path):
    out = tmp_path / "P"
    _build(out, "good")
    with ProjectTransaction(out, say=lambda m: None) as first:
        with pytest.raises(OutputBusy, match=rf"pid {os.getpid()}, started .* is writing into it"):
            ProjectTransaction(out).__enter__()
        assert first.staging.is_dir()
    assert _tag(out) == "good"  # the refused build touched nothing


def test_error_keeps_old_project_and_failed_build(tmp_path):
    out = tmp_path / "P"
    _build(out, "good")
    with pytest.raises(RuntimeError, match="boom") as ei:
        with ProjectTransaction(out, say=lambda m: None) as txn:
            _complete(txn.staging, "half")
            raise RuntimeError("boom")
    assert _tag(out) == "good"
    assert "is untouched; the failed build is kept in" in "".join(ei.value.__notes__)
    failed = list((tmp_path / ".failed").iterdir())
    assert len(failed) == 1 and "boom" in (failed[0] / "ERROR.txt").read_text()
    assert not list(tmp_path.glob(".P.building-*"))


def test_interrupt_removes_staging_and_keeps_old_project(tmp_path):
    out = tmp_path / "P"
    _build(out, "good")
    with pytest.raises(KeyboardInterrupt):
        with ProjectTransaction(out, say=lambda m: None) as txn:
            _complete(txn.staging, "half")
            raise KeyboardInterrupt
    assert _tag(out) == "good" and not list(tmp_path.glob(".P.building-*")) and not (tmp_path / ".failed").exists()
    with ProjectTransaction(out, say=lambda m: None):  # the lock was released
        pass


def test_stale_staging_of_a_dead_build_is_cleaned(tmp_path):
    out = tmp_path / "P"
    _build(out, "good")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / ".P.building-dead"
    stale.mkdir()
    (stale / ".owner.json").write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename}))
    (stale / "junk").write_text("x")
    msgs = _build(out, "new")
    assert not stale.exists() and any("removed the stale temporary directory" in m for m in msgs)


def test_missing_or_incomplete_project_is_restored_from_previous(tmp_path):
    out = tmp_path / "P"
    _build(out, "g1")
    _build(out, "g2")  # .previous/P = g1
    (out / "report" / "report.json").unlink()  # e.g. an old version's interrupted rebuild
    msgs = []
    with ProjectTransaction(out, say=msgs.append):
        pass  # left without commit: nothing replaced
    assert _tag(out) == "g1" and any("restored the last good project" in m for m in msgs)


def test_output_under_a_regular_file_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="regular file"):
        check_output_path(f / "P")
    with pytest.raises(ValueError, match="regular file"):
        ProjectTransaction(f)
