"""Can any density-based anomaly score select h0_tautau at ~30 SM events/day on this data? (issue 15, vae21's
factor-3 criterion; README "Why h0_tautau is 0: the density ceiling").

An anomaly score that does not know the signal can only select events where the SM density is low.  This benchmark
scores the vae21 validation split (``models.vae21_select``'s stream, never the test sample) with explicit estimates
of the SM density, fitted on an SM training sample of their own, no VAE involved:

* ``mahalanobis``: the squared Mahalanobis distance (a single Gaussian with the full SM covariance), i.e. every
  linear correlation between the features;
* ``gmm<K>``: minus the log-density of a K-component Gaussian mixture with full covariances (scikit-learn), a
  flexible density estimate of the whole 21-dimensional distribution.

Inputs as vae21's: sign(x) log(1 + |x|) on the heavy-tailed features (``data.transforms.HLT21_LOG1P``), then the
standardisation fitted on the training sample; the integer-valued features (counts, booleans, multiplicities) are
dequantised with U(0, 1) noise on the raw value first, so that a continuous density is defined.  Per score and
signal: AUC, events selected at the ~30/day threshold (FPR max(30/day, 10 / n_sm): 10 SM events above it, as
``benchmarks/vae21_likelihoods.py``) and the number of SM validation events above the signal's highest event.

    .venv/bin/python -m benchmarks.vae21_density_ceiling --n-sm 2100000 --n-sig 50000 --components 16 64

Synthetic events (data.generator).
"""

from __future__ import annotations

import argparse

import numpy as np

TRAIN_STREAM = 2121212  # the SM training sample's stream: neither the build's nor the validation split's
SEED = 11
VALIDATION_SEED = 42  # the default build's --seed: the validation split its score choice uses (models.vae21_select)


def integer_valued(raw: np.ndarray, n_check: int = 5000) -> np.ndarray:
    """Columns whose values are all integers in the first ``n_check`` events (counts, booleans, multiplicities)."""
    r = raw[:n_check]
    return np.all(r == np.round(r), axis=0)


def dequantise(raw: np.ndarray, cols: np.ndarray, rng) -> np.ndarray:
    """``raw`` in float64 with U(0, 1) added to the integer-valued columns ``cols``."""
    out = np.asarray(raw, np.float64).copy()
    out[:, cols] += rng.uniform(0.0, 1.0, (len(out), int(cols.sum())))
    return out


def density_scores(raw_train: np.ndarray, events: dict, transform, components=(16,), seed: int = SEED,
                   dequantised: bool = True) -> dict:
    """{score name: {sample: scores}} (higher = less SM-like) for ``mahalanobis`` and ``gmm<K>`` per K in
    ``components``, fitted on ``raw_train`` (raw features; ``transform``: the log1p of vae21's inputs or None;
    ``dequantised=False``: the integer-valued features as they are)."""
    from sklearn.mixture import GaussianMixture

    tf = transform or (lambda x: x)
    cols = integer_valued(raw_train) if dequantised else np.zeros(raw_train.shape[1], bool)
    xt = tf(dequantise(raw_train, cols, np.random.default_rng([seed, 1])))
    mean, std = xt.mean(axis=0), xt.std(axis=0)
    std[std == 0] = 1.0
    zt = (xt - mean) / std
    z = {k: (tf(dequantise(v, cols, np.random.default_rng([seed, 2, i]))) - mean) / std
         for i, (k, v) in enumerate(events.items())}
    w, vecs = np.linalg.eigh(np.cov(zt.T))
    keep = w > 1e-9 * w.max()
    white = vecs[:, keep] / np.sqrt(w[keep])
    out = {"mahalanobis": {k: np.sum((v @ white) ** 2, axis=1) for k, v in z.items()}}
    for n in components:
        gmm = GaussianMixture(int(n), covariance_type="full", random_state=seed, reg_covar=1e-4, max_iter=200).fit(zt)
        out[f"gmm{n}"] = {k: -gmm.score_samples(v) for k, v in z.items()}
    return out


def summary(scores: dict, fpr: float) -> dict:
    """Per signal: AUC, events above the threshold at ``fpr`` of the "background" scores, and the SM events above
    the signal's highest event; plus the SM events above the threshold."""
    from analysis import working_points as wp

    bkg = scores["background"]
    thr, n_above = wp.threshold_at_fpr(bkg, fpr)
    signals = {k: v for k, v in scores.items() if k != "background"}
    auc = wp.aucs(bkg, signals)  # the SM scores sorted once for every signal
    sig = {k: {"auc": auc[k], "selected": int(np.count_nonzero(v > thr)),
               "sm_above_highest": int(np.count_nonzero(bkg > v.max()))} for k, v in signals.items()}
    return {"n_sm_above": n_above, "signals": sig}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-train", type=int, default=300_000, help="SM training events for the density estimates")
    p.add_argument("--n-sm", type=int, default=2_100_000, help="SM validation events (~30/day = 10 above at 2.1M)")
    p.add_argument("--n-sig", type=int, default=50_000)
    p.add_argument("--components", type=int, nargs="*", default=[16, 64], help="Gaussian-mixture sizes")
    p.add_argument("--seed", type=int, default=SEED, help="training sample, dequantisation and mixture seed")
    p.add_argument("--no-dequantise", action="store_true",
                   help="keep the integer-valued features as they are (their discrete values then make near-singular "
                        "directions of the density)")
    a = p.parse_args(argv)
    if a.n_train < 1000 or a.n_sm < 10 or a.n_sig < 1 or any(k < 1 for k in a.components):
        raise SystemExit("--n-train >= 1000, --n-sm >= 10, --n-sig >= 1 and --components >= 1 each")

    from analysis import working_points as wp
    from data.features import HLT21_FEATURES, compute_hlt21
    from data.generator import BSM_SIGNALS, SM_PROCESSES, generate_sm_cocktail
    from data.transforms import HLT21_LOG1P, FeatureTransform
    from models.vae21_select import _validation_events

    ev, _ = generate_sm_cocktail(a.n_train, np.random.default_rng([a.seed, TRAIN_STREAM]))
    raw_tr = compute_hlt21(ev)
    val = _validation_events(VALIDATION_SEED, a.n_sm, a.n_sig)
    sm_month = float(sum(v[1] for v in SM_PROCESSES.values()))
    fpr = max(wp.default_working_points(sm_month)[1].fpr, 10 / a.n_sm)
    print(f"SM training {a.n_train} (stream [{a.seed}, {TRAIN_STREAM}]); validation split {a.n_sm} SM, {a.n_sig} per "
          f"signal; FPR {fpr:.3g} (~30 SM events/day); integer-valued ({'kept' if a.no_dequantise else 'dequantised'}):"
          + " " + ", ".join(f for f, b in zip(HLT21_FEATURES, integer_valued(raw_tr)) if b), flush=True)
    scores = density_scores(raw_tr, val, FeatureTransform(HLT21_FEATURES, HLT21_LOG1P), a.components, a.seed,
                            dequantised=not a.no_dequantise)
    pub = {k: BSM_SIGNALS[k]["published"]["eff_30_per_day"] for k in val if k != "background"}
    print("cells: AUC / events selected (efficiency, its ratio to the published VAE's) / SM events above the "
          "signal's highest event")
    print("| score | " + " | ".join(k for k in pub) + " | SM above threshold |")
    print("|---|" + "---|" * (len(pub) + 1))
    for name, s in scores.items():
        r = summary(s, fpr)
        print(f"| {name} | " + " | ".join(
            f"{d['auc']:.3f} / {d['selected']} ({d['selected'] / a.n_sig:.2e}, x{d['selected'] / a.n_sig / pub[k]:.2f})"
            f" / {d['sm_above_highest']}" for k, d in r["signals"].items()) + f" | {r['n_sm_above']} |", flush=True)
    print("| published VAE | " + " | ".join(f"{v:.1e}" for v in pub.values()) + " | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
