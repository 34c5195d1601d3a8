"""Steps every kind of build shares: convert, hardware, golden, saturation, report, companion."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from flow.build import Build, step
from flow.config import Emulator
from models.build_util import say


@step("convert")
def convert(b: Build) -> None:
    """The deployable model into an hls4ml project (written and compiled aside, swapped in atomically); a
    family may add sub-projects (``family_state["extra_projects"]``: (model, subdir, metadata))."""
    from hls.project import build_project, tool_versions
    from quantize.layer_precision import with_layer_precisions

    cfg = b.config
    out_dir = b.staging_dir or cfg.resolved_output_dir()  # a transaction's staging directory: written in place
    candidates = (b.family.layer_shapes(cfg) or {}) if cfg.score is None and b.family.handles else {}
    deployed = {layer.name for layer in b.deploy.layers}
    unused = [ls.name for ls in cfg.hls.layers if ls.name in candidates and ls.name not in deployed]
    if unused:  # settings for another on-chip score's layers (a sweep without --score lists every candidate's)
        from dataclasses import replace

        say(f"per-layer settings of {unused} not applied: not layers of the deployed score's graph")
        b.config = cfg = cfg.replace(hls=replace(cfg.hls, layers=tuple(ls for ls in cfg.hls.layers if ls.name not in unused)))
    layer_prec = {ls.name: ls.precisions for ls in cfg.hls.layers if ls.precision}
    if layer_prec:  # the bit-exact flow takes types from the quantizers: the layers' quantizers are replaced
        if b.family_state.get("extra_projects") or "cwola_train" in b.done:
            raise ValueError("per-layer Precision is not supported for this model family (several networks share it)")
        b.deploy = with_layer_precisions(b.deploy, layer_prec)
        say(f"per-layer precision applied to the quantizers of {sorted(layer_prec)}")
    if cfg.hls.reuse_target is not None:  # a reuse-factor target: resolved per dense layer, printed (hls/reuse.py)
        from hls.project import dense_shapes
        from hls.reuse import RULE, describe, resolve_reuse, reuse_table

        shapes = dense_shapes(b.deploy)
        b.config = cfg = cfg.replace(hls=resolve_reuse(cfg.hls, shapes))
        say(describe(cfg.hls, shapes))
        b.report["reuse_factors"] = {"target": cfg.hls.reuse_target, "rule": RULE, "layers": reuse_table(cfg.hls, shapes)}
    b.metadata.setdefault("versions", tool_versions())
    say(f"converting with hls4ml into {b.final_dir or out_dir}" + (f" (staged in {out_dir.name})" if b.staging_dir else ""))
    b.project_dir, t_conv, t_comp = build_project(b.deploy, cfg.hls, out_dir, b.metadata, in_place=b.staging_dir is not None)
    from flow.config_file import write_config

    write_config(cfg, b.project_dir / "build.yml")  # `build_hls.py --config PROJECT/build.yml` rebuilds it
    for model, subdir, md in b.family_state.get("extra_projects", ()):
        d, t1, t2 = build_project(model, cfg.hls, b.project_dir / subdir, {**b.metadata, **md},
                                  in_place=b.staging_dir is not None)
        b.family_state.setdefault("extra_project_dirs", {})[subdir] = d
        t_conv, t_comp = t_conv + t1, t_comp + t2
    b.timings["convert"], b.timings["compile"] = t_conv, t_comp
    say(f"converted in {t_conv:.1f} s, C-sim compiled in {t_comp:.1f} s")


def _rtl_replaces_emulator(b: Build) -> None:
    """``--emulator rtl``: the Verilator simulation of the RTL produces the numbers, compared on every event."""
    from emulation.rtl import RTLEmulator
    from flow.steps.trigger import float_view_agreement, keras_agreement

    if not (b.project_dir / "rtl").is_dir():
        raise RuntimeError(f"--emulator rtl: no RTL was built in {b.project_dir / 'rtl'} "
                           f"({b.report.get('hardware', {}).get('missing', {})})")
    rtl = RTLEmulator(b.project_dir)
    t0 = time.perf_counter()
    s_rtl = {k: rtl.predict(v)[:, 0] for k, v in b.xs.items()}
    b.timings["emulate_rtl"] = time.perf_counter() - t0
    all_rtl, all_emu = b.all_scores(s_rtl), b.all_scores(b.s_emu)
    agreement = b.report["agreement"]
    agreement["fast_vs_rtl_all_events"] = {"n_events": int(len(all_rtl)),
                                           "n_mismatched": int(np.count_nonzero(all_rtl != all_emu))}
    say(f"RTL simulation: {len(all_rtl)} events in {b.timings['emulate_rtl']:.2f} s; "
        f"{agreement['fast_vs_rtl_all_events']['n_mismatched']} differ from the fast emulator")
    b.emulator, b.s_emu = rtl, s_rtl
    agreement["emulator_vs_keras"] = keras_agreement(b)
    float_view_agreement(b)


def _rtl_variant_vs_qkeras(b: Build) -> None:
    """With --rtl: how many events the RND variant scores differently from the RND_CONV model it replaces."""
    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model

    x_all = np.concatenate([b.xs[k] for k in b.xs])
    all_emu = b.all_scores(b.s_emu)
    try:
        y_q = FastEmulator(b.deploy_qkeras).predict(x_all)[:, 0]
        src = "fast exact emulator of both models on every test event"
    except ValueError:  # e.g. per-element (HGQ2-native) quantizers: the exact float64 Keras model instead
        q64 = float64_model(b.deploy_qkeras)
        if q64 is None:
            raise
        y_q = np.asarray(q64.predict(x_all.astype(np.float64), batch_size=65536, verbose=0), np.float64)[:, 0]
        src = f"float64 Keras model of the RND_CONV model vs the {b.emulator.name} emulator of the RND variant"
    v = b.prepared.description["rtl_variant"]
    v["n_events"] = int(len(x_all))
    v["n_events_differ_from_rnd_conv"] = int(np.count_nonzero(y_q != all_emu))
    v["max_abs_score_diff_from_rnd_conv"] = float(np.max(np.abs(y_q - all_emu)))
    v["source"] = src
    # physics of the two roundings on the same events: AUC per signal (the deployed RND variant vs RND_CONV)
    from analysis.working_points import auc

    bounds = np.cumsum([0] + [len(b.xs[k]) for k in b.xs])
    part = {k: (bounds[i], bounds[i + 1]) for i, k in enumerate(b.xs)}
    if "background" in part:
        lo, hi = part["background"]
        v["auc"] = {k: {"rnd": float(auc(all_emu[lo:hi], all_emu[a:e])), "rnd_conv": float(auc(y_q[lo:hi], y_q[a:e]))}
                    for k, (a, e) in part.items() if k != "background"}
        v["max_abs_auc_diff"] = max((abs(d["rnd"] - d["rnd_conv"]) for d in v["auc"].values()), default=0.0)


def _check_goals(b: Build) -> None:
    """The architecture's deployment goals against the latency/resource sources (measured ones decide)."""
    goals = b.family.architecture(b.config.model).goals
    if not goals:
        return
    from analysis.budgets import Budgets, evaluate_budgets

    g = evaluate_budgets(Budgets(*goals), b.report["latency"], b.report["resources"])
    b.report["hardware"]["goals"] = g
    for name in ("latency_ns", "lut_percent", "dsp", "ii_ns"):
        if name in g:
            d = g[name]
            vals = ", ".join(f"{s} {d['sources'][s]['value']:.4g}" for s in d["decided_by"])
            verdict = {True: "met", False: "MISSED", None: "no figure"}[d["passed"]]
            say(f"goal {name} <= {d['limit']:g}: {verdict} ({vals or 'no source'})")


@step("hardware", requires=("agree",))
def hardware(b: Build) -> None:
    """Latency and resources from every source (estimate; with --rtl the da4ml RTL and its Verilator
    simulation, Keras == C-sim == RTL; with --synth yosys; vendor reports found in the project)."""
    from emulation.hardware import hardware_section

    if b.csim_subset is not None:
        sub, y_c = b.csim_subset
    else:
        sub, y_c = b.xs, b.all_scores(b.s_emu)
    x3 = np.concatenate(list(sub.values()))
    yk3 = np.concatenate([b.s_keras[k][: len(v)] for k, v in sub.items()])
    t0 = time.perf_counter()
    hw = hardware_section(b.deploy, b.project_dir, b.config.hls, b.config.hardware, b.xs["background"][:4096],
                          events=(x3, yk3, y_c), lsb=b.lsb, keras_dtype=b.keras_dtype,
                          rtl_cache=Path(b.config.cache_dir) / "rtl")
    b.timings["latency_resources"] = time.perf_counter() - t0
    b.report["agreement"].update(hw.pop("agreement"))
    b.report.update(hw)  # latency, resources, latency_resources, budgets, hardware
    _check_goals(b)
    if b.config.emulator is Emulator.RTL:
        _rtl_replaces_emulator(b)
    if b.deploy_qkeras is not None:
        _rtl_variant_vs_qkeras(b)
    r = b.report["agreement"].get("rtl_vs_keras")
    if r is not None:
        say(f"RTL simulation vs quantized Keras: {r['n_mismatched']} of {r['n_events']} events mismatched; "
            f"vs C-sim: {b.report['agreement']['rtl_vs_csim']['n_mismatched']}")


@step("golden", requires=("convert",))
def golden(b: Build) -> None:
    """Golden vectors for ``build_hls.py check``: background bulk and tails, each signal, inputs at the
    quantizer limits (``family_state["golden"]`` = (sample -> inputs, sample -> scores)); outputs from the
    hls4ml C-simulation itself."""
    from emulation.golden import select_golden
    from hls.project import write_golden_vectors
    from quantize.qkeras import precision_of_quantizer_layer

    xs, scores = b.family_state["golden"]
    _save_fast_plan(b)  # before the golden vectors: their metadata records every file's sha256
    gx, counts = select_golden(xs, scores, precision_of_quantizer_layer(b.deploy.layers[1]), seed=b.config.seed)
    write_golden_vectors(b.project_dir, gx, b.csim.predict(gx), {"source": "hls4ml C-simulation", "selection": counts})


def _save_fast_plan(b: Build) -> None:
    """``model/fast_plan.npz``: the fast emulator's steps, so that ``build_hls.py check`` runs without TensorFlow
    (a model the fast emulator refuses gets none; check then runs the Keras model); ``model/estimate_layers.json``:
    the analytic estimate's inputs, so that ``build_hls.py resources`` does not either."""
    from emulation.fast import FastEmulator
    from emulation.fast_plan import PLAN_FILE, save_plan

    from hls.estimate import SPECS_FILE, describe_model, save_layer_specs

    try:  # the model saved as model/deployable.keras
        save_plan(FastEmulator(b.deploy), b.project_dir / PLAN_FILE)
    except Exception as exc:  # noqa: BLE001 - optional artifact: a model the fast emulator cannot plan keeps Keras
        say(f"no fast-emulator plan for `check` ({type(exc).__name__}: {exc}): check will run the Keras model")
    try:  # the analytic estimate's inputs: `build_hls.py resources` reads them instead of the Keras model
        save_layer_specs(describe_model(b.deploy), b.project_dir / SPECS_FILE)
    except Exception:  # noqa: BLE001 - no estimate model for this network: `resources` loads Keras and says why
        pass


@step("saturation")
def saturation(b: Build) -> None:
    """How often each quantizer saturates, per layer and per sample (``family_state["saturation_samples"]``)."""
    from emulation.saturation import saturation_counts

    t0 = time.perf_counter()
    b.report["saturation"] = saturation_counts(b.deploy, b.family_state["saturation_samples"])
    b.timings["saturation"] = time.perf_counter() - t0


@step("report", requires=("convert",))
def report(b: Build) -> None:
    """report.json (validated against the schema), report.md and plots; the checks decide the exit code."""
    from flow.report import finish_report

    finish_report(b)


@step("companion", requires=("report",))
def companion(b: Build) -> None:
    """Build the family's companion (e.g. vae57 -> vae57hgq) into ``<project>/<companion_dir>/`` through the
    same flow and append the comparison to this report.  A failed companion fails this build; its report
    is kept."""
    import traceback

    from analysis.compare import comparison, comparison_md
    from flow.build import new_build, run_flow
    from flow.report import write_json

    cfg = b.config
    fam = b.family.architecture(cfg.model)
    if not fam.companion or not cfg.companion:
        return
    out = b.project_dir / (fam.companion_dir or fam.companion)
    say(f"building the companion model {fam.companion} into {out}")
    try:
        cb = new_build(cfg.replace(model=fam.companion, output_dir=out, companion=False))
        if b.final_dir is not None:  # inside this build's transaction: written in place, named by its final path
            cb.staging_dir, cb.final_dir = out, b.final_dir / out.name
        crep = run_flow(cb, cb.family.steps).report
        cok = bool(crep["checks"]["passed"])
        comp = comparison(b.report, crep)
        if not cok:
            comp["companion_checks_failed"] = crep["checks"]["failures"]
    except Exception as exc:  # noqa: BLE001  (whatever failed, the main report is kept and says so)
        cok = False
        comp = {"status": "failed", "error": f"{type(exc).__name__}: {exc}",
                "project_dir": str((b.final_dir / out.name) if b.final_dir else out),
                "traceback": traceback.format_exc()[-4000:]}
    checks = b.report["checks"]
    if isinstance(comp, dict) and comp.get("status") != "failed":
        checks.setdefault("warnings", []).extend(f"companion {fam.companion}: {w}"
                                                 for w in crep["checks"].get("warnings", []))
    if not cok:
        checks["passed"] = False
        checks["failures"].append(f"companion {fam.companion}: " + (
            comp.get("error") or "; ".join(comp.get("companion_checks_failed", []))))
    b.report["comparison"] = comp
    md = b.project_dir / "report" / "report.md"
    md.write_text(md.read_text() + "\n" + comparison_md(comp))
    write_json(b)
