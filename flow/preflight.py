"""Every input of a build checked before anything expensive runs (no TensorFlow, no training, no compile).

``preflight(cfg)`` raises ValueError / FileNotFoundError with the option at fault and the fix:
``--output`` under a regular file, ``--part`` not in the part table, ``--precision`` / ``--input-precision``
out of range, ``--rtl`` / ``--synth`` asked for without their tools (an explicitly requested tool that is
missing is an error, not a silent skip), a corrupt ``.keras`` file, a missing ``--data`` for a model that
needs one, and ``--reference`` / ``--data`` row counts.  Data contents (empty, NaN, the input port's range)
are checked by the data steps as soon as the events are read (:mod:`data.validate`).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from flow.config import BuildConfig

MIN_PRECISION_BITS = 3
# the fast emulator sums products of two N-bit numbers exactly in float64 (53-bit mantissa) and the float32
# Keras training represents at most 24 significant bits: above this, bit-exactness cannot hold
MAX_PRECISION_BITS = 24


def preflight(cfg: BuildConfig) -> None:
    from hls.parts import lookup_part
    from hls.transaction import check_output_path

    check_output_path(cfg.resolved_output_dir())
    try:
        lookup_part(cfg.hls.part)
    except ValueError as exc:
        raise ValueError(f"--part {cfg.hls.part}: {exc}") from None
    _precisions(cfg)
    _tools(cfg)
    _model_file(cfg)
    _reference_rows(cfg)


def _precisions(cfg: BuildConfig) -> None:
    from quantize.precision import Precision

    b = cfg.precision_bits
    if b is not None and not MIN_PRECISION_BITS <= b <= MAX_PRECISION_BITS:
        raise ValueError(f"--precision {b}: choose {MIN_PRECISION_BITS} to {MAX_PRECISION_BITS} bits (sign included); "
                         f"above {MAX_PRECISION_BITS} the float32 training and the exact float64 emulation cannot "
                         "represent the fixed-point values")
    if cfg.input_precision is not None:
        try:
            p = Precision.parse(cfg.input_precision)
        except ValueError as exc:
            raise ValueError(f"--input-precision {cfg.input_precision!r}: {exc}") from None
        if p.width > 2 * MAX_PRECISION_BITS:
            raise ValueError(f"--input-precision {cfg.input_precision}: {p.width} bits; at most {2 * MAX_PRECISION_BITS}")


def _tools(cfg: BuildConfig) -> None:
    hw = cfg.hardware
    if hw.synth and not hw.rtl:
        raise ValueError("--synth synthesizes the da4ml RTL: it needs --rtl as well")
    if hw.rtl:
        from emulation.rtl import rtl_unavailable_reason

        reason = rtl_unavailable_reason()
        if reason:
            raise ValueError(f"--rtl was asked for but {reason}; install it or drop --rtl")
    if hw.synth:
        from emulation.synth import yosys_unavailable_reason

        reason = yosys_unavailable_reason()
        if reason:
            raise ValueError(f"--synth was asked for but {reason}; install it or drop --synth")


def _model_file(cfg: BuildConfig) -> None:
    path = Path(cfg.model)
    if path.suffix.lower() != ".keras":
        return
    if not path.is_file():
        raise FileNotFoundError(f"--model {path}: no such file")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"--model {path}: not a valid .keras file (a .keras model is a zip archive; this one is "
                         "corrupt or truncated, or another format renamed): save it again with model.save()")
    if cfg.data_path is None:
        raise ValueError(f"--model {path.name}: a user model needs --data FILE (.h5, .npy or .dat) with the events "
                         "to emulate")


def _rows(path: Path, what: str) -> int:
    from data.arrays import read_array

    return len(read_array(path, what))


def _reference_rows(cfg: BuildConfig) -> None:
    if cfg.reference_path is None or cfg.data_path is None:
        return
    from data.arrays import read_reference

    n_ref, n_data = len(read_reference(cfg.reference_path)), _rows(cfg.data_path, "--data")
    if n_ref != n_data:
        raise ValueError(f"--reference has {n_ref} events but --data has {n_data}; they must match row by row")
