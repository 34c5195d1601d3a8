"""Where does the emulator start to differ from Keras?  A per-layer pointer via hls4ml tracing.

Only used when agreement fails: re-converts the model with tracing on into a temporary directory,
runs the offending events through the traced C-simulation and the Keras sub-models, and returns the
first layer (in graph order) whose outputs differ beyond one float32 ulp.
"""

from __future__ import annotations

import contextlib
import io
import tempfile

import numpy as np

from hls.config import HLSConfig
from quantize.graph import output_in_model


def first_divergent_layer(keras_model, cfg: HLSConfig, x: np.ndarray) -> dict:
    import hls4ml
    import keras

    from hls.project import _hls4ml_config

    hcfg = _hls4ml_config(keras_model, cfg)
    for lc in hcfg["LayerName"].values():
        lc["Trace"] = True
    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        hm = hls4ml.converters.convert_from_keras_model(
            keras_model, hls_config=hcfg, output_dir=tmp, project_name=cfg.project_name, backend=cfg.backend,
            io_type=cfg.io_type.value, part=cfg.part, clock_period=cfg.clock_period_ns,
        )
        hm.compile()
        _, trace = hm.trace(np.ascontiguousarray(x, dtype=np.float64))
    for layer in keras_model.layers[1:]:
        if layer.name not in trace:
            continue
        # the layer's output *in this model's graph*: a layer shared with the training model (the VAE) has
        # several nodes, and ``layer.output`` would be the one of the first graph
        out = output_in_model(keras_model, layer)
        ref = keras.Model(keras_model.inputs, out).predict(x, verbose=0)
        em = np.asarray(trace[layer.name]).reshape(ref.shape)
        tol = np.spacing(np.abs(ref).astype(np.float32))
        bad = np.abs(em - ref) > tol
        if bad.any():
            ev, idx = np.argwhere(bad.reshape(len(bad), -1))[0]
            return {
                "layer": layer.name,
                "event": int(ev),
                "index": int(idx),
                "keras": float(ref.reshape(len(ref), -1)[ev, idx]),
                "emulator": float(em.reshape(len(em), -1)[ev, idx]),
            }
    return {"layer": None, "note": "no traced layer differs; the difference is in the output conversion"}
