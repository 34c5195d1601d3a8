"""The build: data -> model (train or cached) -> hls4ml project -> C-sim -> agreement/physics -> report.

``run_build(BuildConfig)`` is what ``build_hls.py`` calls; it returns the report dict and whether the
agreement tolerances passed.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from hls.config import HLSConfig

REPORT_SCHEMA_VERSION = 1
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Tolerances:
    max_mismatched: int = 0
    min_spearman_float_view: float = 0.98


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

    def resolved_output_dir(self) -> Path:
        if self.output_dir is not None:
            return Path(self.output_dir)
        return ROOT / "firmware_projects" / Path(self.model).stem

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hls"] = self.hls.to_dict()
        for k in ("output_dir", "data_path", "cache_dir"):
            d[k] = str(d[k]) if d[k] is not None else None
        d["extra_rates_hz"] = list(self.extra_rates_hz)
        d["fprs"] = list(self.fprs)
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


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _say(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


# --------------------------------------------------------------------------------------------------
def _load_data(cfg: BuildConfig, n_test_bkg: int, need_training: bool):
    """(training source, test source). A user's ``--data`` file is read first, so bad input fails fast."""
    from data.dataset import load_or_generate_hlt, read_hlt_h5

    user = read_hlt_h5(Path(cfg.data_path)) if cfg.data_path is not None else None
    if user is not None and (len(user.x_train) or not need_training):
        return user, user
    gen = load_or_generate_hlt(
        seed=cfg.seed, n_train=cfg.n_train, n_val=cfg.n_val,
        n_test_bkg=n_test_bkg if user is None else 1000,
        n_signal=cfg.n_signal if user is None else 100,
        cache_dir=Path(cfg.cache_dir) / "data",
    )
    return gen, (user if user is not None else gen)


def _model_config(cfg: BuildConfig):
    from models.vae21 import VAE21Config, VAE21Quant

    q = VAE21Quant()
    if cfg.precision_bits is not None:
        if cfg.precision_bits < 3:
            raise ValueError(f"--precision {cfg.precision_bits}: need at least 3 bits")
        q = q.with_bits(cfg.precision_bits)
    if cfg.input_precision is not None:
        from quantize.precision import Precision

        p = Precision.parse(cfg.input_precision)
        if not p.signed:
            raise ValueError("--input-precision must be signed (standardised features are negative too)")
        a = p.qkeras_args()
        q = replace(q, input_bits=a["bits"], input_integer=a["integer"])
    mc = VAE21Config(quant=q)
    if cfg.epochs is not None:
        mc = replace(mc, epochs=cfg.epochs)
    return mc


def _train_or_load(cfg: BuildConfig, mc, train_ds, mean, std, timings):
    import keras

    from models.vae21 import build_vae, train_vae

    key = _hash({"model": mc.to_dict(), "data": train_ds.meta.get("cache_key", train_ds.meta), "keras": keras.__version__})
    mdir = Path(cfg.cache_dir) / "models" / f"vae21-{key}"
    qvae = build_vae(mc, quantized=True)
    twin = build_vae(mc, quantized=False)
    info_path = mdir / "info.json"
    t0 = time.perf_counter()
    if info_path.is_file() and not cfg.retrain:
        qvae.load_weights(mdir / "qat.weights.h5")
        twin.load_weights(mdir / "float_twin.weights.h5")
        info = json.loads(info_path.read_text())
        info["from_cache"] = True
        _say(f"loaded trained models from cache {mdir}")
    else:
        xt = (train_ds.x_train - mean) / std
        xv = (train_ds.x_val - mean) / std
        _say(f"training QAT VAE and float twin on {len(xt)} SM events")
        info = {"qat": train_vae(qvae, mc, xt, xv), "float_twin": train_vae(twin, mc, xt, xv)}
        mdir.mkdir(parents=True, exist_ok=True)
        qvae.save_weights(mdir / "qat.weights.h5")
        twin.save_weights(mdir / "float_twin.weights.h5")
        info_path.write_text(json.dumps(info, indent=2))
        info["from_cache"] = False
    timings["train"] = time.perf_counter() - t0
    info["cache_dir"] = str(mdir)
    return qvae, twin, info


def _ptq_models(cfg: BuildConfig, mc, train_ds, mean, std, timings):
    """Post-training quantization: the weights trained (or cached) at the model's default precision, evaluated
    with the quantizers of ``mc`` (same weights, new quantizers)."""
    from models.vae21 import requantize

    mc_train = _model_config(replace(cfg, precision_bits=None, input_precision=None))
    qvae_trained, twin, info = _train_or_load(cfg, mc_train, train_ds, mean, std, timings)
    info = {**info, "quant_mode": "ptq", "trained_quant": mc_train.quant.to_dict()}
    return requantize(qvae_trained, mc), twin, info


def _predict(model, x, batch=65536):
    out = model.predict(x, batch_size=batch, verbose=0)
    return out


def run_build(cfg: BuildConfig) -> tuple[dict, bool]:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from analysis import working_points as wp
    from data.generator import BSM_SIGNALS, SM_PROCESSES
    from models.registry import ModelSpec, load_user_model, resolve_model

    spec = resolve_model(cfg.model)
    timings: dict[str, float] = {}
    sm_month = float(sum(v[1] for v in SM_PROCESSES.values()))
    wps = wp.default_working_points(sm_month, cfg.extra_rates_hz)
    if cfg.fprs:
        wps = [wp.WorkingPointSpec(f"fpr_{f:g}", f) for f in cfg.fprs] + wps[2:]
    n_needed = wp.required_background_events(wps)
    if cfg.n_test_bkg is not None and cfg.n_test_bkg < n_needed and cfg.data_path is None:
        raise ValueError(
            f"--n-test-bkg {cfg.n_test_bkg} is too small: the working points {[w.name for w in wps]} need at least "
            f"{n_needed} SM test events (10 above the lowest-rate threshold); omit it or choose looser --fpr"
        )
    n_test_bkg = n_needed if cfg.n_test_bkg is None else cfg.n_test_bkg

    t0 = time.perf_counter()
    train_ds, test_ds = _load_data(cfg, n_test_bkg, need_training=isinstance(spec, ModelSpec))
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

    import keras

    from models.vae21 import deployable_model, encoder_mu_model, float_view

    if isinstance(spec, ModelSpec):
        mc = _model_config(cfg)
        if cfg.quant_mode == "ptq":
            qvae, twin, train_info = _ptq_models(cfg, mc, train_ds, mean, std, timings)
        elif cfg.quant_mode == "qat":
            qvae, twin, train_info = _train_or_load(cfg, mc, train_ds, mean, std, timings)
        else:
            raise ValueError(f"quantization mode {cfg.quant_mode!r}: choose 'qat' or 'ptq'")
        deploy = deployable_model(qvae)
        fview = float_view(qvae, mc)
        model_desc = {"name": spec.name, "description": spec.description, "config": mc.to_dict(), "training": train_info}
    else:
        t0 = time.perf_counter()
        deploy = load_user_model(spec)
        timings["train"] = time.perf_counter() - t0
        qvae = twin = fview = None
        model_desc = {"name": str(spec), "description": "user model (.keras)", "config": None, "training": None}
        if cfg.data_path is None:
            raise ValueError("a user model needs --data FILE.h5 with the events to emulate")
        mean = np.zeros_like(mean)
        std = np.ones_like(std)
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
    if cfg.emulator == "fast":
        from emulation.fast import FastEmulator

        emu = FastEmulator(deploy)
    elif cfg.emulator == "csim":
        emu = csim
    else:
        raise ValueError(f"--emulator {cfg.emulator!r}: choose 'fast' or 'csim'")
    t0 = time.perf_counter()
    s_emu = {k: emu.predict(v)[:, 0] for k, v in xs.items()}
    timings["emulate"] = time.perf_counter() - t0
    n_ev = sum(len(v) for v in xs.values())
    _say(f"{emu.name} emulator: {n_ev} events in {timings['emulate']:.2f} s ({n_ev / timings['emulate']:.0f} ev/s)")
    csim_check = None
    if emu is not csim:
        # cross-check on a subset: every signal event and the first background events
        t0 = time.perf_counter()
        n_bkg = max(0, cfg.csim_events - sum(len(v) for k, v in xs.items() if k != "background"))
        sub = {k: (v[:n_bkg] if k == "background" else v) for k, v in xs.items()}
        y_c = np.concatenate([csim.predict(v)[:, 0] for v in sub.values()])
        y_f = np.concatenate([s_emu[k][: len(v)] for k, v in sub.items()])
        timings["csim_crosscheck"] = time.perf_counter() - t0
        csim_check = {"n_events": int(len(y_c)), "n_mismatched": int(np.count_nonzero(y_c != y_f)),
                      "max_abs_diff": float(np.max(np.abs(y_c - y_f))) if len(y_c) else 0.0,
                      "csim_events_per_s": len(y_c) / timings["csim_crosscheck"]}
        _say(f"C-sim cross-check: {csim_check['n_mismatched']} of {csim_check['n_events']} events differ from the fast emulator")

    t0 = time.perf_counter()
    s_keras = {k: _predict(deploy, v)[:, 0].astype(np.float64) for k, v in xs.items()}
    s_fview = s_twin = offline = None
    if fview is not None:
        fmu = encoder_mu_model(fview)
        tmu = encoder_mu_model(twin)
        s_fview, s_twin, offline = {}, {}, {}
        for k, v in xs.items():
            mu, _ = fmu.predict(v, batch_size=65536, verbose=0)
            s_fview[k] = np.sum(np.square(mu.astype(np.float64)), axis=1)
            mu_t, lv_t = tmu.predict(v, batch_size=65536, verbose=0)
            mu_t, lv_t = mu_t.astype(np.float64), lv_t.astype(np.float64)
            s_twin[k] = np.sum(mu_t**2, axis=1)
            reco = twin.predict(v, batch_size=65536, verbose=0)
            offline[k] = {
                "kl": -0.5 * np.sum(1 + lv_t - mu_t**2 - np.exp(lv_t), axis=1),
                "reco": 0.5 * np.sum((reco - v) ** 2, axis=1),
            }
    timings["keras_inference"] = time.perf_counter() - t0

    # ---- agreement --------------------------------------------------------------------------------
    from emulation.agreement import exact_agreement, score_correlation
    from emulation.saturation import saturation_counts

    all_emu = np.concatenate([s_emu[k] for k in xs])
    all_keras = np.concatenate([s_keras[k] for k in xs])
    lsb = _output_lsb(project_dir)
    agree = exact_agreement(all_emu, all_keras, lsb=lsb)
    agreement = {"emulator_vs_keras": agree.to_dict()}
    if csim_check is not None:
        agreement["emulator_vs_csim"] = csim_check
    if agree.n_mismatched > 0:
        from emulation.divergence import first_divergent_layer

        x_all = np.concatenate([xs[k] for k in xs])
        bad = np.flatnonzero(np.abs(all_emu - all_keras) > np.spacing(np.abs(all_keras).astype(np.float32)))[:16]
        agreement["emulator_vs_keras"]["first_divergent_layer"] = first_divergent_layer(deploy, cfg.hls, x_all[bad])
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

    phys = physics_section(wps, s_emu, s_fview, s_twin, offline, sm_month, {k: v["acceptance_x_trigger_eff"] for k, v in BSM_SIGNALS.items()})
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
        "emulator": {"name": emu.name, "label": emu.label},
        "agreement": agreement,
        "working_points": phys["working_points"],
        "signals": phys["signals"],
        "offline_scores": phys.get("offline"),
        "saturation": sat,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    ok, failures = _check(report, cfg.tolerances)
    report["checks"] = {"passed": ok, "failures": failures, "tolerances": asdict(cfg.tolerances)}
    t0 = time.perf_counter()
    write_report(report, project_dir / "report", s_emu, s_fview, s_twin)
    report["timings_s"]["report"] = round(time.perf_counter() - t0, 3)
    (project_dir / "report" / "report.json").write_text(json.dumps(report, indent=2, default=_json_default))
    return report, ok


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o))


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
    fv = report["agreement"].get("emulator_vs_float_view")
    if fv is not None and fv["score_spearman"] < tol.min_spearman_float_view:
        failures.append(
            f"emulator vs float view: Spearman {fv['score_spearman']:.4f} < {tol.min_spearman_float_view}"
        )
    return not failures, failures
