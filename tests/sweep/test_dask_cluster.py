"""Sweeps on a real Dask cluster: a scheduler and workers started as separate processes on 127.0.0.1, from a
folder and an import path that do not hold the checkout (as on a batch cluster), so the workers cannot import
this project: the code must travel with the tasks."""

import json

import pytest

import build_hls
from sweep.cluster import ProcessCluster

SMALL = ["--n-train", "4000", "--n-signal", "2000", "--n-test-bkg", "20000", "--fpr", "1e-3", "--epochs", "2",
         "--min-spearman", "0.5"]


@pytest.mark.slow
def test_sweep_on_separately_started_scheduler_and_worker(cli_run, tmp_path):
    _, _, tmp = cli_run  # its cache holds the trained vae21 of these sizes (PTQ reuses it)
    with ProcessCluster(tmp_path / "cluster") as cluster:
        assert not cluster.worker_sees_project
        out = tmp_path / "sw"
        rc = build_hls.main(["sweep", "--model", "vae21", "--mode", "ptq", "--precision", "8,10", "--reuse-factor", "1",
                             "--scheduler", cluster.address, "--output", str(out), "--cache-dir", str(tmp / "cache"),
                             *SMALL])
    assert rc == 0
    recs = [json.loads(p.read_text()) for p in sorted(out.glob("points/*/point.json"))]
    assert len(recs) == 2 and all(r["status"] == "ok" and r["checks_passed"] for r in recs)
    for r in recs:  # each point's report came back into the sweep folder, bit-exact
        rep = json.loads((out / "points" / r["hash"] / "project" / "report" / "report.json").read_text())
        assert rep["agreement"]["emulator_vs_keras"]["n_mismatched"] == 0


@pytest.mark.slow
def test_worker_lacking_a_dependency_is_named_before_any_point(tmp_path, capsys):
    fake = tmp_path / "fake"
    (fake / "hls4ml").mkdir(parents=True)
    (fake / "hls4ml" / "__init__.py").write_text("raise ImportError('simulated: hls4ml is not installed here')\n")
    with ProcessCluster(tmp_path / "cluster", extra_path=str(fake)) as cluster:
        out = tmp_path / "sw"
        rc = build_hls.main(["sweep", "--model", "vae21", "--mode", "ptq", "--precision", "8", "--scheduler",
                             cluster.address, "--output", str(out), "--cache-dir", str(tmp_path / "c"), *SMALL])
    err = capsys.readouterr().err
    assert rc == 2
    assert "Dask workers cannot run the sweep's points: worker tcp://127.0.0.1:" in err
    assert "hls4ml is not importable (ImportError: simulated: hls4ml is not installed here)" in err
    assert not list(out.glob("points/*/point.json"))  # nothing was submitted
