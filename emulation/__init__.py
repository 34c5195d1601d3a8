"""Emulators of the firmware (behind ``predict(x) -> ndarray[n, n_out]``) and agreement metrics."""

import numpy as np


def input_batch(x, n_inputs: int) -> np.ndarray:
    """``x`` as an array of shape (n, ``n_inputs``), or a ValueError naming the shape every emulator expects."""
    x = np.asarray(x)
    if x.ndim > 2 and int(np.prod(x.shape[1:])) == n_inputs:  # (n, N, F) constituents, images: the flat port
        x = x.reshape(len(x), n_inputs)
    if x.ndim != 2 or x.shape[1] != n_inputs:
        raise ValueError(f"emulator expects inputs of shape (n, {n_inputs}), got {x.shape}")
    return x
