"""da4ml's own interpreter as an emulator: the model traced by da4ml into its combinational logic (the netlist the
RTL is generated from, ``CombLogic``) and evaluated with da4ml's C++ interpreter (``CombLogic.predict``).

It checks the traced logic itself, before any Verilog is written or simulated: bit-exact with the float64 Keras
model, the fast emulator, the C-sim and the RTL simulation when da4ml traces the model correctly.  da4ml 0.6 traces
native HGQ2 / QKeras-API models whose quantizers round with TRN or RND (not RND_CONV, the QKeras default: such a
model is refused here with the layer named; the ``--rtl`` path rebuilds it with RND, :mod:`quantize.hgq_native`).
Inputs are quantized to the input port's type first (in firmware this happens upstream of the port), as in
:class:`emulation.rtl.RTLEmulator`.
"""

from __future__ import annotations

import numpy as np

from emulation import input_batch

from quantize.graph import layer_calls
from quantize.precision import Rounding, quantize_np


def untraceable_rounding(model) -> str | None:
    """The first quantizer of ``model`` da4ml 0.6 cannot trace (rounding other than TRN/RND), as a message; None if
    every quantizer rounds with TRN or RND."""
    for call in layer_calls(model):
        layer = call.layer
        qs = [(layer.name, layer)] if call.cls == "Quantizer" else []
        if getattr(layer, "enable_iq", False):
            qs.append((f"{layer.name}/iq", layer.iq))
        for name, q in qs:
            inner = getattr(q, "quantizer", None)
            mode = str(getattr(inner, "round_mode", "")).upper().removeprefix("S_")
            if mode and Rounding.parse(mode) not in (Rounding.TRN, Rounding.RND):
                return f"quantizer {name!r} rounds with {mode}: da4ml 0.6 traces TRN and RND only"
    return None


class Da4mlEmulator:
    name = "da4ml"
    label = "da4ml interpreter (CombLogic.predict of the da4ml-traced model)"

    def __init__(self, keras_model, threads: int = 0):
        from da4ml.converter import trace_model
        from da4ml.trace import comb_trace

        from quantize.hgq_native import input_precision, kif

        why = untraceable_rounding(keras_model)
        if why:
            raise ValueError(f"--emulator da4ml: {why} (train the model with RND or TRN, or build with --rtl)")
        self.input_precision = input_precision(keras_model)
        self.threads = int(threads)
        inp, out = trace_model(keras_model, inputs_kif=kif(self.input_precision))
        self.comb = comb_trace(inp, out)
        self.n_inputs = int(np.prod(keras_model.inputs[0].shape[1:]))  # images, particle lists: the flat port
        self.n_outputs = int(np.prod(keras_model.outputs[0].shape[1:]))

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = input_batch(x, self.n_inputs)
        if len(x) == 0:
            return np.zeros((0, self.n_outputs))
        y = self.comb.predict(quantize_np(x, self.input_precision), n_threads=self.threads)
        return np.asarray(y, dtype=np.float64).reshape(len(x), self.n_outputs)
