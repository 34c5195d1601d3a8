"""Firmware regression check from a project directory alone (``build_hls.py check DIR``).

1. recompiles the C-simulation from the directory's sources in a temporary copy (the project itself is
   not modified);
2. runs it on the golden inputs ``tb_data/tb_input_features.dat`` and compares with
   ``tb_data/tb_output_predictions.dat`` (exact: both are the firmware's fixed-point values);
3. runs the model on the same inputs: the fast emulator's plan ``model/fast_plan.npz`` written by the build (exact,
   numpy only: no TensorFlow import), or with ``keras_model`` (``--keras``) / for a project without a plan the
   saved quantized Keras model ``model/deployable.keras`` (exact in float64, else within one float32 ulp, see
   :mod:`emulation.agreement`);
4. reports files changed since the build (sha256 recorded in ``metadata.json``) and tool-version drift.
Any mismatch fails the check.  ``to_junit`` renders the result as JUnit XML.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emulation.fast_plan import PLAN_FILE
from hls.project import compile_csim, file_digests, read_metadata

REQUIRED = ("metadata.json", "tb_data/tb_input_features.dat", "tb_data/tb_output_predictions.dat",
            "model/deployable.keras", "build_lib.sh", "firmware", "report/report.json")


@dataclass
class CheckCase:
    name: str
    passed: bool
    message: str
    details: dict = field(default_factory=dict)
    seconds: float = 0.0


@dataclass
class CheckResult:
    project_dir: str
    cases: list[CheckCase]
    version_drift: dict
    changed_files: list[str]

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.cases)


def _load_dat(path: Path, what: str) -> np.ndarray:
    try:
        a = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path} ({what}) is not a whitespace-separated table of numbers: {exc}") from None
    return a


def _compare(name: str, got: np.ndarray, ref: np.ndarray, lsb: float | None, float32_tol: bool) -> CheckCase:
    if got.shape != ref.shape:
        return CheckCase(name, False, f"shape {got.shape} != golden {ref.shape}")
    diff = np.abs(got - ref)
    tol = np.spacing(np.abs(ref).astype(np.float32)).astype(np.float64) if float32_tol else 0.0
    bad = np.any(diff > tol, axis=1)
    n = int(bad.sum())
    if n == 0:
        return CheckCase(name, True, f"{len(got)} events identical" + (" (within 1 float32 ulp)" if float32_tol else ""))
    worst = int(np.argmax(diff.max(axis=1)))
    d = float(diff[worst].max())
    msg = (f"{n} of {len(got)} events differ; worst event {worst}: got {got[worst].tolist()} expected "
           f"{ref[worst].tolist()} (|diff| {d:.6g}" + (f" = {d / lsb:.6g} LSB)" if lsb else ")"))
    return CheckCase(name, False, msg, {"n_mismatched": n, "worst_event": worst, "max_abs_diff": d,
                                        "max_diff_lsb": d / lsb if lsb else None})


def run_check(project_dir: Path, rtl: bool = False, keras_model: bool = False) -> CheckResult:
    """``rtl``: also run the project's RTL simulation (``<project>/rtl``, built with ``--rtl``) on the golden inputs.
    The model side is the fast emulator's saved plan (``model/fast_plan.npz``: numpy, no TensorFlow) when the project
    has one and ``keras_model`` is false, else the saved quantized Keras model."""
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    project_dir = Path(project_dir).resolve()
    if not project_dir.is_dir():
        raise FileNotFoundError(f"{project_dir} is not a directory")
    missing = [r for r in REQUIRED if not (project_dir / r).exists()]
    if missing:
        raise FileNotFoundError(
            f"{project_dir} is missing {', '.join(missing)}: it is not a complete project built by build_hls.py "
            "(rebuild it with `python build_hls.py --model ... --output DIR`)"
        )
    md = read_metadata(project_dir)
    x = _load_dat(project_dir / "tb_data/tb_input_features.dat", "golden inputs")
    y_ref = _load_dat(project_dir / "tb_data/tb_output_predictions.dat", "golden outputs")
    if len(x) != len(y_ref):
        raise ValueError(f"golden vectors disagree in length: {len(x)} inputs, {len(y_ref)} outputs")
    if x.shape[1] != md["n_inputs"]:
        raise ValueError(f"golden inputs have {x.shape[1]} columns, the project has {md['n_inputs']} inputs")

    from hls.project import output_lsb as _output_lsb, tool_versions

    lsb = _output_lsb(project_dir)
    recorded = md.get("file_sha256", {})
    now = file_digests(project_dir)
    changed = sorted(k for k in set(recorded) | set(now) if recorded.get(k) != now.get(k))
    cases: list[CheckCase] = []
    with tempfile.TemporaryDirectory(prefix="fwcheck-") as tmp:
        work = Path(tmp) / project_dir.name
        shutil.copytree(project_dir, work, ignore=shutil.ignore_patterns("*.so", "report", ".previous", ".failed"))
        t0 = time.perf_counter()
        try:
            compile_csim(work, weights_base=work)
            md_w = read_metadata(work)
            md_w["csim_library"] = str(next((work / "firmware").glob("*.so")).relative_to(work))
            md_w["weights_dir"] = "firmware/weights"
            (work / "metadata.json").write_text(__import__("json").dumps(md_w))
            cases.append(CheckCase("compile_csim", True, "C-simulation recompiled from the project sources",
                                   seconds=time.perf_counter() - t0))
        except RuntimeError as exc:
            cases.append(CheckCase("compile_csim", False, str(exc), seconds=time.perf_counter() - t0))
            return CheckResult(str(project_dir), cases, _drift(md, tool_versions()), changed)
        from emulation.csim import CSimEmulator

        t0 = time.perf_counter()
        y_csim = CSimEmulator(work).predict(x)
        c = _compare("csim_vs_golden", y_csim, y_ref, lsb, float32_tol=False)
        c.seconds = time.perf_counter() - t0
        cases.append(c)
    if rtl:
        cases.append(_rtl_case(project_dir, x, y_ref, lsb))
    plan = project_dir / PLAN_FILE
    if plan.is_file() and not keras_model:
        cases.append(_plan_case(plan, x, y_ref, lsb))
    else:
        cases.append(_keras_case(project_dir, md, x, y_ref, lsb))
    if changed:
        cases.append(CheckCase("files_unchanged", False,
                               "files changed since the build (sha256 differs from metadata.json): " + ", ".join(changed)))
    else:
        cases.append(CheckCase("files_unchanged", True, f"{len(now)} files match the build's sha256"))
    return CheckResult(str(project_dir), cases, _drift(md, tool_versions()), changed)


def _plan_case(plan: Path, x: np.ndarray, y_ref: np.ndarray, lsb: float | None) -> CheckCase:
    """The fast emulator's saved plan (numpy only, no TensorFlow) on the golden inputs: exact."""
    from emulation.fast_plan import load_plan

    t0 = time.perf_counter()
    emu = load_plan(plan, threads=1)
    c = _compare("fast_emulator_vs_golden", emu.predict(x.astype(np.float32).astype(np.float64)), y_ref, lsb,
                 float32_tol=False)
    c.seconds = time.perf_counter() - t0
    return c


def _keras_case(project_dir: Path, md: dict, x: np.ndarray, y_ref: np.ndarray, lsb: float | None) -> CheckCase:
    """The saved quantized Keras model on the golden inputs (imports TensorFlow): exact in float64, else within one
    float32 ulp."""
    t0 = time.perf_counter()
    import keras

    import qkeras.qlayers  # noqa: F401  (registers the layers)

    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy(md.get("keras_dtype_policy", policy.name))  # imported models are float64
    try:
        from quantize.hgq_native import load_deployable

        model = load_deployable(project_dir / "model/deployable.keras")
    finally:
        keras.config.set_dtype_policy(policy)
    from emulation.keras_ref import float64_model

    exact = model.dtype_policy.compute_dtype == "float64"
    if not exact:
        m64 = float64_model(model, allow_float32=True)  # exact sums, no tolerance; None: float32 and its ulp
        if m64 is not None:
            model, exact = m64, True
    x_in = x.astype(np.float32).astype(np.float64 if exact else np.float32)
    x_in = x_in.reshape((len(x), *[int(d) for d in model.inputs[0].shape[1:]]))  # io_parallel: flat
    y_keras = np.asarray(model.predict(x_in, verbose=0), dtype=np.float64).reshape(len(x), -1)
    c = _compare("keras_vs_golden", y_ref, y_keras, lsb, float32_tol=not exact)
    c.seconds = time.perf_counter() - t0
    return c


def _rtl_case(project_dir: Path, x: np.ndarray, y_ref: np.ndarray, lsb: float | None) -> CheckCase:
    t0 = time.perf_counter()
    if not (project_dir / "rtl").is_dir():
        return CheckCase("rtl_vs_golden", False, f"--rtl: the project has no RTL ({project_dir / 'rtl'}); build it with --rtl")
    try:
        from emulation.rtl import RTLEmulator

        y = RTLEmulator(project_dir).predict(x.reshape(len(x), -1))
    except (FileNotFoundError, RuntimeError, OSError) as exc:
        return CheckCase("rtl_vs_golden", False, f"RTL simulation not runnable: {exc}", seconds=time.perf_counter() - t0)
    c = _compare("rtl_vs_golden", y, y_ref, lsb, float32_tol=False)
    c.seconds = time.perf_counter() - t0
    return c


def _drift(md: dict, now: dict) -> dict:
    then = md.get("versions", {})
    return {k: {"build": then.get(k), "now": now.get(k)} for k in sorted(set(then) | set(now)) if then.get(k) != now.get(k)}


def to_junit(result: CheckResult) -> str:
    suite = ET.Element("testsuite", name=f"firmware-check {Path(result.project_dir).name}",
                       tests=str(len(result.cases)), failures=str(sum(not c.passed for c in result.cases)),
                       errors="0", time=f"{sum(c.seconds for c in result.cases):.3f}")
    props = ET.SubElement(suite, "properties")
    for k, v in result.version_drift.items():
        ET.SubElement(props, "property", name=f"version_drift.{k}", value=f"{v['build']} -> {v['now']}")
    for c in result.cases:
        tc = ET.SubElement(suite, "testcase", classname="firmware_check", name=c.name, time=f"{c.seconds:.3f}")
        if not c.passed:
            ET.SubElement(tc, "failure", message=c.message[:500]).text = c.message
        else:
            ET.SubElement(tc, "system-out").text = c.message
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True)


def junit_error(project_dir: Path, message: str) -> str:
    """A JUnit report of a check that could not run (``check`` exits 2): one errored test case."""
    suite = ET.Element("testsuite", name=f"firmware-check {Path(project_dir).name}", tests="1", failures="0",
                       errors="1", time="0.000")
    tc = ET.SubElement(suite, "testcase", classname="firmware_check", name="project_complete", time="0.000")
    ET.SubElement(tc, "error", message=message[:500]).text = message
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True)
