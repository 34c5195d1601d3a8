"""One object per generated HLS project directory: build (convert + compile) -> metadata -> emulate.

``build_project`` converts a quantized Keras model with hls4ml (Vitis backend, bit-exact pass) into a
fresh temporary directory next to the destination, compiles the C-simulation with g++, and only then
swaps it into place (``hls.transaction.ProjectTransaction``: locked, the replaced project kept in
``.previous/``, a failed build kept in ``.failed/``).  A build run through the flow writes into the flow's
own staging directory instead (``in_place=True``): the flow swaps the whole project (golden vectors and
report included) in at its very end.

The compiled C-simulation finds its weights beside its own shared library (``dladdr``), so a project
directory can be built aside and renamed into place, or moved, without recompiling.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np

from .config import HLSConfig, check_reuse_factor

METADATA_FILE = "metadata.json"
METADATA_SCHEMA = 1


def dense_shapes(keras_model) -> dict[str, tuple[int, int]]:
    """(n_in, n_out) of every layer with a kernel as hls4ml validates its reuse factor: Dense (n_in, n_out); Conv1D /
    Conv2D (kernel size x channels, filters), hls4ml's ``get_layer_mult_size``."""
    shapes = {}
    for layer in keras_model.layers:
        k = getattr(layer, "kernel", None)
        if k is not None and len(k.shape) >= 2:
            shapes[layer.name] = (int(np.prod(k.shape[:-1])), int(k.shape[-1]))
    return shapes


def _hls4ml_config(keras_model, cfg: HLSConfig) -> dict:
    import hls4ml

    hcfg = hls4ml.utils.config_from_keras_model(keras_model, granularity="name", backend=cfg.backend)
    hcfg["Model"]["ReuseFactor"] = cfg.reuse_factor
    hcfg["Model"]["Strategy"] = cfg.strategy.value
    for layer_cfg in hcfg.get("LayerName", {}).values():
        if "ReuseFactor" in layer_cfg:
            layer_cfg["ReuseFactor"] = cfg.reuse_factor
    for ls in cfg.layers:  # per-layer settings (their precisions are in the model's quantizers already)
        layer_cfg = hcfg.setdefault("LayerName", {}).setdefault(ls.name, {})
        if ls.reuse_factor is not None:
            layer_cfg["ReuseFactor"] = ls.reuse_factor
        if ls.strategy is not None:
            layer_cfg["Strategy"] = ls.strategy.value
    return hcfg


def check_layer_names(keras_model, cfg: HLSConfig) -> None:
    """Per-layer settings must name layers of the model (a typo would silently do nothing)."""
    names = [layer.name for layer in keras_model.layers]
    unknown = [ls.name for ls in cfg.layers if ls.name not in names]
    if unknown:
        raise ValueError(f"LayerName: {unknown} are not layers of the deployable model; its layers: {names}")


BATCH_SUFFIX = "_batch_double"


def add_batch_entry_point(project_dir: Path, project_name: str, n_in: int, n_out: int) -> None:
    """Append ``<project>_batch_double(in, out, n)`` to the C-simulation bridge: the same hls4ml C++ per event,
    looped in C++ instead of Python (one ctypes call per chunk of events)."""
    bridge = Path(project_dir) / f"{project_name}_bridge.cpp"
    text = bridge.read_text()
    if BATCH_SUFFIX in text:
        return
    text += (
        "\n// added by hls/project.py: batch entry point for the bit-accurate emulator\n"
        'extern "C" {\n'
        f"void {project_name}{BATCH_SUFFIX}(double *in, double *out, long n) {{\n"
        "    if (n <= 0) return;\n"
        "    // first event alone: it initialises the C-simulation's static state (weights, tables)\n"
        f"    {project_name}_double(in, out);\n"
        "    #pragma omp parallel for schedule(static)\n"
        f"    for (long i = 1; i < n; ++i) {project_name}_double(in + i * {n_in}, out + i * {n_out});\n"
        "}\n}\n"
    )
    bridge.write_text(text)


WEIGHTS_HEADER = "firmware/hls_weights_dir.h"
_WEIGHTS_HEADER_TEXT = """// added by hls/project.py: the C-simulation reads its weights from firmware/weights beside its own
// shared library (firmware/*.so), wherever the project directory lives (built aside, renamed into place).
#pragma once
#include <dlfcn.h>
#include <string>
static inline std::string hls_weights_dir() {
    Dl_info info;
    if (dladdr((void *)&hls_weights_dir, &info) && info.dli_fname) {
        std::string so(info.dli_fname);
        std::string::size_type slash = so.rfind('/');
        if (slash != std::string::npos) return so.substr(0, slash) + "/weights";
    }
    return "firmware/weights";
}
"""


def compile_csim(project_dir: Path, weights_base: Path | None = None) -> None:
    """Compile the C-simulation with the project's own ``build_lib.sh`` (g++).

    The weights directory is not baked in as an absolute path: ``WEIGHTS_DIR`` is ``hls_weights_dir()``
    (``firmware/weights`` beside the loaded library, see :data:`WEIGHTS_HEADER`), so the project can be
    moved.  ``weights_base`` is accepted for compatibility and ignored.
    """
    project_dir = Path(project_dir)
    script = (project_dir / "build_lib.sh").read_text()
    (project_dir / WEIGHTS_HEADER).write_text(_WEIGHTS_HEADER_TEXT)
    lines = ['WEIGHTS_DIR="hls_weights_dir()"' if l.startswith("WEIGHTS_DIR=") else l for l in script.splitlines()]
    script = "\n".join(lines) + "\n"
    script = script.replace('INCFLAGS="-Ifirmware/ap_types/"', f'INCFLAGS="-Ifirmware/ap_types/ -include {WEIGHTS_HEADER}"')
    if WEIGHTS_HEADER not in script or 'WEIGHTS_DIR="hls_weights_dir()"' not in script:
        raise RuntimeError(f"{project_dir / 'build_lib.sh'} is not laid out as hls.project.compile_csim expects "
                           "(INCFLAGS= and WEIGHTS_DIR= lines): the hls4ml version changed its build script")
    # OpenMP for the batch entry point (events are independent)
    script = script.replace('CFLAGS="-O3 -fPIC"', 'CFLAGS="-O3 -fPIC -fopenmp"')
    script = _parallel_objects(script)
    for old in (project_dir / "firmware").glob("*.so"):
        old.unlink()
    r = subprocess.run(["bash", "-s"], input=script, cwd=project_dir, capture_output=True, text=True)
    (project_dir / "build_lib.log").write_text(r.stdout + r.stderr)
    if r.returncode != 0:
        raise RuntimeError(f"C-simulation compile failed (g++; full log: build_lib.log of the failed build):\n{r.stderr[-2000:]}")


def _parallel_objects(script: str) -> str:
    """The build script with its object files (``-c`` lines: the network, the bridge) compiled concurrently: each
    waited for by pid before the link, so a failed compile still stops the script (``set -e``)."""
    lines = script.splitlines()
    compiles = [i for i, l in enumerate(lines) if l.startswith("${CC}") and " -c " in l]
    link = [i for i, l in enumerate(lines) if l.startswith("${CC}") and " -shared " in l]
    if len(compiles) < 2 or not link or link[0] < compiles[-1]:
        return script
    for i in compiles:
        lines[i] += " & PIDS+=($!)"
    lines.insert(link[0], 'for p in "${PIDS[@]}"; do wait "$p"; done')
    return "\n".join(lines) + "\n"


def _library_name(project_dir: Path, project_name: str) -> str:
    libs = sorted((project_dir / "firmware").glob(f"{project_name}-*.so"), key=lambda p: p.stat().st_mtime)
    if not libs:
        raise FileNotFoundError(f"no compiled C-simulation library firmware/{project_name}-*.so in {project_dir}")
    return str(libs[-1].relative_to(project_dir))


def _flat_size(tensor) -> int:
    """Values per event of a tensor (io_parallel passes multi-dimensional inputs flattened, channels last)."""
    return int(np.prod([int(d) for d in tensor.shape[1:]]))


def build_project(keras_model, cfg: HLSConfig, out_dir: Path, metadata: dict,
                  in_place: bool = False) -> tuple[Path, float, float]:
    """Convert + compile, write metadata.json: into a staging directory swapped into ``out_dir`` at the end
    (``hls.transaction``), or, with ``in_place``, straight into ``out_dir`` (an empty staging directory
    owned by the caller's transaction).

    Returns (project_dir, convert_seconds, compile_seconds).  hls4ml's ``compile`` writes and builds in one
    call, so the split is measured by timing ``write`` separately.
    """
    from .transaction import OutputBusy, ProjectTransaction

    if in_place:
        return _write_and_compile(keras_model, cfg, Path(out_dir), metadata)
    txn = ProjectTransaction(out_dir)  # refuses an --output under a regular file
    try:
        with txn:
            _, t_conv, t_comp = _write_and_compile(keras_model, cfg, txn.staging, metadata)
            txn.commit()
    except OutputBusy:
        raise
    except Exception as exc:
        raise RuntimeError(
            f"hls4ml conversion/compile failed ({exc.__class__.__name__}: {exc}); the previous project in "
            f"{txn.out_dir} is untouched; the failed build is kept in {txn.failed_dir}") from exc
    return txn.out_dir, t_conv, t_comp


def _write_and_compile(keras_model, cfg: HLSConfig, dest: Path, metadata: dict) -> tuple[Path, float, float]:
    import hls4ml

    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    check_layer_names(keras_model, cfg)
    check_reuse_factor(cfg.reuse_factor, dense_shapes(keras_model),
                       {ls.name: ls.reuse_factor for ls in cfg.layers if ls.reuse_factor is not None})
    hcfg = _hls4ml_config(keras_model, cfg)
    log = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(log), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        hm = hls4ml.converters.convert_from_keras_model(
            keras_model,
            hls_config=hcfg,
            output_dir=str(dest),
            project_name=cfg.project_name,
            backend=cfg.backend,
            io_type=cfg.io_type.value,
            part=cfg.part,
            clock_period=cfg.clock_period_ns,
        )
        hm.write()
    t1 = time.perf_counter()
    hls_warnings = _surface_warnings(caught)
    (dest / "hls4ml_convert.log").write_text(log.getvalue() + "".join(f"WARNING: {w}\n" for w in hls_warnings))
    add_batch_entry_point(dest, cfg.project_name, _flat_size(keras_model.inputs[0]), _flat_size(keras_model.outputs[0]))
    compile_csim(dest)
    t2 = time.perf_counter()
    (dest / "model").mkdir(exist_ok=True)
    keras_model.save(dest / "model" / "deployable.keras")
    md = dict(metadata)
    md.update(
        schema_version=METADATA_SCHEMA,
        hls=cfg.to_dict(),
        csim_library=_library_name(dest, cfg.project_name),
        weights_dir=WEIGHTS_DIR_REL,
        n_inputs=_flat_size(keras_model.inputs[0]),
        n_outputs=_flat_size(keras_model.outputs[0]),
        created_unix=time.time(),
        hls4ml_warnings=hls_warnings,
    )
    (dest / METADATA_FILE).write_text(json.dumps(md, indent=2, sort_keys=True))
    return dest, t1 - t0, t2 - t1


_WARNING_NOTES = {
    "Bit-exactness may be compromised": (
        "hls4ml's range analysis met a bound that is not on its quantizer's grid (typically a BatchNorm folded "
        "into a Dense/Conv kernel, or two consecutive quantizers); the build's emulator-vs-Keras comparison "
        "says whether bit-exactness holds for this model"),
}


def _surface_warnings(caught) -> list[str]:
    """hls4ml's warnings during conversion, each printed once with what it means (and kept in metadata.json)."""
    out = []
    for w in caught:
        msg = " ".join(str(w.message).split())
        if msg in out:
            continue
        out.append(msg)
        note = next((n for k, n in _WARNING_NOTES.items() if k in msg), None)
        print(f"[hls4ml] warning: {msg}" + (f"\n[hls4ml]   meaning: {note}" if note else ""), flush=True)
    return out


WEIGHTS_DIR_REL = "firmware/weights"  # metadata "weights_dir": relative to the project (older projects: absolute)


def _swap_into_place(tmp: Path, out_dir: Path) -> None:
    """Swap a finished directory into ``out_dir`` (kept for callers outside the flow; see hls.transaction)."""
    from .transaction import ProjectTransaction

    txn = ProjectTransaction(out_dir)
    txn.staging = Path(tmp)
    txn._acquire()
    try:
        txn.commit()
    finally:
        txn._release()


DIGEST_GLOBS = ("firmware/*.cpp", "firmware/*.h", "firmware/weights/*", "*_bridge.cpp", "build_lib.sh",
                "tb_data/*.dat", "model/*.keras", "model/*.npz",
                "model/*.json")


def file_digests(project_dir: Path) -> dict[str, str]:
    """sha256 of the files that define the firmware and its golden vectors (relative path -> hex)."""
    import hashlib

    project_dir = Path(project_dir)
    out = {}
    for pattern in DIGEST_GLOBS:
        for f in sorted(project_dir.glob(pattern)):
            if f.is_file():
                out[str(f.relative_to(project_dir))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def write_golden_vectors(project_dir: Path, x: np.ndarray, y: np.ndarray, provenance: dict) -> None:
    """hls4ml testbench layout: one event per line, space separated (inputs at the firmware's input port)."""
    project_dir = Path(project_dir)
    tb = project_dir / "tb_data"
    tb.mkdir(exist_ok=True)
    np.savetxt(tb / "tb_input_features.dat", np.asarray(x, dtype=np.float64), fmt="%.17g")
    np.savetxt(tb / "tb_output_predictions.dat", np.asarray(y, dtype=np.float64).reshape(len(y), -1), fmt="%.17g")
    md = read_metadata(project_dir)
    md["golden_vectors"] = {"n_events": int(len(x)), **provenance}
    md["file_sha256"] = file_digests(project_dir)
    (project_dir / METADATA_FILE).write_text(json.dumps(md, indent=2, sort_keys=True))


def read_metadata(project_dir: Path) -> dict:
    p = Path(project_dir) / METADATA_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{p} not found: {project_dir} is not a project built by build_hls.py")
    return json.loads(p.read_text())


def output_lsb(project_dir: Path) -> float | None:
    """LSB of the firmware's output type, read from the generated ``defines.h`` (``result_t``)."""
    import re

    from quantize.precision import Precision

    defines = (Path(project_dir) / "firmware" / "defines.h").read_text()
    m = re.search(r"typedef\s+(ap_u?fixed<[^>]*>)\s+result_t\s*;", defines)
    if not m:
        return None
    return Precision.parse(m.group(1)).step


def tool_versions() -> dict:
    """Versions of the tools a project depends on (stamped into metadata.json and the report)."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for pkg in ("keras", "tensorflow-cpu", "hgq2", "hls4ml", "da4ml", "numpy"):
        try:
            out[pkg.replace("-cpu", "")] = version(pkg)
        except PackageNotFoundError:
            out[pkg.replace("-cpu", "")] = None
    return out
