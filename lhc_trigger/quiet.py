"""TensorFlow's start-up noise, silenced.

TensorFlow writes its start-up messages from C++ (absl, oneDNN, CUDA factory registration) straight to file
descriptor 2 while it is imported, so ``TF_CPP_MIN_LOG_LEVEL`` alone does not catch them all.
:func:`quiet_tensorflow` sets the environment (``TF_CPP_MIN_LOG_LEVEL=3`` unless set, ``KERAS_BACKEND``), then
imports TensorFlow with fd 2 captured and writes back every captured line that is not known start-up noise
(:data:`NOISE`), so real errors still show.  Python-side warnings go through absl/TF loggers set to ERROR.
Set ``LHC_TRIGGER_VERBOSE=1`` to see everything.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

NOISE = [re.compile(p) for p in (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"^[IW]\d{4} .*\] oneDNN custom operations are on",
    r"^[IWE]\d{4} .*(Unable to register cu(DNN|FFT|BLAS) factory|computation placer already registered)",
    r"^[IW]\d{4} .*(TF-TRT Warning|cuda_(driver|executor|diagnostics)|Could not find cuda drivers)",
    r"^[IW]\d{4} .*This TensorFlow binary is optimized to use available CPU instructions",
    r"^To enable the following instructions: .* in other operations, rebuild TensorFlow",
    r"^To enable the following instructions",
)]


def _is_noise(line: str) -> bool:
    return any(p.search(line) for p in NOISE)


def quiet_tensorflow(import_now: bool = True) -> None:
    """Environment for a quiet TensorFlow and (``import_now``) import it with its start-up noise filtered."""
    verbose = os.environ.get("LHC_TRIGGER_VERBOSE", "") not in ("", "0")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if not verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if not import_now or "tensorflow" in sys.modules:
        return
    if verbose:
        import tensorflow  # noqa: F401
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as cap:
        os.dup2(cap.fileno(), 2)
        try:
            import tensorflow as tf
            import keras  # noqa: F401  (its import also triggers start-up messages)
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            cap.seek(0)
            kept = [ln for ln in cap.read().decode(errors="replace").splitlines() if ln.strip() and not _is_noise(ln)]
    if kept:
        print("\n".join(kept), file=sys.stderr, flush=True)
    import logging

    tf.get_logger().setLevel(logging.ERROR)
    try:
        import absl.logging

        absl.logging.set_verbosity(absl.logging.ERROR)
    except ImportError:  # pragma: no cover - absl comes with TensorFlow
        pass
