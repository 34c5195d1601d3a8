"""Content-addressed cache of built RTL: the da4ml Verilog, its compiled Verilator simulation and yosys results.

A cached L1 build spent most of its time rebuilding what it had already built: the Verilator compile (165 s for
vae57 on this machine) and the yosys synthesis (117 s), for the same logic.  The key is a hash of the **traced
logic itself** (``CombLogic.to_binary()`` plus its adder parameters: identical logic, identical Verilog) and of
everything else that shapes the directory: project name, part, clock, latency cutoff, the latency-probe events,
the da4ml / Verilator / yosys versions and the sources of :mod:`emulation.rtl` and :mod:`emulation.synth`.  A
model whose weights or widths change traces to other logic, hence another key.

Entries are written atomically (a temporary sibling, then a rename) and never modified afterwards, except that
the yosys files are added to an entry once (:func:`store_files`).  A hit is restored into the project the same way
a fresh build is swapped in; the flow then simulates the build's own events on it (Keras == C-sim == RTL), so a
cached entry is checked on every build that uses it.  Reports say whether the RTL came from the cache.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

CACHE_VERSION = "1"
_HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def _tool_versions() -> str:
    import da4ml

    from emulation.rtl import verilator_env
    from emulation.synth import yosys_version

    try:
        v = subprocess.run(["verilator", "--version"], env=verilator_env(), capture_output=True, text=True,
                           timeout=60).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        v = "verilator unavailable"
    return f"da4ml {da4ml.__version__}; {v}; yosys {yosys_version()}"


def key(comb, *, project_name: str, part: str, clock_period_ns: float, latency_cutoff: float, x_probe: np.ndarray,
        n_latency_events: int) -> str:
    """The cache key of the RTL that :func:`emulation.rtl.build_rtl` would build from ``comb``."""
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(comb.to_binary()).tobytes())
    h.update(json.dumps([CACHE_VERSION, int(comb.carry_size), int(comb.adder_size), project_name, part,
                         float(clock_period_ns), float(latency_cutoff), int(n_latency_events), _tool_versions()]).encode())
    h.update(np.ascontiguousarray(x_probe, dtype=np.float64).tobytes())
    for src in ("rtl.py", "synth.py"):
        h.update((_HERE / src).read_bytes())
    return h.hexdigest()[:32]


def restore(cache_dir: Path, k: str, rtl_dir: Path) -> bool:
    """Copy entry ``k`` into ``rtl_dir`` (replacing it; via a temporary sibling and a rename).  False on a miss."""
    entry = Path(cache_dir) / k
    if not (entry / "COMPLETE").is_file():
        return False
    rtl_dir = Path(rtl_dir)
    rtl_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{rtl_dir.name}.restoring-", dir=rtl_dir.parent))
    shutil.rmtree(tmp)
    shutil.copytree(entry, tmp, ignore=shutil.ignore_patterns("COMPLETE"))
    if rtl_dir.exists():
        shutil.rmtree(rtl_dir)
    tmp.rename(rtl_dir)
    return True


def store(cache_dir: Path, k: str, rtl_dir: Path) -> None:
    """Copy a freshly built ``rtl_dir`` into the cache as entry ``k`` (kept as it is if it exists)."""
    entry = Path(cache_dir) / k
    if (entry / "COMPLETE").is_file():
        return
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{k}.storing-", dir=entry.parent))
    shutil.rmtree(tmp)
    shutil.copytree(rtl_dir, tmp)
    (tmp / "COMPLETE").write_text("")
    try:
        tmp.rename(entry)
    except OSError:  # a concurrent build stored it first
        shutil.rmtree(tmp, ignore_errors=True)


def store_files(cache_dir: Path, k: str, rtl_dir: Path, names: list[str]) -> None:
    """Add files of ``rtl_dir`` (the yosys results) to entry ``k`` if it lacks them (each written atomically)."""
    entry = Path(cache_dir) / k
    if not (entry / "COMPLETE").is_file():
        return
    for name in names:
        src, dst = Path(rtl_dir) / name, entry / name
        if src.is_file() and not dst.exists():
            tmp = entry / f".{name}.tmp"
            shutil.copyfile(src, tmp)
            tmp.rename(dst)
