"""Fast bit-exact emulator: the quantized graph evaluated in exact dyadic arithmetic with float64 BLAS.

Every tensor of a QKeras-API/hgq2 model deployed through hls4ml's bit-exact flow holds fixed-point
values k * 2**-f.  float64 represents such a value exactly while it has at most 53 significant bits, and
a dense layer's products and partial sums stay exact as long as the accumulator's bound fits in 53 bits,
whatever the summation order.  So ``x @ W + b`` in float64 (BLAS, multi-threaded), followed by the
quantizers' rounding and saturation done exactly (:func:`quantize.precision.quantize_np`), is the same
arithmetic as the firmware (and the hls4ml C-simulation): exact accumulation, then RND_CONV/SAT at each
quantizer.  The emulator checks the 53-bit bound for every layer when it is built and refuses a model
where it does not hold, rather than return approximate numbers.

Supported layers: InputLayer, Quantizer (QActivation), QDense (linear activation; a native HGQ2 QDense also with
its own input quantizer and a ReLU inside), QMultiply, QAdd, QSubtract, and the layers of the issue-20 families
lowered to the same exact dense products on the flattened (channels-last) tensor: a QDense on a multi-dimensional
input (the Deep Sets per-particle network: the kernel applied to every particle, ``kron(I, W)``), QConv2D (any
stride, 'valid' or 'same' padding, dilation; a column per output pixel and filter), GlobalAveragePooling1D over a
power-of-two number of positions (a sum with weights 2**-k, exact), Flatten (the same values) and a plain Multiply
(the EFN pT weighting).  Quantizers are homogeneous (one
:class:`Precision`) or per element (HGQ2-native ``kif``/``kbi``: each element its own integer and fractional bits,
rounding and overflow as in ``quantizers.fixed_point``; :class:`_ElemQuant`), weights per weight (the quantized
kernel is used as it is).  Anything else raises ``ValueError`` naming the layer.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from quantize.graph import layer_calls
from quantize.precision import Overflow, Precision, Rounding
from quantize.qkeras import precision_of_quantizer_layer

MANTISSA_BITS = 53


@dataclass
class _Bound:
    """Magnitude bound and fractional bits of an exact tensor (for the 53-bit check)."""

    max_abs: float
    frac: int

    @property
    def bits(self) -> int:
        if self.max_abs == 0:
            return 1
        return int(math.ceil(math.log2(self.max_abs * 2.0**self.frac + 1))) + 1


@dataclass(frozen=True)
class _ElemQuant:
    """A per-element (HGQ2-native) quantizer: every element has its own LSB ``step`` = 2**-f and its own limits
    ``lo``/``hi`` in units of that LSB (arrays over the feature axis).  HGQ2 semantics
    (``quantizers.fixed_point``): the integer bits are raised to at least -f, an element of zero width
    (k + i + f <= 0) is constant 0; saturation before or after the monotone rounding gives the same value since
    the limits are on the grid."""

    step: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    live: np.ndarray  # 1.0 where the element has non-zero width, else 0.0
    span: np.ndarray  # 2**(k + i) in LSBs (WRAP)
    rounding: Rounding
    overflow: Overflow

    @classmethod
    def of(cls, qlayer, shape, name) -> "_ElemQuant":
        from quantize.hgq_native import per_element_kif

        k, i, f, rounding, overflow = per_element_kif(qlayer, shape)
        if np.any(k != np.round(k)) or np.any(i != np.round(i)) or np.any(f != np.round(f)):
            raise ValueError(f"layer {name!r}: per-element bit widths must be integers")
        i = np.maximum(i, -f)
        top = 2.0 ** (i + f)  # 2**i in LSBs
        live = (k + i + f > 0).astype(np.float64)
        hi = (top - 1.0) * live
        lo = (-(top - 1.0) if overflow is Overflow.SAT_SYM else -top) * k * live
        span = np.where(live > 0, top * 2.0**k, 1.0)
        return cls(2.0 ** -f, lo, hi, live, span, rounding, overflow)

    @property
    def unit(self) -> float:
        """The finest LSB of the elements (the unit the quantized tensor is held in)."""
        return float(np.min(self.step))

    @property
    def bound(self) -> "_Bound":
        m = float(np.max(np.maximum(np.abs(self.lo), np.abs(self.hi)) * self.step))
        live = self.live > 0
        frac = int(np.max(-np.log2(self.step[live]))) if np.any(live) else 0
        return _Bound(m, frac)


def _frac_bits(values: np.ndarray) -> int:
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[v != 0]
    f = 0
    while f < 60 and np.any(v * 2.0**f != np.round(v * 2.0**f)):
        f += 1
    return f


_CONTROLLER = None


def _blas_controller():
    """One threadpoolctl controller per process: scanning the loaded BLAS libraries costs milliseconds, too
    much to repeat for every streamed chunk."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _conv2d_matrix(w: np.ndarray, in_shape, strides, padding: str, dilation) -> np.ndarray:
    """The (H*W*C, Ho*Wo*F) matrix of a channels-last 2-D convolution with kernel ``w`` (kh, kw, C, F): row-major
    flattening of input and output as Keras' Flatten does, so ``x.reshape(n, -1) @ M`` is the convolution."""
    kh, kw, c, f = w.shape
    h, wd, c_in = in_shape
    if c_in != c:
        raise ValueError(f"conv kernel has {c} input channels, the input {c_in}")
    (sh, sw), (dh, dw) = strides, dilation
    ekh, ekw = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if padding == "valid":
        ho, wo, pt, pl = (h - ekh) // sh + 1, (wd - ekw) // sw + 1, 0, 0
    elif padding == "same":
        ho, wo = -(-h // sh), -(-wd // sw)
        pt = max((ho - 1) * sh + ekh - h, 0) // 2
        pl = max((wo - 1) * sw + ekw - wd, 0) // 2
    else:
        raise ValueError(f"padding {padding!r} is not supported")
    m = np.zeros((h * wd * c, ho * wo * f), dtype=np.float64)
    for oy in range(ho):
        for ox in range(wo):
            col = (oy * wo + ox) * f
            for ky in range(kh):
                iy = oy * sh + ky * dh - pt
                if not 0 <= iy < h:
                    continue
                for kx in range(kw):
                    ix = ox * sw + kx * dw - pl
                    if 0 <= ix < wd:
                        row = (iy * wd + ix) * c
                        m[row:row + c, col:col + f] += w[ky, kx]
    return m


class FastEmulator:
    name = "fast"
    label = "fast exact emulator (float64 BLAS on fixed-point values)"

    def __init__(self, keras_model, threads: int | None = None):
        self.threads = threads
        self._compiled = self._kernel = None
        self._steps = []  # (kind, out_id, in_ids, params)
        self._input_ids = [id(t) for t in keras_model.inputs]
        self.n_inputs = int(math.prod(int(d) for d in keras_model.inputs[0].shape[1:]))
        self.n_outputs = int(math.prod(int(d) for d in keras_model.outputs[0].shape[1:]))
        bounds: dict[int, _Bound | None] = {i: None for i in self._input_ids}
        alias: dict[int, int] = {}  # Flatten: its output is its input's values (every tensor is held flattened)
        for call in layer_calls(keras_model):
            layer, cls, out = call.layer, call.cls, call.out
            ins = [alias.get(i, i) for i in call.ins]
            in_shape = tuple(int(d) for d in call.node.input_tensors[0].shape[1:])
            if cls == "Flatten":
                alias[out] = ins[0]
            elif cls == "GlobalAveragePooling1D":
                self._add_pooling(layer, ins[0], out, in_shape, bounds)
            elif cls == "QConv2D":
                self._add_conv2d(layer, ins[0], out, in_shape, bounds)
            elif cls == "Quantizer":
                self._add_quantizer(layer.name, layer, ins[0], out, call.out_shape, bounds)
            elif cls == "QUnaryFunctionLUT":
                self._add_lut(layer, ins[0], out, in_shape, bounds)
            elif cls == "QDense":
                if getattr(layer, "enable_oq", False):
                    raise ValueError(f"layer {layer.name!r}: QDense with its own output quantizer is not supported")
                act = getattr(layer.activation, "__name__", "linear")
                if act not in ("linear", "relu"):
                    raise ValueError(f"layer {layer.name!r}: QDense activation {act!r} is not supported (use QActivation)")
                src = ins[0]
                if getattr(layer, "enable_iq", False):  # a native HGQ2 layer quantizes its own input
                    src = self._add_quantizer(f"{layer.name}/iq", layer.iq, src, f"{layer.name}/iq",
                                              tuple(call.node.input_tensors[0].shape[1:]), bounds)
                w = np.asarray(layer.qkernel, dtype=np.float64)
                b = np.asarray(layer.qbias, dtype=np.float64) if layer.bias is not None else None
                positions = int(math.prod(in_shape[:-1]))
                if positions > 1:  # the same kernel on every position (particle) of a multi-dimensional input
                    w = np.kron(np.eye(positions), w)
                    b = np.tile(b, positions) if b is not None else None
                pre = out if act == "linear" else f"{layer.name}/pre"
                self._add_dense_step(layer, src, pre, w, b, bounds)
                if act == "relu":
                    self._steps.append(("relu", out, [pre], None))
                    bounds[out] = bounds[pre]
            elif cls in ("QMultiply", "Multiply", "QAdd", "QSubtract"):
                cls = "QMultiply" if cls == "Multiply" else cls  # a plain Multiply of quantized tensors: exact
                bs = [bounds[i] for i in ins]
                if any(b is None for b in bs):
                    raise ValueError(f"layer {layer.name!r}: needs quantized inputs")
                if cls == "QMultiply":
                    bd = _Bound(math.prod(b.max_abs for b in bs), sum(b.frac for b in bs))
                else:
                    bd = _Bound(sum(b.max_abs for b in bs), max(b.frac for b in bs))
                if bd.bits > MANTISSA_BITS:
                    raise ValueError(f"layer {layer.name!r}: {bd.bits} bits exceed float64's exact range")
                self._steps.append((cls, out, ins, None))
                bounds[out] = bd
            else:
                raise ValueError(
                    f"layer {layer.name!r} of class {cls} is not supported by the fast emulator; "
                    "supported: Quantizer, QDense, QConv2D, GlobalAveragePooling1D, Flatten, Multiply, QMultiply, "
                    "QAdd, QSubtract, QUnaryFunctionLUT (use the C-sim emulator)"
                )
        self._output_ids = [alias.get(id(t), id(t)) for t in keras_model.outputs]
        # the output's magnitude bound and LSB (exact for sums of non-negative terms, e.g. a VAE's scores)
        out_bound = bounds.get(self._output_ids[0])
        self.output_range = None if out_bound is None else (out_bound.max_abs, 2.0 ** -out_bound.frac)

    def _add_dense_step(self, layer, src, out, w, b, bounds):
        """An exact dense product ``x @ w + b`` on the flattened tensor ``src`` (bounds checked)."""
        bx = bounds[src]
        if bx is None:
            raise ValueError(f"layer {layer.name!r}: needs a quantizer before it (unquantized input)")
        fw = _frac_bits(w)
        fb = _frac_bits(b) if b is not None else 0
        col = np.abs(w).sum(axis=0).max() * bx.max_abs + (np.abs(b).max() if b is not None else 0.0)
        bd = _Bound(float(col), max(bx.frac + fw, fb))
        self._check(layer, bd, bx, _Bound(float(np.abs(w).max()), fw))
        self._steps.append(("dense", out, [src], (w, b)))
        bounds[out] = bd

    def _add_lut(self, layer, src, out, in_shape, bounds):
        """hgq2's ``QUnaryFunctionLUT`` (homogeneous input and table): its input quantizer, then a lookup in the table
        of every value of that quantizer's grid, evaluated by the layer itself in float32 as hls4ml builds its ROM."""
        import keras

        if not getattr(layer, "enable_oq", False):
            raise ValueError(f"layer {layer.name!r}: a lookup table needs its output quantizer")
        if getattr(layer, "enable_iq", False):
            p = precision_of_quantizer_layer(layer.iq)
            if p is not None:
                src = self._add_quantizer(f"{layer.name}/iq", layer.iq, src, f"{layer.name}/iq", in_shape, bounds)
        else:  # reloaded through hgq2's QKeras-compat patch (input quantizer dropped): its input's quantizer's grid
            prod = next((st for st in reversed(self._steps) if st[1] == src), None)
            p = prod[3] if prod is not None and prod[0] == "quant" else None
        if p is None:
            raise ValueError(f"layer {layer.name!r}: a lookup table needs a homogeneous quantizer on its input")
        n = int(round((p.max - p.min) / p.step)) + 1
        if n > 2**20:
            raise ValueError(f"layer {layer.name!r}: a table of {n} entries is too large")
        grid = p.min + p.step * np.arange(n, dtype=np.float64)
        width = int(math.prod(in_shape))
        y = keras.ops.convert_to_numpy(layer(np.repeat(grid[:, None], width, axis=1).reshape(n, *in_shape)
                                             .astype(np.float32)))
        y = np.asarray(y, np.float64).reshape(n, width)
        if np.any(y != y[:, :1]):
            raise ValueError(f"layer {layer.name!r}: a table per element is not supported (one table for all)")
        table = y[:, 0].copy()
        self._steps.append(("lut", out, [src], (table, float(p.min), float(p.step))))
        bounds[out] = _Bound(float(np.max(np.abs(table))), _frac_bits(table))

    def _add_pooling(self, layer, src, out, in_shape, bounds):
        """GlobalAveragePooling1D over (positions, channels): the mean, a sum with weights 2**-k when the number of
        positions is a power of two (exact); anything else is refused (1/n is not a dyadic number)."""
        cfg = layer.get_config()
        if cfg.get("data_format", "channels_last") != "channels_last" or cfg.get("keepdims", False):
            raise ValueError(f"layer {layer.name!r}: only channels_last GlobalAveragePooling1D without keepdims")
        n, c = in_shape
        if n & (n - 1):
            raise ValueError(f"layer {layer.name!r}: a mean over {n} positions (not a power of two) is not exact")
        self._add_dense_step(layer, src, out, np.kron(np.full((n, 1), 1.0 / n), np.eye(c)), None, bounds)

    def _add_conv2d(self, layer, src, out, in_shape, bounds):
        """A QConv2D (QKeras API: linear or ReLU inside, no own quantizers) as the dense product of its matrix."""
        cfg = layer.get_config()
        if getattr(layer, "enable_oq", False) or getattr(layer, "enable_iq", False):
            raise ValueError(f"layer {layer.name!r}: QConv2D with its own input/output quantizer is not supported")
        if cfg.get("groups", 1) != 1 or cfg.get("data_format", "channels_last") != "channels_last":
            raise ValueError(f"layer {layer.name!r}: only channels_last QConv2D without groups is supported")
        act = getattr(layer.activation, "__name__", "linear")
        if act not in ("linear", "relu"):
            raise ValueError(f"layer {layer.name!r}: QConv2D activation {act!r} is not supported (use QActivation)")
        w = np.asarray(layer.qkernel, dtype=np.float64)
        b = np.asarray(layer.qbias, dtype=np.float64) if layer.bias is not None else None
        m = _conv2d_matrix(w, in_shape, tuple(cfg["strides"]), cfg["padding"], tuple(cfg["dilation_rate"]))
        positions = m.shape[1] // w.shape[-1]
        pre = out if act == "linear" else f"{layer.name}/pre"
        self._add_dense_step(layer, src, pre, m, np.tile(b, positions) if b is not None else None, bounds)
        if act == "relu":
            self._steps.append(("relu", out, [pre], None))
            bounds[out] = bounds[pre]

    @classmethod
    def from_steps(cls, steps, input_ids, output_ids, n_inputs: int, n_outputs: int, threads: int | None = None):
        """An emulator from an already validated list of steps (:mod:`emulation.fast_plan` reads one from a project
        without Keras)."""
        self = cls.__new__(cls)
        self.threads, self._compiled, self._kernel, self._steps = threads, None, None, list(steps)
        self.output_range = None
        self._input_ids, self._output_ids = list(input_ids), list(output_ids)
        self.n_inputs, self.n_outputs = int(n_inputs), int(n_outputs)
        return self

    @staticmethod
    def _check(layer, out: _Bound, x: _Bound, w: _Bound):
        prod_bits = _Bound(x.max_abs * w.max_abs, x.frac + w.frac).bits
        if max(out.bits, prod_bits) > MANTISSA_BITS:
            raise ValueError(
                f"layer {layer.name!r}: the accumulator needs {max(out.bits, prod_bits)} bits, more than float64's "
                f"{MANTISSA_BITS}: not exact in the fast emulator (use the C-sim emulator)"
            )

    def _add_quantizer(self, name, qlayer, src, out, shape, bounds):
        """Append the quantizer ``qlayer`` (homogeneous: one :class:`Precision`; per element: HGQ2-native widths)
        reading tensor ``src``; returns ``out``, the id of its output."""
        if getattr(qlayer, "scaler", None) not in (None, 1, 1.0) or getattr(qlayer, "affine", None) is not None:
            raise ValueError(f"layer {name!r}: scaled or affine quantizers are not supported")
        p = precision_of_quantizer_layer(qlayer)
        if p is not None:
            self._steps.append(("quant", out, [src], p))
            bounds[out] = _Bound(max(abs(p.min), abs(p.max)), p.frac)
            return out
        if not shape:
            raise ValueError(f"layer {name!r}: per-element quantizer on a tensor of unknown shape")
        e = _ElemQuant.of(qlayer, shape, name)
        if len(shape) > 1:  # held flattened, as every tensor here
            e = _ElemQuant(*(np.broadcast_to(np.asarray(getattr(e, a), np.float64), shape).reshape(-1)
                             for a in ("step", "lo", "hi", "live", "span")), e.rounding, e.overflow)
        self._steps.append(("quant_elem", out, [src], e))
        bounds[out] = e.bound
        return out

    # --------------------------------------------------------------------------------------------
    # Execution plan.  Every tensor is held as float64 multiples of a power-of-two unit (its LSB, or a
    # unit folded into the next layer), so a dense layer followed by a quantizer is one matmul with
    # pre-scaled weights, one bias add, one rounding and one clip, all in place.  Scaling by powers of two
    # is exact in float64, so the plan computes exactly the values of the straightforward evaluation.
    def _plan(self):
        if getattr(self, "_compiled", None) is not None:
            return self._compiled
        consumers: dict[int, list[str]] = {}
        for kind, out, ins, _ in self._steps:
            for i in ins:
                consumers.setdefault(i, []).append(kind)
        units: dict[int, float] = {i: 1.0 for i in self._input_ids}
        plan = []
        for kind, out, ins, params in self._steps:
            u_in = units[ins[0]]
            if kind == "quant":
                p: Precision = params
                inplace = len(consumers.get(ins[0], [])) == 1 and ins[0] not in self._input_ids
                plan.append(("quant", out, ins, (u_in / p.step, p.rounding, p.overflow, p.min / p.step,
                                                 p.max / p.step, 2.0**p.width, inplace)))
                units[out] = p.step
            elif kind == "dense":
                w, b = params
                # fold the unit of the input in and, when the only consumer is a quantizer, express the
                # output directly in that quantizer's LSB (found when the quantizer is planned: use 1 here
                # and let the quantizer's factor rescale when it is not 1)
                u_out = self._preferred_unit(out)  # a scalar, or one unit per output (a per-element quantizer)
                rows = np.reshape(u_in, (-1, 1)) if np.ndim(u_in) else u_in  # per-input units scale the rows
                plan.append(("dense", out, ins, (w * (rows / u_out), None if b is None else b / u_out)))
                units[out] = u_out
            elif kind == "quant_elem":
                e: _ElemQuant = params
                inplace = len(consumers.get(ins[0], [])) == 1 and ins[0] not in self._input_ids
                # held in its per-element LSBs when only dense layers read it (they absorb the units in their
                # weights), else in the finest LSB
                own = bool(consumers.get(out)) and all(k == "dense" for k in consumers[out])
                factor, rescale = u_in / e.step, (1.0 if own else e.step / e.unit)
                plan.append(("quant_elem", out, ins, (None if np.all(factor == 1.0) else factor, e,
                                                      None if np.all(rescale == 1.0) else rescale, inplace)))
                units[out] = e.step if own else e.unit
            elif kind == "relu":
                plan.append((kind, out, ins, None))
                units[out] = u_in
            elif kind == "lut":  # index = value / step - min / step; the table held in its own LSB
                table, lo, step = params
                u_out = 2.0 ** -_frac_bits(table)
                plan.append((kind, out, ins, (table / u_out, lo / step, u_in / step)))
                units[out] = u_out
            elif kind == "QMultiply":
                plan.append((kind, out, ins, None))
                units[out] = u_in * units[ins[1]]
            else:  # QAdd / QSubtract: align both operands to the finer unit
                u_b = units[ins[1]]
                u = min(u_in, u_b)
                plan.append((kind, out, ins, (u_in / u, u_b / u)))
                units[out] = u
        self._compiled = (plan, units[self._output_ids[0]])
        return self._compiled

    def _preferred_unit(self, tensor) -> float:
        """The unit to hold ``tensor`` in: when its only consumer is a quantizer (possibly behind a ReLU, which
        commutes with a positive scale), that quantizer's input unit, so that no rescaling is needed; else 1."""
        nxt = [st for st in self._steps if tensor in st[2]]
        if len(nxt) != 1:
            return 1.0
        kind, out, _, params = nxt[0]
        if kind == "quant":
            return params.step
        if kind == "quant_elem":
            return params.step
        return self._preferred_unit(out) if kind == "relu" else 1.0

    def predict(self, x: np.ndarray, chunk: int = 8192, threads: int | None = None) -> np.ndarray:
        """Bit-exact outputs for ``x`` (n, n_inputs); chunks of ``chunk`` events (cache-sized) run on
        ``threads`` threads (default: the CPUs this process may use), each with single-threaded BLAS."""
        from emulation import input_batch

        x = input_batch(x, self.n_inputs)  # a multi-dimensional input (particles, an image): held flattened
        out = np.empty((len(x), self.n_outputs), dtype=np.float64)
        if len(x) == 0:
            return out
        threads = threads or self.threads or len(os.sched_getaffinity(0))
        kernel = self.native()[0]
        if kernel is not None and threads > 1 and len(x) >= 2 * chunk:
            chunk = -(-len(x) // threads)  # the fused kernel streams its events itself: one contiguous part a thread
        starts = range(0, len(x), chunk)

        def work(s):
            if kernel is not None:  # the fused C kernel: one pass, no BLAS
                kernel(x[s:s + chunk], out[s:s + chunk])
            else:
                out[s:s + chunk] = self._run(np.asarray(x[s:s + chunk], dtype=np.float64))

        with _blas_controller().limit(limits=1, user_api="blas"):
            if threads == 1 or len(starts) == 1:
                for s in starts:
                    work(s)
            else:
                from concurrent.futures import ThreadPoolExecutor

                with ThreadPoolExecutor(max_workers=threads) as pool:
                    list(pool.map(work, starts))
        return out

    def native(self):
        """(the fused C kernel of the plan, "") or (None, why the numpy/BLAS path runs instead); built once.
        ``LHC_TRIGGER_FAST_BACKEND=numpy`` forces the numpy path."""
        if self._kernel is None:
            if os.environ.get("LHC_TRIGGER_FAST_BACKEND", "auto") == "numpy":
                self._kernel = (None, "LHC_TRIGGER_FAST_BACKEND=numpy")
            else:
                from emulation.fast_kernel import native_kernel

                vals: dict = {}
                self._run(np.zeros((1, self.n_inputs)), vals)  # every tensor's shape
                plan, out_unit = self._plan()
                self._kernel = native_kernel(plan, out_unit, self._input_ids[0], self._output_ids[0],
                                             {k: v.shape for k, v in vals.items()})
        return self._kernel

    @property
    def backend(self) -> str:
        return "native C kernel" if self.native()[0] is not None else "numpy/BLAS"

    def _run(self, x: np.ndarray, vals: dict | None = None) -> np.ndarray:
        plan, out_unit = self._plan()
        vals = {} if vals is None else vals
        vals[self._input_ids[0]] = x
        for kind, out, ins, params in plan:
            a = vals[ins[0]]
            if kind == "quant":
                factor, rounding, overflow, lo, hi, span, inplace = params
                # in place only on an intermediate tensor nobody else reads (never the caller's array)
                y = a if (inplace and factor == 1.0) else (a * factor if factor != 1.0 else a.copy())
                if rounding is Rounding.TRN:
                    np.floor(y, out=y)
                elif rounding is Rounding.RND:
                    y += 0.5
                    np.floor(y, out=y)
                else:
                    np.rint(y, out=y)  # half to even (RND_CONV)
                if overflow is Overflow.WRAP:
                    y -= lo
                    np.mod(y, span, out=y)
                    y += lo
                else:
                    np.clip(y, lo, hi, out=y)
                vals[out] = y
            elif kind == "quant_elem":
                vals[out] = _quant_elem(a, *params)
            elif kind == "relu":
                vals[out] = np.maximum(a, 0.0, out=a)  # the dense output it reads has no other consumer
            elif kind == "dense":
                w, b = params
                y = a @ w
                if b is not None:
                    y += b
                vals[out] = y
            elif kind == "QMultiply":
                vals[out] = a * vals[ins[1]]
            elif kind == "lut":
                table, lo, factor = params
                idx = (a * factor if factor != 1.0 else a) - lo
                vals[out] = table[idx.astype(np.intp)]
            else:
                fa, fb = params
                b = vals[ins[1]] * fb if fb != 1.0 else vals[ins[1]]
                a = a * fa if fa != 1.0 else a
                vals[out] = a + b if kind == "QAdd" else a - b
        y = vals[self._output_ids[0]]
        return (y * out_unit if out_unit != 1.0 else y).reshape(len(x), -1)


def _quant_elem(a: np.ndarray, factor, e: _ElemQuant, rescale, inplace: bool) -> np.ndarray:
    """Per-element quantizer on ``a`` (held in units u): ``factor`` = u / step per element (None: ``a`` is already in
    the element LSBs, folded into the previous dense layer); the result is in the element LSBs, or in ``e.unit`` after
    ``rescale`` = step / unit (None: kept in the element LSBs for the next dense layer).  Powers of two: exact."""
    y = (a if inplace else a.copy()) if factor is None else np.multiply(a, factor, out=a if inplace else None)
    if e.rounding is Rounding.TRN:
        np.floor(y, out=y)
    elif e.rounding is Rounding.RND:
        y += 0.5
        np.floor(y, out=y)
    else:
        np.rint(y, out=y)
    if e.overflow is Overflow.WRAP:
        y -= e.lo
        np.mod(y, e.span, out=y)
        y += e.lo
        y *= e.live
    else:
        np.clip(y, e.lo, e.hi, out=y)
    if rescale is not None:
        y *= rescale
    return y


def precision_summary(p: Precision) -> str:
    return p.to_ap()
