"""``ae57``: quantization-aware dense autoencoder on the 57 L1 inputs with the anomaly score computed on chip.

Architecture 57 -> 32 -> 16 -> 3 -> 16 -> 32 -> 57 (ReLU, linear bottleneck and output), every layer
quantized with the QKeras API (settings :data:`AE57_QUANT`: input port quantized_bits(13, 6) = ap_fixed<13,7>,
weights and biases quantized_bits(9, 1), ReLUs quantized_relu(12, 6), bottleneck quantized_bits(12, 4),
reconstruction quantized_bits(13, 6) = ap_fixed<13,7>); the whole autoencoder is deployed.

Zero padding.  Absent objects are zero-padded (pT = eta = phi = 0) and the input scaling has no offset, so
they stay exactly 0 at the firmware input.  The autoencoder must not be rewarded or punished for what it
reconstructs in padded slots, so the score (and the training loss) is the *masked* squared error

    score = sum_j m_j (x_j - x_hat_j)^2        (= 57 x the masked MSE with the fixed denominator 57)

with m_j = 1 for the (pT, eta, phi) of objects that are present (pT != 0), for MET pT and phi always, and
m_j = 0 for padded slots and for MET eta (always 0).  On chip, from standard layers hls4ml converts:

* ``mask_dense``: a frozen QDense 57 -> 57 whose kernel copies each object's quantized pT, times 2**f_in
  (f_in = fractional bits of the input port, so a non-zero pT becomes >= 1), to its three columns; its bias
  is 1 for MET pT / phi; then ``mask_quant`` = quantized_relu(1, 1) (ap_ufixed<1,1>: values 0 and 1,
  saturating) turns that into the 0/1 mask;
* ``diff`` = QSubtract(input, reconstruction), ``diff_quant`` = ap_fixed<14,8> at the default widths
  (:func:`score_precisions`: wide enough for any input and reconstruction value, step 2**-6: exact at the
  default widths, a rounding with a finer input port); ``masked_diff`` = QMultiply(diff, mask);
  ``sq`` = QMultiply(masked_diff, masked_diff); ``sq_quant`` rounds the squares to step 2**-6
  (ap_ufixed<20,14>); ``score_sum``: frozen unit-kernel QDense(57 -> 1).

An object whose pT quantizes to 0 at the input port is treated as padding on chip (in the float references
the mask uses the unquantized input).  With a port of 2 fractional bits (e.g. ``--input-precision
'ap_fixed<9,7>'``) that happens for the softest objects; at the default 6 fractional bits it cannot (the
softest L1 object, 3 GeV, is ~0.08 in scaled units, above the half step 2**-7)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.build_util import ModelConfig
from quantize.spec import QuantSpec

SCORE_FRAC = 6  # fractional bits of the differences and of the squared terms (step 2**-6)


def score_precisions(q: QuantSpec):
    """(diff, square) precisions of the on-chip score: the difference holds |input| + |reconstruction| at
    any value the two ports can take (no saturation), the square its square, both at step 2**-SCORE_FRAC.
    Defaults (input and reconstruction ap_fixed<13,7>): ap_fixed<14,8> and ap_ufixed<20,14>."""
    import math

    from quantize.precision import Precision

    p_in, p_out = q.precision("input"), q.precision("output")
    d_max = max(abs(p_in.min), p_in.max) + max(abs(p_out.min), p_out.max)
    i_d = max(1, math.ceil(math.log2(d_max)))
    return (Precision.from_qkeras(1 + i_d + SCORE_FRAC, i_d),
            Precision.from_qkeras(2 * i_d + SCORE_FRAC, 2 * i_d, keep_negative=False))


# ae57's widths.  Measured (build defaults, 4.08M SM test events, 1 kHz / 100 Hz efficiencies of the emulator vs
# the float view; the README has the figures):
# - the CMS-like starting point (ap_fixed<9,7> port, 6-bit weights, ReLUs ap_ufixed<10,4>): Spearman 0.959,
#   hpm_taunu 12 % below the float view at 1 kHz;
# - ap_fixed<13,7> port and 8-bit weights: Spearman 0.996, within 8 % at 1 kHz, but the ReLUs (max 16) and the
#   reconstruction (max 32) saturated on the ~100 SM events with TeV-scale MET, which inflated their scores and
#   set the 100 Hz threshold: the emulator's 100 Hz efficiencies were 0-60 % of the float view's;
# - ReLUs ap_ufixed<12,6>, reconstruction ap_fixed<13,7>, 8-bit weights: no saturation, 100 Hz within 6 %, but
#   hpm_taunu +10.04 % at 1 kHz; 10-bit weights: Spearman 0.997, within 2 % at 1 kHz, 6 % at 100 Hz, but every
#   multiplier has both operands >= 10 bits, i.e. DSPs (4175 in the analytic HLS estimate);
# - these widths (9-bit weights, LUT multipliers): Spearman 0.997, within 5 % at 1 kHz (13-20 % above the float
#   view at 100 Hz, where 10 SM events set the threshold).
# ``--precision N`` sets the kernels and biases to N bits (integer bits kept); ``--input-precision`` the port.
AE57_QUANT = QuantSpec(input=(13, 6), weight=(9, 1), bias=(9, 1), activation=(12, 6), latent=(12, 4), output=(13, 6),
                       precision_places=("weight", "bias"))


@dataclass(frozen=True)
class AE57Config(ModelConfig):  # training recipe and seed: ModelConfig's defaults
    n_features: int = 57
    latent: int = 3
    quant: QuantSpec = AE57_QUANT


def mask_matrices(n_features: int = 57, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(kernel, bias) of ``mask_dense``: kernel[pT column of object k, its 3 columns] = scale (objects 1..18),
    bias = 1 for MET pT / phi."""
    w = np.zeros((n_features, n_features), np.float32)
    for r in range(1, n_features // 3):
        w[3 * r, 3 * r:3 * r + 3] = scale
    b = np.zeros(n_features, np.float32)
    b[0] = b[2] = 1.0
    return w, b


def masked_sse_loss(y_true, y_pred):
    """Training loss: the masked squared error of the module docstring (mask from the unquantized input)."""
    from keras import ops

    w, b = mask_matrices(int(y_true.shape[-1]), 1.0)
    present = ops.cast(ops.not_equal(y_true, 0.0), "float32")
    m = ops.minimum(ops.matmul(present, ops.convert_to_tensor(w)) + ops.convert_to_tensor(b), 1.0)
    return ops.sum(m * ops.square(y_true - y_pred), axis=-1)


def masked_sse_np(x: np.ndarray, reco: np.ndarray) -> np.ndarray:
    from data.l1 import object_mask

    d = np.asarray(reco, np.float64) - np.asarray(x, np.float64)
    return np.sum(object_mask(x) * d * d, axis=1)


def build_ae(cfg: AE57Config, quantized: bool):
    """The autoencoder (input -> reconstruction).  Layer names are shared between the QAT and the float build."""
    import keras

    from quantize.qkeras import quantizer_config

    keras.utils.set_random_seed(cfg.seed + (0 if quantized else 1000))
    q = cfg.quant
    inp = keras.Input((cfg.n_features,), name="features")
    widths = [*cfg.hidden, cfg.latent, *reversed(cfg.hidden), cfg.n_features]
    names = ([f"enc_dense{i + 1}" for i in range(len(cfg.hidden))] + ["latent_dense"]
             + [f"dec_dense{i + 1}" for i in range(len(cfg.hidden))] + ["reco_dense"])
    x = inp
    if quantized:
        from qkeras.qlayers import QActivation, QDense

        wq = {"kernel_quantizer": quantizer_config(q.precision("weight")),
              "bias_quantizer": quantizer_config(q.precision("bias"))}
        x = QActivation(quantizer_config(q.precision("input")), name="input_quant")(x)
        for n, name in zip(widths, names):
            x = QDense(n, **wq, name=name)(x)
            if name == "latent_dense":
                x = QActivation(quantizer_config(q.precision("latent")), name="latent_quant")(x)
            elif name == "reco_dense":
                x = QActivation(quantizer_config(q.precision("output")), name="reco_quant")(x)
            else:
                x = QActivation(quantizer_config(q.precision("activation")), name=name.replace("dense", "relu"))(x)
    else:
        for n, name in zip(widths, names):
            x = keras.layers.Dense(n, name=name)(x)
            if name not in ("latent_dense", "reco_dense"):
                x = keras.layers.ReLU(name=name.replace("dense", "relu"))(x)
    return keras.Model(inp, x, name="ae57_qat" if quantized else "ae57_float")


def deployable_model(ae, cfg: AE57Config):
    """Input quantizer -> autoencoder -> masked squared error summed on chip (layers shared with ``ae``)."""
    import keras

    inp = keras.Input((cfg.n_features,), name="features")
    xq = ae.get_layer("input_quant")(inp)
    y = xq
    for layer in ae.layers[2:]:
        y = layer(y)
    score = masked_sse_layers(xq, y, cfg.quant)
    return keras.Model(inp, score, name="ae57_deployable")


def score_weight_quantizer(weights: np.ndarray):
    """The QKeras kernel quantizer of ``score_sum`` that holds ``weights`` exactly: each a power of two in (0, 1]
    (ones: quantized_bits(2, 1) as before; 1/8: quantized_bits(5, 1), step 1/8).  Anything else is refused, since
    the on-chip sum would then round the weight."""
    from quantize.qkeras import qkeras_quantized_bits

    w = np.asarray(weights, np.float64)
    e = np.log2(w, where=w > 0, out=np.full_like(w, np.nan))
    if not (np.all(w > 0) and np.all(w <= 1) and np.all(e == np.round(e))):
        raise ValueError("score weights must be powers of two in (0, 1] (exact on chip), "
                         f"got {sorted(set(w.tolist()))}")
    frac = int(-e.min())
    return qkeras_quantized_bits(frac + 2, 1)  # QKeras counting: sign + 1 integer bit + frac; range [-2, 2)


@dataclass(frozen=True)
class MaskedReco:
    """ae57's masked squared error as another model's ``reco`` score (vae57): the port and reconstruction widths
    (``quant``'s ``input`` and ``output`` places) and the per-feature weights of the squared terms (``None``: ones).
    The on-chip score (:meth:`layers`, what :func:`models.vae21.deployable_model` deploys) and the float references
    (:meth:`float_score`, :func:`models.vae21_scores.float_scores`) both read this one object, so that no float
    view can be computed without the weights the chip applies (:func:`models.vae21.masked_reco` builds it from a
    model configuration)."""

    quant: QuantSpec
    weights: tuple[float, ...] | None = None

    def weight_array(self) -> np.ndarray | None:
        return None if self.weights is None else np.asarray(self.weights, np.float64)

    def layers(self, xq, y):
        """The on-chip score from the quantized port ``xq`` and the quantized reconstruction ``y``."""
        return masked_sse_layers(xq, y, self.quant, self.weight_array())

    def float_score(self, x: np.ndarray, xin: np.ndarray, x_hat: np.ndarray) -> np.ndarray:
        """The same score in float64: sum_j w_j m_j (xin_j - x_hat_j)^2, the mask m from the unquantized input
        ``x`` (:func:`data.l1.object_mask`), ``xin`` the port's values (quantized or not)."""
        from data.l1 import object_mask

        w = 1.0 if self.weights is None else self.weight_array()
        return np.sum(w * object_mask(x) * (np.asarray(xin, np.float64) - x_hat) ** 2, axis=1)


def masked_sse_layers(xq, y, q: QuantSpec, weights: np.ndarray | None = None):
    """The on-chip masked squared error (module docstring) from the quantized port ``xq`` and the quantized
    reconstruction ``y`` (widths from ``q``'s ``input`` and ``output`` places): ae57's score, and vae57's ``reco``.
    ``weights`` (per feature, powers of two in (0, 1]; default ones) weight the squared terms in ``score_sum``:
    sum_j w_j m_j (x_j - x_hat_j)^2 (vae57 weights MET's linear pT term down, models.vae57)."""
    from qkeras.qlayers import QActivation, QDense, QMultiply, QSubtract

    from quantize.qkeras import qkeras_quantized_bits, qkeras_quantized_relu, quantizer_config

    n_features = int(xq.shape[-1])
    f_in = q.precision("input").frac
    w, b = mask_matrices(n_features, 2.0**f_in)
    # exact for 0, 1 and 2**f_in: step 1/2, range +-2**(f_in + 1)
    mq = qkeras_quantized_bits(max(f_in, 0) + 3, max(f_in, 0) + 1)
    mask_dense = QDense(n_features, kernel_quantizer=mq, bias_quantizer=mq, trainable=False, name="mask_dense")
    m = mask_dense(xq)
    mask_dense.kernel.assign(w)
    mask_dense.bias.assign(b)
    m = QActivation(qkeras_quantized_relu(1, 1), name="mask_quant")(m)
    d = QSubtract(name="diff")([xq, y])
    # step 2**-6, range covering |input| + |reconstruction|: the identity at the default widths (input f = 6,
    # reconstruction f = 6); with a finer input port it rounds (see docstring)
    p_diff, p_sq = score_precisions(q)
    d = QActivation(quantizer_config(p_diff), name="diff_quant")(d)
    md = QMultiply(name="masked_diff")([d, m])
    sq = QMultiply(name="sq")([md, md])
    sq = QActivation(quantizer_config(p_sq), name="sq_quant")(sq)
    w_sum = np.ones(n_features, np.float32) if weights is None else np.asarray(weights, np.float32)
    if w_sum.shape != (n_features,):
        raise ValueError(f"score weights: {w_sum.shape[0] if w_sum.ndim else 0} given for {n_features} features")
    summ = QDense(1, use_bias=False, kernel_quantizer=score_weight_quantizer(w_sum), trainable=False, name="score_sum")
    score = summ(sq)
    summ.kernel.assign(w_sum.reshape(n_features, 1))
    return score


# ------------------------------------------------------------------------------------------------
def config_from_build(cfg) -> AE57Config:
    """The model configuration a build asks for (``--precision``, ``--input-precision``, ``--epochs``)."""
    from models import build_util

    return build_util.config_from_build(cfg, AE57Config())


def prepare_for_build(cfg, train_ds, mean, std, timings: dict):
    """Registry hook: the deployable AE with its on-chip score, and the float view / float twin scores."""
    from models import l1_common
    from models.build_util import copy_weights_by_name
    from models.registry import PreparedModel
    from models.training import fit, train_pair

    mc = config_from_build(cfg)
    scale, xt, xv = l1_common.scaled(train_ds)
    qae, twin, info = train_pair(cfg, "ae57", mc.to_dict(), train_ds, lambda quantized: build_ae(mc, quantized),
                                 lambda m, quantized: fit(m, xt, xv, masked_sse_loss, mc), timings)
    deploy = deployable_model(qae, mc)
    fview = copy_weights_by_name(build_ae(mc, quantized=False), qae)  # the float view

    def reference_scores(xs: dict):
        s_view, s_twin = {}, {}
        for k, v in xs.items():
            s_view[k] = masked_sse_np(v, fview.predict(v, batch_size=65536, verbose=0))
            s_twin[k] = masked_sse_np(v, twin.predict(v, batch_size=65536, verbose=0))
        return s_view, s_twin, None

    desc = {"name": "ae57", "description": "quantization-aware dense AE on the 57 L1 inputs; firmware = AE + "
            "masked squared error on chip", "config": mc.to_dict(), "training": info,
            "score": "sum over present objects' (pT, eta, phi) of (x - x_hat)^2 (scaled inputs)",
            "input_port": l1_common.port_range_check(mc.quant, scale)}
    return PreparedModel(deploy=deploy, description=desc, reference_scores=reference_scores,
                         extras={"qat": qae, "twin": twin, "float_view": fview, "model_config": mc},
                         input_scaling=(np.zeros_like(scale), scale))


def dense_shapes_for_build(cfg) -> dict[str, tuple[int, int]]:
    """Registry hook for sweeps: (n_in, n_out) of every dense layer of the deployable AE and its on-chip score,
    without building it (no TensorFlow); ``ValueError`` when a precision cannot be built."""
    mc = config_from_build(cfg)
    mc.quant.to_dict()
    dims = [mc.n_features, *mc.hidden, mc.latent, *reversed(mc.hidden), mc.n_features]
    names = ([f"enc_dense{i + 1}" for i in range(len(mc.hidden))] + ["latent_dense"]
             + [f"dec_dense{i + 1}" for i in range(len(mc.hidden))] + ["reco_dense"])
    shapes = {n: (dims[i], dims[i + 1]) for i, n in enumerate(names)}
    shapes["mask_dense"] = (mc.n_features, mc.n_features)
    shapes["score_sum"] = (mc.n_features, 1)
    return shapes
