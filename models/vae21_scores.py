"""vae21's candidate on-chip scores and its per-feature likelihoods.

Likelihood.  ``gauss`` (``--model vae21gauss``): the decoder outputs, per feature j, the mean x_hat_j of a Gaussian
whose width sigma_j is a learned per-feature constant (``FeatureLogSigma``, floored at ``min_sigma``); the
reconstruction term is the negative log-likelihood ``sum_j (x_j - x_hat_j)^2 / (2 sigma_j^2) + log sigma_j``.
``mixed`` (vae21's default, the published model's choice): the same Gaussian for the continuous features, a
Bernoulli (the decoder outputs the logit) for the booleans and a Poisson (the log-rate) for the small counts
(:func:`mixed_targets`, :func:`mixed_nll`).  Inputs are log1p-compressed (:mod:`data.transforms`) and standardised
upstream of the port.

Candidates (``--score``):

* ``mu2``  = sum(mu^2) (encoder only), the CMS L1 anomaly-trigger score;
* ``reco`` = the reconstruction NLL with mu in place of the sample (the decoder runs on chip from mu): sum_j w_j
  (x_j - x_hat_j)^2 over the Gaussian features, w_j = 1 / (2 sigma_j^2) quantized (the NLL up to its constant), and
  with the mixed likelihood (vae21's default) the Poisson terms exp(eta) - k eta and the Bernoulli terms
  softplus(l) - y l (:func:`mixed_nll_layers`: the targets recovered from the input port, exp / softplus as tables);
* ``kl`` = 0.5 sum_k (mu_k^2 + exp(lv_k) - lv_k - 1), the KL term with the log-variance lv: the log-variance head
  (trained in float, quantized after training: ``logvar_q``) feeds a lookup table of g(lv) = exp(lv) - lv - 1
  (hgq2's ``QUnaryFunctionLUT``, converted by hls4ml's bit-exact flow to a ROM);
* ``total`` = reco + kl: the training loss with mu in place of the sample (vae21's beta is 1).

On chip: ``QSubtract(input port, reconstruction)`` -> ``diff_quant`` -> ``QMultiply`` -> ``sq_quant`` -> a frozen
``QDense(21 -> 1)`` with kernel w (no bias), all standard layers of hls4ml's bit-exact flow; the tables are hgq2
``QUnaryFunctionLUT`` layers (:func:`lut_layer`), which hls4ml converts bit-exactly and the fast emulator indexes.
"""

from __future__ import annotations

import enum
import math

import numpy as np

from quantize.precision import Precision
from quantize.tables import lut_layer

SCORE_NAMES = ("mu2", "reco", "kl", "total")
W_BITS, W_INT = 16, 9  # QKeras quantized_bits(16, 9): weights up to 2**9 with step 2**-6
SQ_FRAC = 8  # fractional bits of the squared differences


class VAEScore(enum.StrEnum):
    MU2 = "mu2"
    RECO = "reco"
    KL = "kl"
    TOTAL = "total"

    @classmethod
    def parse(cls, s) -> "VAEScore":
        try:
            return cls(str(s).lower())
        except ValueError:
            raise ValueError(f"--score {s!r}: vae21 computes {', '.join(repr(m.value) for m in cls)}") from None


# vae21's mixed likelihood: a pdf suited to each feature (issue 15, section 2). Kinds: 0 Gaussian (learned width), 1 Poisson
# (the decoder's output is the log-rate), 2 Bernoulli (the output is the logit). The discrete targets are recovered
# from the standardised port value: raw = x * std + mean (these features are not log1p-compressed); lep_charge's
# Bernoulli target is (q + 1) / 2.
GAUSS, POISSON, BERNOULLI = 0, 1, 2
BERNOULLI_FEATURES = ("lep_is_ele", "lep_charge")
POISSON_FEATURES = ("n_jets", "n_bjets", "n_mu", "n_ele")  # small counts; hadron multiplicities stay log-normal


def mixed_targets(names, mean: np.ndarray, std: np.ndarray) -> dict:
    """``{"kinds", "scale", "shift"}`` per feature: the pdf kind and the affine map from the standardised input to the
    discrete target (t = x * scale + shift; 0 / 1 for the Gaussian features, unused)."""
    from data.transforms import HLT21_LOG1P

    kinds, scale, shift = [], [], []
    for j, n in enumerate(names):
        k = BERNOULLI if n in BERNOULLI_FEATURES else POISSON if n in POISSON_FEATURES else GAUSS
        if k != GAUSS and n in HLT21_LOG1P:
            raise ValueError(f"feature {n!r}: a discrete target must not be log1p-compressed")
        a, b = (float(std[j]), float(mean[j])) if k != GAUSS else (1.0, 0.0)
        if n == "lep_charge":
            a, b = a / 2.0, (b + 1.0) / 2.0
        kinds.append(k), scale.append(a), shift.append(b)
    return {"kinds": kinds, "scale": scale, "shift": shift}


def feature_log_sigma_cls():
    import keras

    @keras.saving.register_keras_serializable(package="lhcad")
    class FeatureLogSigma(keras.layers.Layer):
        """Identity on the reconstruction; owns the learned per-feature log sigma of the Gaussian likelihood and, for
        the mixed likelihood, each feature's pdf kind and discrete-target map (:func:`mixed_targets`)."""

        def __init__(self, min_sigma=0.05, kinds=None, scale=None, shift=None, **kw):
            super().__init__(**kw)
            self.min_sigma = float(min_sigma)
            self.kinds = None if kinds is None else [int(k) for k in kinds]
            self.scale = None if scale is None else [float(v) for v in scale]
            self.shift = None if shift is None else [float(v) for v in shift]

        def build(self, shape):
            self.log_sigma = self.add_weight(shape=(shape[-1],), initializer="zeros", name="log_sigma")

        def clipped(self):
            from keras import ops

            return ops.maximum(self.log_sigma, math.log(self.min_sigma))

        def call(self, x):
            return x

        def get_config(self):
            extra = {} if self.kinds is None else {"kinds": self.kinds, "scale": self.scale, "shift": self.shift}
            return {**super().get_config(), "min_sigma": self.min_sigma, **extra}

    return FeatureLogSigma


def gaussian_nll(head):
    """Per-event Gaussian NLL loss with ``head``'s learned per-feature log sigma (``head=None``: unit sigma)."""
    from keras import ops

    def loss(y_true, y_pred):
        if head is None:
            return 0.5 * ops.sum(ops.square(y_true - y_pred), axis=-1)
        ls = head.clipped()
        return ops.sum(0.5 * ops.square(y_true - y_pred) * ops.exp(-2.0 * ls) + ls, axis=-1)

    return loss


def mixed_nll(head):
    """Per-event NLL of the mixed likelihood (``head.kinds``): Gaussian with the learned widths, Poisson
    exp(eta) - k eta (log k! dropped: constant in the model), Bernoulli softplus(l) - y l; eta and l clipped to
    :func:`param_ranges`."""
    from keras import ops

    k = np.asarray(head.kinds)
    a, b = (np.asarray(v, np.float32) for v in (head.scale, head.shift))
    (e_lo, e_hi), (l_lo, l_hi) = param_ranges()

    def loss(y_true, y_pred):
        ls = head.clipped()
        g = 0.5 * ops.square(y_true - y_pred) * ops.exp(-2.0 * ls) + ls
        t = y_true * a + b
        eta, logit = ops.clip(y_pred, e_lo, e_hi), ops.clip(y_pred, l_lo, l_hi)
        po = ops.exp(eta) - t * eta
        be = ops.softplus(logit) - t * logit
        return ops.sum(ops.where(k == GAUSS, g, ops.where(k == POISSON, po, be)), axis=-1)

    return loss


def feature_terms(head, xin: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Per event and feature, the reconstruction NLL term in float64 (what the on-chip graph computes, without its
    tables' rounding): Gaussian w_j (x_j - x_hat_j)^2; with the mixed likelihood (``head.kinds``) Poisson
    exp(eta) - k eta and Bernoulli softplus(l) - y l, targets rounded to integers. ``head``: the VAE's ``reco_scale``
    (None: unit widths, w = 1/2). Their sum over features is the ``reco`` score."""
    if head is None:
        return 0.5 * (xin - r) ** 2
    w = 0.5 * np.exp(-2.0 * np.asarray(head.clipped(), np.float64))
    if head.kinds is None:
        return w * (xin - r) ** 2
    k = np.asarray(head.kinds)
    t = np.round(xin * np.asarray(head.scale) + np.asarray(head.shift))
    (e_lo, e_hi), (l_lo, l_hi) = param_ranges()
    eta, logit = np.clip(r, e_lo, e_hi), np.clip(r, l_lo, l_hi)
    return np.where(k == GAUSS, w * (xin - r) ** 2,
                    np.where(k == POISSON, np.exp(eta) - t * eta, np.logaddexp(0.0, logit) - t * logit))


def mixed_reco_np(head, xin: np.ndarray, r: np.ndarray) -> np.ndarray:
    """The mixed NLL score in float64: the sum of :func:`feature_terms`."""
    return feature_terms(head, xin, r).sum(axis=1)


def param_ranges() -> tuple[tuple[float, float], tuple[float, float]]:
    """The ranges of the Poisson log-rate and the Bernoulli logit: the on-chip quantizers' (ap_fixed<10,4>,
    ap_fixed<10,5>), applied as a clip in the training loss and the float scores too, so that the float models, the
    QAT model and the firmware define the same NLL. A count the model deems impossible costs at most 8 nats per
    unit (rate e^-8), a boolean at most 16."""
    pe, pl = Precision.from_qkeras(ETA_BITS, ETA_INT), Precision.from_qkeras(LOGIT_BITS, LOGIT_INT)
    return (pe.min, pe.max), (pl.min, pl.max)


def reco_weights(vae) -> np.ndarray:
    """w_j = 1 / (2 sigma_j^2) of a trained VAE (float), or 1/2 without a learned scale."""
    names = [l.name for l in vae.layers]
    if "reco_scale" not in names:
        return np.full(int(vae.outputs[0].shape[-1]), 0.5)
    head = vae.get_layer("reco_scale")
    w = 0.5 * np.exp(-2.0 * np.asarray(head.clipped(), np.float64))
    return w if head.kinds is None else np.where(np.asarray(head.kinds) == GAUSS, w, 0.0)


def score_precisions(p_in: Precision, p_reco: Precision, w_max: float) -> tuple[Precision, Precision]:
    """(diff, square) precisions: the difference holds |input| + |reconstruction| without saturation, the square
    its square at step 2**-SQ_FRAC."""
    d_max = max(abs(p_in.min), p_in.max) + max(abs(p_reco.min), p_reco.max)
    i_d = max(1, math.ceil(math.log2(d_max)))
    f_d = max(p_in.frac, p_reco.frac)
    return (Precision.from_qkeras(1 + i_d + f_d, i_d),
            Precision.from_qkeras(2 * i_d + SQ_FRAC, 2 * i_d, keep_negative=False))


def reco_score_layers(xq, x_hat, weights: np.ndarray, p_in: Precision, p_reco: Precision):
    """The on-chip weighted squared error sum_j w_j (x_j - x_hat_j)^2 from the quantized port ``xq`` and the
    quantized reconstruction ``x_hat``."""
    from qkeras.qlayers import QActivation, QDense, QMultiply, QSubtract

    from quantize.qkeras import qkeras_quantized_bits, quantizer_config

    if np.max(weights) >= 2.0**W_INT:
        raise ValueError(f"reco weights up to {np.max(weights):.3g} exceed the kernel range 2**{W_INT}")
    p_diff, p_sq = score_precisions(p_in, p_reco, float(np.max(weights)))
    d = QSubtract(name="diff")([xq, x_hat])
    d = QActivation(quantizer_config(p_diff), name="diff_quant")(d)
    sq = QMultiply(name="sq")([d, d])
    sq = QActivation(quantizer_config(p_sq), name="sq_quant")(sq)
    summ = QDense(1, use_bias=False, kernel_quantizer=qkeras_quantized_bits(W_BITS, W_INT), trainable=False,
                  name="score_sum")
    score = summ(sq)
    summ.kernel.assign(np.asarray(weights, np.float32).reshape(-1, 1))
    return score


def mu2_score_layers(mu):
    """sum(mu^2) on chip: ``QMultiply(mu, mu)`` then a frozen unit-kernel ``QDense``."""
    from qkeras.qlayers import QDense, QMultiply

    from quantize.qkeras import qkeras_quantized_bits

    sq = QMultiply(name="mu_squared")([mu, mu])
    # QKeras quantized_bits(2, 1): levels -2..1, step 1, so the unit kernel is exact.
    summ = QDense(1, use_bias=False, kernel_quantizer=qkeras_quantized_bits(2, 1), trainable=False, name="score_sum")
    score = summ(sq)
    summ.kernel.assign(np.ones((int(mu.shape[-1]), 1), dtype="float32"))
    return score


# the KL candidates' log-variance on chip: QKeras quantized_bits(11, 5) = ap_fixed<11,6>, [-32, 32) in steps of 1/32
# (2048 table entries). The default build's trained head gives lv in [-15.3, 0.4] on its 2.1M SM test events and
# [-14.7, 0.4] on every signal (a narrow posterior is the anomalous side). g(lv) = exp(lv) - lv - 1 at steps of
# 2**-LUT_FRAC in ap_ufixed<12 + LUT_FRAC, 12>: g(-32) = 31, and the table saturates at 4096 for lv > 8.3 (a posterior
# 64x wider than the prior, never seen).
LV_BITS, LV_INT = 11, 5
LUT_INT = 12
LV_W_FRAC = 10  # fractional bits of the post-training-quantized log-variance head's weights and biases


def logvar_layers(h, logvar_dense, n_latent: int):
    """The on-chip log-variance head from the last hidden layer ``h``: ``logvar_dense``'s trained float weights in a
    ``QDense`` (post-training quantized at LV_W_FRAC fractional bits, integer bits from the weights' range), then
    ``logvar_q`` (ap_fixed<11,6>) and the table of g(lv); returns g(lv)."""
    from qkeras.qlayers import QActivation, QDense

    from quantize.qkeras import qkeras_quantized_bits, quantizer_config

    w, b = (np.asarray(a, np.float64) for a in logvar_dense.get_weights())
    q = {}
    for k, a in (("kernel", w), ("bias", b)):
        i = max(0, math.ceil(math.log2(max(float(np.max(np.abs(a))), 1e-9) * (1 + 2.0**-LV_W_FRAC))))
        q[f"{k}_quantizer"] = qkeras_quantized_bits(1 + i + LV_W_FRAC, i)
    dense = QDense(n_latent, **q, name="logvar_dense")
    lv = dense(h)
    dense.set_weights([w.astype(np.float32), b.astype(np.float32)])
    p_lv = Precision.from_qkeras(LV_BITS, LV_INT)
    lv = QActivation(quantizer_config(p_lv), name="logvar_q")(lv)
    return lut_layer(lv, "kl_lv_term", p_lv, LUT_INT, "kl_lut")


def _frozen_sum(x, weight: float, name: str):
    """sum_k weight * x_k as a frozen QDense (kernel exact in quantized_bits(W_BITS, W_INT))."""
    from qkeras.qlayers import QDense

    from quantize.qkeras import qkeras_quantized_bits

    summ = QDense(1, use_bias=False, kernel_quantizer=qkeras_quantized_bits(W_BITS, W_INT), trainable=False, name=name)
    y = summ(x)
    summ.kernel.assign(np.full((int(x.shape[-1]), 1), weight, dtype="float32"))
    return y


# the mixed likelihood's discrete parts on chip: the Poisson log-rate eta requantized to ap_fixed<10,4> ([-8, 8) at
# 1/64: 1024 entries, exp(eta) <= 2981, rates up to e^8 far above any count here), the Bernoulli logit to
# ap_fixed<10,5> ([-16, 16) at 1/32); the targets rounded to integers in ap_ufixed<6,6>; the target maps' kernels and
# biases at TARGET_FRAC fractional bits (a port value of |x| < 32 maps to within 2**-9 of its integer)
ETA_BITS, ETA_INT = 10, 3
LOGIT_BITS, LOGIT_INT = 10, 4
TARGET_FRAC = 14


def _select(x, idx, name: str, scale=None, shift=None):
    """Columns ``idx`` of ``x`` (times ``scale`` plus ``shift`` when given) as a frozen QDense."""
    from qkeras.qlayers import QDense

    from quantize.qkeras import qkeras_quantized_bits

    n = int(x.shape[-1])
    kern = np.zeros((n, len(idx)), np.float32)
    for c, j in enumerate(idx):
        kern[j, c] = 1.0 if scale is None else scale[j]
    vals = [kern] + ([] if shift is None else [np.asarray([shift[j] for j in idx], np.float32)])
    i = max(0, math.ceil(math.log2(max(float(np.max(np.abs(np.concatenate([v.ravel() for v in vals])))), 1.0) * 1.001)))
    qk = qkeras_quantized_bits(2 + i + TARGET_FRAC, i + 1)
    dense = QDense(len(idx), use_bias=shift is not None, kernel_quantizer=qk, bias_quantizer=qk, trainable=False,
                   name=name)
    y = dense(x)
    dense.set_weights(vals)
    return y


def mixed_nll_layers(xq, x_hat, gauss, head):
    """The mixed likelihood's NLL on chip: ``gauss`` (the weighted squared error with zero weights on the discrete
    features) + Poisson sum(exp(eta) - k eta) + Bernoulli sum(softplus(l) - y l), eta / l the decoder's outputs of
    those features and k / y their targets recovered from the input port and rounded to integers."""
    from qkeras.qlayers import QActivation, QAdd, QMultiply, QSubtract

    from quantize.qkeras import quantizer_config

    kinds = np.asarray(head.kinds)
    p_t = Precision.from_qkeras(6, 6, keep_negative=False)
    out = gauss
    for kind, tag, (bits, integer), fn, out_int in (
            (POISSON, "pois", (ETA_BITS, ETA_INT), "poisson_rate", LUT_INT),
            (BERNOULLI, "bern", (LOGIT_BITS, LOGIT_INT), "bernoulli_softplus", 5)):
        idx = [int(j) for j in np.flatnonzero(kinds == kind)]
        if not idx:
            continue
        t = _select(xq, idx, f"{tag}_target", head.scale, head.shift)
        t = QActivation(quantizer_config(p_t), name=f"{tag}_target_q")(t)
        p_p = Precision.from_qkeras(bits, integer)
        par = QActivation(quantizer_config(p_p), name=f"{tag}_param_q")(_select(x_hat, idx, f"{tag}_param"))
        table = _frozen_sum(lut_layer(par, fn, p_p, out_int, f"{tag}_lut"), 1.0, f"{tag}_table_sum")
        linear = _frozen_sum(QMultiply(name=f"{tag}_target_x_param")([t, par]), 1.0, f"{tag}_linear_sum")
        out = QAdd(name=f"{tag}_add")([out, QSubtract(name=f"{tag}_nll")([table, linear])])
    return out


def kl_score_layers(mu, g_lv):
    """0.5 sum_k mu_k^2 + 0.5 sum_k g(lv_k) on chip: ``QMultiply(mu, mu)``, two frozen half-kernel sums, ``QAdd``."""
    from qkeras.qlayers import QAdd, QMultiply

    sq = QMultiply(name="kl_mu_squared")([mu, mu])
    return QAdd(name="kl")([_frozen_sum(sq, 0.5, "kl_mu_sum"), _frozen_sum(g_lv, 0.5, "kl_lv_sum")])


def total_score_layers(reco, kl):
    """reco + kl (vae21's beta = 1) on chip: a ``QAdd`` of the two scores."""
    from qkeras.qlayers import QAdd

    return QAdd(name="total")([reco, kl])


SCORE_CHUNK = 262_144  # events per float_scores pass: vae57's 4.08M x 57 float64 temporaries were ~8 GB at once


def float_scores(vae, x: np.ndarray, masked=None, beta: float = 1.0) -> dict[str, np.ndarray]:
    """Every candidate of a float (or quantized) VAE in float64: mu2, reco (with the model's own weights w; with
    ``masked``, a :class:`models.ae57.MaskedReco`, ae57's masked squared error sum_j w_j m_j (x_j - x_hat_j)^2 with
    its per-feature weights, vae57's on-chip form), and the offline-only kl and total = the training loss with mu
    in place of the sample (reco + kl; masked: reco / 2 + beta kl, with the masked score's weights)."""
    import keras

    if len(x) > SCORE_CHUNK:  # per-event quantities: chunks give the same values with bounded memory
        parts = [float_scores(vae, x[i:i + SCORE_CHUNK], masked, beta) for i in range(0, len(x), SCORE_CHUNK)]
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    names = [l.name for l in vae.layers]
    mu_name = "mu_quant" if "mu_quant" in names else "mu_dense"
    outs = [vae.get_layer(mu_name).output, vae.get_layer("logvar_dense").output, vae.outputs[0]]
    if "input_quant" in names:
        outs.append(vae.get_layer("input_quant").output)
    # one pass over the events for every tensor the scores need
    res = [a.astype(np.float64) for a in keras.Model(vae.inputs, outs).predict(x, batch_size=65536, verbose=0)]
    mu, lv, r = res[:3]
    xin = res[3] if len(res) > 3 else x.astype(np.float64)
    kl = -0.5 * np.sum(1 + lv - mu**2 - np.exp(lv), axis=1)
    if masked is not None:
        reco = masked.float_score(x, xin, r)
        return {"mu2": np.sum(mu**2, axis=1), "reco": reco, "kl": kl, "total": 0.5 * reco + beta * kl}
    reco = feature_terms(vae.get_layer("reco_scale") if "reco_scale" in names else None, xin, r).sum(axis=1)
    return {"mu2": np.sum(mu**2, axis=1), "reco": reco, "kl": kl, "total": reco + kl}
