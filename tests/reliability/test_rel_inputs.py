"""Every bad input of benchmarks/reliability_matrix.py gets a clear error (exit 2, one `error:` line naming the
option, no traceback, no project directory) before anything expensive runs.  ~30 s in all (no build)."""

import json

import numpy as np
import pytest

from benchmarks.reliability_matrix import INPUT_CASES, SMALL, run_input_case


@pytest.mark.parametrize("case", INPUT_CASES, ids=[c.name for c in INPUT_CASES])
def test_bad_input_gets_a_clear_error(case, tmp_path):
    r = run_input_case(case, tmp_path)
    assert r["clear"], r


def test_check_without_report_writes_junit_error(tmp_path):
    case = next(c for c in INPUT_CASES if c.name == "check without report.json")
    r = run_input_case(case, tmp_path)
    assert r["rc"] == 2
    xml = (tmp_path / "junit.xml").read_text()
    assert 'errors="1"' in xml and "report/report.json" in xml


def test_port_range_problems_absurd_and_bulk():
    from data.validate import port_range_problems

    rng = np.random.default_rng(0)
    x = rng.normal(0, 1, (1000, 3))
    assert port_range_problems({"bkg": x}, -32, 32, "ap_fixed<16,6>") == []
    x[5, 2] = 1e30
    (msg,) = port_range_problems({"bkg": x}, -32, 32, "ap_fixed<16,6>")
    assert "largest |value| 1e+30 (event 5, feature 2)" in msg
    y = rng.normal(0, 40, (1000, 3))  # a wide bulk: most events saturate
    assert "saturate the input port" in port_range_problems({"sig": y}, -32, 32, "p")[0]


@pytest.mark.slow
def test_absurd_data_value_refused_before_conversion_unless_allowed(cli_run, tmp_path, capsys):
    """A 1e30 feature value in --data (the issue: exit 0, 'checks passed') is refused before the conversion."""
    import h5py

    import build_hls

    _, _, tmp = cli_run
    x = np.random.default_rng(1).normal(0, 1, (20000, 21)).astype(np.float32)
    x[17, 4] = 1e30
    with h5py.File(tmp_path / "ev.h5", "w") as f:
        f.create_dataset("background/features", data=x)
    out = tmp_path / "P"
    rc = build_hls.main(["--model", "vae21", "--data", str(tmp_path / "ev.h5"), "--output", str(out),
                         "--cache-dir", str(tmp / "cache"), *SMALL])
    err = capsys.readouterr().err
    assert rc == 2 and "inputs outside the firmware's input port" in err and "--allow-saturation" in err
    assert "event 17, feature 4" in err and not out.exists()
