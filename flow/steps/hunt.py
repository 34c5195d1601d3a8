"""Steps of the CWoLa build: dijets -> per-window nested k-fold QAT classifiers and the bump hunt over all windows
(``cwola_train``) -> firmware of the deployed window's classifier (``convert``) -> emulator agreement
(``cwola_emulate``) -> the hunt of the deployed window re-scored by every score source (``hunt``).

Score sources (kept apart everywhere): ``fixed_point`` (:func:`models.cwola.exact_forward`, the scan over all
windows); ``emulator`` (the fast bit-exact emulator with each fold network's weights; the deployed network also
by the hls4ml C-simulation on every event); ``keras`` (the quantized Keras models); ``float_view`` (quantizers
off); ``float_twin`` (separately trained float networks); ``supervised`` (truth labels, independent sample).
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from flow.build import Build, step
from models.build_util import config_hash, say


def _data(b: Build):
    from analysis import cwola as hunt
    from data.dijet import load_or_generate_dijets, read_lhco_hdf
    from models.cwola_hunt import feature_matrix

    cfg, o = b.config, b.config.cwola
    windows = hunt.make_windows(o.first_center, o.last_center)
    if o.window is not None and not 0 <= o.window < len(windows):
        raise ValueError(f"--window {o.window}: choose 0..{len(windows) - 1} "
                         f"(SR centres {[round(w.center) for w in windows]} GeV)")
    if windows[0].sr[0] < o.fit_range[0] or windows[-1].sr[1] > o.fit_range[1]:
        raise ValueError(f"window SRs {windows[0].sr[0]:.0f}-{windows[-1].sr[1]:.0f} GeV must lie inside the fit range "
                         f"{o.fit_range} GeV: choose --window-centres within it")
    t0 = time.perf_counter()
    if cfg.data_path is not None:
        sample = read_lhco_hdf(cfg.data_path)
    else:
        sample = load_or_generate_dijets(cfg.seed, o.n_bkg, 0 if o.no_signal else o.n_sig, Path(cfg.cache_dir) / "data")
    x, b.mean, b.std, kappas = feature_matrix(sample, o.features, o.decorrelate_masses, o.fit_range)
    b.timings["data"] = time.perf_counter() - t0
    return windows, sample, x, kappas


@step("cwola_data")
def cwola_data(b: Build) -> None:
    """The dijet sample, the classifier features (mass-decorrelated), windows, fit bins, folds, training plan."""
    from analysis import cwola as hunt
    from models.cwola import CWoLaConfig

    import keras

    cfg, o = b.config, b.config.cwola
    windows, sample, x, kappas = _data(b)
    mjj = sample.mjj.astype(np.float64)
    n_sig_true = int(np.sum(sample.label == 1))
    say(f"data: {len(mjj)} events ({n_sig_true} injected signal), {b.timings['data']:.1f} s; mass decorrelation "
        f"kappa {kappas or 'off'}")
    plan = hunt.nested_plan(o.n_folds, o.n_init)
    mc = CWoLaConfig() if cfg.epochs is None else replace(CWoLaConfig(), epochs=cfg.epochs)
    key = config_hash({"data": sample.meta.get("cache_key"), "model": mc.to_dict(), "features": o.features,
                       "decorrelate": o.decorrelate_masses, "folds": o.n_folds, "inits": o.n_init,
                       "seed": cfg.seed, "windows": [w.to_dict() for w in windows], "keras": keras.__version__,
                       "version": 2})
    b.family_state.update(windows=windows, sample=sample, x=x, kappas=kappas, mjj=mjj, n_sig_true=n_sig_true,
                          edges=hunt.fit_edges(windows, *o.fit_range), folds=hunt.assign_folds(len(mjj), o.n_folds,
                                                                                               cfg.seed + 1),
                          plan=plan, mc=mc, mdir=Path(cfg.cache_dir) / "models" / f"cwola-{key}")


def _scan_window(b: Build, w) -> dict:
    """Train (or load) one window's networks and hunt with their fixed-point ensemble scores."""
    from analysis import cwola as hunt
    from models.cwola import exact_forward
    from models.cwola_hunt import best_per_pair, ensemble_scores, train_window

    st, cfg = b.family_state, b.config
    x, mjj, folds, plan, mc = st["x"], st["mjj"], st["folds"], st["plan"], st["mc"]
    sr, sb = w.masks(mjj)
    sb &= st["in_range"]
    inw = sr | sb
    nets, info = train_window(x, sr, inw, folds, plan, mc, True, cfg.seed + 100 * w.index,
                              st["mdir"] / f"window{w.index}_qat.npz", cfg.retrain)
    scored_by = best_per_pair(plan, info["val_loss"])
    leak = hunt.check_no_leakage(folds, plan, hunt.training_masks(folds, plan, inw), scored_by)
    if leak:
        raise RuntimeError(f"window {w.index}: {leak} (event, network) pairs scored by a network that saw them")
    s = ensemble_scores(folds, scored_by, lambda j, rows: exact_forward(nets[j], x[rows], mc.quant))
    res = hunt.hunt_window(mjj, s, w, st["edges"])
    _fit_checks(b, w, res)
    status = "cached" if info["from_cache"] else f"trained {len(nets)} nets, {info['epochs_run']} epochs"
    zs = " ".join(f"{r['efficiency']:g}:{(r['z'] if r['z'] is not None else float('nan')):.2f}" for r in res)
    say(f"window {w.index} SR [{w.sr[0]:.0f}, {w.sr[1]:.0f}] n_SR={int(sr.sum())} n_SB={int(sb.sum())} ({status}) "
        f"Z per cut {zs}")
    return {"nets": nets, "scored_by": scored_by, "scores": s, "n_trained": 0 if info["from_cache"] else len(nets),
            "out": {**w.to_dict(), "n_SR": int(sr.sum()), "n_SB": int(sb.sum()),
                    "n_signal_SR_truth": int(np.sum(sr & (st["sample"].label == 1))),
                    "training": {k: info[k] for k in ("epochs_run", "from_cache", "n_events")},
                    "leakage_pairs": leak, "fit_sides": hunt.fit_sides(st["edges"], w), "hunt_fixed_point": res}}


def _fit_checks(b: Build, w, res: list[dict]) -> None:
    """The tightest cut's fit uncertainty checked by pseudo-experiments (``toys`` in its hunt row)."""
    from analysis import cwola as hunt
    from analysis.cwola_stats import tightest_cut_toys

    sides = hunt.fit_sides(b.family_state["edges"], w)
    if sides["background_estimate"] == "extrapolated":
        say(f"window {w.index}: SR background extrapolated ({sides['n_fit_bins_below_sr']} fit bins below the SR, "
            f"{sides['n_fit_bins_above_sr']} above; {hunt.MIN_SIDE_BINS} needed on each side to interpolate)")
    n_toys = b.config.cwola.n_toys
    res[-1]["toys"] = tightest_cut_toys(res[-1], b.family_state["edges"], hunt.sr_bins(b.family_state["edges"], w),
                                        n_toys, b.config.seed + 31 * w.index + 5) if n_toys else None


def _zbest(wo: dict) -> float:
    zz = [r["z"] for r in wo["hunt_fixed_point"][1:] if r["z"] is not None]
    return max(zz) if zz else -1.0


@step("cwola_train", requires=("cwola_data",))
def cwola_train(b: Build) -> None:
    """Every window trained and scanned; the deployed window (most significant, or --window) and its network."""
    from models.cwola import deployable_model

    st, o = b.family_state, b.config.cwola
    edges = st["edges"]
    st["in_range"] = (st["mjj"] >= edges[0]) & (st["mjj"] < edges[-1])  # sidebands clipped to the fit range
    t0 = time.perf_counter()
    scans = {w.index: _scan_window(b, w) for w in st["windows"]}
    b.timings["train_and_scan"] = time.perf_counter() - t0
    st["win_out"] = [scans[w.index]["out"] for w in st["windows"]]
    st["n_trained"] = sum(s["n_trained"] for s in scans.values())
    wi = o.window if o.window is not None else int(np.argmax([_zbest(wo) for wo in st["win_out"]]))
    w, plan = st["windows"][wi], st["plan"]
    nets, scored_by = scans[wi]["nets"], scans[wi]["scored_by"]
    dep_j = scored_by[0][0]
    say(f"deployed window {wi} (centre {w.center:.0f} GeV); firmware = network {plan[dep_j]} (test fold, val fold, init)")
    used = sorted({j for js in scored_by.values() for j in js})
    st["kmodels"] = {j: deployable_model(nets[j], st["mc"].quant, name=f"cwola_w{wi}_n{j}") for j in used}
    st.update(wi=wi, window=w, nets=nets, scored_by=scored_by, dep_j=dep_j, scan_scores=scans[wi]["scores"])
    b.deploy = st["kmodels"][dep_j]
    b.metadata = {
        "model": "cwola", "build_config": b.config.to_dict(),
        "standardization": {"mean": b.mean.tolist(), "std": b.std.tolist(), "applied": "upstream of the input port",
                            "mass_decorrelation_kappa": st["kappas"], "mass_reference_gev": 3500.0},
        "feature_names": list(o.features), "window": w.to_dict(), "network": list(plan[dep_j]),
        "output": "logit (no sigmoid)",
    }


@step("cwola_emulate", requires=("convert", "cwola_train"))
def cwola_emulate(b: Build) -> None:
    """The deployed network by the C-simulation, the fast emulator and Keras on every event; then every fold
    network of the deployed window by the fast emulator and Keras (the ensemble scores of the hunt)."""
    from emulation.agreement import exact_agreement, score_correlation
    from emulation.csim import CSimEmulator
    from emulation.fast import FastEmulator
    from hls.project import output_lsb
    from models.cwola import float_forward
    from models.cwola_hunt import ensemble_scores

    st = b.family_state
    x, dep_j, kmodels = st["x"], st["dep_j"], st["kmodels"]
    t0 = time.perf_counter()
    b.csim = CSimEmulator(b.project_dir)
    st["y_csim"] = y_csim = b.csim.predict(x)[:, 0]
    b.timings["csim"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    fasts = {j: FastEmulator(m) for j, m in kmodels.items()}
    y_fast = fasts[dep_j].predict(x)[:, 0]
    b.timings["emulate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    y_keras = b.deploy.predict(x, batch_size=8192, verbose=0)[:, 0].astype(np.float64)
    b.timings["keras_inference"] = time.perf_counter() - t0
    b.lsb = output_lsb(b.project_dir)
    agreement = b.report.setdefault("agreement", {})
    agreement["emulator_vs_keras"] = {**exact_agreement(y_csim, y_keras, lsb=b.lsb).to_dict(),
                                      "emulator": "hls4ml C-simulation", "network": "deployed", "events": "all"}
    agreement["fast_vs_csim"] = {"n_events": len(x), "n_mismatched": int(np.count_nonzero(y_fast != y_csim)),
                                 "max_abs_diff": float(np.max(np.abs(y_fast - y_csim)))}
    say(f"C-sim vs Keras (deployed network, {len(x)} events): {agreement['emulator_vs_keras']['n_mismatched']} "
        f"mismatched; fast vs C-sim: {agreement['fast_vs_csim']['n_mismatched']}")

    t0 = time.perf_counter()
    per_emu, per_keras = {}, {}

    def emu_fn(j, rows):
        per_emu[(j, rows[0])] = fasts[j].predict(x[rows])[:, 0]
        return per_emu[(j, rows[0])]

    def keras_fn(j, rows):
        per_keras[(j, rows[0])] = kmodels[j].predict(x[rows], batch_size=8192, verbose=0)[:, 0].astype(np.float64)
        return per_keras[(j, rows[0])]

    folds, scored_by, nets = st["folds"], st["scored_by"], st["nets"]
    st["s_emu"] = ensemble_scores(folds, scored_by, emu_fn)
    st["s_keras"] = ensemble_scores(folds, scored_by, keras_fn)
    st["s_fview"] = ensemble_scores(folds, scored_by, lambda j, rows: float_forward(nets[j], x[rows]))
    e_all = np.concatenate([per_emu[k] for k in sorted(per_emu)])
    k_all = np.concatenate([per_keras[k] for k in sorted(per_keras)])
    agreement["hunt_networks_emulator_vs_keras"] = {
        **exact_agreement(e_all, k_all, lsb=b.lsb).to_dict(), "emulator": "fast exact emulator",
        "n_networks": len(kmodels), "events": "each event by the networks of its test fold"}
    agreement["emulator_vs_fixed_point_scan"] = {"n_events": len(x),
                                                 "n_mismatched": int(np.count_nonzero(st["s_emu"] != st["scan_scores"]))}
    agreement["emulator_vs_float_view"] = score_correlation(st["s_emu"], st["s_fview"])
    b.timings["rescore"] = time.perf_counter() - t0


def _cuts(b: Build, sources: dict, hunts: dict) -> list[dict]:
    from analysis import cwola as hunt

    label, n_sig_true = b.family_state["sample"].label, b.family_state["n_sig_true"]
    cuts = []
    for i, eff in enumerate(hunt.DEFAULT_CUTS):
        row = {"efficiency": eff}
        for k in sources:
            r = hunts[k][i]
            row.update({f"z_{k}": r["z"], f"p0_{k}": r["p0"], f"n_sr_{k}": r["n_sr"], f"b_sr_{k}": r["b_sr"],
                        f"db_sr_{k}": r["db_sr"]})
        sel = {k: (v > hunts[k][i]["threshold"]) if hunts[k][i]["threshold"] is not None else np.ones(len(v), bool)
               for k, v in sources.items()}
        row["selection_differs_emulator_vs_keras"] = int(np.count_nonzero(sel["emulator"] != sel["keras"]))
        row["selection_differs_emulator_vs_float_view"] = int(np.count_nonzero(sel["emulator"] != sel["float_view"]))
        row["selection_agreement_emulator_vs_float_view"] = float(np.mean(sel["emulator"] == sel["float_view"]))
        row["signal_efficiency_emulator"] = float(np.mean(sel["emulator"][label == 1])) if n_sig_true else None
        cuts.append(row)
    return cuts


def _references(b: Build):
    """The float twin (same windows, folds and plan) and the fully supervised reference of the deployed window."""
    from models.cwola import exact_forward, float_forward
    from models.cwola_hunt import best_per_pair, ensemble_scores, supervised, train_window

    st, cfg = b.family_state, b.config
    x, wi, w, mc = st["x"], st["wi"], st["window"], st["mc"]
    sr, sb = w.masks(st["mjj"])
    sb &= st["in_range"]
    t0 = time.perf_counter()
    twin, twin_info = train_window(x, sr, sr | sb, st["folds"], st["plan"], mc, False, cfg.seed + 7000 + wi,
                                   st["mdir"] / f"window{wi}_float_twin.npz", cfg.retrain)
    twin_by = best_per_pair(st["plan"], twin_info["val_loss"])
    s_twin = ensemble_scores(st["folds"], twin_by, lambda j, rows: float_forward(twin[j], x[rows]))
    b.timings["float_twin"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sup, sup_info = supervised(cfg.cwola, cfg.seed, cfg.retrain, mc, w, b.mean, b.std, st["kappas"],
                               st["mdir"] / f"window{wi}_supervised.npz")
    s_sup = np.mean([exact_forward(n, x, mc.quant) for n in sup], axis=0)
    b.timings["supervised"] = time.perf_counter() - t0
    trained = (0 if twin_info["from_cache"] else len(twin)) + (0 if sup_info["from_cache"] else len(sup))
    return s_twin, s_sup, {"float_twin": len(twin), "supervised": len(sup), "trained": trained}, sup_info, sr


@step("hunt", requires=("cwola_emulate",))
def hunt_step(b: Build) -> None:
    """The deployed window's hunt with every score source, the cut table, and the report's hunt sections."""
    from analysis import cwola as hunt
    from hls.project import tool_versions

    st, cfg, o = b.family_state, b.config, b.config.cwola
    x, mjj, w, plan, dep_j = st["x"], st["mjj"], st["window"], st["plan"], st["dep_j"]
    s_twin, s_sup, counts, sup_info, sr = _references(b)
    sources = {"emulator": st["s_emu"], "keras": st["s_keras"], "float_view": st["s_fview"], "float_twin": s_twin,
               "supervised": s_sup}
    hunts = {k: hunt.hunt_window(mjj, v, w, st["edges"]) for k, v in sources.items()}
    st["sources"] = sources
    st["saturation_samples"] = {"all": x, "window_SR": x[sr]}
    if st["n_sig_true"]:
        st["saturation_samples"]["signal_truth"] = x[st["sample"].label == 1]
    pick = np.random.default_rng(cfg.seed).choice(len(x), size=min(20000, len(x)), replace=False)
    st["golden"] = ({"background": x[pick]}, {"background": st["y_csim"][pick]})
    sample, edges = st["sample"], st["edges"]
    b.report = {
        "schema_version": None, "model": "cwola", "versions": tool_versions(),
        "hls": {**cfg.hls.to_dict(), "project_dir": str(b.shown_dir()), "output_lsb": b.lsb},
        "data": {"generator": sample.meta.get("generator_version"), "source": str(cfg.data_path or "generated"),
                 "seed": cfg.seed, "n_events": int(len(mjj)), "n_signal_injected": st["n_sig_true"],
                 "no_signal": o.no_signal, "features": list(o.features), "mass_decorrelation_kappa": st["kappas"],
                 "cache": sample.meta.get("cache_path")},
        "emulator": {"name": "csim+fast", "label": "hls4ml C-simulation (deployed network, every event); fast exact "
                     "emulator (every fold network of the deployed window)"},
        "agreement": b.report["agreement"],
        "cwola": {
            "windows": st["win_out"], "deployed_window": st["wi"],
            "deployed_network": {"plan_index": dep_j, "test_fold": plan[dep_j][0], "val_fold": plan[dep_j][1],
                                 "init": plan[dep_j][2]},
            "n_folds": o.n_folds, "n_init": o.n_init, "networks_per_window": len(plan),
            "networks_trained": {"cwola_qat": len(st["windows"]) * len(plan), "float_twin": counts["float_twin"],
                                 "supervised": counts["supervised"],
                                 "trained_this_run": st["n_trained"] + counts["trained"]},
            "networks_per_ensemble": o.n_folds - 1, "cuts": _cuts(b, sources, hunts), "hunts_deployed_window": hunts,
            "fit_range_gev": [float(edges[0]), float(edges[-1])], "n_fit_bins": len(edges) - 1,
            "trials": hunt.trials_note(len(st["windows"]), len(hunt.DEFAULT_CUTS) - 1),
            "model_config": st["mc"].to_dict(), "supervised_training": sup_info,
        },
    }
