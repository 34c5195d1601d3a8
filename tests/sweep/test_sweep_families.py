"""Real tiny precision x reuse-factor sweeps of the issue-20 families (cicada: conv student; deepsets: per-particle
network + pooling): every point builds, is bit-exact against the quantized Keras model (0 mismatches) and carries
the analytic estimate; the reuse factor each layer got is hls4ml-valid, the estimate's II is the largest of them and
its latency grows with it.  Tiny counts, one epoch; about 2 min per family on 2 shared cores (4 hls4ml compiles)."""

import json

import pandas as pd
import pytest

from hls.config import valid_reuse_factors
from models.registry import get_family

GRIDS = {"cicada": ((6, 8), (1, 2)), "deepsets": ((8, 10), (1, 4))}  # deepsets' activations keep 6 integer bits


@pytest.mark.slow
@pytest.mark.parametrize("model", sorted(GRIDS))
def test_precision_by_reuse_sweep(model, tmp_path):
    import build_hls
    from flow.config import BuildConfig

    precisions, reuses = GRIDS[model]
    out = tmp_path / "sw"
    argv = ["sweep", "--model", model, "--precision", ",".join(map(str, precisions)),
            "--reuse-factor", ",".join(map(str, reuses)), "--n-train", "600", "--n-val", "200", "--n-signal", "200",
            "--n-test-bkg", "2000", "--epochs", "1", "--fpr", "0.01", "--min-spearman", "-1", "--csim-events", "500",
            "--seed", "5", "--cache-dir", str(tmp_path / "cache"), "--output", str(out),
            "--no-rtl"]  # the analytic estimate per point; the families' RTL default: test_cicada.py's CLI test
    assert build_hls.main(argv) == 0
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == len(precisions) * len(reuses) and (df["status"] == "ok").all()
    assert sorted(zip(df["precision"], df["reuse_factor"])) == sorted((p, r) for p in precisions for r in reuses)
    assert (df["n_mismatched"] == 0).all() and (df["n_events"] >= 2000).all()
    assert (df["LUT[hls_estimate]"] > 0).all() and (df["latency_ns[hls_estimate]"] > 0).all()
    shapes = get_family(model).layer_shapes(BuildConfig(model=model))
    for _, row in df.iterrows():
        rfs = {name: int(row[f"rf[{name}]"]) for name in shapes}
        for name, rf in rfs.items():  # the largest hls4ml-valid reuse factor <= the target, per layer
            assert rf == max(r for r in valid_reuse_factors(*shapes[name]) if r <= row["reuse_factor"]), (name, rf)
        assert row["ii[hls_estimate]"] == max(rfs.values())
        cfg = json.loads(row["config_json"])
        assert cfg["precision_bits"] == row["precision"] and cfg["hls"]["part"] == BuildConfig(model=model).hls.part
        rep = json.loads((out / "points" / row["hash"] / "project" / "report" / "report.json").read_text())
        layers = {l["name"]: l for l in rep["hardware"]["details"]["hls_estimate"]["layers"]}
        positioned = "conv" if model == "cicada" else "phi1"  # a kernel applied at every pixel / particle
        assert "positions" in layers[positioned]["notes"]
        if model == "deepsets":
            assert layers["pool"]["kind"] == "pool"
    for p in precisions:  # a larger target reuse factor: longer latency in the estimate
        lat = df[df["precision"] == p].sort_values("reuse_factor")["latency_ns[hls_estimate]"].tolist()
        assert lat[-1] > lat[0]
    for _, row in df.iterrows():  # the precision reaches the model: its weights are quantized at the point's bits
        rep = json.loads((out / "points" / row["hash"] / "project" / "report" / "report.json").read_text())
        wb = rep["model_details"]["config"]["weight_bits"]
        assert (wb if model == "cicada" else wb[0]) == row["precision"]
