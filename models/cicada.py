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

Status (issue 20, first half): the student converts with hls4ml 1.3 ``io_parallel`` (Conv2D included) and its
C simulation equals float64 Keras exactly (tests/models/test_cicada.py).  Not yet done: the ``cicada``
registry entry / build_hls.py flow (3-D inputs), the fast emulator (QConv2D unsupported: it raises naming the
layer) and the da4ml RTL path (quantize.hgq_native.with_rounding has no QConv2D conversion).
"""

from __future__ import annotations

import numpy as np

PART = "xc7vx690tffg1927-2"  # Virtex-7 690T (hls/parts.py: xc7vx690t), as the CMS calorimeter Layer-1 cards
CLOCK_PERIOD_NS = 6.25  # 160 MHz
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


def build_student(shape=(18, 14)):
    import keras
    from qkeras.qlayers import QActivation, QConv2D, QDense
    from qkeras.quantizers import quantized_bits, quantized_relu

    wq = dict(kernel_quantizer=quantized_bits(WEIGHT_BITS, 1, alpha=1), bias_quantizer=quantized_bits(WEIGHT_BITS, 1, alpha=1))
    x_in = keras.Input((*shape, 1), name="image")
    x = QActivation(quantized_bits(10, 7, keep_negative=0, alpha=1), name="input_quant")(x_in)
    x = QConv2D(4, 3, strides=2, name="conv", **wq)(x)
    x = QActivation(quantized_relu(ACT_BITS, ACT_INT), name="conv_relu")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = QDense(16, name="dense", **wq)(x)
    x = QActivation(quantized_relu(ACT_BITS, ACT_INT), name="dense_relu")(x)
    x = QDense(1, name="score", **wq)(x)
    return keras.Model(x_in, x, name="cicada_student")


def train_teacher(counts_train: np.ndarray, counts_val: np.ndarray, seed: int, epochs: int = 10):
    import keras

    keras.utils.set_random_seed(int(seed))
    m = build_teacher(counts_train.shape[1:])
    m.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    xt, xv = teacher_input(counts_train), teacher_input(counts_val)
    m.fit(xt, xt, validation_data=(xv, xv), epochs=epochs, batch_size=256, verbose=0)
    return m


def train_student(teacher, counts_train: np.ndarray, counts_val: np.ndarray, seed: int, epochs: int = 20):
    import keras

    keras.utils.set_random_seed(int(seed))
    m = build_student(counts_train.shape[1:])
    m.compile(optimizer=keras.optimizers.Adam(2e-3), loss="mse")
    yt, yv = teacher_score(teacher, counts_train), teacher_score(teacher, counts_val)
    mu, sd = float(yt.mean()), float(yt.std()) or 1.0
    yt, yv = (yt - mu) / sd, (yv - mu) / sd
    m.fit(student_input(counts_train), yt, validation_data=(student_input(counts_val), yv), epochs=epochs,
          batch_size=256, verbose=0)
    return m
