"""The deployable model's float view in numpy float32 (BLAS): ``emulation.bench``'s memory-bound reference row.

Every quantizer removed (unsigned -> ReLU, signed -> identity, as :func:`emulation.bench.float_equivalent`), the raw
float weights, float32 throughout: what plain float inference of this network costs in numpy, layer by layer (one
pass over memory per layer and operation).  Not bit-exact, not a reference for agreement: a speed yardstick.
"""

from __future__ import annotations

import numpy as np

from quantize.graph import layer_calls
from quantize.qkeras import precision_of_quantizer_layer


class FloatNumpy:
    name = "float_numpy"

    def __init__(self, keras_model):
        self._input = id(keras_model.inputs[0])
        self._output = id(keras_model.outputs[0])
        self.n_outputs = int(keras_model.outputs[0].shape[-1])
        self._steps = []
        for call in layer_calls(keras_model):
            layer, cls = call.layer, call.cls
            if cls == "Quantizer":
                p = precision_of_quantizer_layer(layer)
                signed = p.signed if p is not None else True  # per-element quantizers: left out
                self._steps.append(("id" if signed else "relu", call.out, call.ins, None))
            elif cls == "QDense":
                w = np.asarray(layer.kernel, dtype=np.float32)
                b = np.asarray(layer.bias, dtype=np.float32) if layer.bias is not None else None
                relu = getattr(layer.activation, "__name__", "linear") == "relu"
                self._steps.append(("dense_relu" if relu else "dense", call.out, call.ins, (w, b)))
            elif cls in ("QMultiply", "QAdd", "QSubtract"):
                self._steps.append((cls, call.out, call.ins, None))
            else:
                raise ValueError(f"layer {layer.name!r} of class {cls}: no float numpy equivalent")

    def predict(self, x) -> np.ndarray:
        v = {self._input: np.asarray(x, dtype=np.float32)}
        for kind, out, ins, params in self._steps:
            a = v[ins[0]]
            if kind == "id":
                v[out] = a
            elif kind == "relu":
                v[out] = np.maximum(a, 0.0)
            elif kind.startswith("dense"):
                w, b = params
                y = a @ w
                if b is not None:
                    y += b
                v[out] = np.maximum(y, 0.0, out=y) if kind == "dense_relu" else y
            elif kind == "QMultiply":
                v[out] = a * v[ins[1]]
            else:
                v[out] = a + v[ins[1]] if kind == "QAdd" else a - v[ins[1]]
        return v[self._output].reshape(len(x), -1)
