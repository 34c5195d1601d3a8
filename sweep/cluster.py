"""A Dask scheduler and workers started as separate processes on 127.0.0.1, the way a cluster runs them
(``dask scheduler``, ``dask worker ADDRESS``), from a folder and an import path that do not hold this
checkout.  Used by the cluster tests and ``benchmarks/dask_sweep_benchmark.py``; also a quick way to try
``build_hls.py sweep --scheduler`` on one machine.

    with ProcessCluster(Path("/tmp/c"), n_workers=2) as cluster:
        ... build_hls.py sweep ... --scheduler cluster.address
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

DASK = str(Path(sys.executable).parent / "dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProcessCluster:
    """``n_workers`` single-threaded workers; ``extra_path`` becomes the workers' PYTHONPATH (default: none)."""

    def __init__(self, where: Path, n_workers: int = 1, extra_path: str | None = None, timeout_s: float = 120):
        self.where = Path(where)
        self.where.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.procs: list[subprocess.Popen] = []
        try:
            self._start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], None)
            self._start(["worker", self.address, "--nworkers", str(n_workers), "--nthreads", "1", "--no-dashboard"],
                        extra_path)
            from distributed import Client

            with Client(self.address, timeout=f"{int(timeout_s)}s") as c:
                c.wait_for_workers(n_workers, timeout=timeout_s)
                self.worker_sees_project = any(c.run(
                    lambda: __import__("importlib.util").util.find_spec("sweep") is not None).values())
        except BaseException:
            self.close()
            raise

    def _start(self, args: list[str], extra_path: str | None) -> None:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        if extra_path:
            env["PYTHONPATH"] = extra_path
        with open(self.where / f"{args[0]}-{time.time_ns()}.log", "w") as log:
            self.procs.append(subprocess.Popen([DASK, *args], cwd=self.where, env=env, stdout=log,
                                               stderr=subprocess.STDOUT, start_new_session=True))

    def close(self) -> None:
        for p in reversed(self.procs):
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()

    def __enter__(self) -> "ProcessCluster":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
