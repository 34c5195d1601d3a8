"""Issue 20 check: the fast emulator on the cicada student vs the float64 quantized Keras model, event by event.

    python -m benchmarks.fast_cicada_check --events 100000 [--seed 2026]

Events: SM-cocktail region ET images from ``data.calo`` (seeded), input ``counts / 8`` as the student expects.
The student has seeded random weights (normal, sigma 0.5; no trained cicada model is needed, and wide weights
exercise the quantizers' rounding and saturation).  Prints events/s of both (one process, 2 threads for the fast
emulator, the Keras model's own threading) and the number of events whose output differs (must be 0).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=2026)
    a = ap.parse_args(argv)
    from data.calo import calo_images
    from data.generator import generate_sm_cocktail

    rng = np.random.default_rng(a.seed)
    counts = calo_images(generate_sm_cocktail(a.events, rng)[0], rng)
    x = np.asarray(counts, np.float64).reshape(len(counts), 18, 14, 1) / 8

    import keras

    from emulation.fast import FastEmulator
    from emulation.keras_ref import float64_model
    from models.cicada import build_student

    keras.utils.set_random_seed(a.seed)
    m = build_student()
    wrng = np.random.default_rng(a.seed)
    for layer in m.layers:
        for v in layer.weights:
            v.assign(wrng.normal(0, 0.5, v.shape).astype("float32"))
    emu = FastEmulator(m, threads=2)
    emu.predict(x[:10])  # build the kernel outside the timing
    t = time.perf_counter()
    y = emu.predict(x)
    t_fast = time.perf_counter() - t
    q64 = float64_model(m)
    q64.predict(x[:10], verbose=0)
    t = time.perf_counter()
    ref = np.asarray(q64.predict(x, batch_size=65536, verbose=0), np.float64)
    t_k = time.perf_counter() - t
    bad = int(np.count_nonzero(np.any(y != ref, axis=1)))
    print(f"cicada student (seeded random weights), {len(x)} SM calo images, backend {emu.backend}")
    print(f"fast emulator: {len(x) / t_fast:,.0f} ev/s; float64 Keras: {len(x) / t_k:,.0f} ev/s; "
          f"ratio {t_k / t_fast:.1f}; distinct outputs {len(np.unique(ref))}; mismatched events {bad}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
