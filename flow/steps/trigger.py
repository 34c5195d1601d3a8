"""Steps of a trigger build (vae21, the L1 family, a user ``.keras`` model): data -> prepare -> emulate ->
reference -> agree -> physics.  The shared steps (convert, hardware, golden, saturation, report, companion)
live in :mod:`flow.steps.common`."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from data.transforms import port_input
from flow.build import Build, step
from flow.config import Emulator
from models.build_util import keras_verbose, say


def _working_points(b: Build):
    from analysis import working_points as wp
    from data.generator import BSM_SIGNALS, SM_PROCESSES

    cfg = b.config
    plan = b.family.rate_plan(cfg.extra_rates_hz)
    if plan is not None:  # a model family reading another input stream (e.g. L1 at 40 MHz)
        sm_month, wps, n_default, acc = plan.events_per_month, list(plan.working_points), plan.n_default, plan.acceptances
    else:
        sm_month = float(sum(v[1] for v in SM_PROCESSES.values()))
        wps, n_default = wp.default_working_points(sm_month, cfg.extra_rates_hz), 2
        acc = {k: v["acceptance_x_trigger_eff"] for k, v in BSM_SIGNALS.items()}
    if cfg.fprs:
        wps = [wp.WorkingPointSpec(f"fpr_{f:g}", f) for f in cfg.fprs] + wps[n_default:]
    b.plan = plan
    b.family_state.update(sm_month=sm_month, wps=wps, acceptances=acc)
    n_needed = wp.required_background_events(wps)
    if cfg.n_test_bkg is not None and cfg.n_test_bkg < n_needed and cfg.data_path is None:
        raise ValueError(
            f"--n-test-bkg {cfg.n_test_bkg} is too small: the working points {[w.name for w in wps]} need at least "
            f"{n_needed} SM test events (10 above the lowest-rate threshold); omit it or choose looser --fpr"
        )
    return n_needed if cfg.n_test_bkg is None else cfg.n_test_bkg


def _load_data(b: Build, n_test_bkg: int):
    """(training source, test source).  A user's ``--data`` file is read first, so bad input fails fast."""
    from models.registry import data_family_functions

    cfg = b.config
    if not b.family.data:  # the family reads --data itself (a user's model: any input width, no training)
        from data.user import read_user_events

        user = read_user_events(cfg.data_path)
        _check_user_events(user, cfg.data_path, None)
        return user, user
    generate, read = data_family_functions(b.family.data)
    user = read(Path(cfg.data_path)) if cfg.data_path is not None else None
    if user is not None:
        _check_user_events(user, cfg.data_path, n_test_bkg)
    if user is not None and len(user.x_train):
        return user, user
    gen = generate(seed=cfg.seed, n_train=cfg.n_train, n_val=cfg.n_val,
                   n_test_bkg=n_test_bkg if user is None else 1000, n_signal=cfg.n_signal if user is None else 100,
                   cache_dir=Path(cfg.cache_dir) / "data")
    return gen, (user if user is not None else gen)


def _check_user_events(user, path, n_needed: int | None) -> None:
    """A user's ``--data``: every sample non-empty and finite, enough SM events for the working points."""
    from data.validate import check_events

    check_events(user.x_test_bkg, f"--data {path}: SM (background) test sample")
    for name, x in user.x_test_signal.items():
        check_events(x, f"--data {path}: signal {name}")
    if len(user.x_train):
        check_events(user.x_train, f"--data {path}: training sample")
    if n_needed is not None and len(user.x_test_bkg) < n_needed:
        raise ValueError(f"--data {path}: {len(user.x_test_bkg)} SM test events, but the working points need at least "
                         f"{n_needed} (10 above the lowest-rate threshold); give more events or looser --fpr / --rate")


def _check_input_port(b: Build) -> None:
    """A user's ``--data``, standardised as the firmware sees it, against the input port's range (before the
    conversion): absurd values or a large saturating fraction are an error unless ``--allow-saturation``."""
    from data.validate import port_range_problems
    from quantize.qkeras import precision_of_quantizer_layer

    cfg = b.config
    if cfg.data_path is None or cfg.allow_saturation:
        return
    p = precision_of_quantizer_layer(b.deploy.layers[1])
    t = b.test_ds
    samples = {"background": t.x_test_bkg, **t.x_test_signal}
    ft = b.prepared.feature_transform  # e.g. vae57's log1p of the pT fields, applied upstream of the port
    bad = port_range_problems({k: port_input(v, ft, b.mean, b.std) for k, v in samples.items()},
                              p.min, p.max, p.to_ap())
    if bad:
        raise ValueError(f"--data {cfg.data_path}: inputs outside the firmware's input port:\n  " + "\n  ".join(bad)
                         + "\nfix the units/sentinel values, widen --input-precision, or accept it with --allow-saturation")


@step("data")
def data(b: Build) -> None:
    """Working points (they set how many SM test events are needed), the events, the standardisation."""
    n_test_bkg = _working_points(b)
    t0 = time.perf_counter()
    b.train_ds, b.test_ds = _load_data(b, n_test_bkg)
    b.timings["data"] = time.perf_counter() - t0
    test = b.test_ds
    say(f"data: {len(b.train_ds.x_train)} train, {len(test.x_test_bkg)} SM test events, "
        f"signals {', '.join(f'{k}={len(v)}' for k, v in test.x_test_signal.items())} ({b.timings['data']:.1f} s)")
    n_feat = test.x_test_bkg.shape[-1]  # per-feature (last axis) for (n, F) and constituent lists (n, N, F)
    b.mean, b.std = raw_standardisation(b.train_ds.x_train.reshape(-1, n_feat), n_feat)


def raw_standardisation(x_train: np.ndarray, n_feat: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, std) in float32 of the raw training features (std 1 where a feature is constant; 0 / 1 without
    training events): the build's standardisation unless the family brings its own (``input_scaling``)."""
    if not len(x_train):
        return np.zeros(n_feat, np.float32), np.ones(n_feat, np.float32)
    mean, std = x_train.mean(axis=0).astype(np.float32), x_train.std(axis=0).astype(np.float32)
    std[std == 0] = 1.0
    return mean, std


@step("prepare", requires=("data",))
def prepare(b: Build) -> None:
    """The family's model (trained or cached), its deployable part and its float references."""
    cfg = b.config
    b.prepared = b.family.prepare_function(cfg)(cfg, b.train_ds, b.mean, b.std, b.timings)
    b.deploy = b.prepared.deploy
    if b.prepared.input_scaling is not None:
        b.mean, b.std = (np.asarray(a, np.float32) for a in b.prepared.input_scaling)
    desc = b.prepared.description
    if cfg.hardware.rtl or b.family.rtl_by_default:
        # da4ml implements RND (half up) but not the QKeras-API RND_CONV: with --rtl (and always for a family that
        # runs the RTL path by default, e.g. L1) the whole build (HLS project, C-sim, emulators, physics, RTL) uses
        # the same model rebuilt with RND rounding.
        from quantize.hgq_native import with_rounding
        from quantize.precision import Rounding

        b.deploy_qkeras, b.deploy = b.deploy, with_rounding(b.deploy, Rounding.RND)
        desc["rtl_variant"] = {"rounding": "RND", "replaces": "RND_CONV", "model_name": b.deploy.name}
        say("deployable model rebuilt with RND rounding (da4ml-traceable variant, same quantized weights)")
    n_in = tuple(int(d) for d in b.deploy.inputs[0].shape[1:])
    if n_in != tuple(b.test_ds.x_test_bkg.shape[1:]):
        raise ValueError(f"model expects input shape {n_in} but the data has {tuple(b.test_ds.x_test_bkg.shape[1:])}")
    _check_input_port(b)
    b.metadata = {
        "model": desc["name"], "build_config": cfg.to_dict(),
        "standardization": {"mean": b.mean.tolist(), "std": b.std.tolist(), "applied": "upstream of the input port"},
        "feature_names": list(b.test_ds.feature_names),
    }
    if b.prepared.feature_transform is not None:
        b.metadata["feature_transform"] = b.prepared.feature_transform.to_dict()


def _emulator(b: Build):
    if b.config.emulator is Emulator.CSIM:
        return b.csim
    if b.config.emulator is Emulator.DA4ML:
        from emulation.da4ml_interp import Da4mlEmulator

        return Da4mlEmulator(b.deploy)
    # with --emulator rtl the fast emulator runs first; the hardware step replaces its numbers by the RTL's
    from emulation.fast import FastEmulator

    try:
        return FastEmulator(b.deploy)
    except ValueError as e:  # a layer the fast emulator does not implement: the C-simulation, with the reason
        b.family_state["fast_emulator_fallback"] = f"fast emulator unavailable ({e}); the C-simulation emulates"
        say(b.family_state["fast_emulator_fallback"])
        return b.csim


@step("emulate", requires=("convert",))
def emulate(b: Build) -> None:
    """Every test event through the bit-exact emulator; the C-simulation cross-checks a subset."""
    from emulation.csim import CSimEmulator

    samples = {"background": b.test_ds.x_test_bkg, **b.test_ds.x_test_signal}
    b.xs = {k: port_input(v, b.prepared.feature_transform, b.mean, b.std) for k, v in samples.items()}
    b.csim = CSimEmulator(b.project_dir)
    b.emulator = _emulator(b)
    if hasattr(b.emulator, "native"):  # the fast emulator's fused C kernel, compiled (or read from its cache) untimed
        t0 = time.perf_counter()
        b.emulator.native()
        b.timings["emulator_compile"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    b.s_emu = {k: b.emulator.predict(v)[:, 0] for k, v in b.xs.items()}
    b.timings["emulate"] = time.perf_counter() - t0
    n_ev = sum(len(v) for v in b.xs.values())
    say(f"{b.emulator.name} emulator: {n_ev} events in {b.timings['emulate']:.2f} s "
        f"({n_ev / b.timings['emulate']:.0f} ev/s)")
    if b.emulator is not b.csim:
        _csim_crosscheck(b)


def _csim_crosscheck(b: Build) -> None:
    """Every signal event and the first background events through the C-simulation."""
    t0 = time.perf_counter()
    n_bkg = max(0, b.config.csim_events - sum(len(v) for k, v in b.xs.items() if k != "background"))
    sub = {k: (v[:n_bkg] if k == "background" else v) for k, v in b.xs.items()}
    y_c = np.concatenate([b.csim.predict(v)[:, 0] for v in sub.values()])
    y_f = np.concatenate([b.s_emu[k][: len(v)] for k, v in sub.items()])
    b.csim_subset = (sub, y_c)
    b.timings["csim_crosscheck"] = time.perf_counter() - t0
    b.family_state["csim_check"] = {
        "n_events": int(len(y_c)), "n_mismatched": int(np.count_nonzero(y_c != y_f)),
        "max_abs_diff": float(np.max(np.abs(y_c - y_f))) if len(y_c) else 0.0,
        "csim_events_per_s": len(y_c) / b.timings["csim_crosscheck"]}
    c = b.family_state["csim_check"]
    say(f"C-sim cross-check: {c['n_mismatched']} of {c['n_events']} events differ from the {b.emulator.name} emulator")


@step("reference", requires=("emulate",))
def reference(b: Build) -> None:
    """The quantized Keras model in float64 (exact fixed-point sums) and the family's float references."""
    from emulation.keras_ref import float64_model_or_reason

    t0 = time.perf_counter()
    deploy64, why = float64_model_or_reason(b.deploy)
    b.keras_dtype = "float64" if deploy64 is not None else "float32"
    b.family_state["keras_float32_reason"] = why
    if why:
        say(f"WARNING: the quantized Keras reference runs in float32 (1-ulp tolerance), not exact: {why}")
    if deploy64 is not None:
        from emulation.keras_ref import CompiledPredictor

        run64 = CompiledPredictor(deploy64)  # XLA: the same float64 graph, compiled once
        b.s_keras = {k: np.asarray(run64(v.astype(np.float64)), np.float64).reshape(len(v), -1)[:, 0]
                     for k, v in b.xs.items()}
        b.family_state["keras_runner"] = run64.how
    else:
        b.s_keras = {k: b.deploy.predict(v, batch_size=65536, verbose=keras_verbose())[:, 0].astype(np.float64)
                     for k, v in b.xs.items()}
    refs = (None, None, None)
    if b.prepared.reference_scores is not None:
        refs = b.prepared.reference_scores(b.xs)
    b.family_state["s_fview"], b.family_state["s_twin"], b.family_state["offline"] = refs
    b.timings["keras_inference"] = time.perf_counter() - t0


def keras_agreement(b: Build) -> dict:
    from emulation.agreement import exact_agreement

    a = exact_agreement(b.all_scores(b.s_emu), b.all_scores(b.s_keras), lsb=b.lsb,
                        float32_tolerance=b.keras_dtype == "float32")
    return {**a.to_dict(), "keras_dtype": b.keras_dtype,
            "keras_float32_reason": b.family_state.get("keras_float32_reason"),
            "keras_runner": b.family_state.get("keras_runner", "Keras predict")}


def float_view_agreement(b: Build) -> None:
    from emulation.agreement import score_correlation

    s_fview = b.family_state["s_fview"]
    if s_fview is not None:
        b.report["agreement"]["emulator_vs_float_view"] = score_correlation(b.all_scores(b.s_emu),
                                                                            b.all_scores(s_fview))


@step("agree", requires=("reference",))
def agree(b: Build) -> None:
    """Emulator vs quantized Keras (exact), with the first divergent layer when they differ; vs the float view."""
    from hls.project import output_lsb

    b.lsb = output_lsb(b.project_dir)
    agreement = b.report.setdefault("agreement", {})
    agreement["emulator_vs_keras"] = keras_agreement(b)
    if "csim_check" in b.family_state:
        agreement["emulator_vs_csim"] = b.family_state["csim_check"]
    if "fast_emulator_fallback" in b.family_state:  # why the C-simulation, not the fast emulator, emulated
        agreement["fast_emulator_fallback"] = b.family_state["fast_emulator_fallback"]
    if agreement["emulator_vs_keras"]["n_mismatched"] > 0:
        from emulation.divergence import first_divergent_layer

        all_emu, all_keras = b.all_scores(b.s_emu), b.all_scores(b.s_keras)
        tol = np.spacing(np.abs(all_keras).astype(np.float32)) if b.keras_dtype == "float32" else 0.0
        bad = np.flatnonzero(np.abs(all_emu - all_keras) > tol)[:16]
        x_all = np.concatenate([b.xs[k] for k in b.xs])
        agreement["emulator_vs_keras"]["first_divergent_layer"] = first_divergent_layer(b.deploy, b.config.hls,
                                                                                        x_all[bad])
    float_view_agreement(b)
    b.family_state["golden"] = (b.xs, b.s_emu)
    b.family_state["saturation_samples"] = b.xs


@step("physics", requires=("agree",))
def physics(b: Build) -> None:
    """Working points, efficiencies, cross-sections; the efficiency check of the family's rate plan."""
    from analysis.report import physics_section
    from analysis.working_points import efficiency_check

    st, cfg, test = b.family_state, b.config, b.test_ds
    validation = _generator_validation(b)
    acc, acc_source = _measured_acceptances(validation, st["acceptances"])
    st["acceptances"], st["acceptance_sources"] = acc, acc_source  # later steps (references) use the same ones
    phys = physics_section(st["wps"], b.s_emu, st["s_fview"], st["s_twin"], st["offline"], st["sm_month"], acc)
    for name, d in phys["signals"].items():
        d["acceptance_x_trigger_eff_source"] = acc_source.get(name)
    b.report["data"] = {
        "generator": test.meta.get("generator_version", "user file"),
        "source": str(cfg.data_path) if cfg.data_path else "generated", "seed": cfg.seed,
        "n_train": len(b.train_ds.x_train), "n_test_background": len(test.x_test_bkg),
        "n_test_signal": {k: len(v) for k, v in test.x_test_signal.items()},
    }
    if b.plan is not None:
        b.report["input_stream"] = {"name": b.plan.stream, "rate_hz": b.plan.input_rate_hz}
    b.report["generator_validation"] = validation
    b.report["working_points"] = phys["working_points"]
    b.report["signals"] = phys["signals"]
    b.report["offline_scores"] = phys.get("offline")
    if b.plan is not None and b.plan.efficiency_check_wp and st["s_fview"] is not None:
        b.report["efficiency_check"] = efficiency_check(b.report["signals"], b.plan.efficiency_check_wp,
                                                        cfg.tolerances.max_rel_eff_diff_float_view)


VALIDATION_EVENTS_PER_PROCESS = 200_000  # ~10 s once per generator version and seed, then read from the cache


def _generator_validation(b: Build) -> dict | None:
    """The generator's "generated vs published" table (data.validation) for builds on the generated HLT stream,
    the L1 view's measured figures (data.l1_validation) for the L1 family; None for a user's --data file or model."""
    if b.config.data_path is not None or b.family.data not in ("hlt21", "l1_57"):
        return None
    if b.family.data == "l1_57":
        from data.l1_validation import l1_view_section

        return l1_view_section(b.test_ds.x_test_bkg, b.test_ds.x_test_signal)
    from data.validation import load_or_measure

    t0 = time.perf_counter()
    section = load_or_measure(VALIDATION_EVENTS_PER_PROCESS, b.config.seed, Path(b.config.cache_dir) / "data")
    b.timings["generator_validation"] = time.perf_counter() - t0
    return section


def _measured_acceptances(validation: dict | None, default: dict) -> tuple[dict, dict]:
    """Per signal, the acceptance x trigger efficiency the cross-sections use and its source: the one measured on
    the generated events (data.validation) when the build runs on them, else the family's (published) value."""
    if not validation or validation.get("kind") != "hlt_stream":
        return default, {k: ("published (data.processes.BSM_SIGNALS)" if v is not None else None)
                         for k, v in default.items()}
    acc, src = dict(default), {}
    for name in default:
        figs = {f["quantity"]: f for f in validation["processes"].get(name, {}).get("figures", [])}
        if "acceptance_x_trigger_eff" in figs:
            acc[name] = figs["acceptance_x_trigger_eff"]["generated"]
            src[name] = f"generated ({validation['generator_version']}, data.validation)"
    return acc, src
