"""Emulator benchmark: events per second and peak memory of every emulator, on the same events.

    python -m emulation.bench --model vae21 --events 2000000 [--json FILE]

What it does:

1. uses the model's firmware project (``firmware_projects/<model>``, or ``--project DIR``); when there is
   none it builds one first with the default ``build_hls.py`` configuration;
2. generates ``--events`` SM-cocktail events chunk by chunk (``data.generator``), computes their features,
   applies the project's standardisation (``metadata.json``) and streams them into an HDF5 file in a
   temporary directory, so memory never holds more than one chunk of events;
3. runs every emulator in its **own process** (spawned, so each one's peak resident memory is its own),
   streaming the HDF5 file in chunks of ``--chunk`` events: the float Keras model (the deployable graph with
   every quantizer removed), the same float graph in numpy float32 (``emulation.float_numpy``, 2 BLAS threads: the
   memory-bound reference), the quantized Keras model in float64 (exact fixed-point sums; XLA-compiled as the
   builds' reference), the hls4ml C-simulation (OpenMP batch entry point,
   all cores), the fast emulator with 1 and with 2 BLAS threads, da4ml's interpreter on the da4ml-traced model
   (``emulation.da4ml_interp``; reported as not run for a model da4ml cannot trace, e.g. RND_CONV rounding), and
   the RTL simulation when the project has one (``emulation.rtl``);
4. checks that the bit-exact emulators agree event by event (fast == C-sim == float64 Keras exactly, see
   :mod:`emulation.agreement`) and prints events/s, peak RSS and the ratios
   fast/csim and fast/float-Keras.

Events/s counts the streaming loop (HDF5 read + inference + storing the outputs), not the model load or
compilation.  ``peak_rss_mb`` is the process's peak resident set (``getrusage``), including the imported
libraries; ``baseline_rss_mb`` is the resident set after loading the model and before the first event, so
``peak - baseline`` is what the events cost.  ``--csim-events`` limits the C-simulation (the slowest) to the
first N events; its rate is measured on those.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ------------------------------------------------------------------------------------------------
def _feature_function(n_features: int):
    """SM events -> the model's inputs: the 21 HLT features or the 57 L1 inputs."""
    if n_features == 21:
        from data.features import compute_hlt21

        return lambda ev, rng: compute_hlt21(ev)
    if n_features == 57:
        from data.l1 import l1_particles, particles_to_features

        return lambda ev, rng: particles_to_features(l1_particles(ev, rng))
    raise ValueError(f"the benchmark generates HLT21 (21) or L1 (57) events; the project has {n_features} inputs")


def write_events_h5(path: Path, n: int, mean: np.ndarray, std: np.ndarray, seed: int, chunk: int = 250_000) -> float:
    """Stream ``n`` standardised SM-cocktail events (HLT21 or L1 inputs, by the width of ``mean``) into ``path``
    (dataset ``x``, float32)."""
    import h5py

    from data.generator import generate_sm_cocktail

    if _is_jets(mean):
        return _write_jets_h5(path, n, mean, std, seed, chunk)
    if len(mean) == 1:  # one channel: the calorimeter-region images of ``cicada``
        return _write_calo_h5(path, n, mean, std, seed, chunk)
    features = _feature_function(len(mean))
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("x", shape=(n, len(mean)), dtype="f4", chunks=(min(chunk, max(n, 1)), len(mean)))
        for s in range(0, n, chunk):
            m = min(chunk, n - s)
            ev, _ = generate_sm_cocktail(m, rng)
            ds[s:s + m] = ((features(ev, rng) - mean) / std).astype(np.float32)
    return time.perf_counter() - t0


def _is_jets(mean: np.ndarray) -> bool:
    """A jet tagger's project (``deepsets``/``efn``): per-constituent-feature scaling of (N, F) inputs."""
    from data.jets import N_FEAT

    return len(mean) == N_FEAT


def _write_jets_h5(path: Path, n: int, mean: np.ndarray, std: np.ndarray, seed: int, chunk: int) -> float:
    """``n`` q/g jets (data.jets, (n, N, F) as the model's input) scaled like the build, streamed into ``path``."""
    import h5py

    from data.jets import N_CONST, N_FEAT, generate_jets

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("x", shape=(n, N_CONST, N_FEAT), dtype="f4")
        for s in range(0, n, chunk):
            m = min(chunk, n - s)
            ds[s:s + m] = ((generate_jets("qcd", m, rng) - mean) / std).astype(np.float32)
    return time.perf_counter() - t0


def _write_calo_h5(path: Path, n: int, mean: np.ndarray, std: np.ndarray, seed: int, chunk: int) -> float:
    """``n`` SM-cocktail region images (data.calo, (n, 18, 14, 1) ET counts as the build's input) scaled like the
    build, streamed into ``path``."""
    import h5py

    from data.calo import IMAGE_SHAPE, calo_images
    from data.generator import generate_sm_cocktail

    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    with h5py.File(path, "w") as f:
        ds = f.create_dataset("x", shape=(n, *IMAGE_SHAPE, 1), dtype="f4")
        for s in range(0, n, chunk):
            m = min(chunk, n - s)
            img = calo_images(generate_sm_cocktail(m, rng)[0], rng).astype(np.float32)[..., None]
            ds[s:s + m] = ((img - mean) / std).astype(np.float32)
    return time.perf_counter() - t0


def stream_predict(predict, h5_path: Path, n: int | None, chunk: int, n_out: int) -> np.ndarray:
    """``predict`` over the HDF5 dataset ``x`` chunk by chunk; only the outputs are kept in memory."""
    import h5py

    with h5py.File(h5_path, "r") as f:
        x = f["x"]
        n = len(x) if n is None else min(n, len(x))
        out = np.empty((n, n_out), dtype=np.float64)
        for s in range(0, n, chunk):
            e = min(s + chunk, n)
            out[s:e] = np.asarray(predict(x[s:e]), dtype=np.float64).reshape(e - s, -1)
    return out


def float_equivalent(deploy):
    """The deployable graph with every quantizer removed (float32 Keras): QDense -> Dense with the same raw
    weights, unsigned quantizers -> ReLU, signed quantizers -> identity, QMultiply/QAdd/QSubtract -> their
    Keras counterparts.  Used as the float model's speed reference."""
    import keras

    from quantize.qkeras import precision_of_quantizer_layer

    def clone(layer):
        cls = layer.__class__.__name__
        if cls == "QDense":
            return keras.layers.Dense(layer.units, use_bias=layer.bias is not None, name=layer.name)
        if cls == "Quantizer":
            p = precision_of_quantizer_layer(layer)
            return keras.layers.ReLU(name=layer.name) if p is not None and not p.signed else \
                keras.layers.Activation("linear", name=layer.name)
        if cls in ("QMultiply", "QAdd", "QSubtract"):
            return {"QMultiply": keras.layers.Multiply, "QAdd": keras.layers.Add,
                    "QSubtract": keras.layers.Subtract}[cls](name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    fm = keras.models.clone_model(deploy, clone_function=clone)
    for layer in deploy.layers:
        if layer.__class__.__name__ == "QDense":
            w = [np.asarray(layer.kernel)] + ([np.asarray(layer.bias)] if layer.bias is not None else [])
            fm.get_layer(layer.name).set_weights(w)
    return fm


# ------------------------------------------------------------------------------------------------
def _rss_mb(peak: bool) -> float:
    with open("/proc/self/statm") as f:
        now = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    if peak:
        import resource

        # the kernel's high-water mark lags the per-thread RSS counters by up to 64 pages a thread: never below now
        return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, now)  # Linux: KiB
    return now


def _child(kind: str, project_dir: str, h5_path: str, n: int | None, chunk: int, out_path: str, queue) -> None:
    try:
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        sys.path.insert(0, str(ROOT))
        project = Path(project_dir)
        if kind in ("float", "float_numpy", "keras", "fast", "da4ml"):
            from quantize.hgq_native import load_deployable  # native HGQ2 layers keep their input quantizers

            deploy = load_deployable(project / "model" / "deployable.keras")
        if kind == "float":
            m = float_equivalent(deploy)
            predict = lambda x: m.predict_on_batch(np.asarray(x, np.float32))  # noqa: E731
            n_out = int(m.outputs[0].shape[-1])
        elif kind == "float_numpy":
            from emulation.float_numpy import FloatNumpy

            m = FloatNumpy(deploy)
            predict, n_out = m.predict, m.n_outputs
        elif kind == "keras":  # the quantized model in float64 (exact fixed-point sums), XLA-compiled as in builds
            from emulation.keras_ref import CompiledPredictor, float64_model

            run64 = CompiledPredictor(float64_model(deploy), batch_size=chunk)
            predict = lambda x: run64(np.asarray(x, np.float64))  # noqa: E731
            n_out = int(deploy.outputs[0].shape[-1])
        elif kind == "fast":
            from emulation.fast import FastEmulator

            emu = FastEmulator(deploy, threads=int(os.environ.get("OMP_NUM_THREADS", "0")) or None)
            predict, n_out = emu.predict, emu.n_outputs
        elif kind == "da4ml":
            from emulation.da4ml_interp import Da4mlEmulator

            emu = Da4mlEmulator(deploy, threads=int(os.environ.get("OMP_NUM_THREADS", "0")))
            predict, n_out = emu.predict, emu.n_outputs
        elif kind == "csim":
            from emulation.csim import CSimEmulator

            emu = CSimEmulator(project)
            predict, n_out = emu.predict, emu.n_outputs
        elif kind == "rtl":
            from emulation.rtl import RTLEmulator

            emu = RTLEmulator(project)
            predict, n_out = emu.predict, int(getattr(emu, "n_outputs", 1))
        else:
            raise ValueError(kind)
        # warm-up on a few events (graph tracing, library loading), not timed
        import h5py

        with h5py.File(h5_path, "r") as f:
            predict(f["x"][: min(256, len(f["x"]))])
        base = _rss_mb(peak=False)
        t0 = time.perf_counter()
        y = stream_predict(predict, Path(h5_path), n, chunk, n_out)
        dt = time.perf_counter() - t0
        np.save(out_path, y)
        queue.put({"ok": True, "n_events": len(y), "seconds": dt, "events_per_s": len(y) / dt,
                   "peak_rss_mb": round(_rss_mb(peak=True), 1), "baseline_rss_mb": round(base, 1)})
    except Exception as exc:  # reported, not raised: the other emulators still run
        queue.put({"ok": False, "error": f"{exc.__class__.__name__}: {exc}"})


def run_one(kind: str, project_dir: Path, h5_path: Path, n: int | None, chunk: int, out_path: Path,
            threads: int | None = None, timeout: float = 3600) -> dict:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    saved = {k: os.environ.get(k) for k in THREAD_VARS}
    if threads is not None:
        for k in THREAD_VARS:
            os.environ[k] = str(threads)
    try:
        p = ctx.Process(target=_child, args=(kind, str(project_dir), str(h5_path), n, chunk, str(out_path), q))
        p.start()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    try:
        res = q.get(timeout=timeout)
    except Exception:
        res = {"ok": False, "error": f"no result within {timeout} s (exit code {p.exitcode})"}
    p.join(timeout=30)
    if p.exitcode not in (0, None) and res.get("ok"):
        res = {"ok": False, "error": f"process exited with code {p.exitcode}"}
    if threads is not None:
        res["threads"] = threads
    return res


# ------------------------------------------------------------------------------------------------
def _ensure_project(model: str, project: Path | None) -> Path:
    from flow import BuildConfig, run_build

    cfg = BuildConfig(model=model)
    project = Path(project) if project is not None else cfg.resolved_output_dir()
    if (project / "metadata.json").is_file() and (project / "model" / "deployable.keras").is_file():
        return project
    if not (model and cfg.model):
        raise FileNotFoundError(f"{project} is not a built project")
    print(f"[bench] no project in {project}: building it with the default configuration first", flush=True)
    run_build(BuildConfig(model=model, output_dir=project, companion=False))
    return project


def run_bench(model: str, n_events: int, project: Path | None = None, chunk: int = 65536,
              csim_events: int | None = None, seed: int = 2026, with_rtl: bool = True) -> dict:
    from hls.project import read_metadata

    project = _ensure_project(model, project)
    md = read_metadata(project)
    st = md.get("standardization") or {}
    n_feat = int(md["n_inputs"])
    mean = np.asarray(st.get("mean", np.zeros(n_feat)), np.float32)
    std = np.asarray(st.get("std", np.ones(n_feat)), np.float32)
    if not _is_jets(mean) and len(mean) != 1:  # jets and calorimeter images have their own writers
        _feature_function(n_feat)  # refuses other input widths before any work
    results: dict = {"model": model, "project_dir": str(project), "n_events": n_events, "chunk": chunk,
                     "cpu_count": os.cpu_count(), "emulators": {}}
    with tempfile.TemporaryDirectory(prefix="emubench-") as tmp:
        tmp = Path(tmp)
        h5 = tmp / "events.h5"
        t = write_events_h5(h5, n_events, mean, std, seed)
        results["data_seconds"] = round(t, 2)
        print(f"[bench] {n_events} SM events generated and streamed to HDF5 in {t:.1f} s", flush=True)
        plan = [("float", "float", None, None), ("float_numpy", "float_numpy", 2, None), ("keras", "keras", None, None),
                ("csim", "csim", None, csim_events),
                ("fast_1thread", "fast", 1, None), ("fast", "fast", 2, None), ("da4ml", "da4ml", 2, None)]
        rtl_dir = project / "rtl"
        if with_rtl:
            plan.append(("rtl", "rtl", None, csim_events))
        outputs = {}
        for key, kind, threads, n in plan:
            if kind == "rtl" and not rtl_dir.is_dir():
                results["emulators"][key] = {"ok": False, "error": f"no RTL in {rtl_dir} (build the project with RTL)"}
                print(f"[bench] {key:13s} skipped: {results['emulators'][key]['error']}", flush=True)
                continue
            out_path = tmp / f"{key}.npy"
            r = run_one(kind, project, h5, n, chunk, out_path, threads)
            results["emulators"][key] = r
            if r.get("ok"):
                outputs[key] = np.load(out_path)
                print(f"[bench] {key:13s} {r['n_events']:>9d} events  {r['events_per_s']:>12,.0f} ev/s  "
                      f"peak RSS {r['peak_rss_mb']:.0f} MB", flush=True)
            else:
                print(f"[bench] {key:13s} FAILED: {r['error']}", flush=True)
    results["agreement"] = _agreement(outputs)
    e = results["emulators"]
    rate = lambda k: e.get(k, {}).get("events_per_s") if e.get(k, {}).get("ok") else None  # noqa: E731
    results["ratios"] = {
        "fast_over_csim": rate("fast") / rate("csim") if rate("fast") and rate("csim") else None,
        "fast_over_float_keras": rate("fast") / rate("float") if rate("fast") and rate("float") else None,
        "fast_over_float_numpy": rate("fast") / rate("float_numpy") if rate("fast") and rate("float_numpy") else None,
        "fast_over_keras": rate("fast") / rate("keras") if rate("fast") and rate("keras") else None,
    }
    return results


def _agreement(outputs: dict) -> dict:
    from emulation.agreement import exact_agreement

    out = {}
    ref = outputs.get("fast")
    if ref is None:
        return out
    for k in ("csim", "fast_1thread", "rtl", "da4ml"):
        if k in outputs:
            n = len(outputs[k])
            out[f"fast_vs_{k}"] = {"n_events": n, "n_mismatched": int(np.count_nonzero(np.any(outputs[k] != ref[:n], axis=1)))}
    if "keras" in outputs:
        a = exact_agreement(ref[:, 0], outputs["keras"][:, 0])
        out["fast_vs_keras"] = {"n_events": a.n_events, "n_mismatched": a.n_mismatched,
                                "n_float32_rounding_only": a.n_differ_any - a.n_mismatched}
    return out


JSON_KEYS = {"float": "float", "float_numpy": "float_numpy", "keras": "keras", "csim": "csim", "fast": "fast", "rtl": "rtl",
             "fast_1thread": "fast_1thread", "da4ml": "da4ml"}


def to_json(results: dict) -> dict:
    """``--json``: figures keyed by emulator name, each with ``events_per_s`` and ``peak_rss_mb``."""
    out = {}
    for key, name in JSON_KEYS.items():
        r = results["emulators"].get(key)
        if r is None:
            continue
        out[name] = {"events_per_s": r.get("events_per_s"), "peak_rss_mb": r.get("peak_rss_mb"),
                     "baseline_rss_mb": r.get("baseline_rss_mb"), "n_events": r.get("n_events"),
                     "threads": r.get("threads"), "error": None if r.get("ok") else r.get("error")}
    out["ratios"] = results["ratios"]
    out["agreement"] = results["agreement"]
    out["meta"] = {k: results[k] for k in ("model", "project_dir", "n_events", "chunk", "cpu_count")}
    return out


def format_table(results: dict) -> str:
    rows = ["| emulator | events | events/s | peak RSS [MB] | RSS before events [MB] |", "|---|---|---|---|---|"]
    for key, r in results["emulators"].items():
        if r.get("ok"):
            rows.append(f"| {key} | {r['n_events']} | {r['events_per_s']:,.0f} | {r['peak_rss_mb']:.0f} | "
                        f"{r['baseline_rss_mb']:.0f} |")
        else:
            rows.append(f"| {key} | - | not run: {r['error']} | - | - |")
    lines = ["\n".join(rows), ""]
    for k, v in results["ratios"].items():
        lines.append(f"{k}: {v:.1f}x" if v else f"{k}: n/a")
    for k, v in results["agreement"].items():
        lines.append(f"{k}: {v['n_mismatched']} of {v['n_events']} events differ")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m emulation.bench", description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="vae21")
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--project", type=Path, default=None, help="project directory (default firmware_projects/<model>)")
    ap.add_argument("--chunk", type=int, default=65536, help="events per streamed chunk")
    ap.add_argument("--csim-events", type=int, default=None, help="limit the C-sim and RTL runs to the first N events")
    ap.add_argument("--no-rtl", action="store_true")
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    if a.events <= 0 or a.chunk <= 0:
        ap.error("--events and --chunk must be positive")
    res = run_bench(a.model, a.events, a.project, a.chunk, a.csim_events, a.seed, with_rtl=not a.no_rtl)
    print()
    print(format_table(res))
    if a.json:
        a.json.write_text(json.dumps(to_json(res), indent=2))
        print(f"JSON: {a.json}")
    bad = [k for k, v in res["agreement"].items() if v["n_mismatched"]]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
