"""Analytic latency / resource estimate of an hls4ml io_parallel project, per layer and in total.

This is a *model* of what Vitis HLS does with hls4ml's dense/activation templates, not a synthesis.  It
is meant to be read, checked and argued with; every constant is below and every formula is one line.

Inputs: the deployable model's layers as :class:`LayerSpec` (quantized weights and the fixed-point
widths the bit-exact flow derives), the strategy, the reuse factor R and the clock period.

Dense layer (weights are compile-time constants in io_parallel):
  * a product by a zero weight disappears; by +-2^k it is a shift (no multiplier);
  * every other product is a multiplier; with reuse factor R > 1 the multiplier instances are hls4ml's own
    limit, ``multiplier_limit = ceil(n_in * n_out / R) - n_zeros // R`` (the ``#pragma HLS ALLOCATION`` of
    its dense template, hls4ml/backends/vivado/passes/core_templates.py), at most the number of multipliers
    at R = 1: a shared multiplier sees several weights, so +-2^k weights no longer become shifts;
  * a multiplier goes to a DSP when both operands are at least ``DSP_MIN_WIDTH`` bits wide, otherwise to
    LUTs.  Duarte et al., "Fast inference of deep neural networks in FPGAs for particle physics", JINST 13
    (2018) P07027 (arXiv:1804.06913), Sec. 5, observe exactly this behaviour of Vivado HLS: DSP usage
    falls steeply once the fixed-point width drops below ~10 bits, because narrow products are built
    from LUTs; the threshold here is that observation, not a measured constant of this machine;
  * a constant multiplier in LUTs (R = 1) is a shift-add network: ``(csd_digits(w) - 1)`` adders of
    ``in_width + 1`` bits, one LUT per adder bit (UltraScale+ carry chains); with R > 1 the weight is
    no longer constant and a generic ``ceil(w_a * w_b / 2)``-LUT array multiplier is counted;
  * each output sums its ``t`` non-zero terms (plus a non-zero bias) with a balanced adder tree:
    ``t - 1`` adders of the accumulator width ``in_width + weight_width + ceil(log2 n_in)``, depth
    ``ceil(log2 t)``;
  * latency: the combinational delay (``T_MULT_LUT_NS`` or ``DSP_CYCLES`` registered DSP stages, then
    ``depth * T_ADD_NS``) is cut into cycles of the usable period ``clock * (1 - CLOCK_UNCERTAINTY)``,
    plus one output register; R > 1 adds ``R - 1`` cycles and sets the initiation interval to R;
  * FF: every cycle boundary registers the layer's outputs at accumulator width;
  * BRAM (36 Kb blocks): Resource strategy stores the weights as a ROM of depth R and width
    ``ceil(n_weights / R) * weight_width`` (RAMB36 as 512 x 72); Latency strategy keeps them in fabric.
Reuse factors and strategies (io_parallel, hls4ml 1.3 ``PipelineStylePass``): with the Latency strategy the
top function is one ``#pragma HLS PIPELINE`` and each dense layer ``PIPELINE II=R``; with the Resource strategy
the top function is a ``DATAFLOW`` of the layers.  Either way the model's initiation interval is the largest
per-layer reuse factor (``Estimate.ii``) and its latency the sum of the layers' cycles; hls4ml's own tutorial
figures and Duarte et al. (2018, Sec. 5) show II = R and DSPs falling as 1/R.  At a 40 MHz bunch-crossing rate
an II above 25 ns / clock period fails the ``ii_ns`` budget (:mod:`analysis.budgets`).

Quantizer / activation layers: a saturating cast costs one LUT per output bit (compare + mux), a
rounding cast one more (the incrementer); a ReLU (signed -> unsigned) is its own hls4ml function: one
cycle.  A linear cast is folded into the producing layer (zero cycles).  Element-wise products of two
variables (``QMultiply``) follow the same DSP/LUT rule with ``DSP_CYCLES`` or one LUT-multiplier cycle.

Kernels applied at several positions (io_parallel; issue 20): a Conv2D is the dense product of its
``kernel height x width x channels -> filters`` matrix at every output pixel, and a Dense on a 2-D input (Deep Sets'
per-particle network, hls4ml's pointwise Conv1D) the same at every particle.  In io_parallel the top function's
``PIPELINE`` unrolls the partition loop, so every position has its own multipliers and adder trees: resources are the
per-position dense estimate times ``n_pos`` (BRAM once: the weights are shared), latency is one position's.  Global
average pooling over ``N`` positions is a balanced adder tree per channel (``N - 1`` adders of
``in_width + ceil(log2 N)`` bits, depth ``ceil(log2 N)``) followed by the multiplication by 1/N (a shift for N a power
of two; a constant multiplier otherwise, not counted).  Flatten / Reshape cost nothing.

Lookup tables (hgq2's ``QUnaryFunctionLUT``, hls4ml's ``unary_lut``: a ROM indexed by the input's bits, one copy per
element in io_parallel): a ROM of ``2^in_width`` words of ``out_width`` bits costs ``out_width * ceil(2^in_width / 64)``
LUT6 (64-deep distributed ROM per output bit; the F7/F8 multiplexers of deeper ROMs are not counted) and one cycle.

Known limits: HLS may share or duplicate operators, retime across layers and pack small adders;
the estimate ignores control logic and I/O registers.  The report prints it next to the RTL
measurement (da4ml + Verilator, yosys) so the size of the disagreement is itself visible; the da4ml
paper (Sun et al., arXiv:2507.04535) shows that distributed-arithmetic RTL of such networks needs no
DSPs and fewer LUTs than the HLS multiplier-per-weight model, so the two are *not* expected to agree.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .config import HLSConfig, Strategy

DSP_MIN_WIDTH = 10  # both operands at least this wide -> DSP (see module doc)
T_ADD_NS = 1.0  # one carry-chain adder level incl. routing, UltraScale+ (model constant)
T_MULT_LUT_NS = 2.0  # one LUT multiplier / shift-add network (model constant)
DSP_CYCLES = 3  # registered DSP48 pipeline chosen by HLS at 200 MHz-class clocks (model constant)
CLOCK_UNCERTAINTY = 0.27  # Vitis HLS default clock uncertainty (27 %)
RAMB36_WIDTH, RAMB36_DEPTH = 72, 512


@dataclass(frozen=True)
class LayerSpec:
    """What the estimate needs to know about one layer (no TensorFlow objects)."""

    name: str
    kind: str  # "dense" | "quant" | "multiply" | "add" | "pool" | "lut"
    n_out: int
    in_width: int = 0  # bits of the (first) input
    in2_width: int = 0  # bits of the second input (multiply)
    out_width: int = 0  # bits of the output type (quant)
    weight_width: int = 0
    weight_frac: int = 0
    kernel: np.ndarray | None = None  # quantized values, shape (n_in, n_out)
    bias: np.ndarray | None = None
    saturating: bool = False
    rounding: bool = False
    relu: bool = False  # signed -> unsigned quantizer (hls4ml implements it as a ReLU function)
    n_pos: int = 1  # dense: positions the kernel is applied at (conv output pixels, particles); pool: terms summed


@dataclass
class LayerEstimate:
    name: str
    kind: str
    cycles: int
    DSP: int
    LUT: int
    FF: int
    BRAM: int
    n_mult: int = 0
    n_shift: int = 0
    adder_depth: int = 0
    notes: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Estimate:
    layers: list[LayerEstimate] = field(default_factory=list)
    clock_period_ns: float = 5.0
    ii: int = 1

    @property
    def cycles(self) -> int:
        return sum(l.cycles for l in self.layers)

    def total(self, key: str) -> int:
        return sum(getattr(l, key) for l in self.layers)

    def to_dict(self) -> dict:
        return {
            "cycles": self.cycles, "ns": self.cycles * self.clock_period_ns, "ii": self.ii,
            "LUT": self.total("LUT"), "FF": self.total("FF"), "DSP": self.total("DSP"), "BRAM": self.total("BRAM"),
            "layers": [l.to_dict() for l in self.layers],
            "model_constants": {"DSP_MIN_WIDTH": DSP_MIN_WIDTH, "T_ADD_NS": T_ADD_NS, "T_MULT_LUT_NS": T_MULT_LUT_NS,
                                "DSP_CYCLES": DSP_CYCLES, "CLOCK_UNCERTAINTY": CLOCK_UNCERTAINTY},
        }


def csd_digits(code: int) -> int:
    """Number of non-zero digits of the canonical signed-digit form of an integer."""
    n, c = 0, abs(int(code))
    while c:
        if c & 1:
            n += 1
            c = c - 1 if (c & 3) == 1 else c + 1
        c >>= 1
    return n


def _cycles(delay_ns: float, clock_ns: float) -> int:
    usable = clock_ns * (1.0 - CLOCK_UNCERTAINTY)
    return int(math.ceil(delay_ns / usable - 1e-9)) if delay_ns > 0 else 0


def estimate_dense(spec: LayerSpec, strategy: Strategy, reuse: int, clock_ns: float) -> LayerEstimate:
    w = np.asarray(spec.kernel, dtype=np.float64)
    n_in, n_out = w.shape
    codes = np.rint(w * 2.0**spec.weight_frac).astype(np.int64)
    nz = codes != 0
    absc = np.abs(codes)
    pow2 = nz & ((absc & (absc - 1)) == 0)
    mult = nz & ~pow2
    n_mult = int(mult.sum())
    if reuse == 1:  # constant weights: zero and +-2^k products vanish
        n_units = n_mult
    else:  # shared multipliers see several weights: hls4ml's ALLOCATION limit (nnet dense config, multiplier_limit)
        n_units = min(n_mult, int(math.ceil(n_in * n_out / reuse)) - int((~nz).sum()) // reuse) if n_mult else 0
    to_dsp = spec.in_width >= DSP_MIN_WIDTH and spec.weight_width >= DSP_MIN_WIDTH
    dsp = lut = 0
    if to_dsp:
        per = math.ceil(spec.in_width / 27) * math.ceil(spec.weight_width / 18)
        dsp = n_units * per
    elif reuse == 1:
        lut += sum((csd_digits(c) - 1) * (spec.in_width + 1) for c in codes[mult])
    else:
        lut += n_units * int(math.ceil(spec.in_width * spec.weight_width / 2))
    acc_w = spec.in_width + spec.weight_width + int(math.ceil(math.log2(max(n_in, 2))))
    b = np.zeros(n_out) if spec.bias is None else np.asarray(spec.bias, dtype=np.float64)
    terms = nz.sum(axis=0) + (b != 0)
    adders = int(np.maximum(terms - 1, 0).sum())
    depth = int(max((math.ceil(math.log2(t)) if t > 1 else 0) for t in terms)) if n_out else 0
    lut += int(math.ceil(adders / reuse)) * acc_w
    mult_delay = 0.0 if to_dsp or n_mult == 0 else T_MULT_LUT_NS
    cycles = (DSP_CYCLES if (to_dsp and n_mult) else 0) + _cycles(mult_delay + depth * T_ADD_NS, clock_ns) + 1
    cycles += reuse - 1
    ff = cycles * n_out * acc_w
    bram = 0
    if strategy is Strategy.RESOURCE and reuse > 1:
        width = int(math.ceil(n_in * n_out / reuse)) * spec.weight_width
        bram = int(math.ceil(width / RAMB36_WIDTH)) * int(math.ceil(reuse / RAMB36_DEPTH))
    k = max(int(spec.n_pos), 1)  # io_parallel: one copy per output pixel / particle (module doc)
    notes = ("DSP" if to_dsp else "LUT") + f" multipliers, acc {acc_w} b" + (f", x {k} positions" if k > 1 else "")
    return LayerEstimate(spec.name, "dense", cycles, dsp * k, lut * k, ff * k, bram, n_mult=n_mult * k,
                         n_shift=int(pow2.sum()) * k, adder_depth=depth, notes=notes)


def estimate_dense_da(spec: LayerSpec, clock_ns: float) -> LayerEstimate:
    """hls4ml's ``distributed_arithmetic`` strategy: the constant matrix-vector product as da4ml's adder graph
    (hls4ml generates it with da4ml's CMVM solver).  LUT = the solver's own cost (adder bits, da4ml's default
    hardware model ``adder_size=1, carry_size=-1``, i.e. one LUT per adder bit on a carry chain), no DSPs;
    latency = the graph's depth in da4ml delay units at ``T_ADD_NS`` each, cut into cycles like the other layers;
    FF = the layer's outputs registered at each cycle boundary.  Inputs are taken as signed ``in_width``-bit
    integers (the spec does not keep the input's sign; an unsigned ReLU output costs at most one bit more)."""
    from da4ml.cmvm import solve

    w = np.asarray(spec.kernel, dtype=np.float64)
    n_in, n_out = w.shape
    half = 2.0 ** (spec.in_width - 1)
    pipe = solve(w.astype(np.float32), qintervals=[(-half, half - 1, 1.0)] * n_in, adder_size=1, carry_size=-1)
    depth = float(pipe.latency[1])
    cycles = _cycles(depth * T_ADD_NS, clock_ns) + 1
    acc_w = spec.in_width + spec.weight_width + int(math.ceil(math.log2(max(n_in, 2))))
    nz = np.rint(w * 2.0**spec.weight_frac) != 0
    k = max(int(spec.n_pos), 1)  # one adder graph per output pixel / particle (io_parallel)
    return LayerEstimate(spec.name, "dense", cycles, 0, int(round(float(pipe.cost))) * k, cycles * n_out * acc_w * k, 0,
                         n_mult=0, n_shift=int(nz.sum()) * k, adder_depth=int(math.ceil(depth)),
                         notes=f"distributed arithmetic: da4ml adder graph, depth {depth:g} delay units"
                         + (f", x {k} positions" if k > 1 else ""))


def estimate_layer(spec: LayerSpec, strategy: Strategy, reuse: int, clock_ns: float) -> LayerEstimate:
    if spec.kind == "dense":
        if strategy is Strategy.DISTRIBUTED_ARITHMETIC:
            return estimate_dense_da(spec, clock_ns)
        return estimate_dense(spec, strategy, reuse, clock_ns)
    if spec.kind == "quant":
        lut = spec.n_out * spec.out_width * (int(spec.saturating) + int(spec.rounding))
        cycles = 1 if spec.relu else 0
        return LayerEstimate(spec.name, "quant", cycles, 0, lut, cycles * spec.n_out * spec.out_width, 0,
                             notes="ReLU function" if spec.relu else "cast folded into the producer")
    if spec.kind == "multiply":
        to_dsp = spec.in_width >= DSP_MIN_WIDTH and spec.in2_width >= DSP_MIN_WIDTH
        n_units = int(math.ceil(spec.n_out / reuse))
        out_w = spec.in_width + spec.in2_width
        if to_dsp:
            dsp = n_units * math.ceil(max(spec.in_width, spec.in2_width) / 27) * math.ceil(min(spec.in_width, spec.in2_width) / 18)
            cycles, lut = DSP_CYCLES + 1, 0
        else:
            dsp, lut = 0, n_units * int(math.ceil(spec.in_width * spec.in2_width / 2))
            cycles = _cycles(T_MULT_LUT_NS, clock_ns) + 1
        cycles += reuse - 1
        return LayerEstimate(spec.name, "multiply", cycles, dsp, lut, cycles * spec.n_out * out_w, 0, n_mult=spec.n_out,
                             notes="DSP" if to_dsp else "LUT")
    if spec.kind == "pool":
        n = max(int(spec.n_pos), 1)
        acc_w = spec.in_width + int(math.ceil(math.log2(n))) if n > 1 else spec.in_width
        depth = int(math.ceil(math.log2(n))) if n > 1 else 0
        cycles = _cycles(depth * T_ADD_NS, clock_ns) + 1
        shift = n & (n - 1) == 0
        return LayerEstimate(spec.name, "pool", cycles, 0, spec.n_out * (n - 1) * acc_w, cycles * spec.n_out * acc_w, 0,
                             adder_depth=depth, notes=f"sum of {n} positions per channel, acc {acc_w} b, 1/{n} "
                             + ("a shift" if shift else "a constant multiplier (not counted)"))
    if spec.kind == "lut":
        lut = spec.n_out * spec.out_width * int(math.ceil(2.0**spec.in_width / 64))
        return LayerEstimate(spec.name, "lut", 1, 0, lut, spec.n_out * spec.out_width, 0,
                             notes=f"ROM of 2^{spec.in_width} x {spec.out_width} b per element")
    if spec.kind == "add":
        out_w = max(spec.in_width, spec.in2_width) + 1
        cycles = _cycles(T_ADD_NS, clock_ns) + 1
        return LayerEstimate(spec.name, "add", cycles, 0, spec.n_out * out_w, cycles * spec.n_out * out_w, 0)
    raise ValueError(f"layer {spec.name!r}: no estimate model for kind {spec.kind!r}")


def estimate(layers: list[LayerSpec], cfg: HLSConfig) -> Estimate:
    est = Estimate(clock_period_ns=cfg.clock_period_ns,
                   ii=max([cfg.reuse_factor_of(spec.name) for spec in layers] or [cfg.reuse_factor]))
    for spec in layers:  # per-layer ReuseFactor / Strategy (hls.layer_settings) replace the model's
        est.layers.append(estimate_layer(spec, cfg.strategy_of(spec.name), cfg.reuse_factor_of(spec.name),
                                         cfg.clock_period_ns))
    return est


# ---- from a Keras model ------------------------------------------------------------------------------
def _cast_spec(name: str, n: int, p, src: int, width: dict, signed: dict) -> LayerSpec:
    """The "quant" LayerSpec of a cast to the Precision ``p`` of the tensor ``src`` (``width``, ``signed``: what is
    known of the tensors so far)."""
    from quantize.precision import Overflow, Rounding

    return LayerSpec(name, "quant", n, in_width=width.get(src, p.width), out_width=p.width,
                     saturating=p.overflow is not Overflow.WRAP, rounding=p.rounding is not Rounding.TRN,
                     relu=signed.get(src, True) and not p.signed)


def _dense_specs(layer, src: int, width: dict, signed: dict, prec: dict,
                 n_pos: int = 1) -> tuple[list[LayerSpec], int, bool]:
    """LayerSpecs of a QDense / QConv reading the tensor ``src`` (a native HGQ2 layer's input cast, the dense layer,
    its ReLU), with the width and signedness of its output; ``n_pos``: positions the kernel is applied at (a conv's
    output pixels, a Dense on a 2-D input's rows): the kernel is taken as (kernel size x channels, filters)."""
    from quantize.hgq_native import covering_precision
    from quantize.precision import Precision
    from quantize.qkeras import precision_of_quantizer_layer

    specs = []
    w = np.asarray(layer.qkernel, dtype=np.float64)
    w = w.reshape(-1, w.shape[-1])
    b = np.asarray(layer.qbias, dtype=np.float64) if layer.bias is not None else None
    n_in = w.shape[0]
    if getattr(layer, "enable_iq", False):  # native HGQ2 layer: its input quantizer is a cast before it
        pi = covering_precision(layer.iq, (n_in,))
        if pi is None:
            raise ValueError(f"layer {layer.name!r}: every input quantized to zero width, no estimate")
        if precision_of_quantizer_layer(layer.iq) != prec.get(src):  # else a no-op re-cast: nothing
            specs.append(_cast_spec(f"{layer.name}_iq", n_in * n_pos, pi, src, width, signed))
        in_w = pi.width
    else:
        in_w = width.get(src)
    # per-weight (HGQ2) kernel quantizers: the layer's weight type covers every weight (as in hls4ml)
    pk = precision_of_quantizer_layer(layer.kq) or covering_precision(layer.kq, w.shape)
    if pk is None:
        pk = Precision(False, 1, 1)  # every weight pruned: the products vanish, the width is irrelevant
    if in_w is None:
        raise ValueError(f"layer {layer.name!r}: its input is not quantized")
    acc_w = in_w + pk.width + int(math.ceil(math.log2(max(n_in, 2))))
    specs.append(LayerSpec(layer.name, "dense", w.shape[1], in_width=in_w, weight_width=pk.width,
                           weight_frac=pk.frac, kernel=w, bias=b, n_pos=n_pos))
    act = getattr(layer.activation, "__name__", "linear")
    if act == "relu":  # hls4ml splits it into its own ReLU function
        specs.append(LayerSpec(f"{layer.name}_relu", "quant", w.shape[1] * n_pos, in_width=acc_w, out_width=acc_w,
                               relu=True))
        return specs, acc_w, False
    if act != "linear":
        raise ValueError(f"layer {layer.name!r}: activation {act!r} inside QDense has no estimate model")
    return specs, acc_w, True


def describe_model(keras_model) -> list[LayerSpec]:
    """LayerSpecs of a deployable model (Quantizer, QDense, QConv1D/2D, Flatten, global average pooling, QMultiply /
    Multiply, QAdd, QSubtract, QUnaryFunctionLUT), widths from its quantizers.
    Native HGQ2 layers: a QDense's own input quantizer is a cast before it, its ReLU a ReLU function after it, and
    per-element (heterogeneous) quantizers are costed at the one type covering all their elements
    (:func:`quantize.hgq_native.covering_precision`), as hls4ml declares one type per layer; the per-weight widths
    still count through the weight values (zeros and power-of-two weights cost no multiplier, CSD digits the
    shift-add LUTs)."""
    from quantize.graph import layer_calls
    from quantize.hgq_native import covering_precision
    from quantize.qkeras import precision_of_quantizer_layer

    width: dict[int, int] = {}
    out = []
    prev_signed: dict[int, bool] = {}
    prec: dict = {}  # tensor -> homogeneous precision of the Quantizer layer that produced it
    for call in layer_calls(keras_model):
        layer, cls, ins, o = call.layer, call.cls, call.ins, call.out
        if cls == "Quantizer":
            p = precision_of_quantizer_layer(layer) or covering_precision(layer, call.out_shape)
            if p is None:
                raise ValueError(f"layer {layer.name!r}: every element quantized to zero width, no estimate")
            out.append(_cast_spec(layer.name, int(np.prod(call.out_shape)), p, ins[0], width, prev_signed))
            width[o], prev_signed[o] = p.width, p.signed
            prec[o] = precision_of_quantizer_layer(layer)
        elif cls in ("QDense", "QConv1D", "QConv2D"):
            n_pos = int(np.prod(call.out_shape[:-1]))  # output pixels / particles (1 for a Dense on a vector)
            specs, width[o], prev_signed[o] = _dense_specs(layer, ins[0], width, prev_signed, prec, n_pos)
            out.extend(specs)
        elif cls == "QUnaryFunctionLUT":
            p_in, p_out = precision_of_quantizer_layer(layer.iq), precision_of_quantizer_layer(layer.oq)
            n = int(np.prod(call.out_shape))
            out.append(_cast_spec(f"{layer.name}/iq", n, p_in, ins[0], width, prev_signed))
            out.append(LayerSpec(layer.name, "lut", n, in_width=p_in.width, out_width=p_out.width))
            width[o], prev_signed[o], prec[o] = p_out.width, p_out.signed, p_out
        elif cls in ("Flatten", "Reshape"):  # wiring only
            width[o], prev_signed[o], prec[o] = width[ins[0]], prev_signed.get(ins[0], True), prec.get(ins[0])
        elif cls in ("GlobalAveragePooling1D", "GlobalAveragePooling2D"):
            n = int(np.prod([int(d) for d in call.node.input_tensors[0].shape[1:-1]]))
            out.append(LayerSpec(layer.name, "pool", int(call.out_shape[-1]), in_width=width[ins[0]], n_pos=n))
            width[o] = width[ins[0]] + (int(math.ceil(math.log2(n))) if n > 1 else 0)
            prev_signed[o] = prev_signed.get(ins[0], True)
        elif cls in ("QMultiply", "Multiply", "QAdd", "QSubtract"):
            w1, w2 = width[ins[0]], width[ins[1]]
            kind = "multiply" if cls in ("QMultiply", "Multiply") else "add"
            out.append(LayerSpec(layer.name, kind, int(np.prod(call.out_shape)), in_width=w1, in2_width=w2))
            width[o] = w1 + w2 if kind == "multiply" else max(w1, w2) + 1
            prev_signed[o] = True
        else:
            raise ValueError(f"layer {layer.name!r} of class {cls}: no estimate model")
    return out


# ---- the estimate's inputs as a file (``build_hls.py resources`` without TensorFlow) --------------------------
SPECS_FILE = "model/estimate_layers.json"


def save_layer_specs(specs: list[LayerSpec], path) -> None:
    """``specs`` as JSON (weights as exact float lists; Python's float repr round-trips)."""
    import json
    from pathlib import Path

    rows = [{k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(s).items()} for s in specs]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps({"format": "estimate-layers-1", "layers": rows}))


def load_layer_specs(path) -> list[LayerSpec]:
    import json
    from pathlib import Path

    d = json.loads(Path(path).read_text())
    if d.get("format") != "estimate-layers-1":
        raise ValueError(f"{path}: format {d.get('format')!r}, expected 'estimate-layers-1'")
    arr = lambda v: None if v is None else np.asarray(v, dtype=np.float64)  # noqa: E731
    return [LayerSpec(**{**r, "kernel": arr(r["kernel"]), "bias": arr(r["bias"])}) for r in d["layers"]]
