"""Offline float study (issue 15, section 2): vae21 with per-feature likelihoods suited to each feature vs the
current all-Gaussian decoder, on the same events.

``python benchmarks/vae21_likelihoods.py [--n-train 150000] [--epochs 15] [--n-sm 300000] [--n-sig 10000]
[--zero-frac 0.2] [--models gauss,mixed,hurdle] [--nu 3] [--hidden 32,16] [--latent 4] [--beta 1]``

The models are float Keras VAEs written here (not the build's quantized model), same encoder (21 -> 32 -> 16 ->
latent 4, beta 1; ``--hidden`` / ``--latent`` / ``--beta`` change it for every model, decoder mirrored, rows then
labelled e.g. ``mixed [hidden 64,32]``), same input (log1p on data.transforms.HLT21_LOG1P, then standardised on
the training split):
- ``gauss``: the current vae21 likelihood: per-feature Gaussian with a learned width per feature (floored at 0.05)
  on every log1p-standardised feature;
- ``mixed``: Bernoulli (logit) for lep_is_ele and lep_charge (as (q+1)/2), Poisson (log-rate) for the raw small
  counts n_jets, n_bjets, n_mu, n_ele, and the same Gaussian (log-normal for the log1p-compressed positive
  features, incl. the hadron multiplicities: a Poisson on them is far too narrow and dominates the NLL) for the
  other 15;
- ``hurdle``: ``mixed`` plus a hurdle (zero-inflated) pdf on those Gaussian features whose raw value is exactly 0 in
  more than ``--zero-frac`` of the training events (decided on the training sample and printed, not hand-picked):
  p(x) = (1 - pi) delta(x = x0) + pi N(x; mu, sigma), pi = sigmoid(l), x0 = the standardised raw 0, so
  NLL = softplus(l) - z l + z [(x - mu)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2] with z = [raw != 0]; the
  decoder outputs mu and the logit l for such a feature, and the width is learned on the z = 1 events only.
  (The log(2 pi) / 2 of the continuous part is kept, as in every other Gaussian term here.)
- ``mixed_het`` / ``hurdle_het`` (not in the default ``--models``): ``mixed`` / ``hurdle`` with a per-event width
  on every Gaussian feature (and on the continuous part of every hurdle feature): a second dense head from the last
  decoder hidden layer outputs a log sigma s per feature, hard-clipped below at log(0.05) (the constant-width
  models' floor; no gradient below it), NLL = (x - mu)^2 / (2 sigma^2) + log sigma + log(2 pi) / 2 with
  sigma = exp(s) per event.  Stability: the head's kernel and bias start at zero (sigma = 1 for every event, the
  constant-width models' initial width), and Adam clips the global gradient norm at ``HET_CLIPNORM`` (the
  constant-width models keep the unclipped optimizer, so their figures do not change).
- ``mixed_t`` / ``hurdle_t`` (not in the default ``--models``): ``mixed`` / ``hurdle`` with every Gaussian term (and
  the continuous part of every hurdle feature) a Student-t with ``--nu`` degrees of freedom (default 3), location
  mu, scale = the learned per-feature width (same floor 0.05): NLL = ((nu + 1) / 2) log(1 + r^2 / (nu sigma^2)) +
  log sigma + lgamma(nu / 2) - lgamma((nu + 1) / 2) + log(nu pi) / 2, r = x - mu.  One feature's cost grows like
  (nu + 1) log|r| instead of r^2 / 2, so no single outlier dominates the score.  Rows labelled ``mixed_t (nu 3)``.
Training: SM cocktail from its own seeded stream (not the build's cache); validation: models.vae21_select's
validation split (stream 271828; never the test sample).  Scores with mu in place of the sample: reco (NLL),
kl, total (reco + beta kl), mu2.  Working point: the build's main one (~30 SM events/day), FPR raised to 20 SM
events / n_sm when that is not reachable on the split (as models.vae21_select does).  Also prints, per model,
which features dominate the reco NLL of the 20 highest SM events (and of each signal's 50 highest, with its
highest reco and total against their thresholds, the number of SM events above its highest reco, and its highest
event's three largest terms); for the het models also the per-event sigma of the SM tail's leading features.
Synthetic events (data.generator).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BOOLS = ("lep_is_ele", "lep_charge")
COUNTS = ("n_jets", "n_bjets", "n_mu", "n_ele")  # small counts; hadron multiplicities (overdispersed) stay log-normal
PUBLISHED = {"LQ_btau": 6.5e-4, "A_4l": 2.8e-3, "h0_tautau": 3.6e-4, "hpm_taunu": 1.2e-3}  # issue 15 (paper)
SEED = 11
TRAIN_STREAM = 314159
LOG_SIGMA_FLOOR = float(np.log(0.05).astype(np.float32))
HET_CLIPNORM = 10.0
MODELS = ("gauss", "mixed", "hurdle", "mixed_het", "hurdle_het", "mixed_t", "hurdle_t")
NU = 3.0  # --nu default: Student-t degrees of freedom of the _t models
HIDDEN = (32, 16)  # --hidden default: encoder widths (decoder mirrored)
LATENT = 4  # --latent default
BETA = 1.0  # --beta default: KL weight in the training loss and in the total score


def parse_hidden(text: str) -> tuple[int, ...]:
    """'32,16' -> (32, 16); SystemExit unless one or more positive integers."""
    try:
        w = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise SystemExit(f"--hidden must be comma-separated positive integers, got {text!r}") from None
    if not w or min(w) <= 0:
        raise SystemExit(f"--hidden must be comma-separated positive integers, got {text!r}")
    return w


def arch_label(hidden: tuple[int, ...], latent: int, beta: float) -> str:
    """The non-default architecture settings, e.g. ' [hidden 64,32]' ('' at the defaults)."""
    parts = ([f"hidden {','.join(map(str, hidden))}"] if tuple(hidden) != HIDDEN else []) + \
        ([f"latent {latent}"] if latent != LATENT else []) + ([f"beta {beta:g}"] if beta != BETA else [])
    return f" [{', '.join(parts)}]" if parts else ""


def _targets(raw: np.ndarray, xs: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Per-feature targets: standardised log1p (Gaussian, hurdle), raw counts (Poisson), 0/1 (Bernoulli); for
    hurdle features (kind 3) the indicators z = [raw != 0] are appended as extra columns."""
    from data.features import HLT21_FEATURES

    y = xs.copy()
    for j, name in enumerate(HLT21_FEATURES):
        if kinds[j] == 1:
            y[:, j] = raw[:, j]
        elif kinds[j] == 2:
            y[:, j] = (raw[:, j] + 1.0) / 2.0 if name == "lep_charge" else raw[:, j]
    hurdle = np.flatnonzero(kinds == 3)
    if hurdle.size:  # the hurdle indicators z = [raw != 0], appended in feature order
        y = np.concatenate([y, (raw[:, hurdle] != 0).astype(y.dtype)], axis=1)
    return y.astype(np.float32)


def zero_fractions(raw: np.ndarray) -> np.ndarray:
    """Per feature, the fraction of events exactly at the raw value 0."""
    return (raw == 0).mean(axis=0)


def hurdle_kinds(kinds: np.ndarray, zero_frac: np.ndarray, threshold: float) -> np.ndarray:
    """``kinds`` with the Gaussian features (kind 0) whose zero fraction exceeds ``threshold`` turned hurdle (3)."""
    out = kinds.copy()
    out[(kinds == 0) & (zero_frac > threshold)] = 3
    return out


def student_t_const(nu: float) -> float:
    """The Student-t NLL's constant: lgamma(nu / 2) - lgamma((nu + 1) / 2) + log(nu pi) / 2."""
    import math

    return math.lgamma(nu / 2.0) - math.lgamma((nu + 1.0) / 2.0) + 0.5 * math.log(nu * math.pi)


def _nll_layer(kinds: np.ndarray, het: bool = False, nu: float | None = None):
    """The per-feature NLL layer; called on [y, p] (learned per-feature widths) or, with ``het``, on [y, p, s]
    with s the decoder's per-event log sigma per feature (clipped below at LOG_SIGMA_FLOOR; used on the Gaussian
    and hurdle features only).  With ``nu`` the continuous pdf (kind 0 and the hurdle's z = 1 part) is a Student-t
    with nu degrees of freedom, location mu and scale sigma (same floor):
    ((nu + 1) / 2) log(1 + r^2 / (nu sigma^2)) + log sigma + student_t_const(nu), r = x - mu."""
    import keras
    from keras import ops

    n = len(kinds)
    hurdle = np.flatnonzero(kinds == 3)
    # scatter matrix: the appended hurdle columns (z in y, logit l in p) -> their features' positions
    scatter = np.zeros((max(hurdle.size, 1), n), np.float32)
    scatter[np.arange(hurdle.size), hurdle] = 1.0

    class PerFeatureNLL(keras.layers.Layer):
        """Per-event per-feature NLL; kinds 0 Gaussian (learned per-feature log sigma), 1 Poisson, 2 Bernoulli,
        3 hurdle (softplus(l) - z l + z * Gaussian; z and l in the columns after the first n of y and p)."""

        def build(self, shape):
            if not het:
                self.log_sigma = self.add_weight(shape=(n,), initializer="zeros", name="log_sigma")

        def call(self, inputs):
            if het:
                y_all, p_all, s = inputs
                ls = ops.maximum(s, LOG_SIGMA_FLOOR)  # per event
            else:
                y_all, p_all = inputs
                ls = ops.maximum(self.log_sigma, LOG_SIGMA_FLOOR)  # the floor shared with the het models
            y, p = y_all[:, :n], p_all[:, :n]
            if nu is None:
                g = 0.5 * ops.square((y - p) * ops.exp(-ls)) + ls + 0.5 * np.log(2 * np.pi)
            else:
                g = (0.5 * (nu + 1.0) * ops.log1p(ops.square((y - p) * ops.exp(-ls)) / nu) + ls +
                     np.float32(student_t_const(nu)))
            rate = ops.exp(ops.minimum(p, 10.0))
            po = rate - y * p + ops.convert_to_tensor(_lgamma1(y))
            be = ops.softplus(p) - y * p
            k = ops.convert_to_tensor(kinds.astype(np.float32))
            nll = ops.where(k == 0, g, ops.where(k == 1, po, be))
            if hurdle.size:
                z = ops.matmul(y_all[:, n:], scatter)
                lg = ops.matmul(p_all[:, n:], scatter)
                nll = ops.where(k == 3, ops.softplus(lg) - z * lg + z * g, nll)
            self.add_loss(ops.mean(ops.sum(nll, axis=-1)))
            return nll

    def _lgamma1(y):
        import tensorflow as tf

        return tf.math.lgamma(y + 1.0)

    return PerFeatureNLL(name="nll")


def build(kinds: np.ndarray, seed: int, het: bool = False, nu: float | None = None,
          hidden: tuple[int, ...] = HIDDEN, latent: int = LATENT, beta: float = BETA):
    """The float VAE: encoder ``hidden`` -> latent ``latent`` (KL weight ``beta``), decoder ``reversed(hidden)``."""
    import keras
    from keras import ops

    from models.vae21 import _sampling_layer_cls

    keras.utils.set_random_seed(seed)
    n = len(kinds)
    n_out = n + int((kinds == 3).sum())  # a second output (the logit) per hurdle feature
    x_in, y_in = keras.Input((n,), name="x"), keras.Input((n_out,), name="y")
    h = x_in
    for i, w in enumerate(hidden):
        h = keras.layers.Dense(w, activation="relu", name=f"enc{i}")(h)
    mu, lv = keras.layers.Dense(latent, name="mu")(h), keras.layers.Dense(latent, name="logvar")(h)
    z = _sampling_layer_cls()(beta=float(beta), seed=seed, name="sampling")([mu, lv])
    d = z
    for i, w in enumerate(tuple(reversed(hidden))):
        d = keras.layers.Dense(w, activation="relu", name=f"dec{i}")(d)
    p = keras.layers.Dense(n_out, name="params")(d)
    if het:  # per-event log sigma head, starting at sigma = 1 for every event
        s = keras.layers.Dense(n, kernel_initializer="zeros", bias_initializer="zeros", name="log_sigma")(d)
        nll = _nll_layer(kinds, het=True)([y_in, p, s])
        opt = keras.optimizers.Adam(1e-3, global_clipnorm=HET_CLIPNORM)
    else:
        nll = _nll_layer(kinds, nu=nu)([y_in, p])
        opt = keras.optimizers.Adam(1e-3)
    train = keras.Model([x_in, y_in], nll)
    train.compile(optimizer=opt)
    kl = -0.5 * ops.sum(1.0 + lv - ops.square(mu) - ops.exp(lv), axis=-1)
    score = keras.Model([x_in, y_in], [nll, kl, mu] + ([ops.maximum(s, LOG_SIGMA_FLOOR)] if het else []))
    return train, score


def scores(score_model, x, y, beta: float = BETA) -> dict:
    out = score_model.predict([x, y], batch_size=65536, verbose=0)
    nll, kl, mu = out[:3]
    reco = nll.sum(axis=1)
    res = {"reco": reco, "kl": kl, "total": reco + beta * kl, "mu2": (mu ** 2).sum(axis=1), "_nll": nll}
    if len(out) > 3:  # per-event log sigma (het models)
        res["_ls"] = out[3]
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-train", type=int, default=150_000)
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--n-sm", type=int, default=300_000)
    ap.add_argument("--n-sig", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=SEED, help="training sample and initialisation (validation: fixed)")
    ap.add_argument("--min-above", type=int, default=20, help="SM events above the threshold at least (default "
                    "models.vae21_select's 20; 10 with --n-sm 2100000 is the build's test-sample ~30/day rule)")
    ap.add_argument("--models", default="gauss,mixed,hurdle", help="comma-separated, from " + ",".join(MODELS) +
                    " (default gauss,mixed,hurdle: the earlier runs; each model's figures do not depend on which "
                    "others run)")
    ap.add_argument("--nu", type=float, default=NU, help="Student-t degrees of freedom of the _t models "
                    f"(default {NU:g}; the other models ignore it)")
    ap.add_argument("--hidden", default=",".join(map(str, HIDDEN)), help="encoder hidden widths, comma-separated "
                    f"(default {','.join(map(str, HIDDEN))}; the decoder mirrors them)")
    ap.add_argument("--latent", type=int, default=LATENT, help=f"latent dimension (default {LATENT})")
    ap.add_argument("--beta", type=float, default=BETA, help=f"KL weight in the training loss and in the total "
                    f"score reco + beta kl (default {BETA:g})")
    ap.add_argument("--zero-frac", type=float, default=0.2, help="hurdle model: a Gaussian feature is "
                    "zero-inflated when more than this fraction of the training events is exactly 0 (default 0.2)")
    a = ap.parse_args(argv)
    if min(a.n_train, a.epochs, a.n_sm, a.n_sig, a.min_above) <= 0:
        raise SystemExit("--n-train, --epochs, --n-sm, --n-sig, --min-above must be positive")
    if not a.nu > 0.0:
        raise SystemExit(f"--nu must be positive, got {a.nu}")
    hidden = parse_hidden(a.hidden)
    if a.latent <= 0:
        raise SystemExit(f"--latent must be positive, got {a.latent}")
    if not (a.beta > 0.0 and np.isfinite(a.beta)):
        raise SystemExit(f"--beta must be positive, got {a.beta}")
    if not 0.0 <= a.zero_frac < 1.0:
        raise SystemExit(f"--zero-frac must be in [0, 1), got {a.zero_frac}")
    models = [m.strip() for m in a.models.split(",") if m.strip()]
    bad = [m for m in models if m not in MODELS]
    if bad or not models:
        raise SystemExit(f"--models: unknown {bad} (choose from {','.join(MODELS)})")
    from analysis import working_points as wp
    from data.features import HLT21_FEATURES, compute_hlt21
    from data.generator import SM_PROCESSES, generate_sm_cocktail
    from data.transforms import HLT21_LOG1P, FeatureTransform
    from models.vae21_select import _validation_events

    ev, _ = generate_sm_cocktail(a.n_train, np.random.default_rng([a.seed, TRAIN_STREAM]))
    raw_tr = compute_hlt21(ev)
    val = _validation_events(SEED, a.n_sm, a.n_sig)
    tf = FeatureTransform(HLT21_FEATURES, HLT21_LOG1P)
    xt = tf(raw_tr)
    mean, std = xt.mean(0), xt.std(0)
    std[std == 0] = 1.0

    def scale(r):
        return ((tf(r) - mean) / std).astype(np.float32)

    kinds_mixed = np.array([2 if f in BOOLS else 1 if f in COUNTS else 0 for f in HLT21_FEATURES])
    zf = zero_fractions(raw_tr)
    kinds_hurdle = hurdle_kinds(kinds_mixed, zf, a.zero_frac)
    print("training-sample fraction of events at raw 0: " +
          ", ".join(f"{f} {v:.3f}" for f, v in zip(HLT21_FEATURES, zf)))
    j_pt = HLT21_FEATURES.index("lep_pt")
    print("training sample, events with a non-zero pt_mu_tot / pt_ele_tot in which it equals lep_pt (rel 1e-5; "
          "a near-deterministic relation a per-event width can collapse on): " + ", ".join(
              f"{f} {np.isclose(raw_tr[nz, j], raw_tr[nz, j_pt], rtol=1e-5).mean():.4f}"
              for f in ("pt_mu_tot", "pt_ele_tot")
              for j in [HLT21_FEATURES.index(f)] for nz in [raw_tr[:, j] != 0]))
    print(f"hurdle features (Gaussian in mixed, zero fraction > {a.zero_frac:g}): " +
          ", ".join(f for f, k in zip(HLT21_FEATURES, kinds_hurdle) if k == 3))
    sm_month = float(sum(v[1] for v in SM_PROCESSES.values()))
    main_wp = wp.default_working_points(sm_month)[1]
    fpr = max(main_wp.fpr, a.min_above / a.n_sm)
    print(f"VAE: encoder 21 -> {' -> '.join(map(str, hidden))} -> latent {a.latent}, decoder mirrored, beta "
          f"{a.beta:g}")
    print(f"train SM {a.n_train} (seed [{a.seed}, {TRAIN_STREAM}]), {a.epochs} epochs; validation SM {a.n_sm}, "
          f"signals {a.n_sig} each; working point {main_wp.name} FPR {main_wp.fpr:.3g} -> used {fpr:.3g}")
    sigs = [k for k in val if k != "background"]
    rows = [f"| model | score | " + " | ".join(f"{s} AUC / eff" for s in sigs) + " | mean eff |",
            "|---|---|" + "---|" * (len(sigs) + 1)]
    all_kinds = {"gauss": np.zeros(len(HLT21_FEATURES), int), "mixed": kinds_mixed, "hurdle": kinds_hurdle}
    for name in models:
        het, student = name.endswith("_het"), name.endswith("_t")
        kinds = all_kinds[name.split("_")[0]]
        train, score_model = build(kinds, a.seed, het=het, nu=a.nu if student else None, hidden=hidden,
                                   latent=a.latent, beta=a.beta)
        label = (f"{name} (nu {a.nu:g})" if student else name) + arch_label(hidden, a.latent, a.beta)
        xtr = scale(raw_tr)
        train.fit([xtr, _targets(raw_tr, xtr, kinds)], epochs=a.epochs, batch_size=1024, verbose=0, shuffle=True)
        s = {}
        for k, r in val.items():
            xv = scale(r)
            s[k] = scores(score_model, xv, _targets(r, xv, kinds), beta=a.beta)
        for sc in ("reco", "kl", "total", "mu2"):
            t, _ = wp.threshold_at_fpr(s["background"][sc], fpr)
            effs = [wp.efficiency(s[k][sc], t) for k in sigs]
            cells = [f"{wp.auc(s['background'][sc], s[k][sc]):.3f} / {e:.2e}" for k, e in zip(sigs, effs)]
            rows.append(f"| {label} | {sc} | " + " | ".join(cells) + f" | {np.mean(effs):.2e} |")
        top = np.argsort(s["background"]["reco"])[-a.min_above:]
        share = s["background"]["_nll"][top].mean(0)
        order = np.argsort(share)[::-1][:5]
        print(f"{name}: SM top-{a.min_above} reco NLL {s['background']['reco'][top].mean():.4g}, "
              "largest features: " + ", ".join(f"{HLT21_FEATURES[j]} {share[j]:.3g}" for j in order))
        if het:  # the per-event widths of the tail's leading features: top-N SM events vs all SM events
            ls = s["background"]["_ls"]
            print(f"  {name} per-event sigma (median over the SM top-{a.min_above} / over all SM; range over all "
                  "SM 1st-99th percentile): " + "; ".join(
                      f"{HLT21_FEATURES[j]} {np.exp(np.median(ls[top, j])):.3g} / {np.exp(np.median(ls[:, j])):.3g}"
                      f" ({np.exp(np.percentile(ls[:, j], 1)):.3g}-{np.exp(np.percentile(ls[:, j], 99)):.3g})"
                      for j in order[:3] if kinds[j] in (0, 3)))
        t_reco, _ = wp.threshold_at_fpr(s["background"]["reco"], fpr)
        t_tot, _ = wp.threshold_at_fpr(s["background"]["total"], fpr)
        for k in sigs:  # where each signal's own tail sits against the reco threshold, and what drives it
            r = s[k]["reco"]
            ts = np.argsort(r)[-50:]
            sh = s[k]["_nll"][ts].mean(0)
            n_above = int((s["background"]["reco"] > r.max()).sum())
            print(f"  {name} {k}: highest reco {r.max():.4g} vs threshold {t_reco:.4g} ({n_above} SM events above it;"
                  f" total {s[k]['total'].max():.4g} vs {t_tot:.4g}); top-50 mean "
                  f"{r[ts].mean():.4g}, largest: " +
                  ", ".join(f"{HLT21_FEATURES[j]} {sh[j]:.3g}" for j in np.argsort(sh)[::-1][:3]) +
                  "; its highest event: " + ", ".join(
                      f"{HLT21_FEATURES[j]} {s[k]['_nll'][ts[-1], j]:.3g}"
                      for j in np.argsort(s[k]["_nll"][ts[-1]])[::-1][:3]))
    rows.append("| published | (total loss) | " + " | ".join(f"- / {PUBLISHED[k]:.1e}" for k in sigs) +
                f" | {np.mean([PUBLISHED[k] for k in sigs]):.2e} |")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
