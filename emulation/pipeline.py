"""The build: data -> model (train or cached) -> hls4ml project -> C-sim -> agreement/physics -> report.

``run_build(BuildConfig)`` is what ``build_hls.py`` calls; it returns the report dict and whether the
agreement tolerances passed.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from emulation.hardware import HardwareOptions
from hls.config import HLSConfig

REPORT_SCHEMA_VERSION = 1
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Tolerances:
    max_mismatched: int = 0
    min_spearman_float_view: float = 0.98
    # |eff_emu - eff_view| / eff_view per signal at the model's efficiency-check working point (L1: 1 kHz)
    max_rel_eff_diff_float_view: float = 0.10


@dataclass(frozen=True)
class BuildConfig:
    model: str = "vae21"
    output_dir: Path | None = None
    data_path: Path | None = None
    seed: int = 42
    n_train: int = 150_000
    n_val: int = 30_000
    n_test_bkg: int | None = None  # None: as many as the working points need
    n_signal: int = 50_000
    retrain: bool = False
    epochs: int | None = None
    precision_bits: int | None = None
    input_precision: str | None = None
    extra_rates_hz: tuple[float, ...] = ()
    fprs: tuple[float, ...] = ()  # replaces the default working points when given
    emulator: str = "fast"  # fast | csim
    quant_mode: str = "qat"  # qat: train at precision_bits | ptq: reuse the weights trained at the default precision
    csim_events: int = 250_000  # C-sim cross-check subset when the fast emulator produces the numbers
    hls: HLSConfig = field(default_factory=HLSConfig)
    tolerances: Tolerances = field(default_factory=Tolerances)
    cache_dir: Path = ROOT / ".cache"
    hardware: HardwareOptions = field(default_factory=HardwareOptions)  # RTL / yosys / budgets (issue 5)
    # imported legacy QKeras / Keras 2 models (emulation/import_build.py)
    weights_path: Path | None = None
    reference_path: Path | None = None
    reference_tolerance: float = 1e-4
    allow_overflow: bool = False  # accept importer-inserted quantizers that saturate on the data
    companion: bool = True  # also build the model's registered companion (e.g. vae57 -> vae57hgq) and compare

    def __post_init__(self):
        if self.emulator not in ("fast", "csim", "rtl"):
            raise ValueError(f"--emulator {self.emulator!r}: choose 'fast', 'csim' or 'rtl'")
        if self.emulator == "rtl" and not self.hardware.rtl:
            raise ValueError("--emulator rtl needs --rtl (the RTL is built by the --rtl path)")

    def resolved_output_dir(self) -> Path:
        if self.output_dir is not None:
            return Path(self.output_dir)
        return ROOT / "firmware_projects" / Path(self.model).stem

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hls"] = self.hls.to_dict()
        for k in ("output_dir", "data_path", "cache_dir", "weights_path", "reference_path"):
            d[k] = str(d[k]) if d[k] is not None else None
        d["extra_rates_hz"] = list(self.extra_rates_hz)
        d["fprs"] = list(self.fprs)
        d["hardware"] = self.hardware.to_dict()
        return d


def tool_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("keras", "tensorflow-cpu", "hgq2", "hls4ml", "da4ml", "numpy"):
        try:
            out[pkg.replace("-cpu", "")] = version(pkg)
        except PackageNotFoundError:
            out[pkg.replace("-cpu", "")] = None
    return out


from models.build_util import config_hash as _hash  # noqa: E402,F401  (kept for callers)
from models.build_util import say as _say  # noqa: E402


# --------------------------------------------------------------------------------------------------
def _load_data(cfg: BuildConfig, data_family: str, n_test_bkg: int, need_training: bool):
    """(training source, test source). A user's ``--data`` file is read first, so bad input fails fast."""
    from models.registry import data_family_functions

    generate, read = data_family_functions(data_family)
    user = read(Path(cfg.data_path)) if cfg.data_path is not None else None
    if user is not None and (len(user.x_train) or not need_training):
        return user, user
    gen = generate(
        seed=cfg.seed, n_train=cfg.n_train, n_val=cfg.n_val,
        n_test_bkg=n_test_bkg if user is None else 1000,
        n_signal=cfg.n_signal if user is None else 100,
        cache_dir=Path(cfg.cache_dir) / "data",
    )
    return gen, (user if user is not None else gen)


def _predict(model, x, batch=65536):
    out = model.predict(x, batch_size=batch, verbose=0)
    return out


def run_build(cfg: BuildConfig) -> tuple[dict, bool]:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from analysis import working_points as wp
    from data.generator import BSM_SIGNALS, SM_PROCESSES
    from models.registry import ModelSpec, PreparedModel, load_user_model, resolve_model

    from models.legacy_import import is_legacy_model_path

    if is_legacy_model_path(cfg.model):  # legacy QKeras / Keras 2 file: its own build (no HLT working points)
        from emulation.import_build import run_import_build

        return run_import_build(cfg)
    if cfg.weights_path is not None or cfg.reference_path is not None:
        raise ValueError("--weights and --reference apply to legacy QKeras / Keras 2 models (--model FILE.json or .h5)")
    spec = resolve_model(cfg.model)
    if isinstance(spec, ModelSpec) and spec.emulator and cfg.emulator == "fast" and spec.emulator != "fast":
        from dataclasses import replace

        _say(f"{spec.name}: the {spec.emulator} emulator produces the numbers (this model's default)")
        cfg = replace(cfg, emulator=spec.emulator)
    timings: dict[str, float] = {}
    sm_month = float(sum(v[1] for v in SM_PROCESSES.values()))
    acceptances = {k: v["acceptance_x_trigger_eff"] for k, v in BSM_SIGNALS.items()}
    plan = spec.rate_plan(cfg.extra_rates_hz) if isinstance(spec, ModelSpec) else None
    if plan is not None:  # a model family reading another input stream (e.g. L1 at 40 MHz)
        sm_month, wps, n_default_wps, acceptances = (plan.events_per_month, list(plan.working_points),
                                                     plan.n_default, plan.acceptances)
    else:
        wps, n_default_wps = wp.default_working_points(sm_month, cfg.extra_rates_hz), 2
    if cfg.fprs:
        wps = [wp.WorkingPointSpec(f"fpr_{f:g}", f) for f in cfg.fprs] + wps[n_default_wps:]
    n_needed = wp.required_background_events(wps)
    if cfg.n_test_bkg is not None and cfg.n_test_bkg < n_needed and cfg.data_path is None:
        raise ValueError(
            f"--n-test-bkg {cfg.n_test_bkg} is too small: the working points {[w.name for w in wps]} need at least "
            f"{n_needed} SM test events (10 above the lowest-rate threshold); omit it or choose looser --fpr"
        )
    n_test_bkg = n_needed if cfg.n_test_bkg is None else cfg.n_test_bkg

    t0 = time.perf_counter()
    data_family = spec.data if isinstance(spec, ModelSpec) else "hlt21"
    train_ds, test_ds = _load_data(cfg, data_family, n_test_bkg, need_training=isinstance(spec, ModelSpec))
    timings["data"] = time.perf_counter() - t0
    _say(f"data: {len(train_ds.x_train)} train, {len(test_ds.x_test_bkg)} SM test events, "
         f"signals {', '.join(f'{k}={len(v)}' for k, v in test_ds.x_test_signal.items())} ({timings['data']:.1f} s)")

    n_feat = test_ds.x_test_bkg.shape[1]
    if len(train_ds.x_train):
        mean = train_ds.x_train.mean(axis=0).astype(np.float32)
        std = train_ds.x_train.std(axis=0).astype(np.float32)
        std[std == 0] = 1.0
    else:
        mean, std = np.zeros(n_feat, np.float32), np.ones(n_feat, np.float32)

    if isinstance(spec, ModelSpec):
        prepared = spec.prepare_function()(cfg, train_ds, mean, std, timings)
    else:
        t0 = time.perf_counter()
        deploy = load_user_model(spec)
        timings["train"] = time.perf_counter() - t0
        prepared = PreparedModel(deploy=deploy, description={
            "name": str(spec), "description": "user model (.keras)", "config": None, "training": None})
        if cfg.data_path is None:
            raise ValueError("a user model needs --data FILE.h5 with the events to emulate")
        mean = np.zeros_like(mean)
        std = np.ones_like(std)
    deploy, model_desc = prepared.deploy, prepared.description
    if prepared.input_scaling is not None:
        mean, std = (np.asarray(a, np.float32) for a in prepared.input_scaling)
    deploy_qkeras = None
    if cfg.hardware.rtl:
        # da4ml implements RND (half up) but not the QKeras-API RND_CONV: with --rtl the whole build (HLS
        # project, C-sim, emulators, physics, RTL) uses the same model rebuilt with RND rounding.
        from quantize.hgq_native import with_rounding
        from quantize.precision import Rounding

        deploy_qkeras, deploy = deploy, with_rounding(deploy, Rounding.RND)
        model_desc["rtl_variant"] = {"rounding": "RND", "replaces": "RND_CONV", "model_name": deploy.name}
        _say("--rtl: deployable model rebuilt with RND rounding (da4ml-traceable variant, same quantized weights)")
    n_in = int(deploy.inputs[0].shape[-1])
    if n_in != test_ds.x_test_bkg.shape[1]:
        raise ValueError(f"model expects {n_in} input features but the data has {test_ds.x_test_bkg.shape[1]}")

    # ---- firmware project ---------------------------------------------------------------------
    from hls.project import build_project

    out_dir = cfg.resolved_output_dir()
    metadata = {
        "model": model_desc["name"],
        "build_config": cfg.to_dict(),
        "versions": tool_versions(),
        "standardization": {"mean": mean.tolist(), "std": std.tolist(), "applied": "upstream of the input port"},
        "feature_names": list(test_ds.feature_names),
    }
    _say(f"converting with hls4ml into {out_dir}")
    project_dir, t_conv, t_comp = build_project(deploy, cfg.hls, out_dir, metadata)
    timings["convert"], timings["compile"] = t_conv, t_comp
    _say(f"converted in {t_conv:.1f} s, C-sim compiled in {t_comp:.1f} s")

    # ---- emulate --------------------------------------------------------------------------------
    from emulation.csim import CSimEmulator

    samples = {"background": test_ds.x_test_bkg, **test_ds.x_test_signal}
    xs = {k: ((v - mean) / std).astype(np.float32) for k, v in samples.items()}
    csim = CSimEmulator(project_dir)
    if cfg.emulator == "rtl" and not cfg.hardware.rtl:
        raise ValueError("--emulator rtl needs --rtl (the RTL is built by the --rtl path)")
    if cfg.emulator in ("fast", "rtl"):
        # with --emulator rtl the fast emulator runs first; the RTL simulation replaces its numbers once the
        # RTL is built (below), and the fast emulator's are then compared with it
        from emulation.fast import FastEmulator

        emu = FastEmulator(deploy)
    elif cfg.emulator == "csim":
        emu = csim
    else:
        raise ValueError(f"--emulator {cfg.emulator!r}: choose 'fast', 'csim' or 'rtl'")
    t0 = time.perf_counter()
    s_emu = {k: emu.predict(v)[:, 0] for k, v in xs.items()}
    timings["emulate"] = time.perf_counter() - t0
    n_ev = sum(len(v) for v in xs.values())
    _say(f"{emu.name} emulator: {n_ev} events in {timings['emulate']:.2f} s ({n_ev / timings['emulate']:.0f} ev/s)")
    csim_check = None
    csim_sub = None  # (events, C-sim outputs) for the three-way comparison with the RTL
    if emu is not csim:
        # cross-check on a subset: every signal event and the first background events
        t0 = time.perf_counter()
        n_bkg = max(0, cfg.csim_events - sum(len(v) for k, v in xs.items() if k != "background"))
        sub = {k: (v[:n_bkg] if k == "background" else v) for k, v in xs.items()}
        y_c = np.concatenate([csim.predict(v)[:, 0] for v in sub.values()])
        y_f = np.concatenate([s_emu[k][: len(v)] for k, v in sub.items()])
        csim_sub = (sub, y_c)
        timings["csim_crosscheck"] = time.perf_counter() - t0
        csim_check = {"n_events": int(len(y_c)), "n_mismatched": int(np.count_nonzero(y_c != y_f)),
                      "max_abs_diff": float(np.max(np.abs(y_c - y_f))) if len(y_c) else 0.0,
                      "csim_events_per_s": len(y_c) / timings["csim_crosscheck"]}
        _say(f"C-sim cross-check: {csim_check['n_mismatched']} of {csim_check['n_events']} events differ from the fast emulator")

    t0 = time.perf_counter()
    from emulation.keras_ref import float64_model

    deploy64 = float64_model(deploy)
    keras_dtype = "float64" if deploy64 is not None else "float32"
    if deploy64 is not None:
        s_keras = {k: np.asarray(deploy64.predict(v.astype(np.float64), batch_size=65536, verbose=0),
                                 np.float64).reshape(len(v), -1)[:, 0] for k, v in xs.items()}
    else:
        s_keras = {k: _predict(deploy, v)[:, 0].astype(np.float64) for k, v in xs.items()}
    s_fview = s_twin = offline = None
    if prepared.reference_scores is not None:
        s_fview, s_twin, offline = prepared.reference_scores(xs)
    timings["keras_inference"] = time.perf_counter() - t0

    # ---- agreement --------------------------------------------------------------------------------
    from emulation.agreement import exact_agreement, score_correlation
    from emulation.saturation import saturation_counts

    all_emu = np.concatenate([s_emu[k] for k in xs])
    all_keras = np.concatenate([s_keras[k] for k in xs])
    lsb = _output_lsb(project_dir)
    agree = exact_agreement(all_emu, all_keras, lsb=lsb, float32_tolerance=keras_dtype == "float32")
    agreement = {"emulator_vs_keras": {**agree.to_dict(), "keras_dtype": keras_dtype}}
    if csim_check is not None:
        agreement["emulator_vs_csim"] = csim_check
    if agree.n_mismatched > 0:
        from emulation.divergence import first_divergent_layer

        x_all = np.concatenate([xs[k] for k in xs])
        tol = np.spacing(np.abs(all_keras).astype(np.float32)) if keras_dtype == "float32" else 0.0
        bad = np.flatnonzero(np.abs(all_emu - all_keras) > tol)[:16]
        agreement["emulator_vs_keras"]["first_divergent_layer"] = first_divergent_layer(deploy, cfg.hls, x_all[bad])
    # ---- latency and resources: estimate, RTL (da4ml + Verilator), yosys, vendor reports ----------------
    from emulation.hardware import hardware_section

    sub3, y_c3 = csim_sub if csim_sub is not None else (xs, np.concatenate([s_emu[k] for k in xs]))
    x3 = np.concatenate([v for v in sub3.values()])
    yk3 = np.concatenate([s_keras[k][: len(v)] for k, v in sub3.items()])
    t0 = time.perf_counter()
    hw = hardware_section(deploy, project_dir, cfg.hls, cfg.hardware, xs["background"][:4096],
                          events=(x3, yk3, y_c3), lsb=lsb)
    timings["latency_resources"] = time.perf_counter() - t0
    agreement.update(hw.pop("agreement"))
    if cfg.emulator == "rtl":
        from emulation.rtl import RTLEmulator

        if not (project_dir / "rtl").is_dir():
            raise RuntimeError(f"--emulator rtl: no RTL was built in {project_dir / 'rtl'} "
                               f"({hw.get('hardware', {}).get('missing', {})})")
        rtl = RTLEmulator(project_dir)
        t0 = time.perf_counter()
        s_rtl = {k: rtl.predict(v)[:, 0] for k, v in xs.items()}
        timings["emulate_rtl"] = time.perf_counter() - t0
        all_rtl = np.concatenate([s_rtl[k] for k in xs])
        agreement["fast_vs_rtl_all_events"] = {"n_events": int(len(all_rtl)),
                                               "n_mismatched": int(np.count_nonzero(all_rtl != all_emu))}
        _say(f"RTL simulation: {len(all_rtl)} events in {timings['emulate_rtl']:.2f} s; "
             f"{agreement['fast_vs_rtl_all_events']['n_mismatched']} differ from the fast emulator")
        emu, s_emu, all_emu = rtl, s_rtl, all_rtl
        agreement["emulator_vs_keras"] = {**exact_agreement(all_emu, all_keras, lsb=lsb,
                                                            float32_tolerance=keras_dtype == "float32").to_dict(),
                                          "keras_dtype": keras_dtype}
    if deploy_qkeras is not None:
        from emulation.fast import FastEmulator

        x_all = np.concatenate([xs[k] for k in xs])
        try:
            y_q = FastEmulator(deploy_qkeras).predict(x_all)[:, 0]
            src = "fast exact emulator of both models on every test event"
        except ValueError:  # e.g. per-element (HGQ2-native) quantizers: the exact float64 Keras model instead
            q64 = float64_model(deploy_qkeras)
            if q64 is None:
                raise
            y_q = np.asarray(q64.predict(x_all.astype(np.float64), batch_size=65536, verbose=0), np.float64)[:, 0]
            src = f"float64 Keras model of the RND_CONV model vs the {emu.name} emulator of the RND variant"
        model_desc["rtl_variant"]["n_events"] = int(len(x_all))
        model_desc["rtl_variant"]["n_events_differ_from_rnd_conv"] = int(np.count_nonzero(y_q != all_emu))
        model_desc["rtl_variant"]["max_abs_score_diff_from_rnd_conv"] = float(np.max(np.abs(y_q - all_emu)))
        model_desc["rtl_variant"]["source"] = src
    if "rtl_vs_keras" in agreement:
        r = agreement["rtl_vs_keras"]
        _say(f"RTL simulation vs quantized Keras: {r['n_mismatched']} of {r['n_events']} events mismatched; "
             f"vs C-sim: {agreement['rtl_vs_csim']['n_mismatched']}")
    if s_fview is not None:
        agreement["emulator_vs_float_view"] = score_correlation(all_emu, np.concatenate([s_fview[k] for k in xs]))

    # golden vectors for `build_hls.py check` (outputs from the hls4ml C-simulation itself)
    from emulation.golden import select_golden
    from hls.project import write_golden_vectors
    from quantize.qkeras import precision_of_quantizer_layer

    gx, gcounts = select_golden(xs, s_emu, precision_of_quantizer_layer(deploy.layers[1]), seed=cfg.seed)
    write_golden_vectors(project_dir, gx, csim.predict(gx), {"source": "hls4ml C-simulation", "selection": gcounts})

    t0 = time.perf_counter()
    sat = saturation_counts(deploy, xs)
    timings["saturation"] = time.perf_counter() - t0

    # ---- working points and physics --------------------------------------------------------------
    from analysis.report import physics_section, write_report

    phys = physics_section(wps, s_emu, s_fview, s_twin, offline, sm_month, acceptances)
    data_info = {
        "generator": test_ds.meta.get("generator_version", "user file"),
        "source": str(cfg.data_path) if cfg.data_path else "generated",
        "seed": cfg.seed,
        "n_train": len(train_ds.x_train),
        "n_test_background": len(test_ds.x_test_bkg),
        "n_test_signal": {k: len(v) for k, v in test_ds.x_test_signal.items()},
    }
    report = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "model": model_desc["name"],
        "model_details": model_desc,
        "versions": tool_versions(),
        "hls": {**cfg.hls.to_dict(), "clock_period_ns": cfg.hls.clock_period_ns, "project_dir": str(project_dir),
                "output_lsb": lsb},
        "data": data_info,
        **({"input_stream": {"name": plan.stream, "rate_hz": plan.input_rate_hz}} if plan is not None else {}),
        "emulator": {"name": emu.name, "label": emu.label},
        "agreement": agreement,
        "working_points": phys["working_points"],
        "signals": phys["signals"],
        "offline_scores": phys.get("offline"),
        "saturation": sat,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        **hw,  # latency, resources, latency_resources, budgets, hardware
    }
    if plan is not None and plan.efficiency_check_wp and s_fview is not None:
        report["efficiency_check"] = efficiency_check(report["signals"], plan.efficiency_check_wp,
                                                      cfg.tolerances.max_rel_eff_diff_float_view)
    report["ebops"] = _ebops(deploy)
    ok, failures = _check(report, cfg.tolerances)
    report["checks"] = {"passed": ok, "failures": failures, "tolerances": asdict(cfg.tolerances)}
    t0 = time.perf_counter()
    write_report(report, project_dir / "report", s_emu, s_fview, s_twin)
    report["timings_s"]["report"] = round(time.perf_counter() - t0, 3)
    (project_dir / "report" / "report.json").write_text(json.dumps(report, indent=2, default=_json_default))
    if isinstance(spec, ModelSpec) and spec.companion and cfg.companion:
        ok = _build_companion(cfg, spec, report, ok, project_dir)
    return report, ok


def _ebops(deploy) -> dict:
    """EBOPs and bit statistics of the deployable model (quantize/ebops.py), or the reason they are missing."""
    from quantize.ebops import ebops_report

    try:
        return ebops_report(deploy)
    except (ValueError, AttributeError) as exc:  # a layer the count does not model: say so, the build goes on
        return {"error": f"{type(exc).__name__}: {exc}"}


def _build_companion(cfg: BuildConfig, spec, report: dict, ok: bool, project_dir: Path) -> bool:
    """Build ``spec.companion`` into ``<project>/<companion_dir>/`` (its own project and report) and append the
    comparison to this build's report (report.json ``comparison``, report.md section).  A failed companion is
    reported as failed in the main report (which is kept) and fails the build."""
    import traceback
    from dataclasses import replace

    from analysis.compare import comparison, comparison_md

    out = project_dir / (spec.companion_dir or spec.companion)
    _say(f"building the companion model {spec.companion} into {out}")
    try:
        crep, cok = run_build(replace(cfg, model=spec.companion, output_dir=out, companion=False))
        comp = comparison(report, crep)
        if not cok:
            comp["companion_checks_failed"] = crep["checks"]["failures"]
    except Exception as exc:  # noqa: BLE001  (whatever failed, the main report is kept and says so)
        cok = False
        comp = {"status": "failed", "error": f"{type(exc).__name__}: {exc}", "project_dir": str(out),
                "traceback": traceback.format_exc()[-4000:]}
    if not cok:
        report["checks"]["passed"] = False
        report["checks"]["failures"].append(f"companion {spec.companion}: " + (
            comp.get("error") or "; ".join(comp.get("companion_checks_failed", []))))
    report["comparison"] = comp
    md = project_dir / "report" / "report.md"
    md.write_text(md.read_text() + "\n" + comparison_md(comp))
    (project_dir / "report" / "report.json").write_text(json.dumps(report, indent=2, default=_json_default))
    return ok and cok


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o))


def efficiency_check(signals: dict, wp_name: str, max_rel: float) -> dict:
    """Per signal at ``wp_name``: the emulator's efficiency relative to the float view's (paired statistical
    uncertainty from the report), passed when |rel diff| <= ``max_rel`` (both 0: passed)."""
    out = {"working_point": wp_name, "max_rel_diff": max_rel, "signals": {},
           "source": "emulator and float view efficiencies on the same signal events, each at its own threshold"}
    for s, d in signals.items():
        e = d["working_points"].get(wp_name)
        if e is None:  # --fpr replaced the default working points
            out["working_point"] = None
            break
        rel = e.get("eff_rel_diff_emu_vs_view")
        out["signals"][s] = {"eff_emulator": e["eff_emulator"], "eff_float_view": e["eff_float_view"],
                             "eff_float_twin": e["eff_float_twin"], "rel_diff": rel,
                             "rel_diff_stat": e.get("eff_rel_diff_stat"),
                             "passed": rel is not None and abs(rel) <= max_rel}
    out["passed"] = out["working_point"] is None or all(v["passed"] for v in out["signals"].values())
    return out


def _output_lsb(project_dir: Path) -> float | None:
    """LSB of the firmware's output type, read from the generated ``defines.h`` (``result_t``)."""
    import re

    from quantize.precision import Precision

    defines = (project_dir / "firmware" / "defines.h").read_text()
    m = re.search(r"typedef\s+(ap_u?fixed<[^>]*>)\s+result_t\s*;", defines)
    if not m:
        return None
    return Precision.parse(m.group(1)).step


def _check(report: dict, tol: Tolerances) -> tuple[bool, list[str]]:
    failures = []
    a = report["agreement"]["emulator_vs_keras"]
    if a["n_mismatched"] > tol.max_mismatched:
        failures.append(f"emulator vs Keras: {a['n_mismatched']} mismatched events (> {tol.max_mismatched})")
    c = report["agreement"].get("emulator_vs_csim")
    if c is not None and c["n_mismatched"] > 0:
        failures.append(f"fast emulator vs C-sim: {c['n_mismatched']} of {c['n_events']} events differ")
    for key in ("rtl_vs_keras", "rtl_vs_csim", "fast_vs_rtl_all_events"):
        r = report["agreement"].get(key)
        if r is not None and r["n_mismatched"] > 0:
            failures.append(f"{key.replace('_', ' ')}: {r['n_mismatched']} of {r['n_events']} events mismatched")
    b = report.get("budgets")
    if b is not None and b.get("enforced") and not b["passed"]:
        failures.append("budgets failed (--enforce-budgets): " + ", ".join(
            f"{n} {b[n]['sources'][s]['value']:.4g} > {b[n]['limit']:.4g} ({s})"
            for n in b["failed"] for s in b[n]["decided_by"] if not b[n]["sources"][s]["pass"]))
    ec = report.get("efficiency_check")
    if ec is not None and ec["working_point"] is not None and not ec["passed"]:
        bad = [f"{s} " + ("undefined (the float view selects none)" if d["rel_diff"] is None else f"{d['rel_diff']:+.1%}")
               for s, d in ec["signals"].items() if not d["passed"]]
        failures.append(f"emulator vs float view efficiency at {ec['working_point']}: {', '.join(bad)} "
                        f"(limit {ec['max_rel_diff']:.0%})")
    fv = report["agreement"].get("emulator_vs_float_view")
    if fv is not None and fv["score_spearman"] < tol.min_spearman_float_view:
        failures.append(
            f"emulator vs float view: Spearman {fv['score_spearman']:.4f} < {tol.min_spearman_float_view}"
        )
    return not failures, failures
