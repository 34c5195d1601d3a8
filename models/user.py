"""A user's own quantized Keras 3 model (``--model FILE.keras``): loaded in Keras safe mode, every layer checked
against what the firmware conversion supports, any input width (the events come from ``--data``)."""

from __future__ import annotations

import time
from pathlib import Path

SUPPORTED_USER_LAYERS = (
    "InputLayer", "Quantizer", "QDense", "Dense", "QMultiply", "QAdd", "QSubtract", "Activation", "ReLU",
    "QUnaryFunctionLUT",
)


def load_user_model(path: Path):
    """Load a user's ``.keras`` model in Keras safe mode and check every layer is supported."""
    import qkeras.qlayers  # noqa: F401  (registers hgq2 / qkeras-compat layers for deserialisation)

    from quantize.hgq_native import load_deployable

    try:  # safe mode (Keras' default); hgq2 layers keep their input quantizers and the table functions are registered
        model = load_deployable(path)
    except Exception as exc:  # Keras raises TypeError/ValueError with a long message
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ValueError(
            f"cannot load {path} with Keras safe mode: {msg}. Supported layers: {', '.join(SUPPORTED_USER_LAYERS)}"
        ) from exc
    for layer in model.layers:
        cls = layer.__class__.__name__
        if cls not in SUPPORTED_USER_LAYERS:
            raise ValueError(
                f"layer {layer.name!r} of class {cls} is not supported for firmware conversion; "
                f"supported: {', '.join(SUPPORTED_USER_LAYERS)}"
            )
    first = model.layers[1] if len(model.layers) > 1 else None
    if first is None or first.__class__.__name__ != "Quantizer":
        raise ValueError(
            f"{path}: hls4ml's bit-exact flow needs a quantizer right after the input "
            f"(found {first.__class__.__name__ if first else 'nothing'}); add a QActivation(quantized_bits(...))"
        )
    return model


def prepare_for_build(cfg, train_ds, mean, std, timings: dict):
    """Registry hook: the user's model as it is (no training, no float references), inputs not standardised."""
    import numpy as np

    from models.registry import PreparedModel

    t0 = time.perf_counter()
    deploy = load_user_model(Path(cfg.model))
    timings["train"] = time.perf_counter() - t0
    n = int(deploy.inputs[0].shape[-1])
    return PreparedModel(deploy=deploy, description={"name": str(Path(cfg.model)), "description": "user model (.keras)",
                                                     "config": None, "training": None},
                         input_scaling=(np.zeros(n, np.float32), np.ones(n, np.float32)))
