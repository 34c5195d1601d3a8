"""Sweep grid: YAML validation (key paths), up-front rejection of invalid points, hashes, training groups."""

import pytest

from sweep.spec import SpecError, SweepSpec, config_hash, expand, invalid_summary


def _spec(tmp_path, **axes):
    return SweepSpec(output=tmp_path / "sw", axes={k: tuple(v) for k, v in axes.items()})


def test_issue_example_grid_resolves_reuse_targets_per_layer(tmp_path):
    # issue 21: a reuse-factor target per point, each dense layer at the largest valid value <= R, none invalid
    pts = expand(_spec(tmp_path, precision=[6, 8, 10, 12, 16], reuse_factor=[1, 2, 4, 8]))
    assert len(pts) == 20 and not [p for p in pts if p.invalid]
    by_target = {p.values["reuse_factor"]: {ls.name: ls.reuse_factor for ls in p.config.hls.layers}
                 for p in pts if p.values["precision"] == 8}
    # without --score every candidate may be deployed: the total graph's layers (encoder 21-32-16-4, decoder
    # 4-16-32-21, the 21x1 weighted sum, the mixed NLL's 21x4 / 21x2 selections and 4x1 / 2x1 sums, the KL head
    # 16x4 and its 4x1 sums).  21xN layers accept 1, 3, 7, 21, ...; 4x1 up to 4, 2x1 up to 2; the others 2, 4, 8
    by_layer = {n: (1, 1, 3, 7) for n in ("enc_dense1", "score_sum", "pois_target", "pois_param", "bern_target",
                                          "bern_param")}
    by_layer.update({n: (1, 2, 4, 4) for n in ("kl_mu_sum", "kl_lv_sum", "pois_table_sum", "pois_linear_sum")})
    by_layer.update({n: (1, 2, 2, 2) for n in ("bern_table_sum", "bern_linear_sum")})
    names = ("dec_dense1", "dec_dense2", "enc_dense1", "enc_dense2", "mu_dense", "reco", "logvar_dense", *by_layer)
    assert by_target == {r: {n: by_layer.get(n, (1, 2, 4, 8))[i] for n in names} for i, r in enumerate((1, 2, 4, 8))}
    assert all(p.config.hls.reuse_target == p.values["reuse_factor"] and p.config.hls.reuse_factor == 1 for p in pts)
    assert len({p.hash for p in pts}) == 20  # the resolved values are part of the configuration hash


def test_run_sweep_stops_before_running_invalid_points(tmp_path):
    from sweep.runner import run_sweep

    with pytest.raises(SpecError, match="--skip-invalid"):
        run_sweep(_spec(tmp_path, strategy=["Latency", "Fastest"]), log=lambda s: None)
    assert not (tmp_path / "sw").exists()  # nothing written, nothing run


@pytest.mark.parametrize("axes,needle", [
    ({"io_type": ["io_stream"]}, "unsupported io_type 'io_stream'; supported: ['io_parallel']"),
    ({"strategy": ["Fastest"]}, "unknown strategy 'Fastest'; choose one of ['Latency', 'Resource', 'distributed_arithmetic']"),
    ({"strategy": ["da"], "reuse_factor": [3]}, "distributed_arithmetic needs reuse factor 1"),
    ({"precision": [2]}, "need at least 3 bits"),
    ({"mode": ["qta"]}, "mode 'qta' is not one of ['qat', 'ptq']"),
    ({"clock_period_ns": [0]}, "--clock-period must be > 0"),
])
def test_other_invalid_axes(tmp_path, axes, needle):
    (p,) = expand(_spec(tmp_path, **axes))
    assert p.invalid is not None and needle in p.invalid


@pytest.mark.parametrize("text,needle", [
    ("axes:\n  precision: [6, x]\n", "axes.precision[1]: expected int, got str 'x'"),
    ("axes:\n  precison: [6]\n", "axes.precison: unknown key; allowed here: clock_period_ns"),
    ("build:\n  n_train: 1.5\n", "build.n_train: expected int, got float 1.5"),
    ("execution:\n  skip_invalid: 1\n", "execution.skip_invalid: expected bool, got int 1"),
    ("budgets:\n  LUT: lots\n", "budgets.LUT: expected int or float, got str 'lots'"),
    ("colour: red\n", "colour: unknown key"),
    ("budgets:\n  LUT: 5e4\n", "write 5.0e+4 or 50000"),
    ("- 1\n- 2\n", "spec: expected a mapping, got list"),
])
def test_yaml_validation_names_the_key_path(tmp_path, text, needle):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    with pytest.raises(SpecError) as e:
        SweepSpec.from_yaml(f)
    assert needle in str(e.value) and str(f) in str(e.value)


def test_yaml_spec_round_trip_and_cli_overrides(tmp_path):
    f = tmp_path / "s.yaml"
    f.write_text("name: scan\nmodel: vae21\naxes:\n  mode: ptq\n  precision: [6, 8]\n  clock_period_ns: [5, 3.3]\n"
                 "build:\n  n_train: 4000\n  fprs: [0.001]\nexecution:\n  workers: 2\nbudgets:\n  LUT: 50000\n")
    s = SweepSpec.from_yaml(f)
    assert s.axes["mode"] == ("ptq",) and s.workers == 2 and s.budgets == {"LUT": 50000}
    assert s.sweep_dir().parts[-4:] == ("firmware_projects", "vae21", "sweeps", "scan")
    s2 = s.with_overrides(precision=[10], build={"n_train": 5000, "seed": None}, output=tmp_path / "o")
    pts = expand(s2)
    assert [p.values["precision"] for p in pts] == [10, 10]
    assert pts[0].config.n_train == 5000 and pts[0].config.fprs == (0.001,) and pts[0].config.quant_mode == "ptq"
    assert pts[1].config.hls.clock_period_ns == 3.3
    with pytest.raises(SpecError, match="build.n_train: expected int"):
        s.with_overrides(build={"n_train": "many"})


def test_hash_is_the_configuration_not_the_location(tmp_path):
    a = expand(_spec(tmp_path / "a", precision=[6, 8], mode=["qat", "ptq"]))
    b = expand(_spec(tmp_path / "b", precision=[6, 8], mode=["qat", "ptq"]))
    assert [p.hash for p in a] == [p.hash for p in b]
    assert len({p.hash for p in a}) == 4
    assert all(p.config.output_dir == tmp_path / "a" / "sw" / "points" / p.hash / "project" for p in a)
    assert config_hash(a[0].config) == a[0].hash
    # QAT: one trained model per precision; PTQ: one for all precisions
    qat = {p.training_key for p in a if p.values["mode"] == "qat"}
    ptq = {p.training_key for p in a if p.values["mode"] == "ptq"}
    assert len(qat) == 2 and len(ptq) == 1 and not (qat & ptq)


def test_rebuilding_the_project_keeps_its_sweeps(tmp_path):
    """Sweeps live in firmware_projects/<model>/sweeps/: a rebuild of the project (atomic swap) keeps them."""
    from hls.project import _swap_into_place

    out = tmp_path / "vae21"
    (out / "sweeps" / "s1").mkdir(parents=True)
    (out / "sweeps" / "s1" / "results.csv").write_text("hash\n")
    (out / "old.txt").write_text("old project")
    new = tmp_path / ".vae21.building-x"
    new.mkdir()
    (new / "new.txt").write_text("new project")
    _swap_into_place(new, out)
    assert (out / "new.txt").is_file() and not (out / "old.txt").exists()
    assert (out / "sweeps" / "s1" / "results.csv").read_text() == "hash\n"
    assert (tmp_path / ".previous" / "vae21" / "old.txt").is_file()


def test_ptq_shares_its_model_with_default_precision_qat(tmp_path):
    pts = expand(_spec(tmp_path, mode=["qat", "ptq"], precision=[None, 6]))
    key = {(p.values["mode"], p.values["precision"]): p.training_key for p in pts}
    assert key[("qat", None)] == key[("ptq", None)] == key[("ptq", 6)] != key[("qat", 6)]
