"""Sweeps (point locks, workers dying with the sweep, orphans, names, best point, budget columns) and the
oldest Keras 2 vintage.  Cheap: no build except one hls4ml conversion (no compile) per vintage (~10 s)."""

import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest


def test_point_lock_refuses_a_second_process(tmp_path):
    from sweep.point import lock_holder, lock_point

    fd = lock_point(tmp_path)
    assert fd is not None and lock_point(tmp_path) is None and lock_holder(tmp_path) == os.getpid()
    os.close(fd)
    assert lock_holder(tmp_path) is None


def test_rerun_marks_orphaned_points(tmp_path):
    from sweep.point import lock_point
    from sweep.runner import ORPHANED, _mark_orphans, _needs_run

    for h in ("alive", "dead"):
        (tmp_path / "points" / h).mkdir(parents=True)
    fd = lock_point(tmp_path / "points" / "alive")  # a worker of an earlier sweep still holds its point
    recs = {h: {"hash": h, "status": "running", "started": "t0"} for h in ("alive", "dead")}
    log = []
    _mark_orphans(tmp_path, recs, log.append)
    os.close(fd)
    assert recs["alive"]["status"] == ORPHANED and not _needs_run(recs["alive"], False)
    assert recs["dead"]["orphaned_from"] == "t0" and _needs_run(recs["dead"], False)
    assert len(log) == 2 and json.loads((tmp_path / "points" / "alive" / "point.json").read_text())["status"] == ORPHANED


def test_worker_dies_with_its_sweep(tmp_path):
    """die_with: the point's process ends within seconds when the sweep process is gone (SIGKILL of the sweep)."""
    sweep = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    code = (f"import sys, time; sys.path.insert(0, {os.getcwd()!r}); from sweep.point import die_with; "
            f"die_with({sweep.pid}, every_s=0.2); time.sleep(60)")
    worker = subprocess.Popen([sys.executable, "-c", code])
    time.sleep(1.0)
    assert worker.poll() is None
    sweep.kill()
    sweep.wait()
    t0 = time.time()
    worker.wait(timeout=10)
    assert time.time() - t0 < 5 and worker.returncode != 0


def test_sweep_name_is_confined(tmp_path):
    from sweep.spec import SpecError, SweepSpec

    for bad in ("../../x", "a/b", "..", ".hidden", ""):
        with pytest.raises(SpecError, match="one folder name"):
            SweepSpec(name=bad)
    assert SweepSpec(name="ok-1.2").sweep_dir().parent.name == "sweeps"


def test_best_point_passes_checks_and_budgets():
    from sweep.pareto import analyse

    df = pd.DataFrame({"hash": ["fast_fail", "ok_slow", "over_budget"], "status": ["ok"] * 3,
                       "eff_mean": [0.9, 0.5, 0.8], "LUT[hls_estimate]": [10.0, 20.0, 5.0],
                       "latency_ns[hls_estimate]": [75.0, 40.0, 30.0], "checks_passed": [False, True, True],
                       "budgets_passed": [True, True, False]})
    assert analyse(df)["best"] == "ok_slow"


def test_budget_columns_are_limits_not_flags():
    from sweep.table import flatten_report

    rep = {"budgets": {"latency_ns": {"limit": 50.0, "unit": "ns", "passed": False}, "checks": [], "failed": ["x"],
                       "enforced": False, "passed": False}}
    row = flatten_report(rep)
    assert row["budget[latency_ns]"] == 50.0 and row["budgets_passed"] is False
    assert not any(k in row for k in ("budget[enforced]", "budget[passed]"))


@pytest.mark.parametrize("version", ["2.0.8", "2.2.4", "2.3.1"])
@pytest.mark.parametrize("full_h5", [False, True], ids=["json+weights", "full-h5"])
def test_oldest_sequential_without_input_layer_imports_and_converts(tmp_path, version, full_h5):
    """Keras <= 2.3 Sequential, no InputLayer (batch_input_shape on the first layer): imports, matches the numpy
    reference, and hls4ml converts it (the made-up input layer must not be named "input")."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "models"))
    import hls4ml

    from keras2_files import old_sequential_reference, write_old_sequential
    from models.legacy_import import load_legacy

    model_path, weights = write_old_sequential(tmp_path, version, full_h5)
    x = np.random.default_rng(5).normal(0, 1, (64, 6)).astype(np.float32)
    im = load_legacy(model_path, weights, data=x)
    assert im.model.inputs[0].name != "input" and im.model.layers[0].name == "dense_1_input"
    np.testing.assert_allclose(im.float_view.predict(x, verbose=0), old_sequential_reference(x), rtol=1e-5, atol=1e-6)
    hcfg = hls4ml.utils.config_from_keras_model(im.model, granularity="name", backend="Vitis")
    hm = hls4ml.converters.convert_from_keras_model(im.model, hls_config=hcfg, output_dir=str(tmp_path / "hls"),
                                                    backend="Vitis", io_type="io_parallel")
    assert "dense_1_input" in [l.name for l in hm.get_layers()]
