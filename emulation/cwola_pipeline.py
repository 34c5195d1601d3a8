"""The CWoLa build: dijets -> per-window nested k-fold QAT classifiers -> bump hunt -> firmware of the deployed
window's classifier -> emulator agreement and the hunt re-scored with the emulator -> report.

``run_cwola(CWoLaBuildConfig)`` is what ``build_hls.py --model cwola`` calls; it returns (report, ok).

Score sources (kept apart everywhere):

* ``fixed_point``: :func:`models.cwola.exact_forward`, the quantized networks in exact fixed-point arithmetic
  (numpy); used for the scan over all windows;
* ``emulator``: the deployed architecture run by the fast bit-exact emulator (:class:`emulation.fast.FastEmulator`)
  with each fold network's weights; the deployed network is also run by the hls4ml C-simulation on every event;
* ``keras``: the quantized Keras models (QKeras API via hgq2);
* ``float_view``: the same weights with every quantizer off; ``float_twin``: separately trained float networks
  (same windows, folds and plan); ``supervised``: a fully supervised reference trained on an independent labelled
  sample.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hls.config import HLSConfig

ROOT = Path(__file__).resolve().parents[1]
REPORT_SCHEMA_VERSION = 1
HUNT_FEATURES = ("mj1", "mj2", "tau21_1", "tau21_2")


@dataclass(frozen=True)
class CWoLaBuildConfig:
    output_dir: Path | None = None
    data_path: Path | None = None  # LHCO high-level-feature file (pandas HDF)
    seed: int = 42
    n_bkg: int = 300_000
    n_sig: int = 400
    no_signal: bool = False
    window: int | None = None  # deployed window index (default: most significant)
    features: tuple[str, ...] = HUNT_FEATURES
    decorrelate_masses: bool = True
    n_folds: int = 5
    n_init: int = 1
    epochs: int | None = None
    first_center: float = 3200.0
    last_center: float = 4800.0
    fit_range: tuple[float, float] = (2968.0, 6900.0)  # above the trigger turn-on (see data/dijet.py)
    n_supervised_sig: int = 20_000
    n_supervised_bkg: int = 200_000
    retrain: bool = False
    hls: HLSConfig = field(default_factory=HLSConfig)
    cache_dir: Path = ROOT / ".cache"

    def __post_init__(self):
        from data.dijet import FEATURES

        bad = [f for f in self.features if f not in FEATURES or f == "mjj"]
        if bad or not self.features:
            raise ValueError(f"--features {list(self.features)}: unknown or not allowed {bad}; choose from "
                             f"{[f for f in FEATURES if f != 'mjj']} (mjj itself would learn the window)")
        if self.n_folds < 3:
            raise ValueError(f"--folds {self.n_folds}: nested k-fold needs at least 3 folds")
        if self.n_init < 1:
            raise ValueError("--inits must be >= 1")

    def resolved_output_dir(self) -> Path:
        return Path(self.output_dir) if self.output_dir is not None else ROOT / "firmware_projects" / "cwola"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hls"] = self.hls.to_dict()
        for k in ("output_dir", "data_path", "cache_dir"):
            d[k] = str(d[k]) if d[k] is not None else None
        d["features"] = list(self.features)
        d["fit_range"] = list(self.fit_range)
        return d


def _say(msg: str) -> None:
    print(f"[cwola] {msg}", flush=True)


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


# ------------------------------------------------------------------------------------------------
def _feature_matrix(sample, features, decorrelate: bool, fit_range):
    from analysis.cwola import mass_decorrelation_kappa
    from data.dijet import FEATURES

    x = sample.x
    mjj = x[:, 0]
    cols, kappas = [], {}
    for f in features:
        c = x[:, FEATURES.index(f)].astype(np.float64)
        if decorrelate and f in ("mj1", "mj2"):
            k = mass_decorrelation_kappa(mjj, c, *fit_range)
            kappas[f] = k
            c = c * (3500.0 / mjj) ** k
        cols.append(c)
    xf = np.column_stack(cols)
    mean, std = xf.mean(axis=0), xf.std(axis=0)
    std[std == 0] = 1.0
    return ((xf - mean) / std).astype(np.float32), mean, std, kappas


def _save_weights(path: Path, nets: list, meta: dict) -> None:
    arrs = {}
    for j, net in enumerate(nets):
        for l, (k, b) in enumerate(net):
            arrs[f"n{j}_k{l}"] = k
            arrs[f"n{j}_b{l}"] = b
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, meta=json.dumps(meta), **arrs)
    os.replace(tmp, path)


def _load_weights(path: Path) -> tuple[list, dict]:
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        nets = []
        for j in range(meta["n_networks"]):
            nets.append([(z[f"n{j}_k{l}"], z[f"n{j}_b{l}"]) for l in range(meta["n_layers"])])
    return nets, meta


def _train_window(x, sr, inw, folds, plan, mc, quantized: bool, seed: int, cache: Path, retrain: bool):
    """Train (or load) every network of one window; returns (networks, info)."""
    from analysis.cwola import balanced_weights, training_masks
    from models.cwola import train_packed

    if cache.is_file() and not retrain:
        nets, meta = _load_weights(cache)
        return nets, {**meta, "from_cache": True}
    rows = np.flatnonzero(inw)
    masks = training_masks(folds[rows], plan, np.ones(len(rows), bool))
    srw = sr[rows]
    K = len(plan)
    y = np.repeat(srw[:, None].astype(np.float32), K, axis=1)
    wt = np.column_stack([balanced_weights(srw, tr) for tr, _ in masks])
    wv = np.column_stack([balanced_weights(srw, va) for _, va in masks])
    t0 = time.perf_counter()
    res = train_packed(x[rows], y, wt, wv, mc, quantized=quantized, seed=seed)
    meta = {"n_networks": K, "n_layers": len(res["weights"][0]), "val_loss": res["val_loss"].tolist(),
            "epochs_run": res["epochs_run"], "train_s": time.perf_counter() - t0, "n_events": int(len(rows))}
    _save_weights(cache, res["weights"], meta)
    return res["weights"], {**meta, "from_cache": False}


def _best_per_pair(plan, val_loss) -> dict[int, list[int]]:
    """For each test fold t: plan indices of the best initialisation of each (t, v) network."""
    best: dict[tuple[int, int], int] = {}
    for j, (t, v, _) in enumerate(plan):
        if (t, v) not in best or val_loss[j] < val_loss[best[(t, v)]]:
            best[(t, v)] = j
    out: dict[int, list[int]] = {}
    for (t, v), j in sorted(best.items()):
        out.setdefault(t, []).append(j)
    return out


def _ensemble_scores(folds, scored_by, score_fn) -> np.ndarray:
    """score_fn(network index, event rows) -> logits; per event the mean over its test fold's networks."""
    s = np.zeros(len(folds))
    for t, nets in scored_by.items():
        rows = np.flatnonzero(folds == t)
        s[rows] = np.mean([score_fn(j, rows) for j in nets], axis=0)
    return s


# ------------------------------------------------------------------------------------------------
def run_cwola(cfg: CWoLaBuildConfig) -> tuple[dict, bool]:
    from analysis import cwola as hunt
    from data.dijet import load_or_generate_dijets, read_lhco_hdf
    from models.cwola import CWoLaConfig, exact_forward, float_forward

    timings: dict[str, float] = {}
    windows = hunt.make_windows(cfg.first_center, cfg.last_center)
    if cfg.window is not None and not 0 <= cfg.window < len(windows):
        raise ValueError(f"--window {cfg.window}: choose 0..{len(windows) - 1} "
                         f"(SR centres {[round(w.center) for w in windows]} GeV)")
    if windows[0].sr[0] < cfg.fit_range[0] or windows[-1].sr[1] > cfg.fit_range[1]:
        raise ValueError(f"window SRs {windows[0].sr[0]:.0f}-{windows[-1].sr[1]:.0f} GeV must lie inside the fit range "
                         f"{cfg.fit_range} GeV: choose --window-centres within it")
    t0 = time.perf_counter()
    if cfg.data_path is not None:
        sample = read_lhco_hdf(cfg.data_path)
    else:
        sample = load_or_generate_dijets(cfg.seed, cfg.n_bkg, 0 if cfg.no_signal else cfg.n_sig,
                                         Path(cfg.cache_dir) / "data")
    mjj = sample.mjj.astype(np.float64)
    x, mean, std, kappas = _feature_matrix(sample, cfg.features, cfg.decorrelate_masses, cfg.fit_range)
    timings["data"] = time.perf_counter() - t0
    n_sig_true = int(np.sum(sample.label == 1))
    _say(f"data: {len(mjj)} events ({n_sig_true} injected signal), {timings['data']:.1f} s; mass decorrelation "
         f"kappa {kappas or 'off'}")

    edges = hunt.fit_edges(windows, *cfg.fit_range)
    folds = hunt.assign_folds(len(mjj), cfg.n_folds, cfg.seed + 1)
    plan = hunt.nested_plan(cfg.n_folds, cfg.n_init)
    mc = CWoLaConfig()
    if cfg.epochs is not None:
        from dataclasses import replace

        mc = replace(mc, epochs=cfg.epochs)
    import keras

    key = _hash({"data": sample.meta.get("cache_key"), "model": mc.to_dict(), "features": cfg.features,
                 "decorrelate": cfg.decorrelate_masses, "folds": cfg.n_folds, "inits": cfg.n_init,
                 "seed": cfg.seed, "windows": [w.to_dict() for w in windows], "keras": keras.__version__,
                 "version": 2})
    mdir = Path(cfg.cache_dir) / "models" / f"cwola-{key}"

    # ---- the hunt over all windows --------------------------------------------------------------
    t0 = time.perf_counter()
    win_out, scores, nets_all, scored_all = [], {}, {}, {}
    n_trained = 0
    in_range = (mjj >= edges[0]) & (mjj < edges[-1])  # sidebands are clipped to the fit range (full acceptance)
    for w in windows:
        sr, sb = w.masks(mjj)
        sb &= in_range
        inw = sr | sb
        nets, info = _train_window(x, sr, inw, folds, plan, mc, True, cfg.seed + 100 * w.index,
                                   mdir / f"window{w.index}_qat.npz", cfg.retrain)
        n_trained += 0 if info["from_cache"] else len(nets)
        scored_by = _best_per_pair(plan, info["val_loss"])
        leak = hunt.check_no_leakage(folds, plan, hunt.training_masks(folds, plan, inw), scored_by)
        if leak:
            raise RuntimeError(f"window {w.index}: {leak} (event, network) pairs scored by a network that saw them")
        s = _ensemble_scores(folds, scored_by, lambda j, rows: exact_forward(nets[j], x[rows], mc.quant))
        res = hunt.hunt_window(mjj, s, w, edges)
        scores[w.index], nets_all[w.index], scored_all[w.index] = s, nets, scored_by
        win_out.append({**w.to_dict(), "n_SR": int(sr.sum()), "n_SB": int(sb.sum()),
                        "n_signal_SR_truth": int(np.sum(sr & (sample.label == 1))),
                        "training": {k: info[k] for k in ("epochs_run", "from_cache", "n_events")},
                        "leakage_pairs": leak, "hunt_fixed_point": res})
        status = "cached" if info["from_cache"] else f"trained {len(nets)} nets, {info['epochs_run']} epochs"
        zs = " ".join(f"{r['efficiency']:g}:{(r['z'] if r['z'] is not None else float('nan')):.2f}" for r in res)
        _say(f"window {w.index} SR [{w.sr[0]:.0f}, {w.sr[1]:.0f}] n_SR={int(sr.sum())} n_SB={int(sb.sum())} "
             f"({status}) "
             f"Z per cut {zs}")
    timings["train_and_scan"] = time.perf_counter() - t0

    # ---- the deployed window -------------------------------------------------------------------
    def zbest(wo):
        zz = [r["z"] for r in wo["hunt_fixed_point"][1:] if r["z"] is not None]
        return max(zz) if zz else -1.0

    if cfg.window is not None:
        wi = cfg.window
    else:
        wi = int(np.argmax([zbest(wo) for wo in win_out]))
    w = windows[wi]
    sr, sb = w.masks(mjj)
    sb &= in_range
    inw = sr | sb
    nets, scored_by = nets_all[wi], scored_all[wi]
    dep_j = scored_by[0][0]
    _say(f"deployed window {wi} (centre {w.center:.0f} GeV); firmware = network {plan[dep_j]} (test fold, val fold, init)")

    from models.cwola import deployable_model

    t0 = time.perf_counter()
    used = sorted({j for js in scored_by.values() for j in js})
    kmodels = {j: deployable_model(nets[j], mc.quant, name=f"cwola_w{wi}_n{j}") for j in used}
    deploy = kmodels[dep_j]
    from hls.project import build_project

    out_dir = cfg.resolved_output_dir()
    metadata = {
        "model": "cwola", "build_config": cfg.to_dict(), "versions": _versions(),
        "standardization": {"mean": mean.tolist(), "std": std.tolist(), "applied": "upstream of the input port",
                            "mass_decorrelation_kappa": kappas, "mass_reference_gev": 3500.0},
        "feature_names": list(cfg.features), "window": w.to_dict(), "network": list(plan[dep_j]),
        "output": "logit (no sigmoid)",
    }
    _say(f"converting with hls4ml into {out_dir}")
    project_dir, t_conv, t_comp = build_project(deploy, cfg.hls, out_dir, metadata)
    timings["convert"], timings["compile"] = t_conv, t_comp
    _say(f"converted in {t_conv:.1f} s, C-sim compiled in {t_comp:.1f} s")

    from emulation.agreement import exact_agreement, score_correlation
    from emulation.csim import CSimEmulator
    from emulation.fast import FastEmulator

    t0 = time.perf_counter()
    csim = CSimEmulator(project_dir)
    y_csim = csim.predict(x)[:, 0]
    timings["csim"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fasts = {j: FastEmulator(m) for j, m in kmodels.items()}
    y_fast_dep = fasts[dep_j].predict(x)[:, 0]
    timings["emulate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    y_keras_dep = deploy.predict(x, batch_size=8192, verbose=0)[:, 0].astype(np.float64)
    timings["keras_inference"] = time.perf_counter() - t0
    lsb = _output_lsb(project_dir)
    agreement = {
        "emulator_vs_keras": {**exact_agreement(y_csim, y_keras_dep, lsb=lsb).to_dict(),
                              "emulator": "hls4ml C-simulation", "network": "deployed", "events": "all"},
        "fast_vs_csim": {"n_events": len(x), "n_mismatched": int(np.count_nonzero(y_fast_dep != y_csim)),
                         "max_abs_diff": float(np.max(np.abs(y_fast_dep - y_csim)))},
    }
    _say(f"C-sim vs Keras (deployed network, {len(x)} events): {agreement['emulator_vs_keras']['n_mismatched']} "
         f"mismatched; fast vs C-sim: {agreement['fast_vs_csim']['n_mismatched']}")

    # the hunt of this window re-scored: emulator / keras / float view (all fold networks), float twin, supervised
    t0 = time.perf_counter()
    per_net_emu, per_net_keras = {}, {}

    def emu_fn(j, rows):
        per_net_emu[(j, rows[0])] = fasts[j].predict(x[rows])[:, 0]
        return per_net_emu[(j, rows[0])]

    def keras_fn(j, rows):
        per_net_keras[(j, rows[0])] = kmodels[j].predict(x[rows], batch_size=8192, verbose=0)[:, 0].astype(np.float64)
        return per_net_keras[(j, rows[0])]

    s_emu = _ensemble_scores(folds, scored_by, emu_fn)
    s_keras = _ensemble_scores(folds, scored_by, keras_fn)
    s_fview = _ensemble_scores(folds, scored_by, lambda j, rows: float_forward(nets[j], x[rows]))
    e_all = np.concatenate([per_net_emu[k] for k in sorted(per_net_emu)])
    k_all = np.concatenate([per_net_keras[k] for k in sorted(per_net_keras)])
    agreement["hunt_networks_emulator_vs_keras"] = {
        **exact_agreement(e_all, k_all, lsb=lsb).to_dict(), "emulator": "fast exact emulator",
        "n_networks": len(used), "events": "each event by the networks of its test fold"}
    agreement["emulator_vs_fixed_point_scan"] = {"n_events": len(x),
                                                 "n_mismatched": int(np.count_nonzero(s_emu != scores[wi]))}
    agreement["emulator_vs_float_view"] = score_correlation(s_emu, s_fview)
    timings["rescore"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    twin, twin_info = _train_window(x, sr, inw, folds, plan, mc, False, cfg.seed + 7000 + wi,
                                    mdir / f"window{wi}_float_twin.npz", cfg.retrain)
    n_trained_twin = 0 if twin_info["from_cache"] else len(twin)
    twin_by = _best_per_pair(plan, twin_info["val_loss"])
    s_twin = _ensemble_scores(folds, twin_by, lambda j, rows: float_forward(twin[j], x[rows]))
    timings["float_twin"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sup, sup_info = _supervised(cfg, mc, w, mean, std, kappas, mdir / f"window{wi}_supervised.npz")
    s_sup = np.mean([exact_forward(n, x, mc.quant) for n in sup], axis=0)
    timings["supervised"] = time.perf_counter() - t0

    sources = {"emulator": s_emu, "keras": s_keras, "float_view": s_fview, "float_twin": s_twin, "supervised": s_sup}
    hunts = {k: hunt.hunt_window(mjj, v, w, edges) for k, v in sources.items()}
    cuts = []
    for i, eff in enumerate(hunt.DEFAULT_CUTS):
        row = {"efficiency": eff}
        for k in sources:
            r = hunts[k][i]
            row[f"z_{k}"] = r["z"]
            row[f"p0_{k}"] = r["p0"]
            row[f"n_sr_{k}"] = r["n_sr"]
            row[f"b_sr_{k}"] = r["b_sr"]
            row[f"db_sr_{k}"] = r["db_sr"]
        sel = {k: (v > hunts[k][i]["threshold"]) if hunts[k][i]["threshold"] is not None else np.ones(len(v), bool)
               for k, v in sources.items()}
        row["selection_differs_emulator_vs_keras"] = int(np.count_nonzero(sel["emulator"] != sel["keras"]))
        row["selection_differs_emulator_vs_float_view"] = int(np.count_nonzero(sel["emulator"] != sel["float_view"]))
        row["selection_agreement_emulator_vs_float_view"] = float(np.mean(sel["emulator"] == sel["float_view"]))
        row["signal_efficiency_emulator"] = (float(np.mean(sel["emulator"][sample.label == 1]))
                                             if n_sig_true else None)
        cuts.append(row)

    t0 = time.perf_counter()
    from emulation.saturation import saturation_counts

    sat_samples = {"all": x, "window_SR": x[sr]}
    if n_sig_true:
        sat_samples["signal_truth"] = x[sample.label == 1]
    sat = saturation_counts(deploy, sat_samples)
    timings["saturation"] = time.perf_counter() - t0

    from emulation.golden import select_golden
    from hls.project import write_golden_vectors
    from quantize.qkeras import precision_of_quantizer_layer

    rng = np.random.default_rng(cfg.seed)
    pick = rng.choice(len(x), size=min(20000, len(x)), replace=False)
    gx, gcounts = select_golden({"background": x[pick]}, {"background": y_csim[pick]},
                                precision_of_quantizer_layer(deploy.layers[1]), seed=cfg.seed)
    write_golden_vectors(project_dir, gx, csim.predict(gx), {"source": "hls4ml C-simulation", "selection": gcounts})

    networks_trained = {"cwola_qat": len(windows) * len(plan), "float_twin": len(twin),
                        "supervised": len(sup), "trained_this_run": n_trained + n_trained_twin
                        + (0 if sup_info["from_cache"] else len(sup))}
    report = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "model": "cwola",
        "versions": _versions(),
        "hls": {**cfg.hls.to_dict(), "project_dir": str(project_dir), "output_lsb": lsb},
        "data": {"generator": sample.meta.get("generator_version"), "source": str(cfg.data_path or "generated"),
                 "seed": cfg.seed, "n_events": int(len(mjj)), "n_signal_injected": n_sig_true,
                 "no_signal": cfg.no_signal, "features": list(cfg.features), "mass_decorrelation_kappa": kappas,
                 "cache": sample.meta.get("cache_path")},
        "emulator": {"name": "csim+fast", "label": "hls4ml C-simulation (deployed network, every event); fast exact "
                     "emulator (every fold network of the deployed window)"},
        "agreement": agreement,
        "cwola": {
            "windows": win_out,
            "deployed_window": wi,
            "deployed_network": {"plan_index": dep_j, "test_fold": plan[dep_j][0], "val_fold": plan[dep_j][1],
                                 "init": plan[dep_j][2]},
            "n_folds": cfg.n_folds, "n_init": cfg.n_init, "networks_per_window": len(plan),
            "networks_trained": networks_trained,
            "networks_per_ensemble": cfg.n_folds - 1,
            "cuts": cuts,
            "hunts_deployed_window": hunts,
            "fit_range_gev": [float(edges[0]), float(edges[-1])],
            "n_fit_bins": len(edges) - 1,
            "trials": hunt.trials_note(len(windows), len(hunt.DEFAULT_CUTS) - 1),
            "model_config": mc.to_dict(),
            "supervised_training": sup_info,
        },
        "saturation": sat,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
    }
    ok, failures = _check(report)
    report["checks"] = {"passed": ok, "failures": failures}
    from analysis.cwola_report import write_cwola_report

    t0 = time.perf_counter()
    write_cwola_report(report, project_dir / "report", mjj, edges, windows, sources, sample.x, sample.label,
                       cfg.features, mean, std)
    report["timings_s"]["report"] = round(time.perf_counter() - t0, 3)
    (project_dir / "report" / "report.json").write_text(json.dumps(report, indent=2, default=_json_default))
    return report, ok


def _supervised(cfg, mc, w, mean, std, kappas, cache: Path):
    """Fully supervised reference: independent labelled sample (own seed stream), events of the window's SR+SB."""
    from data.dijet import DijetSample, generate_qcd, generate_signal
    from models.cwola import train_packed

    if cache.is_file() and not cfg.retrain:
        nets, meta = _load_weights(cache)
        return nets, {**meta, "from_cache": True}
    ss = np.random.SeedSequence([cfg.seed, 9999]).spawn(3)
    b = generate_qcd(cfg.n_supervised_bkg, np.random.default_rng(ss[0])).features()
    s = generate_signal(cfg.n_supervised_sig, np.random.default_rng(ss[1])).features()
    xs = np.concatenate([b, s])
    lab = np.concatenate([np.zeros(len(b)), np.ones(len(s))])
    smp = DijetSample(xs, lab)
    sr, sb = w.masks(smp.mjj)
    keep = sr | sb
    from data.dijet import FEATURES

    cols = []
    for f in cfg.features:
        c = xs[:, FEATURES.index(f)]
        if f in kappas:
            c = c * (3500.0 / xs[:, 0]) ** kappas[f]
        cols.append(c)
    xf = ((np.column_stack(cols) - mean) / std).astype(np.float32)[keep]
    y = lab[keep]
    is_val = np.random.default_rng(ss[2]).random(len(y)) < 0.2
    K = cfg.n_init

    def bal(use):
        out = np.zeros(len(y))
        out[use & (y == 1)] = 0.5 / max(1, np.sum(use & (y == 1)))
        out[use & (y == 0)] = 0.5 / max(1, np.sum(use & (y == 0)))
        return out * use.sum()

    wt = np.repeat(bal(~is_val)[:, None], K, 1)
    wv = np.repeat(bal(is_val)[:, None], K, 1)
    res = train_packed(xf, np.repeat(y[:, None], K, 1), wt, wv, mc, quantized=True, seed=cfg.seed + 555)
    best = int(np.argmin(res["val_loss"]))
    nets = [res["weights"][best]]
    meta = {"n_networks": 1, "n_layers": len(nets[0]), "n_signal": int(y.sum()), "n_background": int((y == 0).sum()),
            "inits": K, "epochs_run": res["epochs_run"]}
    _save_weights(cache, nets, meta)
    return nets, {**meta, "from_cache": False}


def _versions() -> dict:
    from emulation.pipeline import tool_versions

    return tool_versions()


def _output_lsb(project_dir):
    from emulation.pipeline import _output_lsb as f

    return f(project_dir)


def _json_default(o):
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (Path, tuple)):
        return str(o)
    raise TypeError(type(o))


def _check(report: dict) -> tuple[bool, list[str]]:
    f = []
    a = report["agreement"]
    if a["emulator_vs_keras"]["n_mismatched"]:
        f.append(f"C-sim vs Keras: {a['emulator_vs_keras']['n_mismatched']} mismatched events")
    if a["fast_vs_csim"]["n_mismatched"]:
        f.append(f"fast emulator vs C-sim: {a['fast_vs_csim']['n_mismatched']} events differ")
    if a["hunt_networks_emulator_vs_keras"]["n_mismatched"]:
        f.append(f"fold networks emulator vs Keras: {a['hunt_networks_emulator_vs_keras']['n_mismatched']} mismatched")
    if a["emulator_vs_fixed_point_scan"]["n_mismatched"]:
        f.append("emulator scores differ from the fixed-point scores of the scan")
    for c in report["cwola"]["cuts"]:
        if c["selection_differs_emulator_vs_keras"]:
            f.append(f"cut {c['efficiency']:g}: {c['selection_differs_emulator_vs_keras']} events selected differently "
                     "by the emulator and the quantized Keras model")
    for wo in report["cwola"]["windows"]:
        if wo["leakage_pairs"]:
            f.append(f"window {wo['index']}: fold leakage")
    return not f, f
