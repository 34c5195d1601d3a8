"""The build flow: the validated configuration, the family registry, the step registry, the report schema, and a
user's .keras model of any input width built through the same flow."""

import json
from pathlib import Path

import numpy as np
import pytest

from flow.config import HardwareOptions

import build_hls
from flow.build import STEPS, Build, run_flow, step
from flow.config import BuildConfig, CWoLaOptions, Emulator, QuantMode
from models.registry import FAMILIES, ReportKind, get_family, registered_names


def test_config_round_trip_and_unknown_keys(tmp_path):
    cfg = BuildConfig(model="ae57", output_dir=tmp_path / "o", fprs=(1e-3,), extra_rates_hz=(3e4,), emulator="csim",
                      quant_mode="ptq", cwola=CWoLaOptions(n_folds=3, features=("mj1", "tau21_1")))
    assert cfg.emulator is Emulator.CSIM and cfg.quant_mode is QuantMode.PTQ
    d = json.loads(json.dumps(cfg.to_dict()))
    assert BuildConfig.from_dict(d) == cfg
    with pytest.raises(ValueError, match=r"build_config: unknown key\(s\) \['n_trian'\]"):
        BuildConfig.from_dict({**d, "n_trian": 5})
    with pytest.raises(ValueError, match=r"build_config.hardware: unknown key\(s\) \['rtll'\]"):
        BuildConfig.from_dict({**d, "hardware": {**d["hardware"], "rtll": True}})
    with pytest.raises(ValueError, match=r"build_config.cwola: unknown key\(s\) \['n_fold'\]"):
        BuildConfig.from_dict({**d, "cwola": {"n_fold": 3}})


@pytest.mark.parametrize("kw,msg", [
    (dict(emulator="gpu"), "choose 'fast', 'csim', 'rtl' or 'da4ml'"),
    (dict(quant_mode="int8"), "choose 'qat' or 'ptq'"),
    (dict(fprs=(0.0,)), "strictly between 0 and 1"),
    (dict(extra_rates_hz=(-5.0,)), "rates must be > 0 Hz"),
    (dict(n_signal=0), "--n-signal must be >= 1"),
    (dict(emulator="rtl", hardware=HardwareOptions(rtl=False)), "--emulator rtl needs --rtl"),
])
def test_config_refuses_impossible_values(kw, msg):
    with pytest.raises(ValueError, match=msg):
        BuildConfig(**kw)


def test_family_registry():
    assert registered_names() == ["ae57", "cicada", "cwola", "deepsets", "efn", "vae21", "vae21gauss", "vae57",
                                  "vae57hgq"]
    assert get_family("vae21gauss") is get_family("vae21")
    assert get_family("cicada").data == "calo" and get_family("cicada").rtl_by_default
    assert get_family("deepsets") is get_family("efn") and get_family("deepsets").data == "jets"
    assert get_family("vae57") is get_family("ae57") is get_family("vae57hgq")  # one L1 family
    assert get_family("vae57").architecture("vae57").companion == "vae57hgq"
    assert get_family("vae57").architecture("vae57hgq").emulator == ""  # the fast emulator (per-element quantizers)
    assert get_family("vae57").rtl_by_default and not get_family("vae21").rtl_by_default
    assert get_family("cwola").report is ReportKind.HUNT
    for f in FAMILIES:  # every declared step is registered, and its requirements come earlier
        import flow.steps  # noqa: F401

        for i, s in enumerate(f.steps):
            assert s in STEPS, (f.name, s)
            assert set(STEPS[s].requires) <= set(f.steps[:i]), (f.name, s, STEPS[s].requires)
    with pytest.raises(ValueError, match=r"unknown model 'vae99': use one of \['ae57', 'cicada', 'cwola'"):
        get_family("vae99")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        get_family("nope/model.keras")


def test_family_refuses_options_that_do_not_apply(tmp_path):
    with pytest.raises(ValueError, match="apply to --model cwola, not to vae21"):
        get_family("vae21").validate(BuildConfig(cwola=CWoLaOptions(n_folds=3)))
    with pytest.raises(ValueError, match="--weights and --reference apply to legacy"):
        get_family("vae21").validate(BuildConfig(weights_path=tmp_path / "w.h5"))
    with pytest.raises(ValueError, match="--precision and --input-precision do not apply"):
        get_family("cwola").validate(BuildConfig(model="cwola", precision_bits=6))


def test_run_flow_refuses_a_step_before_its_requirements():
    @step("_test_needs_data", requires=("data",))
    def _needs(b):  # pragma: no cover - never runs
        raise AssertionError

    try:
        b = Build(config=BuildConfig(), family=get_family("vae21"))
        with pytest.raises(RuntimeError, match=r"step '_test_needs_data' needs \['data'\] first"):
            run_flow(b, ["_test_needs_data"])
        with pytest.raises(RuntimeError, match="unknown step"):
            run_flow(b, ["no_such_step"])
    finally:
        STEPS.pop("_test_needs_data")


def test_report_schema_names_missing_and_mistyped_keys():
    from flow.report import REPORT_SCHEMA_VERSION, SCHEMA, validate_report

    rep = {k: (t[0] if isinstance(t, tuple) else t)() for k, t in SCHEMA[ReportKind.IMPORT].items()}
    rep["schema_version"] = REPORT_SCHEMA_VERSION
    validate_report(rep, ReportKind.IMPORT)
    rep.pop("import")
    rep["agreement"] = {"emulator_vs_keras": {"n_mismatched": "0"}}
    with pytest.raises(ValueError, match=r"import: missing.*agreement.emulator_vs_keras.n_mismatched: expected int"):
        validate_report(rep, ReportKind.IMPORT)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["npy", "h5"])
def test_user_keras_model_any_width(tmp_path, fmt):
    """A user's .keras model with 7 inputs, events as .npy (background only) or in the HLT layout with a signal."""
    import h5py

    from models.vae21 import VAE21Config, build_vae, deployable_model

    deploy = deployable_model(build_vae(VAE21Config(n_features=7, hidden=(8, 6), latent=3), quantized=True))
    deploy.save(tmp_path / "m.keras")
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4000, 7)).astype(np.float32)
    if fmt == "npy":
        np.save(tmp_path / "ev.npy", x)
        data = tmp_path / "ev.npy"
    else:
        data = tmp_path / "ev.h5"
        with h5py.File(data, "w") as f:
            f.create_dataset("background/features", data=x)
            f.create_dataset("signals/wide/features", data=3 * rng.normal(size=(500, 7)).astype(np.float32))
    out = tmp_path / "proj"
    rc = build_hls.main(["--model", str(tmp_path / "m.keras"), "--data", str(data), "--output", str(out),
                         "--fpr", "0.01", "--cache-dir", str(tmp_path / "c")])
    rep = json.loads((out / "report" / "report.json").read_text())
    assert rc == 0 and rep["flow"]["family"] == "user"
    a = rep["agreement"]["emulator_vs_keras"]
    assert a["n_mismatched"] == 0 and a["n_events"] == 4000 + (500 if fmt == "h5" else 0)
    assert rep["agreement"]["emulator_vs_csim"]["n_mismatched"] == 0
    assert set(rep["signals"]) == (set() if fmt == "npy" else {"wide"})
    assert rep["flow"]["steps"][:3] == ["data", "prepare", "convert"]
    md = json.loads((out / "metadata.json").read_text())
    assert md["standardization"]["mean"] == [0.0] * 7
    assert BuildConfig.from_dict(md["build_config"]).model == str(tmp_path / "m.keras")


def _built_deployable(name: str, cfg):
    """The deployable model of ``name`` as its prepare() builds it (untrained: only the layer shapes matter)."""
    from models import ae57, vae21, vae57, vae57_hgq

    if name in ("vae21", "vae21gauss"):
        # without --score the shapes are those of the largest candidate (total: decoder, NLL sums, the KL head)
        from data.features import HLT21_FEATURES
        from models.vae21_scores import mixed_targets

        mc = vae21.config_from_build(cfg)
        targets = mixed_targets(HLT21_FEATURES, np.zeros(21), np.ones(21)) if mc.likelihood == "mixed" else None
        return vae21.deployable_model(vae21.build_vae(mc, quantized=True, targets=targets), cfg.score or "total")
    if name == "ae57":
        mc = ae57.config_from_build(cfg)
        return ae57.deployable_model(ae57.build_ae(mc, quantized=True), mc)
    # vae57 / vae57hgq without --score: the larger candidate too (reco: decoder + ae57's mask and masked sum)
    mc, score = vae57.vae_config(cfg), cfg.score or "reco"
    vae = (vae21.build_vae(mc, quantized=True) if name == "vae57"
           else vae57_hgq.build_hgq_vae(mc, vae57_hgq.HGQConfig()))
    from data.l1 import L1_FEATURES

    return vae21.deployable_model(vae, score, masked=vae21.masked_reco(mc, L1_FEATURES))


@pytest.mark.parametrize("name, score", [("vae21", None), ("vae21", "mu2"), ("vae21", "reco"), ("vae21gauss", None),
                                         ("ae57", None), ("vae57", None),
                                         ("vae57", "mu2"), ("vae57hgq", None)])
def test_declared_layer_shapes_match_the_built_model(name, score):
    """The shapes a sweep validates reuse factors with are those of the model the build converts."""
    from hls.project import dense_shapes

    cfg = BuildConfig(model=name, precision_bits=7, score=score)
    declared = get_family(name).layer_shapes(cfg)
    assert declared and declared == dense_shapes(_built_deployable(name, cfg))


def test_sweep_resolves_reuse_targets_of_l1_models(tmp_path):
    # issue 21: the reuse-factor axis is a target, resolved per dense layer from the family's declared shapes
    from sweep.spec import SweepSpec, expand

    spec = SweepSpec(model="ae57", axes={"reuse_factor": (1, 4)}, output=tmp_path / "s")
    pts = {p.values["reuse_factor"]: p for p in expand(spec)}
    assert all(p.invalid is None for p in pts.values())
    rf = {ls.name: ls.reuse_factor for ls in pts[4].config.hls.layers}
    assert rf["mask_dense"] == 3 and rf["enc_dense1"] == 3 and rf["dec_dense1"] == 3  # 57x57, 57x32, 3x16
    assert rf["enc_dense2"] == 4 and set(rf.values()) <= {3, 4}
    assert {ls.reuse_factor for ls in pts[1].config.hls.layers} == {1}
