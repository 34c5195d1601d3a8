"""The hls4ml C-simulation as an emulator: ``predict(x) -> ndarray[n, n_out]``.

Loads the compiled shared library of a project directory (path from its ``metadata.json``) with ctypes
and calls ``<project>_batch_double``: hls4ml's own ``<project>_double`` bridge looped over events in C++
(see ``hls.project.add_batch_entry_point``), so the arithmetic is exactly hls4ml's C-simulation.  Doubles carry the Keras float32 inputs exactly and hold
every fixed-point output of up to 53 significant bits exactly.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np

from emulation import input_batch

from hls.project import read_metadata


class CSimEmulator:
    name = "csim"
    label = "hls4ml C-simulation (g++)"

    def __init__(self, project_dir: Path):
        self.project_dir = Path(project_dir).resolve()
        md = read_metadata(self.project_dir)
        lib_path = self.project_dir / md["csim_library"]
        if not lib_path.is_file():
            raise FileNotFoundError(f"C-simulation library {lib_path} is missing: rebuild the project")
        wdir = Path(md.get("weights_dir", ""))
        if not wdir.is_absolute():  # relocatable library (hls.project.WEIGHTS_HEADER): beside the project
            wdir = self.project_dir / wdir
        if wdir != self.project_dir / "firmware" / "weights" or not wdir.is_dir():
            # the library would exit() the process when it cannot find its weight files
            raise RuntimeError(
                f"the C-simulation library of {self.project_dir} was compiled for weights in {wdir}; the project "
                "was moved or is incomplete: recompile it (hls.project.compile_csim) before emulating"
            )
        self._lib = ctypes.CDLL(str(lib_path))
        self._fn = getattr(self._lib, f"{md['hls']['project_name']}_batch_double")
        self._fn.restype = None
        self._fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_long]
        self.n_inputs = int(md["n_inputs"])
        self.n_outputs = int(md["n_outputs"])

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = input_batch(x, self.n_inputs)
        xin = np.ascontiguousarray(x, dtype=np.float64)
        out = np.zeros((len(xin), self.n_outputs), dtype=np.float64)
        self._fn(xin.ctypes.data, out.ctypes.data, len(xin))
        return out
