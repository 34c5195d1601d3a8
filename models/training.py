"""Training shared by the model families: the Keras fit recipe and the model cache (train once, then load)."""

from __future__ import annotations

import json
import time
from pathlib import Path


def _epoch_progress(epochs: int):
    """A Keras callback: a progress bar over the epochs on a terminal; in logs one line every ~fifth of the
    epochs (and the last)."""
    import keras

    from models.build_util import progress_bar, say

    class EpochProgress(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.bar = progress_bar(epochs, "training", "epoch")

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            text = f"loss {logs.get('loss', float('nan')):.4g}, val_loss {logs.get('val_loss', float('nan')):.4g}"
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix_str(text)
            elif (epoch + 1) % max(1, epochs // 5) == 0:
                say(f"epoch {epoch + 1}/{epochs}: {text}")

        def on_train_end(self, logs=None):
            if self.bar is not None:
                self.bar.close()

    return EpochProgress()

TRAIN_THREADS = (2, 1)  # TensorFlow intra-op, inter-op threads: fixed, so that a seed gives the same model


def configure_determinism(seed: int) -> dict:
    """Same seed, same model: seeded Python/numpy/TF random state, deterministic TF ops, fixed thread counts
    (set before TensorFlow's runtime starts; afterwards the counts in force are reported as they are)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(TRAIN_THREADS[0])
        tf.config.threading.set_inter_op_parallelism_threads(TRAIN_THREADS[1])
    except RuntimeError:  # the runtime already started in this process: the counts cannot change any more
        pass
    return {"op_determinism": True, "intra_op_threads": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op_threads": tf.config.threading.get_inter_op_parallelism_threads()}


def fit(model, x_train, x_val, loss, mc, callbacks=()) -> dict:
    """Train an autoencoder-like ``model`` (target = input) with ``mc``'s recipe: Adam(``learning_rate``), early
    stopping after ``patience`` epochs (best weights restored), learning rate halved on plateaus."""
    import keras

    determinism = configure_determinism(getattr(mc, "seed", 0))  # shuffling and dropout seeded per fit
    model.compile(optimizer=keras.optimizers.Adam(mc.learning_rate), loss=loss)
    cb = [keras.callbacks.EarlyStopping(patience=mc.patience, restore_best_weights=True),
          keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=max(1, mc.patience // 2)), *callbacks,
          _epoch_progress(mc.epochs)]
    t0 = time.perf_counter()
    hist = model.fit(x_train, x_train, validation_data=(x_val, x_val), epochs=mc.epochs, batch_size=mc.batch_size,
                     shuffle=True, verbose=0, callbacks=cb)
    h = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    return {"epochs_run": len(h["loss"]), "final_loss": h["loss"][-1], "best_val_loss": min(h["val_loss"]),
            "seconds": round(time.perf_counter() - t0, 1), "determinism": determinism}


def model_cache_dir(cache_dir, tag: str, model_cfg: dict, train_ds) -> Path:
    """The cache entry of (tag, model config, training data): ``<cache_dir>/models/<tag>-<key>`` (complete when it
    holds ``info.json``)."""
    import keras

    from models.build_util import config_hash

    key = config_hash({"model": model_cfg, "data": train_ds.meta.get("cache_key", train_ds.meta),
                       "keras": keras.__version__})
    return Path(cache_dir) / "models" / f"{tag}-{key}"


def train_or_load(cfg, tag: str, model_cfg: dict, train_ds, models: dict, train_fn, timings: dict) -> dict:
    """Load the weights of ``models`` (name -> Keras model) from the cache keyed by (tag, model config, data),
    or train each with ``train_fn(name, model) -> info`` and cache them (unless ``cfg.retrain``: always train).
    Sets ``timings['train']``; returns ``{name: info, ..., "from_cache", "cache_dir"}``."""
    from models.build_util import say

    mdir = model_cache_dir(cfg.cache_dir, tag, model_cfg, train_ds)
    info_path = mdir / "info.json"
    t0 = time.perf_counter()
    if info_path.is_file() and not cfg.retrain:
        for name, m in models.items():
            m.load_weights(mdir / f"{name}.weights.h5")
        info = json.loads(info_path.read_text())
        info["from_cache"] = True
        say(f"loaded trained models from cache {mdir}")
    else:
        say(f"training {tag} ({', '.join(models)}) on {len(train_ds.x_train)} SM events")
        info = {name: train_fn(name, m) for name, m in models.items()}
        _save_atomically(mdir, models, info)
        info["from_cache"] = False
    timings["train"] = time.perf_counter() - t0
    info["cache_dir"] = str(mdir)
    return info


def train_pair(cfg, tag: str, model_cfg: dict, train_ds, build, train, timings: dict):
    """The QAT model ``build(True)`` and its float twin ``build(False)`` (built in that order), loaded from the
    cache or trained with ``train(model, quantized) -> info``: ``(qat, twin, info)``."""
    qat, twin = build(True), build(False)
    info = train_or_load(cfg, tag, model_cfg, train_ds, {"qat": qat, "float_twin": twin},
                         lambda name, m: train(m, name == "qat"), timings)
    return qat, twin, info


def _save_atomically(mdir: Path, models: dict, info: dict) -> None:
    """Write the weights and info.json aside, then rename the folder into place: a reader (another sweep point,
    a concurrent build) sees a complete cache entry or none.  An existing entry is replaced (``--retrain``), or
    kept when a concurrent writer got there first (same key: the same models)."""
    import os
    import shutil
    import tempfile

    mdir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{mdir.name}-", dir=mdir.parent))
    try:
        for name, m in models.items():
            m.save_weights(tmp / f"{name}.weights.h5")
        (tmp / "info.json").write_text(json.dumps(info, indent=2))
        if mdir.exists():
            old = mdir.with_name(f".{mdir.name}-old-{os.getpid()}")
            os.rename(mdir, old)
            shutil.rmtree(old, ignore_errors=True)
        os.rename(tmp, mdir)
    except OSError:
        if not (mdir / "info.json").is_file():
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
