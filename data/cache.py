"""One cached-dataset helper: generated events kept in an HDF5 file named after generator version, seed and counts.

:func:`cache_path` turns a key (prefix, generator version, ordered ``{label: value}`` fields such as the seed and the
event counts) into the file's path; :func:`load_or_generate` reads that file when it is there and valid, and
otherwise calls the generator and writes the file atomically: into a temporary file of the same folder, moved into
place with :func:`os.replace`, so an interrupted or concurrent run never leaves a partial file under the cache's
name (concurrent writers each finish their own temporary file; the last replace wins, with the same content).

A file is valid when it is HDF5, its ``generator_version`` attribute is the key's version, its ``seed`` attribute
(if any) is the key's seed, and the reader accepts it; an invalid file is regenerated (with a warning).
Pure numpy + h5py: no TensorFlow.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import h5py

T = TypeVar("T")


def cache_path(cache_dir, version: str, fields: dict, prefix: str = "") -> Path:
    """``<cache_dir>/<prefix>_<version>_<label><value>_...h5`` (fields in their order; no prefix part if empty)."""
    stem = "_".join([p for p in (prefix, version) if p] + [f"{label}{value}" for label, value in fields.items()])
    return Path(cache_dir) / f"{stem}.h5"


@dataclass(frozen=True)
class Cached(Generic[T]):
    """What :func:`load_or_generate` returns: the value (read or generated) and where/how it came."""

    value: T
    path: Path
    from_cache: bool
    time_to_generate_s: float  # of the run that generated the file (read back from it when cached)
    time_to_load_s: float | None = None  # when read from the cache
    time_to_write_s: float | None = None  # when generated: the time spent after generation (writing the file)

    @property
    def key(self) -> str:
        return self.path.stem

    def meta(self) -> dict:
        """``cache_path``, ``cache_key``, ``from_cache``, ``time_to_generate_s`` and the load or write time."""
        m = dict(cache_path=str(self.path), cache_key=self.key, from_cache=self.from_cache,
                 time_to_generate_s=self.time_to_generate_s)
        if self.from_cache:
            m["time_to_load_s"] = self.time_to_load_s
        else:
            m["time_to_write_s"] = self.time_to_write_s
        return m


def _invalid_reason(path: Path, version: str, seed) -> str | None:
    """Why the file at ``path`` cannot serve as the cache for (version, seed); None when its header fits."""
    if not h5py.is_hdf5(path):
        return "not an HDF5 file"
    with h5py.File(path, "r") as f:
        got = f.attrs.get("generator_version")
        got = got.decode() if isinstance(got, bytes) else got
        if got != version:
            return f"generator_version {got!r}, expected {version!r}"
        if seed is not None and "seed" in f.attrs and int(f.attrs["seed"]) != int(seed):
            return f"seed {int(f.attrs['seed'])}, expected {int(seed)}"
    return None


def _try_load(path: Path, version: str, seed, read: Callable[[Path], T]) -> Cached[T] | None:
    if not path.is_file():
        return None
    t0 = time.perf_counter()
    try:
        reason = _invalid_reason(path, version, seed)
        if reason is None:
            value = read(path)
            with h5py.File(path, "r") as f:
                t_gen = float(f.attrs.get("time_to_generate_s", float("nan")))
            return Cached(value, path, True, t_gen, time_to_load_s=time.perf_counter() - t0)
    except (OSError, KeyError, ValueError) as e:
        reason = f"unreadable ({type(e).__name__}: {e})"
    warnings.warn(f"cache {path}: {reason}; generating it again", RuntimeWarning, stacklevel=3)
    return None


def write_atomic(path: Path, write: Callable[[h5py.File], None]) -> None:
    """Write an HDF5 file through ``write(f)`` into a temporary file beside ``path``, then move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with h5py.File(tmp, "w") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_or_generate(path: Path, version: str, seed, generate: Callable[[], T],
                     write: Callable[[h5py.File, T], None], read: Callable[[Path], T]) -> Cached[T]:
    """The cached value at ``path`` (see :func:`cache_path`) or a freshly generated and atomically cached one.

    ``generate()`` makes the value; ``write(f, value)`` stores it into the open file ``f`` (this helper adds the
    attributes ``generator_version``, ``seed`` (when not None) and ``time_to_generate_s``); ``read(path)`` returns
    the same kind of value from a cache file (it may raise OSError, KeyError or ValueError on a bad file).
    """
    path = Path(path)
    cached = _try_load(path, version, seed, read)
    if cached is not None:
        return cached
    t0 = time.perf_counter()
    value = generate()
    t_gen = time.perf_counter() - t0

    def _write(f: h5py.File) -> None:
        f.attrs["generator_version"] = version
        if seed is not None:
            f.attrs["seed"] = int(seed)
        f.attrs["time_to_generate_s"] = t_gen
        write(f, value)

    write_atomic(path, _write)
    return Cached(value, path, False, t_gen, time_to_write_s=time.perf_counter() - t0 - t_gen)
