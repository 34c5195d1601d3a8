"""Steps every kind of build shares: convert, hardware, golden, saturation, report, companion."""

from __future__ import annotations

import time

import numpy as np

from flow.build import Build, step
from flow.config import Emulator
from models.build_util import say


@step("convert")
def convert(b: Build) -> None:
    """The deployable model into an hls4ml project (written and compiled aside, swapped in atomically); a
    family may add sub-projects (``family_state["extra_projects"]``: (model, subdir, metadata))."""
    from hls.project import build_project, tool_versions

    cfg = b.config
    out_dir = cfg.resolved_output_dir()
    b.metadata.setdefault("versions", tool_versions())
    say(f"converting with hls4ml into {out_dir}")
    b.project_dir, t_conv, t_comp = build_project(b.deploy, cfg.hls, out_dir, b.metadata)
    for model, subdir, md in b.family_state.get("extra_projects", ()):
        d, t1, t2 = build_project(model, cfg.hls, b.project_dir / subdir, {**b.metadata, **md})
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
                          events=(x3, yk3, y_c), lsb=b.lsb, keras_dtype=b.keras_dtype)
    b.timings["latency_resources"] = time.perf_counter() - t0
    b.report["agreement"].update(hw.pop("agreement"))
    b.report.update(hw)  # latency, resources, latency_resources, budgets, hardware
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
    gx, counts = select_golden(xs, scores, precision_of_quantizer_layer(b.deploy.layers[1]), seed=b.config.seed)
    write_golden_vectors(b.project_dir, gx, b.csim.predict(gx), {"source": "hls4ml C-simulation", "selection": counts})


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
        crep = run_flow(cb, cb.family.steps).report
        cok = bool(crep["checks"]["passed"])
        comp = comparison(b.report, crep)
        if not cok:
            comp["companion_checks_failed"] = crep["checks"]["failures"]
    except Exception as exc:  # noqa: BLE001  (whatever failed, the main report is kept and says so)
        cok = False
        comp = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "project_dir": str(out),
                "traceback": traceback.format_exc()[-4000:]}
    checks = b.report["checks"]
    if not cok:
        checks["passed"] = False
        checks["failures"].append(f"companion {fam.companion}: " + (
            comp.get("error") or "; ".join(comp.get("companion_checks_failed", []))))
    b.report["comparison"] = comp
    md = b.project_dir / "report" / "report.md"
    md.write_text(md.read_text() + "\n" + comparison_md(comp))
    write_json(b)
