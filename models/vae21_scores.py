"""vae21's candidate on-chip scores and its per-feature Gaussian likelihood.

Likelihood.  The decoder outputs, per feature j, the mean x_hat_j of a Gaussian whose width sigma_j is a
learned per-feature constant (``FeatureLogSigma``, floored at ``min_sigma``); the reconstruction term is the
negative log-likelihood ``sum_j (x_j - x_hat_j)^2 / (2 sigma_j^2) + log sigma_j``.  Inputs are log1p-compressed
(:mod:`data.transforms`) and standardised upstream of the port, so counts and heavy-tailed energies are close to
Gaussian in the bulk; booleans (charge, flavour) get a Gaussian too (a Bernoulli NLL needs a softplus table, not
deployed: see the README).

Candidates (``--score``):

* ``mu2``  = sum(mu^2) (encoder only), the CMS L1 anomaly-trigger score;
* ``reco`` = sum_j w_j (x_j - x_hat_j)^2, w_j = 1 / (2 sigma_j^2) quantized: the NLL up to its constant, the
  decoder run on chip from mu (mu in place of the sample);
* ``kl`` = 0.5 sum_k (mu_k^2 + exp(lv_k) - lv_k - 1), the KL term with the log-variance lv: the log-variance head
  (trained in float, quantized after training: ``logvar_q``) feeds a lookup table of g(lv) = exp(lv) - lv - 1
  (hgq2's ``QUnaryFunctionLUT``, converted by hls4ml's bit-exact flow to a ROM);
* ``total`` = reco + kl: the training loss with mu in place of the sample (vae21's beta is 1).

On chip: ``QSubtract(input port, reconstruction)`` -> ``diff_quant`` -> ``QMultiply`` -> ``sq_quant`` -> a frozen
``QDense(21 -> 1)`` with kernel w (no bias), all standard layers of hls4ml's bit-exact flow.
"""

from __future__ import annotations

import enum
import math

import numpy as np

from quantize.precision import Precision

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


def feature_log_sigma_cls():
    import keras

    @keras.saving.register_keras_serializable(package="lhcad")
    class FeatureLogSigma(keras.layers.Layer):
        """Identity on the reconstruction; owns the learned per-feature log sigma of the Gaussian likelihood."""

        def __init__(self, min_sigma=0.05, **kw):
            super().__init__(**kw)
            self.min_sigma = float(min_sigma)

        def build(self, shape):
            self.log_sigma = self.add_weight(shape=(shape[-1],), initializer="zeros", name="log_sigma")

        def clipped(self):
            from keras import ops

            return ops.maximum(self.log_sigma, math.log(self.min_sigma))

        def call(self, x):
            return x

        def get_config(self):
            return {**super().get_config(), "min_sigma": self.min_sigma}

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


def reco_weights(vae) -> np.ndarray:
    """w_j = 1 / (2 sigma_j^2) of a trained VAE (float), or 1/2 without a learned scale."""
    names = [l.name for l in vae.layers]
    if "reco_scale" not in names:
        return np.full(int(vae.outputs[0].shape[-1]), 0.5)
    ls = np.asarray(vae.get_layer("reco_scale").clipped(), np.float64)
    return 0.5 * np.exp(-2.0 * ls)


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
LUT_INT, LUT_FRAC = 12, 6
LV_W_FRAC = 10  # fractional bits of the post-training-quantized log-variance head's weights and biases


def register_lut_function():
    import keras

    @keras.saving.register_keras_serializable(package="lhcad", name="kl_lv_term")
    def kl_lv_term(x):
        """g(lv) = exp(lv) - lv - 1, rounded to the table's LSB inside the function: on the table's input grid no
        value below the table's saturation lies near a rounding tie (tested), so float32 (hls4ml's table, Keras) and
        float64 (the reference clone) give the same entries."""
        from keras import ops

        return ops.round((ops.exp(x) - x - 1.0) * 2.0**LUT_FRAC) * 2.0**-LUT_FRAC

    return kl_lv_term


def logvar_layers(h, logvar_dense, n_latent: int):
    """The on-chip log-variance head from the last hidden layer ``h``: ``logvar_dense``'s trained float weights in a
    ``QDense`` (post-training quantized at LV_W_FRAC fractional bits, integer bits from the weights' range), then
    ``logvar_q`` (ap_fixed<11,6>) and the table of g(lv); returns g(lv)."""
    from hgq.config import QuantizerConfig
    from hgq.layers import QUnaryFunctionLUT
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
    lv = QActivation(quantizer_config(Precision.from_qkeras(LV_BITS, LV_INT)), name="logvar_q")(lv)
    iq = QuantizerConfig("kif", "datalane", k0=1, i0=LV_INT, f0=LV_BITS - 1 - LV_INT, round_mode="RND_CONV",
                         overflow_mode="SAT", trainable=False)
    oq = QuantizerConfig("kif", "table", k0=0, i0=LUT_INT, f0=LUT_FRAC, round_mode="RND", overflow_mode="SAT",
                         trainable=False)
    lut = QUnaryFunctionLUT(register_lut_function(), iq_conf=iq, oq_conf=oq, allow_heterogeneous_input=False,
                            allow_heterogeneous_table=False, enable_iq=True, enable_oq=True, enable_ebops=False,
                            name="kl_lut")
    # hgq2's QKeras-compat patch drops the table's input quantizer (it equals logvar_q: hls4ml reads the table's
    # range from it); restore it
    from quantize.hgq_native import restore_native_flags

    return restore_native_flags(lut, iq_conf=iq, enable_ebops=False)(lv)


def _frozen_sum(x, weight: float, name: str):
    """sum_k weight * x_k as a frozen QDense (kernel exact in quantized_bits(W_BITS, W_INT))."""
    from qkeras.qlayers import QDense

    from quantize.qkeras import qkeras_quantized_bits

    summ = QDense(1, use_bias=False, kernel_quantizer=qkeras_quantized_bits(W_BITS, W_INT), trainable=False, name=name)
    y = summ(x)
    summ.kernel.assign(np.full((int(x.shape[-1]), 1), weight, dtype="float32"))
    return y


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


def float_scores(vae, x: np.ndarray, masked: bool = False, beta: float = 1.0) -> dict[str, np.ndarray]:
    """Every candidate of a float (or quantized) VAE in float64: mu2, reco (with the model's own weights w; with
    ``masked`` ae57's masked squared error sum_j m_j (x_j - x_hat_j)^2, vae57's on-chip form), and the
    offline-only kl and total = the training loss with mu in place of the sample (reco + kl; masked:
    reco / 2 + beta kl)."""
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
    if masked:
        from data.l1 import object_mask

        reco = np.sum(object_mask(x) * (xin - r) ** 2, axis=1)
        return {"mu2": np.sum(mu**2, axis=1), "reco": reco, "kl": kl, "total": 0.5 * reco + beta * kl}
    reco = ((xin - r) ** 2 * reco_weights(vae)).sum(axis=1)
    return {"mu2": np.sum(mu**2, axis=1), "reco": reco, "kl": kl, "total": reco + kl}
