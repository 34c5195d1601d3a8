"""How ``vae57hgq``'s EBOPs weight (``models.vae57_hgq.DEFAULT_BETA_EBOPS``) was chosen: train vae57 (QKeras API) and
vae57hgq at several EBOPs weights on the same cached L1 data, with vae57's recipe, and print per model the EBOPs
(quantize/ebops.py), weight bits and, per signal, the AUC and the efficiency at 1 kHz (FPR 2.5e-5) of the quantized
Keras model's score on the SM test events.

    .venv/bin/python -m benchmarks.hgq_beta_scan --data .cache/data/l1_57_...h5 --betas 1e-7 1e-6 1e-5 --json scan.json

``--validation N_SM``: also, per vae57hgq, the build's efficiency check (emulator vs float view, paired, at 1 kHz,
limit 10 %, failed beyond 2 sigma: analysis.working_points) on the L1 VALIDATION sample that chooses the score
(data.l1.l1_validation_events, stream models.vae21_select.VALIDATION_STREAM; never the test sample), for the
deployed ``reco`` score: the quantized Keras model (float64, what the emulator reproduces bit-exactly) against
the float view (shadow weights, no quantizers).  This is what chose DEFAULT_BETA_EBOPS after the score became
``reco`` (issue 15):

    .venv/bin/python -m benchmarks.hgq_beta_scan --data .cache/data/l1_57_...h5 --betas 1e-7 1e-8 --n-bkg 400000 \
        --skip-vae57 --validation 800000 --json scan.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, required=True, help="an L1 dataset file (data/l1.py layout, e.g. the build cache)")
    p.add_argument("--betas", type=float, nargs="+", default=[1e-7, 1e-6, 1e-5])
    p.add_argument("--n-bkg", type=int, default=1_000_000, help="SM test events used (>= 400000 for 10 above 1 kHz)")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--json", type=Path)
    p.add_argument("--skip-vae57", action="store_true", help="do not train vae57 (QKeras API) as the reference")
    p.add_argument("--validation", type=int, default=0, metavar="N_SM",
                   help="SM validation events for the efficiency check of each vae57hgq (0: skip)")
    p.add_argument("--n-val-signal", type=int, default=10_000)
    a = p.parse_args(argv)

    from analysis import working_points as wp
    from data.l1 import read_l1_h5
    from models import l1_common
    from models import vae21 as v
    from models.vae57 import vae_config
    from models.vae57_hgq import HGQConfig, build_hgq_vae, train_hgq_vae
    from quantize.ebops import ebops_report

    class Cfg:
        precision_bits = None
        input_precision = None
        epochs = a.epochs

    ds = read_l1_h5(a.data)
    mc = vae_config(Cfg())
    tf = l1_common.log1p_transform(mc, ds.feature_names) or (lambda x: x)  # vae57's log1p of the pT fields
    scale, xt, xv = l1_common.scaled(ds, tf)
    xs = {"background": tf(ds.x_test_bkg[: a.n_bkg]) / scale, **{k: tf(x) / scale for k, x in ds.x_test_signal.items()}}
    rows = []

    def evaluate(name, vae, info):
        deploy = v.deployable_model(vae)
        s = {k: deploy.predict(x.astype(np.float32), batch_size=65536, verbose=0)[:, 0].astype(np.float64)
             for k, x in xs.items()}
        thr, n_above = wp.threshold_at_fpr(s["background"], 2.5e-5)
        eb = ebops_report(deploy)
        row = {"model": name, "training": info, "ebops": eb["total"], "n_background_above_1kHz": n_above,
               "signals": {k: {"auc": wp.auc(s["background"], s[k]), "eff_1kHz": wp.efficiency(s[k], thr)}
                           for k in xs if k != "background"}}
        rows.append(row)
        print(json.dumps({"model": name, "ebops": eb["total"]["ebops"], "hgq_ebops": eb["total"].get("hgq_ebops"),
                          "weight_bits": eb["total"]["weight_bits"], "zero": eb["total"]["n_zero_weights"],
                          **{k: (round(d["auc"], 4), round(d["eff_1kHz"], 4)) for k, d in row["signals"].items()}}),
              flush=True)

    val = None
    if a.validation:
        from data.l1 import l1_validation_events
        from models.vae21_select import VALIDATION_STREAM

        val = {k: tf(x) / scale for k, x in
               l1_validation_events(mc.seed, a.validation, a.n_val_signal, VALIDATION_STREAM).items()}

    def validation_check(name, m, row):
        """The build's efficiency check on the validation sample (reco score, as deployed by default)."""
        from models.vae21_scores import float_scores

        fview = v.float_view(m, mc)
        from data.l1 import L1_FEATURES

        masked = v.masked_reco(mc, L1_FEATURES)
        deploy = v.deployable_model(m, "reco", masked=masked)
        emu = {k: _predict64(deploy, x) for k, x in val.items()}
        view = {k: float_scores(fview, x, masked, mc.beta)["reco"] for k, x in val.items()}
        ec, (ne, nv) = validation_efficiency_check(emu, view, wp.l1_rate_plan().working_points[0].fpr)
        sigs = ec["signals"]
        from scipy.stats import spearmanr

        rho = float(spearmanr(emu["background"], view["background"]).statistic)
        row["validation_check"] = {"n_sm": a.validation, "n_sm_above_emulator": ne, "n_sm_above_view": nv,
                                   "spearman_sm": rho, **ec}
        print(json.dumps({"model": name, "validation_check_passed": ec["passed"], "spearman_sm": round(rho, 4),
                          **{k: f"emu {d['eff_emulator']:.2e} view {d['eff_float_view']:.2e} rel "
                                f"{(d['rel_diff'] if d['rel_diff'] is not None else float('nan')):+.1%} +- "
                                f"{(d['rel_diff_stat'] or 0):.1%} {d['status']}" for k, d in sigs.items()}}),
              flush=True)

    if not a.skip_vae57:
        t0 = time.perf_counter()
        q = v.build_vae(mc, quantized=True)
        info = v.train_vae(q, mc, xt, xv)
        info["seconds"] = round(time.perf_counter() - t0, 1)
        evaluate("vae57", q, info)
    for beta in a.betas:
        t0 = time.perf_counter()
        hc = replace(HGQConfig(), beta_ebops=beta)
        m = build_hgq_vae(mc, hc)
        info = train_hgq_vae(m, mc, hc, xt, xv)
        info["seconds"] = round(time.perf_counter() - t0, 1)
        evaluate(f"vae57hgq beta={beta:g}", m, info)
        if val is not None:
            validation_check(f"vae57hgq beta={beta:g}", m, rows[-1])
        if a.json:
            a.json.write_text(json.dumps(rows, indent=2, default=float))
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2, default=float))
    return 0


def validation_efficiency_check(emu: dict, view: dict, fpr: float, max_rel: float = 0.10, bootstrap: bool = False):
    """The build's efficiency check (analysis.working_points: paired emulator vs float view efficiency, each at its
    own threshold at ``fpr`` of its "background" scores, limit ``max_rel``, failed beyond EFFICIENCY_CHECK_Z sigma
    of the paired signal-only uncertainty: the L1 build's rule) on score dicts {"background": ..., <signal>: ...};
    returns (check, (SM events above each threshold)).  ``bootstrap=True``: decided instead with the full
    uncertainty, the thresholds' fluctuation included (:mod:`analysis.eff_bootstrap`), vae21's rule at ~30/day."""
    from analysis import working_points as wp

    te, ne = wp.threshold_at_fpr(emu["background"], fpr)
    tv, nv = wp.threshold_at_fpr(view["background"], fpr)
    name = f"fpr_{fpr:g}"
    # the report's per-signal entries (analysis.report.physics_section's fields), checked by the build's function
    signals = {k: {"working_points": {name: {
        "eff_emulator": wp.efficiency(emu[k], te), "eff_float_view": wp.efficiency(view[k], tv), "eff_float_twin": None,
        **wp.paired_efficiency_difference(emu[k], te, view[k], tv).to_dict()}}} for k in emu if k != "background"}
    ec = wp.efficiency_check(signals, name, max_rel)
    if bootstrap:  # the full uncertainty, thresholds included (flow.steps.vae_scores, vae21's check)
        from analysis.eff_bootstrap import rel_diff_bootstrap

        boot = rel_diff_bootstrap(emu["background"], view["background"], {k: emu[k] for k in signals},
                                  {k: view[k] for k in signals}, fpr)
        for k, d in ec["signals"].items():
            d["rel_diff_stat_bootstrap"] = boot["signals"][k]["std"]
        wp.decide_efficiency_check(ec)
    return ec, (ne, nv)


def efficiency_check_line(ec: dict) -> str:
    """One line of :func:`validation_efficiency_check`'s result: passed / FAILED, then per signal the emulator's and
    the view's efficiencies, the paired relative difference and its status."""
    return f"efficiency check {'passed' if ec['passed'] else 'FAILED'}: " + "; ".join(
        f"{k} emu {d['eff_emulator']:.2e} view {d['eff_float_view']:.2e} "
        f"{(d['rel_diff'] if d['rel_diff'] is not None else float('nan')):+.1%} +- {(d['rel_diff_stat'] or 0):.1%}"
        + ("" if d.get("rel_diff_stat_bootstrap") is None else f" (bootstrap +- {d['rel_diff_stat_bootstrap']:.1%})")
        + ("" if d.get("rel_diff_from_thresholds") is None or not d["rel_diff"] else
           f" [thresholds {d['rel_diff_from_thresholds']:+.1%}, signal scores {d['rel_diff_from_signal_scores']:+.1%}]")
        + f" {d['status']}" for k, d in ec["signals"].items())


def _predict64(model, x, chunk=65536):
    """The quantized Keras model in float64 (emulation.keras_ref: what the emulator reproduces bit-exactly)."""
    from emulation.keras_ref import float64_model

    m64 = float64_model(model)
    return np.concatenate([np.asarray(m64(x[i:i + chunk].astype(np.float64)), np.float64)[:, 0]
                           for i in range(0, len(x), chunk)])


if __name__ == "__main__":
    raise SystemExit(main())
