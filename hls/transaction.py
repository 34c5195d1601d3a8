"""A build of a project directory as a transaction: nothing is lost, nothing is half-written.

``ProjectTransaction(out_dir)`` (a context manager):

- takes a per-output lock (``fcntl.flock`` on ``<parent>/.<name>.lock``, released by the kernel when the
  process dies); a second build into the same directory is refused at once with the other build's pid,
  start time and command (:class:`OutputBusy`);
- removes stale ``.<name>.building-*`` directories (left by a killed build: the lock proves their owner
  is gone), and restores ``.previous/<name>`` when ``out_dir`` is missing or incomplete (says so);
- gives a fresh staging directory ``<parent>/.<name>.building-XXXX`` that the build writes *everything*
  into (project, golden vectors, metadata, report, plots);
- ``commit()`` swaps the staging directory into place (one atomic ``renameat2(RENAME_EXCHANGE)`` where
  the kernel has it) and keeps the replaced project in ``.previous/<name>`` (the last :data:`KEEP_PREVIOUS`
  generations: ``<name>``, ``<name>.1``, ...; says so);
- on an error the staging directory is kept under ``<parent>/.failed/`` with ``ERROR.txt``; on Ctrl-C
  or SIGTERM it is removed.  Either way ``out_dir`` is untouched.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Callable

KEEP_PREVIOUS = 3  # replaced projects kept in .previous/
# outputs of other commands that live inside a project directory and survive a rebuild of the project
KEEP_ACROSS_BUILDS = ("sweeps",)
OWNER_FILE = ".owner.json"
# files whose presence makes a directory a complete project (written last by a build)
COMPLETE_MARKERS = ("metadata.json", "report/report.json")


class OutputBusy(RuntimeError):
    """Another live build holds the lock of the same output directory."""


def _say(msg: str) -> None:
    print(msg, flush=True)


def check_output_path(out_dir: Path) -> Path:
    """``out_dir`` resolved, or ValueError when it (or a parent) is a regular file."""
    out_dir = Path(out_dir).expanduser().absolute()
    for p in [out_dir, *out_dir.parents]:
        if p.exists() or p.is_symlink():
            if not p.is_dir():
                what = "is" if p == out_dir else f"lies under {p}, which is"
                raise ValueError(f"--output {out_dir} {what} a regular file, not a directory: choose another --output")
            break
    return out_dir.resolve()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_info() -> dict:
    return {"pid": os.getpid(), "started_unix": time.time(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": os.uname().nodename,
            "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300] if sys.argv else ""}


def _describe_owner(info: dict) -> str:
    if not info:
        return "another build (no details recorded)"
    return (f"another build (pid {info.get('pid')}, started {info.get('started')} on {info.get('host')}"
            + (f": {info['command']}" if info.get("command") else "") + ")")


def _rename_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    AT_FDCWD, RENAME_EXCHANGE = -100, 2
    rc = fn(AT_FDCWD, os.fsencode(str(a)), AT_FDCWD, os.fsencode(str(b)), RENAME_EXCHANGE)
    return rc == 0


def is_complete(project: Path) -> bool:
    return all((Path(project) / m).is_file() for m in COMPLETE_MARKERS)


def previous_dirs(out_dir: Path) -> list[Path]:
    """The kept generations of ``out_dir``, newest first."""
    base = out_dir.parent / ".previous"
    gens = [base / out_dir.name] + [base / f"{out_dir.name}.{i}" for i in range(1, KEEP_PREVIOUS)]
    return [g for g in gens if g.is_dir()]


def _unused(path: Path) -> Path:
    """``path`` or ``path-2``, ``path-3``...: the first that does not exist (two failures of one process in
    one second must not collide); its parent is created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cand, i = path, 1
    while cand.exists():
        i += 1
        cand = path.with_name(f"{path.name}-{i}")
    return cand


class ProjectTransaction:
    """See the module docstring.  ``say`` prints the console lines (kept / restored / cleaned)."""

    def __init__(self, out_dir: Path, keep: int = KEEP_PREVIOUS, say: Callable[[str], None] = _say):
        self.out_dir = check_output_path(out_dir)
        self.keep = max(1, int(keep))
        self.say = say
        self.staging: Path | None = None
        self._fd: int | None = None
        self.committed = False
        self.failed_dir: Path | None = None

    @property
    def lock_path(self) -> Path:
        return self.out_dir.parent / f".{self.out_dir.name}.lock"

    # -- lock -------------------------------------------------------------------------------------------
    def _acquire(self) -> None:
        self.out_dir.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                info = json.loads(os.pread(fd, 4096, 0).decode() or "{}")
            except (ValueError, OSError):
                info = {}
            os.close(fd)
            raise OutputBusy(f"--output {self.out_dir}: {_describe_owner(info)} is writing into it; wait for it "
                             "to finish or choose another --output") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_owner_info()).encode(), 0)
        self._fd = fd

    def _release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None

    # -- housekeeping under the lock --------------------------------------------------------------------
    def _clean_stale(self) -> None:
        for d in sorted(self.out_dir.parent.glob(f".{self.out_dir.name}.building-*")):
            try:
                owner = json.loads((d / OWNER_FILE).read_text())
            except (OSError, ValueError):
                owner = {}
            pid = owner.get("pid")
            if isinstance(pid, int) and pid != os.getpid() and pid_alive(pid) and owner.get("host") == os.uname().nodename:
                self.say(f"note: {d} belongs to the live process {pid} (a build without the lock?); left alone")
                continue
            shutil.rmtree(d, ignore_errors=True)
            self.say(f"removed the stale temporary directory {d} (its build, pid {pid}, is gone)")

    def _restore_if_broken(self) -> None:
        if self.out_dir.exists() and is_complete(self.out_dir):
            return
        good = [p for p in previous_dirs(self.out_dir) if is_complete(p)]
        if not good:
            return
        if self.out_dir.exists():
            broken = _unused(self.out_dir.parent / ".failed" / f"{self.out_dir.name}-incomplete-{time.strftime('%Y%m%d-%H%M%S')}")
            self.out_dir.rename(broken)
            self.say(f"{self.out_dir} was incomplete (moved to {broken})")
        good[0].rename(self.out_dir)
        self.say(f"restored the last good project {good[0]} into {self.out_dir}")

    # -- the transaction --------------------------------------------------------------------------------
    def __enter__(self) -> "ProjectTransaction":
        self._acquire()
        try:
            self._clean_stale()
            self._restore_if_broken()
            self.staging = Path(tempfile.mkdtemp(prefix=f".{self.out_dir.name}.building-", dir=self.out_dir.parent))
            (self.staging / OWNER_FILE).write_text(json.dumps(_owner_info()))
        except BaseException:
            self._release()
            raise
        return self

    def commit(self) -> None:
        """Swap the staging directory into ``out_dir``; the replaced project goes to ``.previous``."""
        stg, out = self.staging, self.out_dir
        (stg / OWNER_FILE).unlink(missing_ok=True)
        if not out.exists():
            stg.rename(out)
        else:
            for name in KEEP_ACROSS_BUILDS:  # moved (same filesystem: a rename), not copied
                if (out / name).exists() and not (stg / name).exists():
                    (out / name).rename(stg / name)
            if _rename_exchange(stg, out):
                old = stg  # now holds the replaced project
            else:
                old = stg.with_name(stg.name + "-old")
                out.rename(old)
                stg.rename(out)
            self._keep_previous(old)
        self.committed = True

    def _keep_previous(self, old: Path) -> None:
        base = self.out_dir.parent / ".previous"
        base.mkdir(parents=True, exist_ok=True)
        name = self.out_dir.name
        gens = [base / name] + [base / f"{name}.{i}" for i in range(1, self.keep)]
        dropped = base / f".{name}.dropped-{os.getpid()}"
        if gens[-1].exists():
            gens[-1].rename(dropped)
        for i in range(len(gens) - 1, 0, -1):
            if gens[i - 1].exists():
                gens[i - 1].rename(gens[i])
        old.rename(gens[0])
        shutil.rmtree(dropped, ignore_errors=True)
        n = sum(g.is_dir() for g in gens)
        self.say(f"kept the replaced project as {gens[0]} ({n} of the last {self.keep} kept in {base})")

    def _abort(self, exc: BaseException) -> Path | None:
        stg = self.staging
        if stg is None or not stg.exists():
            return None
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            shutil.rmtree(stg, ignore_errors=True)
            return None
        failed = _unused(self.out_dir.parent / ".failed" / f"{self.out_dir.name}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
        (stg / OWNER_FILE).unlink(missing_ok=True)
        stg.rename(failed)
        (failed / "ERROR.txt").write_text("".join(traceback.format_exception(exc)))
        return failed

    def __exit__(self, et, exc, tb) -> bool:
        try:
            if exc is not None and not self.committed:
                failed = self._abort(exc)
                if failed is not None and isinstance(exc, Exception):
                    note = f"the previous project in {self.out_dir} is untouched; the failed build is kept in {failed}"
                    try:
                        exc.add_note(note)
                    except AttributeError:
                        pass
                    self.failed_dir = failed
            elif exc is None and not self.committed and self.staging is not None and self.staging.exists():
                shutil.rmtree(self.staging, ignore_errors=True)  # left without commit(): nothing to keep
        finally:
            self._release()
        return False
