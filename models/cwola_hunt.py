"""The CWoLa hunt's networks: the feature matrix (with mass decorrelation), per-window nested k-fold training
with a weight cache, the ensemble scores of each event by the networks of its test fold, and the fully
supervised reference.  Training uses :func:`models.cwola.train_packed`; the hunt itself is :mod:`analysis.cwola`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np

def feature_matrix(sample, features, decorrelate: bool, fit_range):
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


def save_weights(path: Path, nets: list, meta: dict) -> None:
    arrs = {}
    for j, net in enumerate(nets):
        for l, (k, b) in enumerate(net):
            arrs[f"n{j}_k{l}"] = k
            arrs[f"n{j}_b{l}"] = b
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + f".{os.getpid()}.tmp.npz")
    np.savez(tmp, meta=json.dumps(meta), **arrs)
    os.replace(tmp, path)


def load_weights(path: Path) -> tuple[list, dict]:
    with np.load(path) as z:
        meta = json.loads(str(z["meta"]))
        nets = []
        for j in range(meta["n_networks"]):
            nets.append([(z[f"n{j}_k{l}"], z[f"n{j}_b{l}"]) for l in range(meta["n_layers"])])
    return nets, meta


def train_window(x, sr, inw, folds, plan, mc, quantized: bool, seed: int, cache: Path, retrain: bool):
    """Train (or load) every network of one window; returns (networks, info)."""
    from analysis.cwola import balanced_weights, training_masks
    from models.cwola import train_packed

    if cache.is_file() and not retrain:
        nets, meta = load_weights(cache)
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
    save_weights(cache, res["weights"], meta)
    return res["weights"], {**meta, "from_cache": False}


def best_per_pair(plan, val_loss) -> dict[int, list[int]]:
    """For each test fold t: plan indices of the best initialisation of each (t, v) network."""
    best: dict[tuple[int, int], int] = {}
    for j, (t, v, _) in enumerate(plan):
        if (t, v) not in best or val_loss[j] < val_loss[best[(t, v)]]:
            best[(t, v)] = j
    out: dict[int, list[int]] = {}
    for (t, v), j in sorted(best.items()):
        out.setdefault(t, []).append(j)
    return out


def ensemble_scores(folds, scored_by, score_fn) -> np.ndarray:
    """score_fn(network index, event rows) -> logits; per event the mean over its test fold's networks."""
    s = np.zeros(len(folds))
    for t, nets in scored_by.items():
        rows = np.flatnonzero(folds == t)
        s[rows] = np.mean([score_fn(j, rows) for j in nets], axis=0)
    return s


def supervised(opts, seed: int, retrain: bool, mc, w, mean, std, kappas, cache: Path):
    """Fully supervised reference (``opts``: :class:`flow.config.CWoLaOptions`): independent labelled sample (own seed stream), events of the window's SR+SB."""
    from data.dijet import DijetSample, generate_qcd, generate_signal
    from models.cwola import train_packed

    if cache.is_file() and not retrain:
        nets, meta = load_weights(cache)
        return nets, {**meta, "from_cache": True}
    ss = np.random.SeedSequence([seed, 9999]).spawn(3)
    b = generate_qcd(opts.n_supervised_bkg, np.random.default_rng(ss[0])).features()
    s = generate_signal(opts.n_supervised_sig, np.random.default_rng(ss[1])).features()
    xs = np.concatenate([b, s])
    lab = np.concatenate([np.zeros(len(b)), np.ones(len(s))])
    smp = DijetSample(xs, lab)
    sr, sb = w.masks(smp.mjj)
    keep = sr | sb
    from data.dijet import FEATURES

    cols = []
    for f in opts.features:
        c = xs[:, FEATURES.index(f)]
        if f in kappas:
            c = c * (3500.0 / xs[:, 0]) ** kappas[f]
        cols.append(c)
    xf = ((np.column_stack(cols) - mean) / std).astype(np.float32)[keep]
    y = lab[keep]
    is_val = np.random.default_rng(ss[2]).random(len(y)) < 0.2
    K = opts.n_init

    def bal(use):
        out = np.zeros(len(y))
        out[use & (y == 1)] = 0.5 / max(1, np.sum(use & (y == 1)))
        out[use & (y == 0)] = 0.5 / max(1, np.sum(use & (y == 0)))
        return out * use.sum()

    wt = np.repeat(bal(~is_val)[:, None], K, 1)
    wv = np.repeat(bal(is_val)[:, None], K, 1)
    res = train_packed(xf, np.repeat(y[:, None], K, 1), wt, wv, mc, quantized=True, seed=seed + 555)
    best = int(np.argmin(res["val_loss"]))
    nets = [res["weights"][best]]
    meta = {"n_networks": 1, "n_layers": len(nets[0]), "n_signal": int(y.sum()), "n_background": int((y == 0).sum()),
            "inits": K, "epochs_run": res["epochs_run"]}
    save_weights(cache, nets, meta)
    return nets, {**meta, "from_cache": False}
