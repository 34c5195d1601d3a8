"""What runs on a Dask worker: a probe of the worker's environment and a sweep point.

A worker of an existing cluster cannot import this project (it is not installed there, and its import path
does not hold the checkout).  So this module imports only the standard library and is pickled *by value*
(``cloudpickle.register_pickle_by_value``): the functions travel with the task.  The project's code travels as
a zip (:func:`code_archive`, scattered once to every worker), which a point extracts into the worker's scratch
directory (keyed by the archive's digest, extracted atomically) and runs from there in its own Python process.

The sweep folder itself must be on a filesystem the workers see (as on a batch cluster with a shared home or
EOS/AFS): :func:`worker_probe` checks it, with the packages and the compiler, before any point is submitted.
"""

from __future__ import annotations

# import names -> distribution names of the packages a point needs (the firmware numbers depend on their versions)
REQUIRED = {"numpy": "numpy", "tensorflow": "tensorflow-cpu", "keras": "keras", "hgq": "hgq2", "hls4ml": "hls4ml",
            "da4ml": "da4ml", "h5py": "h5py", "scipy": "scipy", "sklearn": "scikit-learn", "pandas": "pandas",
            "matplotlib": "matplotlib", "yaml": "pyyaml"}
VERSION_CHECKED = ("numpy", "tensorflow-cpu", "keras", "hgq2", "hls4ml", "da4ml")
PACKAGES = ("analysis", "data", "emulation", "flow", "hls", "lhc_trigger", "models", "quantize", "sweep")
MODULES = ("build_hls.py",)


def code_archive(root) -> tuple[bytes, str]:
    """The project's code as a zip (its packages and ``build_hls.py``; fixed timestamps, sorted: the same code
    gives the same bytes) and its sha256 digest."""
    import hashlib
    import io
    import zipfile
    from pathlib import Path

    root = Path(root)
    files = sorted([p for pkg in PACKAGES for p in (root / pkg).rglob("*.py")] + [root / m for m in MODULES])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in files:
            info = zipfile.ZipInfo(str(p.relative_to(root)), date_time=(2020, 1, 1, 0, 0, 0))
            z.writestr(info, p.read_bytes())
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()[:16]


def worker_probe(sweep_dir: str) -> dict:
    """This machine's Python, the required packages (version, or why they do not import), g++, and whether
    ``sweep_dir`` is visible and writable here."""
    import importlib
    import os
    import platform
    import shutil
    import sys
    import tempfile
    from importlib.metadata import PackageNotFoundError, version

    out = {"host": platform.node(), "python": platform.python_version(), "executable": sys.executable,
           "packages": {}, "missing": {}, "gxx": shutil.which("g++")}
    for mod, dist in REQUIRED.items():
        try:
            importlib.import_module(mod)
            out["packages"][dist] = version(dist)
        except (ImportError, PackageNotFoundError) as exc:
            out["missing"][dist] = f"{exc.__class__.__name__}: {exc}"
    try:
        with tempfile.NamedTemporaryFile(dir=sweep_dir, prefix=".probe-"):
            pass
        out["sweep_dir_writable"] = True
    except OSError as exc:
        out["sweep_dir_writable"] = f"{exc.__class__.__name__}: {exc}"
    out["pid"] = os.getpid()
    return out


def problems(probe: dict, client_probe: dict) -> list[str]:
    """What makes this worker unfit for the sweep, each naming the thing and the fix."""
    out = [f"{d} is not importable ({why}); install the project's dependencies on the workers "
           f"(the versions of the client: {client_probe['packages'].get(d, '?')})" for d, why in probe["missing"].items()]
    for d in VERSION_CHECKED:
        a, b = client_probe["packages"].get(d), probe["packages"].get(d)
        if a and b and a != b:
            out.append(f"{d} {b} differs from the client's {a} (the firmware and its numbers depend on it)")
    if probe["python"].rsplit(".", 1)[0] != client_probe["python"].rsplit(".", 1)[0]:
        out.append(f"Python {probe['python']} differs from the client's {client_probe['python']}")
    if not probe["gxx"]:
        out.append("g++ is not on PATH (it compiles each point's C-simulation)")
    if probe["sweep_dir_writable"] is not True:
        out.append(f"the sweep folder is not writable there ({probe['sweep_dir_writable']}): a Dask sweep needs it "
                   "on a filesystem shared with the workers")
    return out


def _extract(archive: bytes, digest: str) -> str:
    """The archive extracted once per worker machine into its scratch space (atomic: extract aside, rename)."""
    import io
    import os
    import tempfile
    import zipfile

    base = os.path.join(tempfile.gettempdir(), f"lhc-trigger-ad-code-{digest}")
    if os.path.isdir(base):
        return base
    tmp = tempfile.mkdtemp(prefix=f".lhc-trigger-ad-code-{digest}-", dir=tempfile.gettempdir())
    zipfile.ZipFile(io.BytesIO(archive)).extractall(tmp)
    try:
        os.rename(tmp, base)
    except OSError:  # another worker got there first: theirs is the same code
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return base


def run_point(point_dir: str, archive: bytes, digest: str) -> tuple[int, float, str]:
    """Run one point (``python -m sweep.point POINT_DIR``) from the shipped code; (exit code, wall s, host)."""
    import os
    import platform
    import subprocess
    import sys
    import time

    t0 = time.perf_counter()
    code = _extract(archive, digest)
    env = dict(os.environ, PYTHONPATH=code + os.pathsep + os.environ.get("PYTHONPATH", ""))
    r = subprocess.run([sys.executable, "-m", "sweep.point", point_dir], cwd=code, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return r.returncode, time.perf_counter() - t0, platform.node()
