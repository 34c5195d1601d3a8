"""How ``vae57hgq``'s EBOPs weight (``models.vae57_hgq.DEFAULT_BETA_EBOPS``) was chosen: train vae57 (QKeras API) and
vae57hgq at several EBOPs weights on the same cached L1 data, with vae57's recipe, and print per model the EBOPs
(quantize/ebops.py), weight bits and, per signal, the AUC and the efficiency at 1 kHz (FPR 2.5e-5) of the quantized
Keras model's score on the SM test events.

    .venv/bin/python -m benchmarks.hgq_beta_scan --data .cache/data/l1_57_...h5 --betas 1e-7 1e-6 1e-5 --json scan.json
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
    if a.json:
        a.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
