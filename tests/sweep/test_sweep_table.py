"""Results table flattening, Pareto front and best-under-budget on synthetic reports; the runner's resume,
crash and failure bookkeeping with a fake executor (no builds)."""

import json
from concurrent.futures import Future

import numpy as np
import pandas as pd
import pytest

from sweep.pareto import analyse, pareto_markdown, pareto_mask, pareto_plots, pick_metric
from sweep.spec import SweepSpec, expand
from sweep.table import flatten_report, point_row, write_table

SIGNALS = ("A_4l", "LQ_btau")


def _report(eff=(0.1, 0.2), lut=None, lat=None, bits=8, rf=1, extra_sources=None, budgets=None):
    r = {
        "versions": {"hls4ml": "1.3.0", "numpy": "2.1"},
        "agreement": {"emulator_vs_keras": {"n_events": 100, "n_mismatched": 0, "max_abs_diff": 0.0},
                      "emulator_vs_float_view": {"score_spearman": 0.99, "score_pearson": 0.95}},
        "working_points": [{"name": "fpr_1e-05", "threshold": 3.0, "background_rate_hz": 7e-4, "decision_agreement": 1.0},
                           {"name": "rate_30_per_day", "threshold": 2.0}],
        "signals": {s: {"auc_emulator": 0.8 + 0.01 * i,
                        "working_points": {"fpr_1e-05": {"eff_emulator": e, "eff_float_twin": e + 0.01},
                                           "rate_30_per_day": {"eff_emulator": 0.99}}}
                    for i, (s, e) in enumerate(zip(SIGNALS, eff))},
        "timings_s": {"compile": 9.0, "emulate": 0.5},
        "checks": {"passed": True, "failures": []},
        "hls": {"reuse_factor": rf},
        "model_details": {"config": {"n_features": 21, "hidden": [32, 16], "latent": 4,
                                     "quant": {"input_bits": 16, "weight_bits": bits, "act_bits": bits, "mu_bits": bits}}},
    }
    if lut is not None:
        r["resources"] = {"hls_estimate": {"LUT": lut, "FF": 2 * lut, "DSP": 0, "BRAM": 0, "note": "text ignored"}}
        r["resources"].update(extra_sources or {})
    if lat is not None:
        r["latency"] = {"rtl_simulation": {"cycles": lat, "ns": 5.0 * lat, "ii": 1},
                        "da4ml_estimate": {"cycles": lat - 1}}
    if budgets is not None:
        r["budgets"] = budgets
    return r


def test_flatten_labels_every_source():
    row = flatten_report(_report(lut=1000, lat=7, extra_sources={"yosys_synthesis": {"LUT": 900, "CARRY": 40}},
                                 budgets={"LUT": 5000, "latency_ns": 50}))
    assert row["LUT[hls_estimate]"] == 1000 and row["FF[hls_estimate]"] == 2000 and row["DSP[hls_estimate]"] == 0
    assert row["LUT[yosys_synthesis]"] == 900 and row["CARRY[yosys_synthesis]"] == 40
    assert "note[hls_estimate]" not in row
    assert row["latency_cycles[rtl_simulation]"] == 7 and row["latency_ns[rtl_simulation]"] == 35.0
    assert row["ii[rtl_simulation]"] == 1 and row["latency_cycles[da4ml_estimate]"] == 6
    assert row["budget[LUT]"] == 5000 and row["budget[latency_ns]"] == 50
    assert row["working_point"] == "fpr_1e-05"  # the main (first) working point
    assert row["eff[A_4l]"] == 0.1 and row["eff[LQ_btau]"] == 0.2 and row["eff_mean"] == pytest.approx(0.15)
    assert row["eff_float_twin[A_4l]"] == pytest.approx(0.11) and row["auc[LQ_btau]"] == pytest.approx(0.81)
    assert row["n_mismatched"] == 0 and row["spearman_float_view"] == 0.99 and row["version[hls4ml]"] == "1.3.0"
    assert row["time_compile_s"] == 9.0 and row["checks_passed"] is True


def test_flatten_works_without_latency_or_resources():
    row = flatten_report(_report())
    assert not any(k.startswith(("LUT[", "latency", "budget[")) for k in row)
    # analytic bit operations: 21*32*8*16 + 32*16*8*8 + 16*4*8*8 + 4*8*8
    assert row["BOPs[analytic]"] == 21 * 32 * 8 * 16 + 32 * 16 * 64 + 16 * 4 * 64 + 4 * 64
    assert flatten_report(_report(rf=2))["BOPs[analytic]"] == row["BOPs[analytic]"] / 2


def test_pareto_mask_known_front():
    costs = np.array([[1, 5], [2, 3], [3, 3], [4, 1], [2, 6], [1, 5]])
    assert pareto_mask(costs).tolist() == [True, True, False, True, False, True]  # equal points both kept


def _table(tmp_path, reports, statuses=None):
    spec = SweepSpec(output=tmp_path / "sw", axes={"precision": tuple(range(6, 6 + len(reports))), "mode": ("ptq",)})
    pts = expand(spec)
    rows = []
    for i, (p, r) in enumerate(zip(pts, reports)):
        st = (statuses or {}).get(i, "ok")
        rows.append(point_row(p, {"status": st, "wall_s": 10.0 + i, "error": None if st == "ok" else "boom"},
                              r if st == "ok" else None))
    (tmp_path / "sw").mkdir(parents=True, exist_ok=True)
    return write_table(rows, tmp_path / "sw"), pts


def test_front_and_best_under_budget(tmp_path):
    reps = [_report(eff=(0.10, 0.10), lut=1000, lat=10),  # 0: front (cheapest)
            _report(eff=(0.20, 0.20), lut=2000, lat=12),  # 1: front
            _report(eff=(0.15, 0.15), lut=3000, lat=14),  # 2: dominated by 1
            _report(eff=(0.30, 0.30), lut=9000, lat=9),   # 3: front (best, but over the LUT budget)
            _report(eff=(0.9, 0.9), lut=100, lat=1)]      # 4: failed: never on the front
    df, pts = _table(tmp_path, reps, statuses={4: "failed"})
    assert pick_metric(df, "resource") == "LUT[hls_estimate]"
    assert pick_metric(df, "latency") == "latency_ns[rtl_simulation]"
    info = analyse(df, budgets={"LUT": 2500})
    assert info["budgets"] == {"LUT[hls_estimate]": 2500.0}
    assert set(info["front"]) == {pts[0].hash, pts[1].hash, pts[3].hash}
    assert info["best"] == pts[1].hash
    assert analyse(df)["best"] == pts[3].hash  # no budget: highest efficiency
    assert analyse(df, budgets={"LUT": 10})["best"] is None
    md = pareto_markdown(df, info)
    best_line = [l for l in md.splitlines() if "**best under budgets**" in l]
    assert len(best_line) == 1 and pts[1].hash in best_line[0]
    assert pts[2].hash not in md and "1 failed, 4 ok" in md and "`LUT[hls_estimate]` <= 2500" in md
    assert [p.name for p in pareto_plots(df, info, tmp_path / "sw")] == [
        "pareto_resources_vs_efficiency.png", "pareto_latency_vs_resources.png"]
    # the Parquet and CSV tables hold the same rows, with the failure recorded
    back = pd.read_parquet(tmp_path / "sw" / "results.parquet")
    csv = pd.read_csv(tmp_path / "sw" / "results.csv")
    assert list(back["hash"]) == list(csv["hash"]) == [p.hash for p in pts]
    assert back.loc[4, "status"] == "failed" and back.loc[4, "error"] == "boom" and np.isnan(back.loc[4, "eff_mean"])
    assert json.loads(back.loc[0, "config_json"])["quant_mode"] == "ptq"


def test_source_priority_and_report_budgets(tmp_path):
    reps = [_report(eff=(0.1, 0.1), lut=1000, extra_sources={"yosys_synthesis": {"LUT": 800}}, budgets={"LUT": 850}),
            _report(eff=(0.2, 0.2), lut=1200, extra_sources={"yosys_synthesis": {"LUT": 900}}, budgets={"LUT": 850})]
    df, pts = _table(tmp_path, reps)
    assert pick_metric(df, "resource") == "LUT[yosys_synthesis]"  # synthesis before the HLS estimate
    assert pick_metric(df, "resource", "LUT[hls_estimate]") == "LUT[hls_estimate]"
    info = analyse(df)  # budgets from the reports themselves
    assert info["budgets"] == {"LUT[yosys_synthesis]": 850.0} and info["best"] == pts[0].hash
    assert info["latency"] is None and "Latency: no source" in pareto_markdown(df, info)
    with pytest.raises(ValueError, match="no such column"):
        pick_metric(df, "efficiency", "Z_prime")
    assert pick_metric(df, "efficiency", "LQ_btau") == "eff[LQ_btau]"


def test_without_resource_sources_bops_is_the_axis(tmp_path):
    df, pts = _table(tmp_path, [_report(eff=(0.1, 0.1), bits=6), _report(eff=(0.2, 0.2), bits=8)])
    info = analyse(df)
    assert info["resource"] == "BOPs[analytic]" and set(info["front"]) == {pts[0].hash, pts[1].hash}


# ------------------------------------------------------------------------------------------------ runner
class FakeExecutor:
    """Completes points at once: writes a synthetic report for 'ok' points; 'crash' points die without a result."""

    name = "fake"
    capacity = 2

    def __init__(self, crash=(), fail=()):
        self.crash, self.fail, self.submitted = set(crash), set(fail), []

    def describe(self):
        return "fake"

    def submit(self, key, point_dir):
        self.submitted.append(key)
        f = Future()
        if key in self.crash:
            (point_dir / "log.txt").write_text("Segmentation fault in g++-built C-sim\n")
            f.set_result((-11, 0.5, "test"))
            return f
        res = {"hash": key, "status": "failed" if key in self.fail else "ok", "checks_passed": True, "run_build_s": 0.4}
        if key in self.fail:
            res["error"] = "RuntimeError: C-simulation compile failed"
        else:
            rd = point_dir / "project" / "report"
            rd.mkdir(parents=True, exist_ok=True)
            rd.joinpath("report.json").write_text(json.dumps(_report(eff=(0.1 * len(self.submitted), 0.1))))
        (point_dir / "result.json").write_text(json.dumps(res))
        f.set_result((0 if key not in self.fail else 1, 0.5, "test"))
        return f

    def stop_running(self):
        pass

    def close(self):
        pass


def test_runner_records_crash_and_failure_continues_and_resumes(tmp_path):
    from sweep.runner import run_sweep

    spec = SweepSpec(output=tmp_path / "sw", axes={"mode": ("ptq",), "precision": (6, 7, 8, 9)})
    pts = expand(spec)
    ex = FakeExecutor(crash={pts[1].hash}, fail={pts[2].hash})
    logs = []
    res = run_sweep(spec, log=logs.append, executor=ex)
    assert ex.submitted[0] == pts[0].hash and sorted(ex.submitted) == sorted(p.hash for p in pts)
    df = res.table.set_index("hash")
    assert df.loc[pts[1].hash, "status"] == "crashed" and "signal 11" in df.loc[pts[1].hash, "error"]
    assert "Segmentation fault" in df.loc[pts[1].hash, "error"]
    assert df.loc[pts[2].hash, "status"] == "failed" and "compile failed" in df.loc[pts[2].hash, "error"]
    assert (df.loc[[pts[0].hash, pts[3].hash], "status"] == "ok").all()
    assert any("2/4 done" in l or "4/4 done (2 failed)" in l for l in logs)
    assert (tmp_path / "sw" / "pareto.md").read_text().count("**best under budgets**") == 1
    # resume: nothing re-run; with retry_failed only the two bad points
    ex2 = FakeExecutor()
    res2 = run_sweep(spec, log=logs.append, executor=ex2)
    assert ex2.submitted == [] and res2.n_run == 0 and res2.counts == {"ok": 2, "crashed": 1, "failed": 1}
    ex3 = FakeExecutor()
    from dataclasses import replace

    res3 = run_sweep(replace(spec, retry_failed=True), log=logs.append, executor=ex3)
    assert sorted(ex3.submitted) == sorted([pts[1].hash, pts[2].hash]) and res3.counts == {"ok": 4}


def test_interrupted_point_is_rerun_and_late_result_adopted(tmp_path):
    from sweep.runner import run_sweep

    spec = SweepSpec(output=tmp_path / "sw", axes={"mode": ("ptq",), "precision": (6, 8)})
    pts = expand(spec)
    run_sweep(spec, log=lambda s: None, executor=FakeExecutor())
    # point 0: interrupted with no result -> re-run; point 1: interrupted but its process finished afterwards
    for p, has_result in ((pts[0], False), (pts[1], True)):
        d = tmp_path / "sw" / "points" / p.hash
        rec = json.loads((d / "point.json").read_text())
        rec["status"] = "interrupted"
        (d / "point.json").write_text(json.dumps(rec))
        if not has_result:
            (d / "result.json").unlink()
    ex = FakeExecutor()
    res = run_sweep(spec, log=lambda s: None, executor=ex)
    assert ex.submitted == [pts[0].hash] and res.counts == {"ok": 2}


class _LazyFuture:
    def __init__(self, cond, result):
        self.cond, self._result = cond, result

    def done(self):
        return self.cond()

    def result(self):
        return self._result


class TrainingExecutor(FakeExecutor):
    """Each point reports its 'prepare' step (model trained and cached) at once but finishes only when another
    point has started, or after 3 s: were followers held until the leader finished, they would start late."""

    def submit(self, key, point_dir):
        import time

        fut = super().submit(key, point_dir)
        (point_dir / "steps.json").write_text(json.dumps({"done": ["data", "prepare"]}))
        n, t0 = len(self.submitted), time.monotonic()
        self.overlapped = getattr(self, "overlapped", 0)

        def cond():
            if len(self.submitted) > n:
                self.overlapped += 1
                return True
            return time.monotonic() - t0 > 3.0

        return _LazyFuture(cond, fut.result())


def test_points_sharing_a_model_start_once_it_is_trained(tmp_path):
    from sweep.runner import run_sweep

    spec = SweepSpec(output=tmp_path / "sw", axes={"mode": ("ptq",), "precision": (6, 8)})
    pts = expand(spec)
    assert pts[0].training_key == pts[1].training_key  # PTQ: one trained model for both
    ex = TrainingExecutor()
    res = run_sweep(spec, log=lambda s: None, executor=ex)
    assert res.counts == {"ok": 2} and ex.submitted == [pts[0].hash, pts[1].hash]
    assert ex.overlapped >= 1  # the second started while the first was still running


def test_reuse_target_columns_table_and_plot(tmp_path):
    # issue 21: per-layer reuse factors per point, II / latency / resources per point, and the trade-off plot
    from sweep.pareto import reuse_markdown, reuse_plot

    spec = SweepSpec(output=tmp_path / "sw", axes={"reuse_factor": (1, 8)}, build={"rtl": False})
    rows = []
    for p in expand(spec):
        assert p.config.hardware.rtl is False  # --no-rtl reaches every point
        r = int(p.values["reuse_factor"])
        rep = _report(lut=1000 // r)
        rep["resources"]["hls_estimate"]["DSP"] = 40 // r
        rep["latency"] = {"hls_estimate": {"cycles": 8 + r, "ns": 5.0 * (8 + r), "ii": r, "ii_ns": 5.0 * r}}
        rows.append(point_row(p, {"status": "ok"}, rep))
    assert rows[1]["rf[enc_dense1]"] == 7 and rows[1]["rf[score_sum]"] == 7 and rows[1]["reuse_target"] == 8
    assert rows[0]["rf[enc_dense1]"] == 1 and rows[1]["ii_ns[hls_estimate]"] == 40.0
    df = write_table(rows, tmp_path)
    i = list(df.columns).index("clock_period_ns") + 1  # right after the axis columns
    rf = [c for c in df.columns[i:] if c.startswith("rf[")]
    assert list(df.columns[i:i + len(rf)]) == sorted(rf)  # every layer's column, right after the axis columns
    assert {"rf[enc_dense1]", "rf[enc_dense2]", "rf[mu_dense]", "rf[score_sum]"} <= set(rf)
    md = reuse_markdown(df)
    assert "| ptq" not in md and "rf[enc_dense1]" in md and "ii_ns[hls_estimate]" in md and "DSP[hls_estimate]" in md
    assert len([l for l in md.splitlines() if l.startswith("| ") and "reuse_factor" not in l]) == 2
    png = reuse_plot(df, tmp_path)
    assert png is not None and png.stat().st_size > 0
    assert reuse_markdown(df.iloc[:1]) == "" and reuse_plot(df.iloc[:1], tmp_path / "none") is None
