"""The fast emulator's plan as one fused C function (compiled with the system C compiler, cached by source hash).

Same arithmetic as the numpy path of :class:`emulation.fast.FastEmulator`, event by event instead of layer by layer:
every tensor holds float64 multiples of its unit, a dense layer accumulates exact products (the emulator has checked
that every accumulator fits float64's 53 bits, so the summation order and fused multiply-adds cannot change a value),
the quantizers round (``rint`` under the default round-to-nearest-even mode, ``floor``, ``floor(y + 0.5)``) and
saturate or wrap exactly.  The weights are compiled in as hexadecimal float literals (bit-exact).  One pass over the
events: each event's activations stay in registers / L1, so the cost is the multiply-adds, not memory traffic.

Compiler flags keep IEEE semantics (no ``-ffast-math``); ``-fno-math-errno -fno-trapping-math`` only let the
compiler vectorise ``rint``/``floor``.  Without a C compiler :func:`native_kernel` returns ``None`` and the reason,
and the emulator keeps its numpy path.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from quantize.precision import Overflow, Rounding

CFLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-shared")
KERNEL_VERSION = "1"


def _lit(v: float) -> str:
    return float(v).hex()


def _arr(name: str, a) -> str:
    a = np.asarray(a, dtype=np.float64).ravel()
    return f"static const double {name}[{max(len(a), 1)}] = {{{', '.join(_lit(v) for v in a) or '0'}}};"


def _round(v: str, rounding: Rounding) -> str:
    if rounding is Rounding.TRN:
        return f"floor({v})"
    if rounding is Rounding.RND:
        return f"floor({v} + 0.5)"
    return f"rint({v})"  # default rounding mode: half to even (RND_CONV)


def _limit(v: str, overflow: Overflow, lo: str, hi: str, span: str) -> list[str]:
    if overflow is Overflow.WRAP:  # numpy's mod: the remainder takes the divisor's sign
        return [f"{{ double r_ = fmod({v} - {lo}, {span}); if (r_ < 0) r_ += {span}; {v} = r_ + {lo}; }}"]
    return [f"if ({v} < {lo}) {v} = {lo}; else if ({v} > {hi}) {v} = {hi};"]  # NaN passes through, as np.clip


class _Gen:
    def __init__(self):
        self.decl: list[str] = []
        self.body: list[str] = []
        self.n = 0

    def const(self, a) -> str:
        name = f"C{self.n}"
        self.n += 1
        self.decl.append(_arr(name, a))
        return name

    def const_int(self, a) -> str:
        name = f"I{self.n}"
        self.n += 1
        a = np.asarray(a, dtype=np.int64).ravel()
        self.decl.append(f"static const int {name}[{max(len(a), 1)}] = {{{', '.join(str(int(v)) for v in a) or '0'}}};")
        return name


def _row_ranges(w: np.ndarray, tile: int) -> tuple[np.ndarray, np.ndarray]:
    """Per tile of ``tile`` output columns, the first and one-past-the-last input row holding a non-zero weight: the
    rows outside contribute exact zeros (a convolution's matrix, the block-diagonal per-particle kernel), so the
    kernel skips them without changing any sum (the accumulator starts at the bias or +0.0)."""
    nz = (w != 0).reshape(w.shape[0], -1, tile).any(axis=2)  # (rows, tiles)
    anyr = nz.any(axis=0)
    lo = np.where(anyr, nz.argmax(axis=0), 0)
    hi = np.where(anyr, w.shape[0] - nz[::-1].argmax(axis=0), 0)
    return lo.astype(np.int64), hi.astype(np.int64)


def _width(shapes, t) -> int:
    s = shapes[t]
    if len(s) != 2:
        raise ValueError(f"tensor of shape {s}: the native kernel handles (events, features) tensors only")
    return int(s[1])


def _emit(g: _Gen, kind, out, ins, params, names, shapes) -> None:
    """C statements of one plan step (``names``: tensor id -> C array name); every tensor is ``t[feature][B]``: B
    events side by side, so each statement is one vector operation over the block."""
    a = names[ins[0]]
    w_out = _width(shapes, out)
    o = names[out] = f"t{len(names)}"
    g.body.append(f"double {o}[{w_out}][B];")
    loop = f"for (int j = 0; j < {w_out}; ++j) for (int b = 0; b < B; ++b)"
    if kind == "dense":
        w, b = params
        cw = g.const(w)
        init = f"{g.const(b)}[j]" if b is not None else "0.0"
        tile = next(t for t in (TILE, 4, 2, 1) if w_out % t == 0)  # outputs accumulated together (in registers)
        lo, hi = _row_ranges(w, tile)  # the rows a tile of outputs reads (a conv's window, a particle's features)
        if lo.any() or (hi != w.shape[0]).any():
            rows = f"int i = {g.const_int(lo)}[jt / {tile}]; i < {g.const_int(hi)}[jt / {tile}]; ++i"
        else:
            rows = f"int i = 0; i < {w.shape[0]}; ++i"
        g.body.append(
            f"for (int jt = 0; jt < {w_out}; jt += {tile}) {{ double acc[{tile}][B]; "
            f"for (int t = 0; t < {tile}; ++t) for (int b = 0; b < B; ++b) acc[t][b] = {init.replace('[j]', '[jt + t]')}; "
            f"for ({rows}) for (int t = 0; t < {tile}; ++t) {{ const double w = {cw}[i * {w_out} + jt + t]; "
            f"for (int b = 0; b < B; ++b) acc[t][b] += {a}[i][b] * w; }} "
            f"for (int t = 0; t < {tile}; ++t) for (int b = 0; b < B; ++b) {o}[jt + t][b] = acc[t][b]; }}")
    elif kind == "quant":
        factor, rounding, overflow, lo, hi, span, _ = params
        v = f"{a}[j][b]" + (f" * {_lit(factor)}" if factor != 1.0 else "")
        g.body.append(f"{loop} {{ double y = {_round(v, rounding)}; "
                      + " ".join(_limit("y", overflow, _lit(lo), _lit(hi), _lit(span))) + f" {o}[j][b] = y; }}")
    elif kind == "quant_elem":
        factor, e, rescale, _ = params
        full = lambda arr: np.broadcast_to(np.asarray(arr, np.float64), (w_out,))  # noqa: E731
        v = f"{a}[j][b]" + (f" * {g.const(full(factor))}[j]" if factor is not None else "")
        lo, hi, span, live = (g.const(full(x)) for x in (e.lo, e.hi, e.span, e.live))
        stmt = f"double y = {_round(v, e.rounding)}; " + " ".join(
            _limit("y", e.overflow, f"{lo}[j]", f"{hi}[j]", f"{span}[j]"))
        if e.overflow is Overflow.WRAP:
            stmt += f" y *= {live}[j];"
        if rescale is not None:
            stmt += f" y *= {g.const(full(rescale))}[j];"
        g.body.append(f"{loop} {{ {stmt} {o}[j][b] = y; }}")
    elif kind == "relu":
        g.body.append(f"{loop} {o}[j][b] = {a}[j][b] < 0.0 ? 0.0 : {a}[j][b];")  # NaN passes through, as np.maximum
    elif kind == "QMultiply":
        g.body.append(f"{loop} {o}[j][b] = {a}[j][b] * {names[ins[1]]}[j][b];")
    elif kind == "lut":  # the input is on its quantizer's grid: an exact integer index
        table, lo, factor = params
        v = f"{a}[j][b]" + (f" * {_lit(factor)}" if factor != 1.0 else "")
        g.body.append(f"{loop} {o}[j][b] = {g.const(table)}[(long)({v} - {_lit(lo)})];")
    elif kind in ("QAdd", "QSubtract"):
        fa, fb = params
        op = "+" if kind == "QAdd" else "-"
        g.body.append(f"{loop} {o}[j][b] = {a}[j][b] * {_lit(fa)} {op} {names[ins[1]]}[j][b] * {_lit(fb)};")
    else:
        raise ValueError(f"plan step {kind!r} has no native kernel")


BLOCK = 8  # events per vector block (one AVX-512 register of doubles)
TILE = 4  # outputs of a dense layer accumulated together
MAX_WEIGHTS = 200_000  # larger networks: BLAS is the better engine, and the source would take long to compile


def kernel_source(plan, out_unit, input_id, output_id, shapes) -> str:
    """C source of the fused kernel: ``run_f32``/``run_f64(const T *x, double *y, long n)``."""
    n_weights = sum(np.size(p[0]) for k, _, _, p in plan if k == "dense")
    if n_weights > MAX_WEIGHTS:
        raise ValueError(f"{n_weights} weights: more than the {MAX_WEIGHTS} compiled into a kernel (numpy/BLAS instead)")
    g = _Gen()
    n_in, n_out = _width(shapes, input_id), _width(shapes, output_id)
    names = {input_id: "t0"}
    g.body.append(f"double t0[{n_in}][B]; for (int j = 0; j < {n_in}; ++j) for (int b = 0; b < B; ++b) "
                  f"t0[j][b] = b < nb ? (double)x[b * {n_in} + j] : 0.0;")
    for kind, out, ins, params in plan:
        if any(shapes[i] != shapes[ins[0]] for i in ins[1:]):
            raise ValueError(f"{kind}: operands of different shapes (broadcasting) have no native kernel")
        _emit(g, kind, out, ins, params, names, shapes)
    res = names[output_id]
    scale = f" * {_lit(out_unit)}" if out_unit != 1.0 else ""
    g.body.append(f"for (int b = 0; b < nb; ++b) for (int j = 0; j < {n_out}; ++j) y[b * {n_out} + j] = {res}[j][b]{scale};")
    body = "\n    ".join(g.body)
    block = lambda t: (f"static inline void block_{t}(const {t} *restrict x, double *restrict y, int nb) {{\n"  # noqa: E731
                       f"    {body}\n}}\n")
    run = lambda t, c: (f"void run_{c}(const {t} *restrict x, double *restrict y, long n) {{\n"  # noqa: E731
                        f"    long e = 0;\n    for (; e + B <= n; e += B) block_{t}(x + e * {n_in}, y + e * {n_out}, B);\n"
                        f"    if (e < n) block_{t}(x + e * {n_in}, y + e * {n_out}, (int)(n - e));\n}}\n")
    return ("/* generated by emulation/fast_kernel.py: the fast emulator's plan, fused */\n#include <math.h>\n"
            f"#define B {BLOCK}\n" + "\n".join(g.decl) + "\n" + block("float") + block("double")
            + run("float", "f32") + run("double", "f64"))


def _cache_dir() -> Path:
    d = os.environ.get("LHC_TRIGGER_KERNEL_CACHE")
    return Path(d) if d else Path(tempfile.gettempdir()) / f"lhc-trigger-fast-kernels-{os.getuid()}"


def compile_source(src: str) -> Path:
    """The shared library of ``src`` (compiled once per source and compiler flags; cached, written atomically)."""
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise RuntimeError("no C compiler (gcc/cc) found")
    key = hashlib.sha256("\n".join([KERNEL_VERSION, cc, *CFLAGS, src]).encode()).hexdigest()[:24]
    d = _cache_dir()
    so = d / f"fast_{key}.so"
    if so.is_file():
        return so
    d.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        c = Path(tmp) / "k.c"
        c.write_text(src)
        p = subprocess.run([cc, *CFLAGS, "-o", str(Path(tmp) / "k.so"), str(c), "-lm"], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"{cc} failed on the fast kernel: {p.stderr[-2000:]}")
        os.replace(Path(tmp) / "k.so", so)
    return so


class NativeKernel:
    """``kernel(x, out)``: the fused plan over every row of ``x`` (float32 or float64, C-contiguous) into ``out``."""

    def __init__(self, so: Path, n_in: int, n_out: int):
        lib = ctypes.CDLL(str(so))
        self._lib, self.n_in, self.n_out, self.path = lib, n_in, n_out, so
        self._fns = {}
        for t, dt in (("f32", np.float32), ("f64", np.float64)):
            f = getattr(lib, f"run_{t}")
            f.restype = None
            f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
            self._fns[np.dtype(dt)] = f

    def __call__(self, x: np.ndarray, out: np.ndarray) -> None:
        if x.dtype not in self._fns:
            x = x.astype(np.float64)
        x = np.ascontiguousarray(x)
        assert out.dtype == np.float64 and out.flags.c_contiguous and out.shape == (len(x), self.n_out)
        self._fns[x.dtype](x.ctypes.data, out.ctypes.data, len(x))  # ctypes releases the GIL: threads run in parallel


def native_kernel(plan, out_unit, input_id, output_id, shapes) -> tuple[NativeKernel | None, str]:
    """(kernel, "") or (None, the reason the numpy path is used)."""
    try:
        src = kernel_source(plan, out_unit, input_id, output_id, shapes)
        so = compile_source(src)
        return NativeKernel(so, shapes[input_id][1], shapes[output_id][1]), ""
    except (ValueError, RuntimeError, OSError) as exc:
        return None, f"{type(exc).__name__}: {exc}"
