"""``vae21``: quantization-aware VAE on the 21 HLT features (Cerri et al., JHEP 05 (2019) 036 shape).

Architecture: 21 -> 32 -> 16 -> latent 4 (mu, log sigma^2) -> 16 -> 32 -> 21, ReLU, trained on the SM
cocktail (events are sampled by cross-section, so unweighted) with the ELBO: the reconstruction term is the
negative log-likelihood of a pdf suited to each feature (the published model's choice, issue 15): Bernoulli for the
booleans, Poisson for the small counts, Gaussian with a learned width for the rest (``likelihood="mixed"``, the
build's default; ``vae21gauss``: Gaussian everywhere), plus beta x KL.

Quantization (QKeras API via :mod:`quantize.qkeras`, i.e. QKeras bit counting): a quantizer right after the input
(the firmware's input port), quantized kernels/biases, quantized ReLUs, a quantizer on mu and on the decoder's
output (the decoder runs on chip from mu). The log-variance head is trained in float and quantized after training
when a KL candidate is deployed.

On-chip scores (:mod:`models.vae21_scores`, ``--score``, else chosen on a validation split): sum(mu^2); the NLL
(weighted squared error of the Gaussian features, Poisson and Bernoulli terms with exp / softplus lookup tables);
the KL term (a lookup table of exp(lv) - lv - 1); their sum, the training loss with mu in place of the sample.

Inputs are log1p-compressed (heavy-tailed features) and standardised (x - mean) / std with constants fitted on the
training set; they are stored with the model and in the project's ``metadata.json``: the feature computation
upstream of the firmware applies them (they are not folded into the first layer, see the README).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from data.transforms import HLT21_LOG1P
from models.build_util import ModelConfig
from quantize.spec import QuantSpec


# vae21's widths (QKeras ``(bits, integer)``): input port quantized_bits(16, 5) = ap_fixed<16,6>, kernels and
# biases quantized_bits(8, 1), ReLUs quantized_relu(10, 4), mu quantized_bits(12, 4).  ``--precision N`` sets
# the weights, biases, ReLUs and mu to N bits (integer bits kept); ``--input-precision`` the port.
VAE21_QUANT = QuantSpec(input=(16, 5), weight=(8, 1), bias=(8, 1), activation=(10, 4), mu=(12, 4))
# the build's default adds the reconstruction (deployed with the ``reco`` score): quantized_bits(12, 4) =
# ap_fixed<12,5> (+-16); ``--precision N`` leaves it (and the input port) untouched.  Measured (default build, 2.1M
# SM test events): it saturates in 11 SM events (as many as lie above the ~30/day threshold), yet the emulator
# matched the float view better (Spearman 0.989, efficiencies at 30/day within 12 %) than with ap_fixed<14,7>
# (no saturation; retrained: Spearman 0.966, LQ / h0 efficiencies x2.2 the float view's); see the README
# (generator v1). With generator hlt-objects-2 it saturates in 0 SM test events and the score path (difference,
# square, weights) is not what separates emulator and float view: the quantized encoder / decoder are (README).
VAE21_PROB_QUANT = QuantSpec(input=(16, 5), weight=(8, 1), bias=(8, 1), activation=(10, 4), mu=(12, 4),
                             output=(12, 4), precision_places=("weight", "bias", "activation", "mu"))


@dataclass(frozen=True)
class VAE21Config(ModelConfig):
    n_features: int = 21
    latent: int = 4
    beta: float = 1.0
    epochs: int = 40
    patience: int = 6
    seed: int = 7
    quant: QuantSpec = VAE21_QUANT
    # reconstruction loss mask: "" = every feature counts; "l1_objects" = only the features of present L1
    # objects (models.ae57.masked_sse_loss: zero-padded slots and MET eta do not count)
    recon_mask: str = ""
    # vae21's per-feature likelihood (models.vae21_scores): learned per-feature Gaussian widths (floored at
    # min_sigma) on log1p-compressed features (data.transforms; () = plain standardisation)
    learned_scale: bool = False
    min_sigma: float = 0.05
    log1p: tuple[str, ...] = ()
    # the QAT decoder quantized (output quantizer at the spec's ``output`` place) so that the ``reco`` score runs on
    # chip without the learned widths (vae57: its masked squared error, models.vae21_scores.masked_reco_layers)
    decoder_on_chip: bool = False
    # free-bits floor of the KL term per latent dimension (nats; 0 = the plain KL): against a collapsed latent
    free_bits: float = 0.0
    # "gauss": every feature Gaussian (learned widths; ``--model vae21gauss``); "mixed": Bernoulli for the booleans,
    # Poisson for the small counts, Gaussian for the rest (models.vae21_scores.mixed_targets; vae21's build)
    likelihood: str = "gauss"
    # masked reconstruction score (vae57): per-feature weights of its squared terms, (feature name, power of two in
    # (0, 1]) pairs, the rest 1 (models.ae57.masked_sse_layers); the training loss is unweighted
    score_weights: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict:
        d = super().to_dict()
        # absent when off: the model caches of configurations without them keep their key
        for k, off in (("decoder_on_chip", False), ("free_bits", 0.0), ("likelihood", "gauss"), ("score_weights", ())):
            if getattr(self, k) == off:
                d.pop(k)
        if self.likelihood == "mixed":  # the log-rate / logit ranges the loss clips to are part of the model
            from models.vae21_scores import param_ranges

            d["mixed_param_ranges"] = [list(r) for r in param_ranges()]
        return d


def masked_score_weights(mc: VAE21Config, feature_names) -> np.ndarray | None:
    """Per-feature weights of the masked ``reco`` score from ``mc.score_weights`` (None when there are none)."""
    if not mc.score_weights:
        return None
    names = list(feature_names)
    w = np.ones(len(names), np.float32)
    for name, weight in mc.score_weights:
        if name not in names:
            raise ValueError(f"score_weights: no feature {name!r} (features: {', '.join(names[:6])}, ...)")
        w[names.index(name)] = weight
    return w


def masked_reco(mc: VAE21Config, feature_names):
    """The masked ``reco`` score of a configuration with ``recon_mask`` (vae57: ae57's masked squared error with
    ``mc.score_weights``, :class:`models.ae57.MaskedReco`), the one object the deployable model and the float
    references both take; None for a VAE whose ``reco`` is its own likelihood (vae21)."""
    from models.ae57 import MaskedReco

    if not mc.recon_mask:
        if mc.score_weights:
            raise ValueError("score_weights: only the masked reconstruction score (recon_mask) takes weights")
        return None
    w = masked_score_weights(mc, feature_names)
    return MaskedReco(mc.quant, None if w is None else tuple(float(v) for v in w))


# ``--model vae21gauss``: per-feature Gaussian likelihood with learned widths on every feature, log1p-compressed
# heavy-tailed features (vae21's default until issue 15's mixed likelihood)
VAE21_GAUSS = VAE21Config(quant=VAE21_PROB_QUANT, learned_scale=True, log1p=HLT21_LOG1P)
# the vae21 build: the published model's likelihood, a pdf suited to each feature (Bernoulli for the booleans,
# Poisson for the small counts, the Gaussian above for the rest)
VAE21_BUILD = replace(VAE21_GAUSS, likelihood="mixed")


def _sampling_layer_cls():
    import keras

    @keras.saving.register_keras_serializable(package="lhcad")
    class Sampling(keras.layers.Layer):
        """z = mu + exp(logvar / 2) * eps; adds beta * KL to the model's losses (each latent dimension's KL
        floored at ``free_bits`` nats when > 0)."""

        def __init__(self, beta=1.0, seed=None, free_bits=0.0, **kw):
            super().__init__(**kw)
            self.beta = float(beta)
            self.seed = seed
            self.free_bits = float(free_bits)
            self._gen = keras.random.SeedGenerator(seed)

        def call(self, inputs, training=None):
            from keras import ops

            mu, logvar = inputs
            if self.free_bits > 0:  # the floor on the batch mean per dimension (Kingma et al. 2016)
                kl_d = -0.5 * (1.0 + logvar - ops.square(mu) - ops.exp(logvar))
                self.add_loss(self.beta * ops.sum(ops.maximum(ops.mean(kl_d, axis=0), self.free_bits)))
            else:
                kl = -0.5 * ops.sum(1.0 + logvar - ops.square(mu) - ops.exp(logvar), axis=-1)
                self.add_loss(self.beta * ops.mean(kl))
            if training:
                eps = keras.random.normal(ops.shape(mu), seed=self._gen)
                return mu + ops.exp(0.5 * logvar) * eps
            return mu

        def get_config(self):
            return {**super().get_config(), "beta": self.beta, "seed": self.seed, "free_bits": self.free_bits}

    return Sampling


def build_vae(cfg: VAE21Config, quantized: bool, targets: dict | None = None):
    """Full VAE (for training), layer names shared between the quantized and the float build, so weights map one to
    one by name. ``targets``: the mixed likelihood's per-feature kinds and target maps
    (:func:`models.vae21_scores.mixed_targets`; needed when ``cfg.likelihood == "mixed"``)."""
    if (cfg.likelihood == "mixed") != (targets is not None):
        raise ValueError("the mixed likelihood needs its per-feature targets (and only it takes them)")
    import keras

    from quantize.qkeras import quantizer_config

    keras.utils.set_random_seed(cfg.seed + (0 if quantized else 1000))
    q = cfg.quant
    inp = keras.Input((cfg.n_features,), name="features")
    x = inp
    if quantized:
        from qkeras.qlayers import QActivation, QDense

        wq = {"kernel_quantizer": quantizer_config(q.precision("weight")),
              "bias_quantizer": quantizer_config(q.precision("bias"))}
        x = QActivation(quantizer_config(q.precision("input")), name="input_quant")(x)
        for i, n in enumerate(cfg.hidden):
            x = QDense(n, **wq, name=f"enc_dense{i + 1}")(x)
            x = QActivation(quantizer_config(q.precision("activation")), name=f"enc_relu{i + 1}")(x)
        mu = QDense(cfg.latent, **wq, name="mu_dense")(x)
        mu = QActivation(quantizer_config(q.precision("mu")), name="mu_quant")(mu)
    else:
        for i, n in enumerate(cfg.hidden):
            x = keras.layers.Dense(n, name=f"enc_dense{i + 1}")(x)
            x = keras.layers.ReLU(name=f"enc_relu{i + 1}")(x)
        mu = keras.layers.Dense(cfg.latent, name="mu_dense")(x)
    y = prob_tail(x, mu, cfg, quantized, targets) if cfg.learned_scale or cfg.decoder_on_chip else vae_tail(x, mu, cfg)
    vae = keras.Model(inp, y, name="vae21_qat" if quantized else "vae21_float")
    return vae


def prob_tail(x, mu, cfg: VAE21Config, quantized: bool, targets: dict | None = None):
    """vae21's deployable decoder: log-variance head and sampling as :func:`vae_tail`, then a decoder that is
    quantized in the QAT build (it runs on chip from mu for the ``reco`` score), its reconstruction quantizer
    ``reco_quant`` and the learned per-feature widths ``reco_scale`` (identity; :mod:`models.vae21_scores`)."""
    import keras

    from models.vae21_scores import feature_log_sigma_cls
    from quantize.qkeras import quantizer_config

    logvar = keras.layers.Dense(cfg.latent, name="logvar_dense")(x)
    y = _sampling_layer_cls()(beta=cfg.beta, seed=cfg.seed, free_bits=cfg.free_bits, name="sampling")([mu, logvar])
    q = cfg.quant
    if quantized:
        from qkeras.qlayers import QActivation, QDense

        wq = {"kernel_quantizer": quantizer_config(q.precision("weight")),
              "bias_quantizer": quantizer_config(q.precision("bias"))}
        for i, n in enumerate(reversed(cfg.hidden)):
            y = QDense(n, **wq, name=f"dec_dense{i + 1}")(y)
            y = QActivation(quantizer_config(q.precision("activation")), name=f"dec_relu{i + 1}")(y)
        y = QDense(cfg.n_features, **wq, name="reco")(y)
        y = QActivation(quantizer_config(q.precision("output")), name="reco_quant")(y)
    else:
        for i, n in enumerate(reversed(cfg.hidden)):
            y = keras.layers.Dense(n, name=f"dec_dense{i + 1}")(y)
            y = keras.layers.ReLU(name=f"dec_relu{i + 1}")(y)
        y = keras.layers.Dense(cfg.n_features, name="reco")(y)
    if not cfg.learned_scale:
        return y
    return feature_log_sigma_cls()(min_sigma=cfg.min_sigma, name="reco_scale", **(targets or {}))(y)


def vae_tail(x, mu, cfg: VAE21Config):
    """The float, non-deployed part of a VAE (shared with :mod:`models.vae57_hgq`): the log-variance head on the
    last hidden layer ``x``, the sampling layer (adds beta x KL) and the decoder; returns the reconstruction."""
    import keras

    logvar = keras.layers.Dense(cfg.latent, name="logvar_dense")(x)
    z = _sampling_layer_cls()(beta=cfg.beta, seed=cfg.seed, free_bits=cfg.free_bits, name="sampling")([mu, logvar])
    y = z
    for i, n in enumerate(reversed(cfg.hidden)):
        y = keras.layers.Dense(n, activation="relu", name=f"dec_dense{i + 1}")(y)
    return keras.layers.Dense(cfg.n_features, name="reco")(y)


def train_vae(vae, cfg: VAE21Config, x_train: np.ndarray, x_val: np.ndarray, callbacks=()) -> dict:
    """Train ``vae`` on its ELBO (:func:`models.training.fit`); ``callbacks`` are added to the early stopping / LR
    schedule (e.g. hgq's BetaScheduler)."""
    from models.training import fit

    if cfg.recon_mask not in ("", "l1_objects"):
        raise ValueError(f"recon_mask {cfg.recon_mask!r}: choose '' or 'l1_objects'")

    if cfg.learned_scale:
        from models.vae21_scores import gaussian_nll, mixed_nll

        head = vae.get_layer("reco_scale")
        return fit(vae, x_train, x_val, (gaussian_nll if head.kinds is None else mixed_nll)(head), cfg, callbacks)

    def loss(y_true, y_pred):
        from keras import ops

        if cfg.recon_mask == "l1_objects":
            from models.ae57 import masked_sse_loss

            return 0.5 * masked_sse_loss(y_true, y_pred)
        return 0.5 * ops.sum(ops.square(y_true - y_pred), axis=-1)

    return fit(vae, x_train, x_val, loss, cfg, callbacks)


def deployable_model(vae, score: str = "mu2", masked=None):
    """The on-chip ``score`` (:class:`models.vae21_scores.VAEScore`) of a quantized VAE (layers shared with
    ``vae``): ``mu2`` = encoder -> mu -> sum(mu^2); ``reco`` = encoder -> mu -> decoder -> the weighted squared
    error to the input port (needs a build whose decoder is quantized: ``learned_scale`` or ``decoder_on_chip``);
    ``kl`` = the KL term with the log-variance head (quantized after training) and its lookup table; ``total`` =
    reco + kl; with ``masked`` (a :class:`models.ae57.MaskedReco`, vae57: :func:`masked_reco`) the reconstruction
    term is ae57's masked squared error with its per-feature weights instead of the weighted one (``mu2`` and
    ``reco`` only)."""
    import keras

    from models.vae21_scores import (VAEScore, kl_score_layers, logvar_layers, mixed_nll_layers, mu2_score_layers,
                                     reco_score_layers, reco_weights, total_score_layers)
    from quantize.qkeras import precision_of_quantizer_layer

    score = VAEScore.parse(score)
    inp = keras.Input(vae.inputs[0].shape[1:], name="features")
    names = [l.name for l in vae.layers]
    if score in (VAEScore.RECO, VAEScore.TOTAL) and "reco_quant" not in names:
        raise ValueError(f"--score {score}: needs the VAE with the quantized decoder (learned_scale or decoder_on_chip)")
    if masked is not None and score in (VAEScore.KL, VAEScore.TOTAL):
        raise ValueError(f"--score {score}: on chip for vae21's likelihood VAE only (masked reconstruction: mu2, reco)")
    x, xq, h, kl = inp, None, None, None
    for layer in vae.layers[1:]:
        if layer.name in ("logvar_dense", "sampling"):
            continue
        if layer.name == "mu_dense":
            h = x
        x = layer(x)
        xq = x if layer.name == "input_quant" else xq
        if layer.name == "mu_quant" and score is VAEScore.MU2:
            return keras.Model(inp, mu2_score_layers(x), name="vae21_deployable")
        if layer.name == "mu_quant" and score in (VAEScore.KL, VAEScore.TOTAL):
            kl = kl_score_layers(x, logvar_layers(h, vae.get_layer("logvar_dense"), int(x.shape[-1])))
            if score is VAEScore.KL:
                return keras.Model(inp, kl, name="vae21_deployable_kl")
        if layer.name == "reco_quant" and masked is not None:
            return keras.Model(inp, masked.layers(xq, x), name="vae57_deployable_reco")
        if layer.name == "reco_quant":
            p_in = precision_of_quantizer_layer(vae.get_layer("input_quant"))
            p_reco = precision_of_quantizer_layer(layer)
            out = reco_score_layers(xq, x, reco_weights(vae), p_in, p_reco)
            head = vae.get_layer("reco_scale") if "reco_scale" in names else None
            if head is not None and head.kinds is not None:  # the mixed likelihood's Poisson / Bernoulli terms
                out = mixed_nll_layers(xq, x, out, head)
            if score is VAEScore.TOTAL:
                return keras.Model(inp, total_score_layers(out, kl), name="vae21_deployable_total")
            return keras.Model(inp, out, name="vae21_deployable_reco")
    raise ValueError(f"no {score} score layers found in {vae.name}")


def encoder_mu_model(vae):
    """mu (and log sigma^2) of a VAE, any build: used for float twin / float view scores."""
    import keras

    mu_name = "mu_quant" if "mu_quant" in [l.name for l in vae.layers] else "mu_dense"
    return keras.Model(vae.inputs, [vae.get_layer(mu_name).output, vae.get_layer("logvar_dense").output])


def reference_scores_fn(fview, twin):
    """``reference_scores(xs) -> (float view, float twin, offline)`` of a VAE deployed as encoder mu + sum(mu^2)
    (vae21, vae57, vae57hgq): sum(mu^2) of the float view and of the float twin, and the twin's offline KL and
    reconstruction scores."""

    def reference_scores(xs: dict):
        fmu, tmu = encoder_mu_model(fview), encoder_mu_model(twin)
        s_view, s_twin, offline = {}, {}, {}
        for k, x in xs.items():
            mu, _ = fmu.predict(x, batch_size=65536, verbose=0)
            s_view[k] = np.sum(np.square(mu.astype(np.float64)), axis=1)
            mu_t, lv_t = tmu.predict(x, batch_size=65536, verbose=0)
            mu_t, lv_t = mu_t.astype(np.float64), lv_t.astype(np.float64)
            s_twin[k] = np.sum(mu_t**2, axis=1)
            offline[k] = {"kl": -0.5 * np.sum(1 + lv_t - mu_t**2 - np.exp(lv_t), axis=1),
                          "reco": 0.5 * np.sum((twin.predict(x, batch_size=65536, verbose=0) - x) ** 2, axis=1)}
        return s_view, s_twin, offline

    return reference_scores


def model_targets(vae) -> dict | None:
    """The mixed likelihood's per-feature targets a built VAE carries (None: not the mixed likelihood)."""
    if "reco_scale" not in [l.name for l in vae.layers]:
        return None
    h = vae.get_layer("reco_scale")
    return None if h.kinds is None else {"kinds": h.kinds, "scale": h.scale, "shift": h.shift}


def float_view(qvae, cfg: VAE21Config):
    """The quantized model's own trained weights in the float architecture (every quantizer off)."""
    from models.build_util import copy_weights_by_name

    return copy_weights_by_name(build_vae(cfg, quantized=False, targets=model_targets(qvae)), qvae)


# ------------------------------------------------------------------------------------------------
# Build hooks (called by the flow through the family registry, models.registry)
def config_from_build(cfg) -> VAE21Config:
    """The model configuration a build asks for (``--precision``, ``--input-precision``, ``--epochs``): the
    per-feature likelihood VAE on log1p-compressed features (:data:`VAE21_BUILD`; ``--model vae21gauss``:
    :data:`VAE21_GAUSS`)."""
    from models import build_util

    gauss = getattr(cfg, "model", "vae21") == "vae21gauss"
    return build_util.config_from_build(cfg, VAE21_GAUSS if gauss else VAE21_BUILD)


def _scaled_inputs(mc: VAE21Config, train_ds):
    """(feature transform or None, mean, std) fitted on the training set: log1p on ``mc.log1p``, then the
    standardisation, both applied upstream of the port."""
    from data.transforms import FeatureTransform

    tf = FeatureTransform(tuple(train_ds.feature_names), mc.log1p) if mc.log1p else None
    xt = tf(train_ds.x_train) if tf is not None else train_ds.x_train
    mean, std = xt.mean(axis=0).astype(np.float32), xt.std(axis=0).astype(np.float32)
    std[std == 0] = 1.0
    return tf, mean, std


def prepare_for_build(cfg, train_ds, mean, std, timings: dict):
    """Registry hook: the deployable model (the ``--score`` candidate, or the one chosen on a validation split),
    every candidate's deployable model, and the reference scores (float view, float twin, offline).

    ``cfg.quant_mode`` 'ptq' (post-training quantization): the weights trained (or cached) at the default
    widths, evaluated with the quantizers of the build's configuration (same weights, new quantizers)."""
    from models import vae21_select
    from models.registry import PreparedModel
    from models.training import train_pair

    mc = config_from_build(cfg)
    if cfg.quant_mode not in ("qat", "ptq"):
        raise ValueError(f"quantization mode {cfg.quant_mode!r}: choose 'qat' or 'ptq'")
    mc_train = mc if cfg.quant_mode == "qat" else replace(mc, quant=VAE21_BUILD.quant)
    tf, mean, std = _scaled_inputs(mc, train_ds)
    scale = (lambda x: ((tf(x) if tf is not None else x) - mean) / std)
    xt, xv = scale(train_ds.x_train).astype(np.float32), scale(train_ds.x_val).astype(np.float32)
    targets = None
    if mc.likelihood == "mixed":
        from models.vae21_scores import mixed_targets

        targets = mixed_targets(train_ds.feature_names, mean, std)
    qvae, twin, train_info = train_pair(cfg, "vae21", mc_train.to_dict(), train_ds,
                                        lambda quantized: build_vae(mc_train, quantized, targets),
                                        lambda m, quantized: train_vae(m, mc_train, xt, xv), timings)
    if cfg.quant_mode == "ptq":
        train_info = {**train_info, "quant_mode": "ptq", "trained_quant": mc_train.quant.to_dict()}
        qvae = requantize(qvae, mc)
    candidates = {s: deployable_model(qvae, s) for s in vae21_select.candidate_names(mc)}
    fview = float_view(qvae, mc)
    chosen, selection = vae21_select.choose(cfg, candidates, fview, scale, train_ds)
    desc = {"name": "vae21", "description": "quantization-aware VAE on the 21 HLT features", "config": mc.to_dict(),
            "training": train_info, "score": chosen, "score_selection": selection}
    return PreparedModel(deploy=candidates[chosen], description=desc,
                         reference_scores=vae21_select.reference_scores_fn(fview, twin, chosen),
                         extras={"qvae": qvae, "twin": twin, "float_view": fview, "model_config": mc,
                                 "candidates": candidates, "score": chosen},
                         input_scaling=(mean, std), feature_transform=tf)


def requantize(qvae, cfg: VAE21Config):
    """PTQ: a quantized VAE built with ``cfg``'s quantizers carrying ``qvae``'s trained weights (copied by layer
    name; the quantizer widths do not change any weight shape)."""
    new = build_vae(cfg, quantized=True, targets=model_targets(qvae))
    for layer in new.layers:
        if layer.weights:
            layer.set_weights(qvae.get_layer(layer.name).get_weights())
    return new


def deployable_dense_shapes(cfg: VAE21Config, score: str = "mu2") -> dict[str, tuple[int, int]]:
    """(n_in, n_out) of every dense layer of the deployable part, without building it (no TensorFlow):
    used to validate reuse factors before any build starts."""
    dims = [cfg.n_features, *cfg.hidden]
    shapes = {f"enc_dense{i + 1}": (dims[i], dims[i + 1]) for i in range(len(cfg.hidden))}
    shapes["mu_dense"] = (dims[-1], cfg.latent)
    if score in ("mu2", "total"):
        shapes["score_sum"] = (cfg.latent, 1)
    if score in ("reco", "total"):
        ddims = [cfg.latent, *reversed(cfg.hidden)]
        shapes.update({f"dec_dense{i + 1}": (ddims[i], ddims[i + 1]) for i in range(len(cfg.hidden))})
        shapes["reco"] = (ddims[-1], cfg.n_features)
        shapes["score_sum"] = (cfg.n_features, 1)
    if score in ("reco", "total") and cfg.likelihood == "mixed":  # the Poisson / Bernoulli terms' selections and sums
        from models.vae21_scores import BERNOULLI_FEATURES, POISSON_FEATURES

        for tag, names in (("pois", POISSON_FEATURES), ("bern", BERNOULLI_FEATURES)):
            shapes.update({f"{tag}_target": (cfg.n_features, len(names)), f"{tag}_param": (cfg.n_features, len(names)),
                           f"{tag}_table_sum": (len(names), 1), f"{tag}_linear_sum": (len(names), 1)})
    if score in ("kl", "total"):
        shapes.update({"logvar_dense": (dims[-1], cfg.latent), "kl_mu_sum": (cfg.latent, 1),
                       "kl_lv_sum": (cfg.latent, 1)})
    return shapes


def dense_shapes_for_build(cfg) -> dict[str, tuple[int, int]]:
    """Registry hook for sweeps: the deployable dense layers of the model a build config asks for (every
    precision constructible, else ``ValueError``)."""
    mc = config_from_build(cfg)
    mc.quant.to_dict()
    return deployable_dense_shapes(mc, cfg.score or "total")
