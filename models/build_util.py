"""Small helpers shared by the model families and the build: cache keys, progress lines, the fields every
family's model configuration has, how a build's options change a family's configuration, and the float view's
weights."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, replace

from quantize.precision import Precision
from quantize.spec import QuantSpec


def config_hash(obj) -> str:
    """A short, stable hash of a JSON-serialisable configuration (model cache keys)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def say(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def interactive() -> bool:
    """Progress bars only when stdout is a terminal (and not in CI); plain lines otherwise."""
    import os
    import sys

    return sys.stdout.isatty() and not os.environ.get("CI")


def keras_verbose() -> int:
    """``verbose`` for long Keras ``predict`` calls: Keras's progress bar on a terminal, nothing in logs."""
    return 1 if interactive() else 0


def progress_bar(total: int, desc: str, unit: str = "it"):
    """A tqdm bar on a terminal, None otherwise (callers then print plain lines)."""
    if not interactive():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, leave=False, dynamic_ncols=True)


@dataclass(frozen=True)
class ModelConfig:
    """What every family's model configuration has: hidden layer widths, the training recipe (Adam, early
    stopping with ``patience``), the seed and the quantizers.  A family subclasses it, redeclaring only the
    defaults it changes and adding its own fields."""

    hidden: tuple[int, ...] = (32, 16)
    epochs: int = 30
    batch_size: int = 1024
    learning_rate: float = 3e-3
    patience: int = 5
    seed: int = 11
    quant: QuantSpec = QuantSpec()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["quant"] = self.quant.to_dict()
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def config_from_build(cfg, mc: ModelConfig) -> ModelConfig:
    """``mc`` (a family's default configuration) with what the build config ``cfg`` asks for: ``--precision N``
    (:meth:`QuantSpec.with_bits`: the places the family's spec lists), ``--input-precision`` (the input port,
    signed ``ap_fixed<W,I>``; its rounding and overflow are QKeras's) and ``--epochs``."""
    q = mc.quant
    if cfg.precision_bits is not None:
        if cfg.precision_bits < 3:
            raise ValueError(f"--precision {cfg.precision_bits}: need at least 3 bits")
        q = q.with_bits(cfg.precision_bits)
    if cfg.input_precision is not None:
        p = Precision.parse(cfg.input_precision)
        if not p.signed:
            raise ValueError("--input-precision must be signed (ap_fixed<W,I>): the model's inputs are negative too")
        a = p.qkeras_args()
        q = q.with_places(input=(a["bits"], a["integer"]))
    mc = replace(mc, quant=q)
    return mc if cfg.epochs is None else replace(mc, epochs=cfg.epochs)


def copy_weights_by_name(dst, src):
    """Float view: give ``dst`` (float build) the trained kernels/biases of ``src`` (QAT build), by layer name;
    returns ``dst``."""
    import numpy as np

    names = {l.name for l in src.layers}
    for layer in dst.layers:
        if layer.name not in names:
            continue
        s = src.get_layer(layer.name)
        if hasattr(layer, "kernel"):
            layer.kernel.assign(np.asarray(s.kernel))
            if getattr(layer, "bias", None) is not None:
                layer.bias.assign(np.asarray(s.bias))
        elif layer.weights:
            layer.set_weights(s.get_weights())
    return dst
