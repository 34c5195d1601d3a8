"""vae57hgq against ae57 and vae57 on the L1 VALIDATION sample (issue 15, section 2: "an on-chip score that
separates all four signals, AUC > 0.5 each, and at 1 kHz at least ae57's efficiency"), per HGQ2 setting.

Every model's deployed ``reco`` score (bit-exact: the fast emulator) on the validation events that choose the score
(:func:`data.l1.l1_validation_events`, stream :data:`models.vae21_select.VALIDATION_STREAM`; never the test
sample), the threshold of each at FPR 2.5e-5 (1 kHz) on its own SM events.  Per model and signal: AUC, events
selected at 1 kHz, and the paired McNemar z against ae57 on the same events
(:func:`benchmarks.l1_paired_decisions.paired_counts`); per vae57hgq also EBOPs (quantize/ebops.py, whole deployable
``reco`` model), zero weights, the bits of MET_pt's row of ``enc_dense1`` (the row hpm_taunu and h0_tautau are
selected through) and the build's efficiency check (emulator vs float view, paired, limit 10 %, failed beyond 2
sigma; :func:`benchmarks.hgq_beta_scan.validation_efficiency_check`) with the SM Spearman.

    .venv/bin/python -m benchmarks.vae57hgq_validation --data .cache/data/l1_57_...h5 --cache-dir .cache \\
        --vae57 seed=13 --variants "" beta_ebops=0 --model-cache /tmp/vae57hgq_models

A variant is ``key=value[,key=value]`` of :class:`models.vae57_hgq.HGQConfig` fields (``seed``, ``beta_ebops``,
``max_bits``, ``min_bits``, ``init_act_frac``, ...); ``""`` is the default.  ``--vae57`` lists the vae57 (QKeras API)
settings to compare (``seed=N[,beta=X][,act=BITS,mu=BITS,out=BITS,w=BITS][,met_w=W]``: its training seed, KL
weight, widths and MET's weight in ``reco``); each gets the build's efficiency check on the validation events too.
Models come from ``--cache-dir`` when their key is there, else are trained into ``--model-cache`` (default:
``--cache-dir``).  Synthetic events (data.generator).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import fields, replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np

FPR_1KHZ = 2.5e-5
# the vae57 (QKeras API) settings ``--vae57`` may vary: its training seed, the KL weight, the widths (QKeras bits,
# integer bits kept: ``w`` kernels and biases, ``act`` ReLUs, ``mu``, ``out`` the on-chip reconstruction) and MET's
# weight in ``reco`` (``met_w``, a power of two; the score only, the trained model is the same);
# benchmarks.vae57_scores.variant_config
VAE57_KEYS = {"seed", "beta", "w", "act", "mu", "out", "met_w"}


def parse_variant(spec: str) -> dict:
    """``key=value[,key=value]`` -> {field: typed value}: fields of :class:`models.vae57_hgq.HGQConfig` (``seed``
    among them: the training seed); ``None`` for the optional ones.  (``--vae57``'s settings are parsed by
    :func:`benchmarks.vae57_scores.parse_variant`.)"""
    from models.vae57_hgq import HGQConfig as config_cls

    types = {f.name: str(f.type) for f in fields(config_cls)}
    over = {}
    for item in filter(None, spec.split(",")):
        k, _, val = item.partition("=")
        if k not in types:
            raise ValueError(f"variant {spec!r}: {k!r} is not a field of {config_cls.__name__} ({', '.join(types)})")
        t = types[k]
        over[k] = (None if val == "None" else val.lower() in ("1", "true") if "bool" in t
                   else float(val) if "float" in t else int(val))
    return over


def _cfg(cache_dir: Path):
    return SimpleNamespace(cache_dir=cache_dir, retrain=False, precision_bits=None, input_precision=None, epochs=None)


def _cache_for(caches: list[Path], tag, key_cfg, ds) -> Path:
    """The first cache holding the key (no training), else the last one (trained into)."""
    from models.training import model_cache_dir

    return next((c for c in caches if (model_cache_dir(c, tag, key_cfg, ds) / "info.json").is_file()), caches[-1])


def _load_or_train(caches: list[Path], tag, key_cfg, ds, build, train):
    """From the first cache holding the key (no training), else trained into the last one."""
    from models.training import train_pair

    return train_pair(_cfg(_cache_for(caches, tag, key_cfg, ds)), tag, key_cfg, ds, build, train, {})


def score_table(scores: dict, ref: dict | None) -> dict:
    """Per signal: AUC, selected events at 1 kHz, (paired vs ``ref``'s decisions: n_ref, only_ref, only_this, z)."""
    from analysis import working_points as wp
    from benchmarks.l1_paired_decisions import paired_counts

    t, n_above = wp.threshold_at_fpr(scores["background"], FPR_1KHZ)
    aucs = wp.aucs(scores["background"], {k: v for k, v in scores.items() if k != "background"})
    out = {"n_sm_above": n_above, "threshold": float(t), "signals": {}}
    for k, s in scores.items():
        if k == "background":
            continue
        sel = s > t
        row = {"auc": aucs[k], "n_selected": int(sel.sum()), "n_events": len(s), "selected": sel}
        if ref is not None:
            row["vs_ae57"] = paired_counts(ref["signals"][k]["selected"], sel)
        out["signals"][k] = row
    return out


def show(label: str, tab: dict, extra: str = "") -> None:
    parts = []
    for k, r in tab["signals"].items():
        z = f" z {r['vs_ae57']['mcnemar_z_b_minus_a']:+.2f}" if "vs_ae57" in r else ""
        parts.append(f"{k} {r['auc']:.3f} {r['n_selected']}{z}")
    print(f"  {label:44s} " + " | ".join(parts) + f" ({tab['n_sm_above']} SM above){extra}", flush=True)


def met_row(model) -> dict:
    """Configured bits and zero weights of enc_dense1's MET_pt row (feature 0) against the other rows."""
    from quantize.ebops import quantizer_widths

    layer = model.get_layer("enc_dense1")
    w = np.asarray(layer.qkernel, np.float64)
    bits = quantizer_widths(layer.kq, w.shape)
    return {"met_row_bits": bits[0].tolist(), "met_row_zero": int((w[0] == 0).sum()),
            "met_row_abs_sum": float(np.abs(w[0]).sum()),
            "other_rows_zero_mean": float((w[1:] == 0).sum(axis=1).mean()),
            "other_rows_bits_mean": float(bits[1:].mean())}


def main(argv=None) -> int:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="an L1 dataset file (the build's cache)")
    p.add_argument("--variants", nargs="*", default=[""], help="vae57hgq settings ('' = the default)")
    p.add_argument("--vae57", nargs="*", default=["seed=13"],
                   help="vae57 references (seed=N[,beta=X][,act=BITS,mu=BITS,out=BITS,w=BITS][,met_w=W])")
    p.add_argument("--ae57-seeds", nargs="*", type=int, default=[],
                   help="ae57 trained with these seeds too: the reference's own seed spread (paired vs the default)")
    p.add_argument("--n-sm", type=int, default=800_000, help="SM validation events (20 above FPR 2.5e-5 at 800k)")
    p.add_argument("--n-signal", type=int, default=10_000)
    p.add_argument("--seed", type=int, default=42, help="validation stream seed (the build's --seed)")
    p.add_argument("--cache-dir", type=Path, default=Path(".cache"), help="model cache read first (ae57, vae57, ...)")
    p.add_argument("--model-cache", type=Path, default=None, help="where models not in --cache-dir are trained into")
    p.add_argument("--events-cache", type=Path, default=None, help="an .npz of the validation events (written once)")
    p.add_argument("--json", type=Path)
    p.add_argument("--bootstrap", action="store_true",
                   help="decide the efficiency checks with the thresholds' fluctuation included (vae21's rule at "
                        "~30/day), not the paired signal-only uncertainty of the L1 build")
    p.add_argument("--scores-dir", type=Path, default=None,
                   help="write each model's chip scores (an .npz per model: background and every signal) here")
    a = p.parse_args(argv)
    variants = [parse_variant(s) for s in a.variants]  # bad input fails before any training
    from benchmarks.vae57_scores import parse_variant as parse_vae57

    try:
        refs = [parse_vae57(s) for s in a.vae57]
    except ValueError as e:
        raise SystemExit(f"--vae57: {e}") from None
    if any(set(r) - VAE57_KEYS for r in refs):
        raise SystemExit(f"--vae57 {a.vae57}: only {', '.join(sorted(VAE57_KEYS))} (e.g. seed=13,beta=0.01,act=16)")
    caches = [a.cache_dir] + ([a.model_cache] if a.model_cache else [])

    from benchmarks.hgq_beta_scan import efficiency_check_line, validation_efficiency_check
    from benchmarks.vae57_scores import ae57_scores, variant_config
    from data.l1 import l1_validation_events, read_l1_h5
    from emulation.fast import FastEmulator
    from models import l1_common
    from models import vae21 as v
    from models.ae57 import AE57Config
    from models.vae21_scores import float_scores
    from models.vae21_select import VALIDATION_STREAM
    from models.vae57 import vae_config
    from models.vae57_hgq import HGQConfig, build_hgq_vae, hgq_model_config, train_hgq_vae
    from quantize.ebops import ebops_report

    ds = read_l1_h5(a.data)
    if a.events_cache and a.events_cache.is_file():
        z = np.load(a.events_cache)
        events = {k: z[k] for k in z.files}
        assert len(events["background"]) == a.n_sm and all(len(x) == a.n_signal for k, x in events.items()
                                                            if k != "background"), "--events-cache: other sizes"
    else:
        events = l1_validation_events(a.seed, a.n_sm, a.n_signal, VALIDATION_STREAM)
        if a.events_cache:
            np.savez(a.events_cache, **events)
    print(f"validation: {a.n_sm} SM, {a.n_signal} per signal, stream [{a.seed}, {VALIDATION_STREAM}]; columns: "
          "signal AUC, events selected at 1 kHz (FPR 2.5e-5), McNemar z vs ae57 on the same events", flush=True)
    ae_chip = ae57_scores(ds, events, a.cache_dir)
    ae = score_table(ae_chip, None)
    show("ae57 chip", ae)
    results = [{"model": "ae57", **_plain(ae)}]

    mc0 = vae_config(_cfg(a.cache_dir))
    tf = l1_common.log1p_transform(mc0, ds.feature_names)
    scale, xt, xv = l1_common.scaled(ds, tf)
    xs = {k: (tf(x) / scale).astype(np.float32) for k, x in events.items()}
    masked = v.masked_reco(mc0, ds.feature_names)  # the deployed reco, MET's weight included (chip and float view)

    def chip_scores(deploy):
        emu = FastEmulator(deploy)
        return {k: emu.predict(x)[:, 0] for k, x in xs.items()}

    def keep(label: str, scores: dict) -> None:
        if a.scores_dir:
            a.scores_dir.mkdir(parents=True, exist_ok=True)
            np.savez(a.scores_dir / (label.replace(" ", "_").replace("'", "").replace(":", "") + ".npz"), **scores)

    keep("ae57", ae_chip)
    for seed in a.ae57_seeds:
        key_cfg = replace(AE57Config(), seed=seed).to_dict()  # ae57_scores' key: read from any cache holding it
        chip = ae57_scores(ds, events, _cache_for(caches, "ae57", key_cfg, ds), seed=seed)
        keep(f"ae57 seed {seed}", chip)
        tab = score_table(chip, ae)
        show(f"ae57 seed {seed}", tab)
        results.append({"model": f"ae57 seed {seed}", **_plain(tab)})

    def view_check(chip, qvae, mc, masked):
        """The build's efficiency check (emulator vs float view) on the validation events, and the SM Spearman."""
        from scipy.stats import spearmanr

        fview = v.float_view(qvae, mc)
        view = {k: float_scores(fview, x, masked, mc.beta)["reco"] for k, x in xs.items()}
        ec, _ = validation_efficiency_check(chip, view, FPR_1KHZ, bootstrap=a.bootstrap)
        rho = float(spearmanr(chip["background"], view["background"]).statistic)
        print(f"    Spearman (SM) {rho:.4f}, " + efficiency_check_line(ec), flush=True)
        return ec, rho

    for over in refs:
        mc = variant_config(over)  # vae57's configuration with these settings (the build's when over is {})
        # the trained model does not depend on the score's weights: its cache key is the default weights' one
        key_cfg = replace(mc, score_weights=mc0.score_weights)
        qvae, _, info = _load_or_train(caches, "vae57", key_cfg.to_dict(), ds, lambda q: v.build_vae(mc, q),
                                       lambda m, q: v.train_vae(m, mc, xt, xv))
        ref_masked = v.masked_reco(mc, ds.feature_names)  # its reco's weights (chip and float view)
        deploy = v.deployable_model(qvae, "reco", masked=ref_masked)
        chip = chip_scores(deploy)
        keep(f"vae57 {over}", chip)
        tab = score_table(chip, ae)
        eb = ebops_report(deploy)["total"]
        show(f"vae57 {over}", tab, f" EBOPs {eb['ebops']}")
        ec, rho = view_check(chip, qvae, mc, ref_masked)
        results.append({"model": f"vae57 {over}", "ebops": eb["ebops"], "efficiency_check": ec, "spearman_sm": rho,
                        "cache": info["cache_dir"], **_plain(tab)})

    for over in variants:
        hc = replace(HGQConfig(), **over)
        mc = hgq_model_config(mc0, hc)  # vae57's, with vae57hgq's seed: as models.vae57_hgq.prepare_for_build
        qvae, _, info = _load_or_train(
            caches, "vae57hgq", {"vae57": mc.to_dict(), "hgq": hc.to_dict()}, ds,
            lambda q: build_hgq_vae(mc, hc) if q else v.build_vae(mc, quantized=False),
            lambda m, q: train_hgq_vae(m, mc, hc, xt, xv) if q else v.train_vae(m, mc, xt, xv))
        deploy = v.deployable_model(qvae, "reco", masked=masked)
        chip = chip_scores(deploy)
        keep(f"vae57hgq {dict(over, seed=mc.seed)}", chip)
        tab = score_table(chip, ae)
        eb = ebops_report(deploy)
        enc = sum(eb["layers"][n]["ebops"] for n in ("enc_dense1", "enc_dense2", "mu_dense"))
        mr = met_row(qvae)
        label = f"vae57hgq {dict(over, seed=mc.seed)}"
        show(label, tab, f" EBOPs {eb['total']['ebops']} (encoder {enc}), zero {eb['total']['n_zero_weights']}")
        ec, rho = view_check(chip, qvae, mc, masked)
        print(f"    enc_dense1 MET_pt row: bits {mr['met_row_bits']}, zero {mr['met_row_zero']}/32 (other rows: "
              f"{mr['other_rows_zero_mean']:.1f} zero, bits mean {mr['other_rows_bits_mean']:.2f}), "
              f"sum|w| {mr['met_row_abs_sum']:.3f}", flush=True)
        results.append({"model": label, "ebops": eb["total"]["ebops"], "encoder_ebops": enc,
                        "zero_weights": eb["total"]["n_zero_weights"], "efficiency_check": ec, "spearman_sm": rho,
                        "met_row": mr, "cache": info["cache_dir"], **_plain(tab)})
        if a.json:
            a.json.write_text(json.dumps(results, indent=2, default=float))
    if a.json:
        a.json.write_text(json.dumps(results, indent=2, default=float))
    return 0


def _plain(tab: dict) -> dict:
    return {"n_sm_above": tab["n_sm_above"], "signals": {k: {kk: vv for kk, vv in r.items() if kk != "selected"}
                                                         for k, r in tab["signals"].items()}}


if __name__ == "__main__":
    raise SystemExit(main())
