"""Supervised reference for the HLT (21-feature) trigger: one small float DNN per signal, signal vs SM cocktail.

The unsupervised trigger is measured against this ceiling (the published VAE study benchmarked its efficiencies
against supervised classifiers).  Each network sees the 21 raw features standardised with the SM training
sample's mean and std (not vae21's log1p-transformed inputs: the DNN needs no firmware-friendly transform) and is trained on events that are never the build's test sample:

- SM: the build's training and validation samples (independent random streams from the test sample,
  :func:`data.dataset.load_or_generate_hlt`);
- signal: ``n_signal_train`` events per signal generated here from ``np.random.SeedSequence([seed, SIGNAL_STREAM])``,
  a different entropy from the build's ``SeedSequence(seed)``, whose streams make the test signals; 80 % train,
  20 % validation.

Classes are balanced by weights (each class half the total weight).  Architecture 21 -> 64 -> 32 -> 1 (logit), ReLU,
float32; Adam with early stopping on the validation loss (best weights restored).  Reproducible: seeded Keras,
seeded data; cached with the atomic pattern of :func:`models.training.train_or_load` (key: model configuration,
the build's training data, the signal sample's seed and size, the generator version).  The score is the logit.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace

import numpy as np

SIGNAL_STREAM = 2121  # second entropy word of the signal training sample's SeedSequence


@dataclass(frozen=True)
class SupervisedConfig:
    hidden: tuple[int, ...] = (64, 32)
    epochs: int = 40
    batch_size: int = 2048
    learning_rate: float = 2e-3
    patience: int = 5
    seed: int = 23
    n_signal_train: int = 50_000  # per signal (80 % train, 20 % validation); a build uses its --n-signal

    def __post_init__(self):
        if self.n_signal_train < 100 or self.epochs < 1:
            raise ValueError(f"supervised reference: need n_signal_train >= 100 and epochs >= 1, got "
                             f"{self.n_signal_train}, {self.epochs}")

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class _TrainData:
    """What :func:`models.training.train_or_load` keys the cache on (``meta``) and prints (``x_train``)."""

    x_train: np.ndarray
    meta: dict


def signal_training_sample(seed: int, n: int, signals) -> dict[str, np.ndarray]:
    """``n`` generated events per signal (21 HLT features), from streams disjoint from the build's test sample."""
    from data.features import compute_hlt21
    from data.generator import generate

    streams = np.random.SeedSequence([int(seed), SIGNAL_STREAM]).spawn(len(signals))
    return {s: compute_hlt21(generate(s, n, np.random.default_rng(r))) for s, r in zip(signals, streams)}


def build_dnn(mc: SupervisedConfig, n_features: int, name: str):
    import keras

    keras.utils.set_random_seed(mc.seed)
    inp = keras.Input((n_features,), name="features")
    x = inp
    for i, n in enumerate(mc.hidden):
        x = keras.layers.Dense(n, activation="relu", name=f"dense{i + 1}")(x)
    return keras.Model(inp, keras.layers.Dense(1, name="logit")(x), name=name)


def _balanced(y: np.ndarray) -> np.ndarray:
    w = np.where(y == 1, 0.5 / max(1, int(np.sum(y == 1))), 0.5 / max(1, int(np.sum(y == 0))))
    return (w * len(y)).astype(np.float32)


def train_dnn(model, mc: SupervisedConfig, bkg: tuple[np.ndarray, np.ndarray], sig: np.ndarray) -> dict:
    """Fit ``model`` on (SM train, SM val) = ``bkg`` and the signal events ``sig`` (80/20 split), balanced."""
    import keras

    n_tr = int(0.8 * len(sig))
    x_tr = np.concatenate([bkg[0], sig[:n_tr]]).astype(np.float32)
    y_tr = np.r_[np.zeros(len(bkg[0])), np.ones(n_tr)].astype(np.float32)
    x_va = np.concatenate([bkg[1], sig[n_tr:]]).astype(np.float32)
    y_va = np.r_[np.zeros(len(bkg[1])), np.ones(len(sig) - n_tr)].astype(np.float32)
    model.compile(optimizer=keras.optimizers.Adam(mc.learning_rate),
                  loss=keras.losses.BinaryCrossentropy(from_logits=True))
    cb = [keras.callbacks.EarlyStopping(patience=mc.patience, restore_best_weights=True)]
    t0 = time.perf_counter()
    h = model.fit(x_tr, y_tr, sample_weight=_balanced(y_tr), validation_data=(x_va, y_va, _balanced(y_va)),
                  epochs=mc.epochs, batch_size=mc.batch_size, shuffle=True, verbose=0, callbacks=cb).history
    return {"epochs_run": len(h["loss"]), "best_val_loss": float(min(h["val_loss"])), "n_train": len(y_tr),
            "n_val": len(y_va), "seconds": round(time.perf_counter() - t0, 1)}


def config_from_build(cfg) -> SupervisedConfig:
    """As many signal training events per signal as the build has test events per signal (``--n-signal``);
    ``--epochs`` when given."""
    mc = replace(SupervisedConfig(), n_signal_train=max(100, int(cfg.n_signal)))
    return mc if cfg.epochs is None else replace(mc, epochs=cfg.epochs)


def _key_floats(a) -> list[str]:
    """The standardisation constants as cache-key entries: 5 significant digits (a fresh build computes
    them from float64 events, a cached one from the float32 cache: the last bits differ, the key must not)."""
    return [f"{v:.5g}" for v in np.asarray(a, dtype=np.float64).ravel().tolist()]


def train_or_load_supervised(cfg, train_ds, mean, std, signals, mc: SupervisedConfig | None = None):
    """One DNN per signal (trained, or loaded from the model cache): ``(models {signal: keras model}, info)``."""
    from data.generator import GENERATOR_VERSION
    from models.training import train_or_load

    mc = config_from_build(cfg) if mc is None else mc
    bkg = tuple(((x - mean) / std).astype(np.float32) for x in (train_ds.x_train, train_ds.x_val))
    if len(bkg[0]) == 0 or len(bkg[1]) == 0:
        raise ValueError("the supervised reference needs the build's SM training and validation samples")
    models = {s: build_dnn(mc, bkg[0].shape[1], f"supervised_{s}") for s in signals}
    sig_cache: dict = {}

    def train_fn(name, model):
        if not sig_cache:
            sig_cache.update(signal_training_sample(cfg.seed, mc.n_signal_train, signals))
        return train_dnn(model, mc, bkg, ((sig_cache[name] - mean) / std).astype(np.float32))

    model_cfg = {**mc.to_dict(), "signals": list(signals), "signal_seed": [int(cfg.seed), SIGNAL_STREAM],
                 "generator": GENERATOR_VERSION, "standardization": [_key_floats(mean), _key_floats(std)]}
    timings: dict = {}
    info = train_or_load(cfg, "supervised21", model_cfg, _TrainData(train_ds.x_train, train_ds.meta), models,
                         train_fn, timings)
    return models, {**info, "train_or_load_s": timings["train"], "config": mc.to_dict()}


def logits(models: dict, xs: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{signal: (logits of its DNN on the SM test sample ``xs['background']``, on that signal's test sample)}."""
    def run(m, x):
        return m.predict(x, batch_size=65536, verbose=0)[:, 0].astype(np.float64)

    return {s: (run(m, xs["background"]), run(m, xs[s])) for s, m in models.items() if s in xs}


__all__ = ["SupervisedConfig", "config_from_build", "signal_training_sample", "build_dnn", "train_dnn", "train_or_load_supervised",
           "logits", "SIGNAL_STREAM"]
