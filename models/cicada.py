"""CICADA-like calorimeter-image anomaly detection: a float conv-autoencoder teacher and a small quantized
student that regresses the teacher's (log-scaled) reconstruction loss; only the student is deployed.

Inputs are :mod:`data.calo` region images, (N, 18, 14) ET counts (LSB 0.5 GeV, 10 bits).

* Teacher (float, not deployed): input ``log1p(counts) / 7``; Conv2D(8, 3x3, same) ReLU, AveragePooling 2
  -> (9, 7, 8); Conv2D(4, 3x3, same) ReLU, Flatten, Dense(16) ReLU (latent), Dense(9*7*4) ReLU, Reshape,
  UpSampling 2 -> (18, 14, 4), Conv2D(1, 3x3, same).  Score: ``log(mean squared error)`` per image.
* Student (QKeras API of hgq2, deployed): input ``counts / 8`` quantized ``quantized_bits(10, 7, 0)``
  (= ap_ufixed<10,7>, every 10-bit count exactly); QConv2D(4, 3x3, stride 2) -> (8, 6, 4), quantized ReLU,
  Flatten, QDense(16), quantized ReLU, QDense(1).  Trained (MSE) on the teacher's score of the same image,
  standardised with the training sample's mean and std (8-bit weights/biases in [-2, 2) cannot reach a raw
  log-MSE of about -6); the standardisation is monotone, so the student's output is the deployed score.

Status (issue 20): the student converts with hls4ml 1.3 ``io_parallel`` (Conv2D included) and its C simulation
equals float64 Keras exactly (tests/models/test_cicada.py).  Registered on the build flow (``build_hls.py --model
cicada``, :func:`prepare_for_build`) with the RTL path on by default: the deployed model is the RND variant
(``quantize.hgq_native.with_rounding`` converts the QConv2D), traced by da4ml, simulated by Verilator and synthesized
by yosys; the fast emulator evaluates the QConv2D as an exact dense product (``emulation.fast``).
"""

from __future__ import annotations

import numpy as np

PART = "xc7vx690tffg1927-2"  # Virtex-7 690T (hls/parts.py: xc7vx690t), as the CMS calorimeter Layer-1 cards
CLOCK_PERIOD_NS = 6.25  # 160 MHz
# issue 20: the calorimeter anomaly trigger on a Virtex-7 690T at 160 MHz; small default counts so that a build
# takes minutes.  Applied by flow.config.BuildConfig to every field a build does not set (models/registry.py)
BUILD_DEFAULTS = {"part": PART, "clock_period_ns": CLOCK_PERIOD_NS, "n_train": 20_000, "n_val": 5_000,
                  "n_signal": 5_000}
STUDENT_INPUT_SCALE = 1.0 / 8  # firmware input = counts / 8: exact in ap_ufixed<10,7>
TEACHER_INPUT_SCALE = 1.0 / 7
WEIGHT_BITS = 8
ACT_BITS, ACT_INT = 10, 4


def teacher_input(counts: np.ndarray) -> np.ndarray:
    return (np.log1p(np.asarray(counts, np.float32)) * TEACHER_INPUT_SCALE)[..., None]


def student_input(counts: np.ndarray) -> np.ndarray:
    return (np.asarray(counts, np.float32) * STUDENT_INPUT_SCALE)[..., None]


def build_teacher(shape=(18, 14)):
    import keras
    from keras import layers as L

    x_in = keras.Input((*shape, 1), name="image")
    x = L.Conv2D(8, 3, padding="same", activation="relu", name="enc_conv1")(x_in)
    x = L.AveragePooling2D(2, name="enc_pool")(x)
    x = L.Conv2D(4, 3, padding="same", activation="relu", name="enc_conv2")(x)
    x = L.Flatten(name="enc_flat")(x)
    x = L.Dense(16, activation="relu", name="latent")(x)
    h, w = shape[0] // 2, shape[1] // 2
    x = L.Dense(h * w * 4, activation="relu", name="dec_dense")(x)
    x = L.Reshape((h, w, 4), name="dec_reshape")(x)
    x = L.UpSampling2D(2, name="dec_up")(x)
    x = L.Conv2D(1, 3, padding="same", name="reco")(x)
    return keras.Model(x_in, x, name="cicada_teacher")


def teacher_score(teacher, counts: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    x = teacher_input(counts)
    r = teacher.predict(x, batch_size=batch_size, verbose=0)
    return np.log(np.mean((r - x) ** 2, axis=(1, 2, 3)) + 1e-8).astype(np.float32)


def student_bits(cfg) -> tuple[int, tuple[int, int]]:
    """(weight bits, (activation bits, integer bits)) of a build: the defaults, or ``--precision P`` for weights,
    biases and activations (integer bits kept); refuses what the student cannot be built or trained with."""
    if str(cfg.quant_mode) != "qat":
        raise ValueError(f"--model cicada: quantization mode {cfg.quant_mode}: only qat (the student is trained at its "
                         "precision)")
    p = cfg.precision_bits
    if p is None:
        return WEIGHT_BITS, (ACT_BITS, ACT_INT)
    if p < ACT_INT + 1:
        raise ValueError(f"--precision {p}: cicada needs at least {ACT_INT + 1} bits (activations keep {ACT_INT} "
                         "integer bits)")
    return p, (p, ACT_INT)


def dense_shapes_for_build(cfg, shape=(18, 14)) -> dict[str, tuple[int, int]]:
    """Registry hook: (n_in, n_out) of the student's multiplying layers as hls4ml validates their reuse factors
    (Conv2D: n_in = kernel height x width x channels, n_out = filters), from the architecture alone."""
    student_bits(cfg)
    h, w = (shape[0] - 3) // 2 + 1, (shape[1] - 3) // 2 + 1
    return {"conv": (9, 4), "dense": (h * w * 4, 16), "score": (16, 1)}


def build_student(shape=(18, 14), weight_bits: int = WEIGHT_BITS, act_bits: tuple[int, int] = (ACT_BITS, ACT_INT)):
    import keras
    from qkeras.qlayers import QActivation, QConv2D, QDense
    from qkeras.quantizers import quantized_bits, quantized_relu

    wq = dict(kernel_quantizer=quantized_bits(weight_bits, 1, alpha=1), bias_quantizer=quantized_bits(weight_bits, 1, alpha=1))
    x_in = keras.Input((*shape, 1), name="image")
    x = QActivation(quantized_bits(10, 7, keep_negative=0, alpha=1), name="input_quant")(x_in)
    x = QConv2D(4, 3, strides=2, name="conv", **wq)(x)
    x = QActivation(quantized_relu(*act_bits), name="conv_relu")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = QDense(16, name="dense", **wq)(x)
    x = QActivation(quantized_relu(*act_bits), name="dense_relu")(x)
    x = QDense(1, name="score", **wq)(x)
    return keras.Model(x_in, x, name="cicada_student")


def train_teacher(counts_train: np.ndarray, counts_val: np.ndarray, seed: int, epochs: int = 10):
    import keras

    keras.utils.set_random_seed(int(seed))
    m = build_teacher(counts_train.shape[1:])
    fit_teacher(m, counts_train, counts_val, epochs)
    return m


def fit_teacher(m, counts_train: np.ndarray, counts_val: np.ndarray, epochs: int) -> dict:
    import keras

    m.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    xt, xv = teacher_input(counts_train), teacher_input(counts_val)
    h = m.fit(xt, xt, validation_data=(xv, xv), epochs=epochs, batch_size=256, verbose=0).history
    return {"epochs_run": len(h["loss"]), "best_val_loss": float(min(h["val_loss"])), "n_train": len(xt)}


def train_student(teacher, counts_train: np.ndarray, counts_val: np.ndarray, seed: int, epochs: int = 20):
    import keras

    keras.utils.set_random_seed(int(seed))
    m = build_student(counts_train.shape[1:])
    fit_student(m, teacher, counts_train, counts_val, epochs)
    return m


def fit_student(m, teacher, counts_train: np.ndarray, counts_val: np.ndarray, epochs: int) -> dict:
    import keras

    m.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    yt, yv = teacher_score(teacher, counts_train), teacher_score(teacher, counts_val)
    mu, sd = float(yt.mean()), float(yt.std()) or 1.0
    yt, yv = (yt - mu) / sd, (yv - mu) / sd
    h = m.fit(student_input(counts_train), yt, validation_data=(student_input(counts_val), yv), epochs=epochs,
              batch_size=256, verbose=0).history
    return {"epochs_run": len(h["loss"]), "best_val_loss": float(min(h["val_loss"])), "n_train": len(yt),
            "target_standardisation": {"mean_log_mse": mu, "std_log_mse": sd}}


def float_student(student):
    """The student's trained weights in the same architecture with every quantizer off (the float view)."""
    import keras
    from keras import layers as L

    x_in = keras.Input(tuple(student.inputs[0].shape[1:]), name="image")
    x = L.Conv2D(4, 3, strides=2, activation="relu", name="conv")(x_in)
    x = L.Flatten(name="flat")(x)
    x = L.Dense(16, activation="relu", name="dense")(x)
    fm = keras.Model(x_in, L.Dense(1, name="score")(x), name="cicada_student_float_view")
    for layer in fm.layers:
        if layer.weights:
            layer.set_weights([np.asarray(w) for w in student.get_layer(layer.name).get_weights()[:2]])
    return fm


TEACHER_EPOCHS, STUDENT_EPOCHS = 10, 20


def prepare_for_build(cfg, train_ds, mean, std, timings: dict):
    """Registry hook (``--model cicada``): teacher then student, trained (or loaded from the model cache) on the
    build's SM region images (``train_ds.x_*``: (n, 18, 14, 1) counts); the student is deployed with the port at
    counts / 8.  References: float view = the student without quantizers, float twin = the teacher's log-MSE."""
    from models.registry import PreparedModel
    from models.training import train_or_load

    if not len(train_ds.x_train) or not len(train_ds.x_val):
        raise ValueError("cicada needs SM training and validation images (/train/images and /val/images)")
    ep_t, ep_s = (TEACHER_EPOCHS, STUDENT_EPOCHS) if cfg.epochs is None else (int(cfg.epochs),) * 2
    wbits, abits = student_bits(cfg)
    seed = 20 + int(cfg.seed)
    import keras

    keras.utils.set_random_seed(seed)
    teacher, student = build_teacher(), build_student(weight_bits=wbits, act_bits=abits)
    counts = lambda x: np.asarray(x, np.float32)[..., 0]
    tr, va = counts(train_ds.x_train), counts(train_ds.x_val)
    fits = {"teacher": lambda m: fit_teacher(m, tr, va, ep_t),
            "student": lambda m: fit_student(m, teacher, tr, va, ep_s)}
    mc = {"teacher_epochs": ep_t, "student_epochs": ep_s, "seed": seed, "weight_bits": wbits,
          "act_bits": list(abits), "student_input_scale": STUDENT_INPUT_SCALE}
    info = train_or_load(cfg, "cicada", mc, train_ds, {"teacher": teacher, "student": student},
                         lambda name, m: fits[name](m), timings)
    fview = float_student(student)

    def reference_scores(xs: dict):  # xs: the port's inputs, counts / 8
        view = {k: fview.predict(x, batch_size=8192, verbose=0)[:, 0].astype(np.float64) for k, x in xs.items()}
        twin = {k: teacher_score(teacher, x[..., 0] / STUDENT_INPUT_SCALE).astype(np.float64) for k, x in xs.items()}
        return view, twin, None

    desc = {"name": "cicada", "description": __doc__.split("\n\n")[0], "config": mc, "training": info,
            "score": "student's regression of the teacher's standardised log-MSE (float twin: the teacher's log-MSE)",
            "part": PART, "clock_period_ns": CLOCK_PERIOD_NS}
    return PreparedModel(deploy=student, description=desc, reference_scores=reference_scores,
                         extras={"float_view": fview, "teacher": teacher},
                         input_scaling=(np.zeros(1, np.float32), np.full(1, 1 / STUDENT_INPUT_SCALE, np.float32)))
