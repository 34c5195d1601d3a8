"""Start-up: commands that need no model import no TensorFlow, Keras or hls4ml (checked in a fresh process)."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "hls4ml")
_WRAPPER = """
import json, sys
sys.argv = ["build_hls.py", *json.loads(sys.argv[1])]
import build_hls
try:
    rc = build_hls.main(sys.argv[1:])
except SystemExit as e:  # --help
    rc = e.code
print("STARTUP " + json.dumps({"rc": rc, "loaded": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def run_startup(argv: list[str]) -> tuple[dict, float, str]:
    """``build_hls.py ARGV`` in a fresh interpreter: (exit code and heavy modules loaded at exit, seconds, output)."""
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _WRAPPER, json.dumps(argv)], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    dt = time.perf_counter() - t0
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("STARTUP ")]
    assert line, f"no result line: {p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    return json.loads(line[-1][len("STARTUP "):]), dt, p.stdout + p.stderr


@pytest.mark.parametrize("argv", [["--help"], ["check", "--help"], ["resources", "--help"], ["sweep", "--help"]])
def test_help_imports_no_tensorflow(argv):
    res, dt, out = run_startup(argv)
    assert res["rc"] == 0, out
    assert res["loaded"] == [], f"{argv} imported {res['loaded']} ({dt:.1f} s)"


def test_check_and_resources_import_no_tensorflow(cli_run):
    _, project, _ = cli_run
    assert (project / "model" / "fast_plan.npz").is_file()
    res, dt, out = run_startup(["check", str(project)])
    assert res["rc"] == 0 and "[PASS] fast_emulator_vs_golden" in out, out
    assert res["loaded"] == [], f"check imported {res['loaded']} ({dt:.1f} s)"
    res, dt, out = run_startup(["resources", str(project)])
    assert res["rc"] == 0, out
    assert res["loaded"] == [], f"resources imported {res['loaded']} ({dt:.1f} s)"
    res, _, out = run_startup(["check", str(project), "--keras"])  # the wrapper does see an import
    assert res["rc"] == 0 and "tensorflow" in res["loaded"], out


def test_resources_from_saved_layer_specs_equal_the_keras_path(cli_run, tmp_path):
    """`resources` reads model/estimate_layers.json; without it, it loads the Keras model: the same figures."""
    import shutil

    from analysis.budgets import Budgets
    from emulation.hardware import project_resources
    from hls.estimate import SPECS_FILE

    _, project, _ = cli_run
    assert (project / SPECS_FILE).is_file()
    copy = tmp_path / "p"
    shutil.copytree(project, copy)
    (copy / SPECS_FILE).unlink()
    a, b = project_resources(project, Budgets()), project_resources(copy, Budgets())
    assert a["latency"]["hls_estimate"] == b["latency"]["hls_estimate"]
    assert a["resources"]["hls_estimate"] == b["resources"]["hls_estimate"]
    assert a["hardware"]["details"]["hls_estimate"] == b["hardware"]["details"]["hls_estimate"]
    assert a["resources"]["hls_estimate"]["LUT"] > 0
