"""``cwola``: the weakly supervised (CWoLa) dijet classifier, quantization-aware, and its packed trainer.

Network (per window, per fold): input quantizer -> Dense(16) -> quantized ReLU -> Dense(16) -> quantized ReLU
-> Dense(1) = logit (no sigmoid: thresholds on the logit are monotonic, so firmware needs no table).

Quantization follows QKeras semantics exactly (:mod:`quantize.qkeras`): kernels and biases
``quantized_bits(8, 1)``, activations ``quantized_relu(10, 4)``, input ``quantized_bits(16, 5)`` on
standardised features; round half to even, saturate.

Training many small networks (windows x folds x validation folds x initialisations) one Keras model at a
time is dominated by per-model overhead, so the trainer packs K independent networks into one Keras model
(:class:`PackedMLP`: kernels of shape (K, n_in, n_out), an einsum per layer) whose loss is the sum of the K
networks' weighted losses: the gradients, Adam moments and weights of different networks never mix, so this
*is* K separate trainings, done in one graph.  Fake quantization with the straight-through estimator
(value = quantized, gradient = identity; ReLU gradient below zero) implements quantization-aware training
with exactly the quantizers listed above.  The deployed network is then built with the QKeras API layers
(``qkeras.qlayers.QDense``/``QActivation`` from hgq2, :func:`deployable_model`) holding the trained float
weights; their quantized kernels equal what training used, and the emulators are checked against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from models.build_util import ModelConfig
from quantize.precision import Precision, quantize_np
from quantize.spec import QuantSpec


# QKeras (bits, integer): input port quantized_bits(16, 5), kernels and biases quantized_bits(8, 1), ReLUs
# quantized_relu(10, 4)
CWOLA_QUANT = QuantSpec(input=(16, 5), weight=(8, 1), bias=(8, 1), activation=(10, 4))


@dataclass(frozen=True)
class CWoLaConfig(ModelConfig):  # learning rate and seed: ModelConfig's defaults
    hidden: tuple[int, ...] = (16, 16)
    epochs: int = 8
    patience: int = 3
    batch_size: int = 4096
    quant: QuantSpec = CWOLA_QUANT


# ------------------------------------------------------------------------------------------------
def _precisions(quant: QuantSpec | None) -> tuple:
    """(input, weight, bias, activation) precisions of ``quant``; all None for the float twin (``quant`` None)."""
    places = ("input", "weight", "bias", "activation")
    return tuple(quant.precision(p) for p in places) if quant is not None else (None,) * len(places)


def _packed_layer_cls():
    import keras
    from keras import ops

    def fake_quant(x, p: Precision | None):
        if p is None:
            return x
        y = ops.clip(ops.round(x / p.step), p.min / p.step, p.max / p.step) * p.step
        return x + ops.stop_gradient(y - x)

    class PackedMLP(keras.layers.Layer):
        """K independent MLPs on the same input; output (n, K) logits."""

        def __init__(self, n_sub, n_in, hidden, quant: QuantSpec | None, seed, **kw):
            super().__init__(**kw)
            self.n_sub, self.sizes, self.quant = n_sub, [n_in, *hidden, 1], quant
            init = keras.initializers.GlorotUniform(seed=seed)
            self.kernels, self.biases = [], []
            for i, (a, b) in enumerate(zip(self.sizes[:-1], self.sizes[1:])):
                # Glorot per network: fan_in/out of one network (the K axis is not a fan)
                k = self.add_weight(shape=(n_sub, a, b), initializer="zeros", name=f"kernel{i}")
                k.assign(np.stack([np.asarray(init((a, b))) for _ in range(n_sub)]))
                self.kernels.append(k)
                self.biases.append(self.add_weight(shape=(n_sub, b), initializer="zeros", name=f"bias{i}"))

        def call(self, x):
            pin, pw, pb, pa = _precisions(self.quant)
            h = fake_quant(x, pin)
            h = ops.repeat(ops.expand_dims(h, 1), self.n_sub, axis=1)  # (n, K, in)
            last = len(self.kernels) - 1
            for i, (k, b) in enumerate(zip(self.kernels, self.biases)):
                h = ops.einsum("nki,kio->nko", h, fake_quant(k, pw)) + fake_quant(b, pb)[None]
                if i < last:
                    h = fake_quant(ops.relu(h), pa)  # quantized_relu: value quantized, ReLU gradient
            return h[:, :, 0]

    return PackedMLP


def packed_model(n_sub: int, n_in: int, cfg: CWoLaConfig, quantized: bool, seed: int):
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((n_in,))
    out = _packed_layer_cls()(n_sub, n_in, cfg.hidden, cfg.quant if quantized else None, seed, name="packed")(inp)
    return keras.Model(inp, out)


def _bce_np(z, y, w):
    """Weighted mean binary cross-entropy from logits, per column: z, y, w (n, K)."""
    l = np.logaddexp(0.0, z) - y * z
    return (w * l).sum(axis=0) / np.maximum(w.sum(axis=0), 1e-300)


def _fake_quant_forward(weights, x, quant: QuantSpec | None) -> np.ndarray:
    """float32 forward as in training (for validation losses; the exact arithmetic is :func:`exact_forward`)."""

    def fq(v, p):
        return v if p is None else (np.clip(np.rint(v / p.step), p.min / p.step, p.max / p.step) * p.step).astype(np.float32)

    pin, pw, pb, pa = _precisions(quant)
    h = fq(x, pin)
    last = len(weights) - 1
    for i, (k, b) in enumerate(weights):
        h = h @ fq(k, pw) + fq(b, pb)
        if i < last:
            h = fq(np.maximum(h, 0.0), pa)
    return h[:, 0].astype(np.float64)


def train_packed(x: np.ndarray, y: np.ndarray, w_train: np.ndarray, w_val: np.ndarray, cfg: CWoLaConfig,
                 quantized: bool, seed: int) -> dict:
    """Train K networks at once. ``y``, ``w_train``, ``w_val`` are (n, K) (weight 0 = event not used by that
    network).  Each network keeps the weights of its epoch of lowest validation loss.

    Returns ``{"weights": [per network: list of (kernel, bias)], "val_loss": (K,), "epochs_run": int}``.
    """
    import keras
    from keras import ops

    n, K = y.shape
    # normalise each network's training weights to mean 1 over the sample (equal gradient scale per network)
    wt = w_train / np.maximum(w_train.mean(axis=0, keepdims=True), 1e-300)
    packed = np.concatenate([y, wt], axis=1).astype(np.float32)
    model = packed_model(K, x.shape[1], cfg, quantized, seed)

    def loss(yt, z):
        yy, ww = yt[:, :K], yt[:, K:]
        return ops.sum(ww * (ops.softplus(z) - yy * z), axis=-1)

    model.compile(keras.optimizers.Adam(cfg.learning_rate), loss=loss)
    layer = model.get_layer("packed")
    best = np.full(K, np.inf)
    best_w = [None] * K
    stale, ep = 0, 0
    xf = x.astype(np.float32)
    val_rows = [np.flatnonzero(w_val[:, k] > 0) for k in range(K)]
    for ep in range(cfg.epochs):
        model.fit(xf, packed, batch_size=cfg.batch_size, epochs=1, shuffle=True, verbose=0)
        ks = [np.asarray(k) for k in layer.kernels]
        bs = [np.asarray(b) for b in layer.biases]
        vl = np.empty(K)
        for k in range(K):
            rows = val_rows[k]
            z = _fake_quant_forward([(kk[k], bb[k]) for kk, bb in zip(ks, bs)], xf[rows], cfg.quant if quantized else None)
            vl[k] = _bce_np(z[:, None], y[rows, k:k + 1], w_val[rows, k:k + 1])[0]
        better = vl < best
        if better.any():
            for k in np.flatnonzero(better):
                best_w[k] = [(kk[k].copy(), bb[k].copy()) for kk, bb in zip(ks, bs)]
            best = np.where(better, vl, best)
            stale = 0
        else:
            stale += 1
            if stale >= cfg.patience:
                break
    return {"weights": best_w, "val_loss": best, "epochs_run": ep + 1}


# ------------------------------------------------------------------------------------------------
def _quant_inplace(h: np.ndarray, p: Precision) -> np.ndarray:
    """In-place RND_CONV + SAT quantization (same result as :func:`quantize.precision.quantize_np` for these modes)."""
    h *= 1.0 / p.step
    np.rint(h, out=h)
    np.clip(h, p.min / p.step, p.max / p.step, out=h)
    h *= p.step
    return h


def exact_forward(weights, x: np.ndarray, quant: QuantSpec) -> np.ndarray:
    """The quantized network in exact fixed-point arithmetic (float64 holds every value exactly): the firmware's
    arithmetic (hls4ml bit-exact flow: exact accumulation, RND_CONV/SAT at each quantizer).  Returns logits (n,)."""
    pin, pw, pb, pa = _precisions(quant)
    h = _quant_inplace(np.array(np.asarray(x, np.float32), np.float64), pin)
    last = len(weights) - 1
    for i, (k, b) in enumerate(weights):
        h = h @ quantize_np(k, pw)
        h += quantize_np(b, pb)
        if i < last:
            np.maximum(h, 0.0, out=h)
            _quant_inplace(h, pa)
    return h[:, 0]


def float_forward(weights, x: np.ndarray) -> np.ndarray:
    """Float view: the same weights with every quantizer off (float64)."""
    h = np.asarray(x, np.float64)
    last = len(weights) - 1
    for i, (k, b) in enumerate(weights):
        h = h @ np.asarray(k, np.float64) + np.asarray(b, np.float64)
        if i < last:
            h = np.maximum(h, 0.0)
    return h[:, 0]


def deployable_model(weights, quant: QuantSpec, name: str = "cwola_deployable"):
    """One network with QKeras-API layers (hgq2): input quantizer -> QDense/QActivation ... -> logit."""
    import keras
    from qkeras.qlayers import QActivation, QDense

    from quantize.qkeras import quantizer_config

    wq = {"kernel_quantizer": quantizer_config(quant.precision("weight")),
          "bias_quantizer": quantizer_config(quant.precision("bias"))}
    inp = keras.Input((weights[0][0].shape[0],), name="features")
    x = QActivation(quantizer_config(quant.precision("input")), name="input_quant")(inp)
    dense = []
    for i, (k, b) in enumerate(weights):
        last = i == len(weights) - 1
        d = QDense(k.shape[1], **wq, name="logit" if last else f"dense{i + 1}")
        x = d(x)
        dense.append(d)
        if not last:
            x = QActivation(quantizer_config(quant.precision("activation")), name=f"relu{i + 1}")(x)
    model = keras.Model(inp, x, name=name)
    for d, (k, b) in zip(dense, weights):
        d.kernel.assign(np.asarray(k, np.float32))
        d.bias.assign(np.asarray(b, np.float32))
    return model
