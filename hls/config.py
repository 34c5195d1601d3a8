"""Validated hls4ml build configuration (strings from users become enums here, once)."""

from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass


class Strategy(enum.Enum):
    LATENCY = "Latency"
    RESOURCE = "Resource"
    DISTRIBUTED_ARITHMETIC = "distributed_arithmetic"  # hls4ml's da4ml-generated multiplier-free dense layers

    @classmethod
    def parse(cls, s: str) -> "Strategy":
        if s.lower() == "da":
            return cls.DISTRIBUTED_ARITHMETIC
        for m in cls:
            if m.value.lower() == s.lower():
                return m
        raise ValueError(f"unknown strategy {s!r}; choose one of {[m.value for m in cls]}")


class IOType(enum.Enum):
    PARALLEL = "io_parallel"

    @classmethod
    def parse(cls, s: str) -> "IOType":
        for m in cls:
            if m.value == s.lower():
                return m
        raise ValueError(f"unsupported io_type {s!r}; supported: {[m.value for m in cls]}")


DEFAULT_PART = "xcvu13p-flga2577-2-e"


@dataclass(frozen=True)
class HLSConfig:
    backend: str = "Vitis"
    part: str = DEFAULT_PART
    clock_period_ns: float = 5.0
    io_type: IOType = IOType.PARALLEL
    reuse_factor: int = 1
    strategy: Strategy = Strategy.LATENCY
    project_name: str = "myproject"
    layers: tuple = ()  # hls.layer_settings.LayerSettings: per-layer ReuseFactor / Strategy / Precision
    reuse_target: int | None = None  # a target R resolved per dense layer by hls.reuse (None: reuse_factor as given)

    def __post_init__(self):
        if self.backend != "Vitis":
            raise ValueError(f"backend {self.backend!r} is not supported; use 'Vitis'")
        if not (self.clock_period_ns > 0):
            raise ValueError(f"--clock-period must be > 0 ns, got {self.clock_period_ns}")
        if self.reuse_factor < 1:
            raise ValueError(f"--reuse-factor must be >= 1, got {self.reuse_factor}")
        if self.reuse_target is not None:
            if not isinstance(self.reuse_target, int) or isinstance(self.reuse_target, bool) or self.reuse_target < 1:
                raise ValueError(f"reuse-factor target must be an integer >= 1, got {self.reuse_target!r}")
            if self.reuse_factor != 1:
                raise ValueError(f"give a reuse factor ({self.reuse_factor}) or a reuse-factor target "
                                 f"({self.reuse_target}), not both")
            if self.strategy is Strategy.DISTRIBUTED_ARITHMETIC and self.reuse_target != 1:
                raise ValueError(f"strategy distributed_arithmetic needs reuse factor 1 (hls4ml), got {self.reuse_target}")
        if self.strategy is Strategy.DISTRIBUTED_ARITHMETIC and self.reuse_factor != 1:
            raise ValueError(f"--strategy distributed_arithmetic needs reuse factor 1 (hls4ml), got {self.reuse_factor}")
        if not self.project_name.isidentifier():
            raise ValueError(f"project name {self.project_name!r} must be a C identifier")
        object.__setattr__(self, "layers", tuple(sorted(self.layers, key=lambda ls: ls.name)))  # order-free
        names = [ls.name for ls in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"per-layer settings name a layer twice: {names}")

    def layer(self, name: str):
        """The per-layer settings of ``name`` (None when it has none)."""
        return next((ls for ls in self.layers if ls.name == name), None)

    def reuse_factor_of(self, name: str) -> int:
        ls = self.layer(name)
        return ls.reuse_factor if ls is not None and ls.reuse_factor is not None else self.reuse_factor

    def strategy_of(self, name: str) -> Strategy:
        ls = self.layer(name)
        return ls.strategy if ls is not None and ls.strategy is not None else self.strategy

    def to_dict(self) -> dict:
        d = asdict(self)
        d["io_type"] = self.io_type.value
        d["strategy"] = self.strategy.value
        d["layers"] = [ls.to_dict() for ls in self.layers]
        if self.reuse_target is None:  # absent unless used: configurations (and sweep hashes) without it are unchanged
            d.pop("reuse_target")
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "HLSConfig":
        from .layer_settings import LayerSettings

        d = dict(d)
        d["io_type"] = IOType.parse(d["io_type"])
        d["strategy"] = Strategy.parse(d["strategy"])
        d["layers"] = tuple(LayerSettings.from_dict(x) for x in d.get("layers", ()))
        return cls(**d)


def valid_reuse_factors(n_in: int, n_out: int) -> list[int]:
    """Reuse factors hls4ml accepts for a dense layer (the rule of hls4ml 1.3 ``FPGABackend._validate_reuse_factor``)."""
    out = []
    for rf in range(1, n_in * n_out + 1):
        multfactor = min(n_in, rf)
        multiplier_limit = int(math.ceil((n_in * n_out) / float(multfactor)))
        ok = (multiplier_limit % n_out == 0) or rf >= n_in
        ok = ok and (rf % n_in == 0 or rf < n_in)
        ok = ok and (n_in * n_out) % rf == 0
        if ok:
            out.append(rf)
    return out


def check_reuse_factor(rf: int, dense_shapes: dict[str, tuple[int, int]], per_layer: dict[str, int] | None = None) -> None:
    """Raise a ValueError listing the valid choices instead of letting hls4ml silently replace ``rf``
    (``per_layer``: layer name -> its own reuse factor, replacing ``rf`` for that layer)."""
    per_layer = per_layer or {}
    unknown = sorted(set(per_layer) - set(dense_shapes))
    if unknown:
        raise ValueError(f"per-layer ReuseFactor for {unknown}: not dense layers of this model; "
                         f"dense layers: {sorted(dense_shapes)}")
    bad = {}
    for name, (n_in, n_out) in dense_shapes.items():
        valid = valid_reuse_factors(n_in, n_out)
        if per_layer.get(name, rf) not in valid:
            if name in per_layer:
                raise ValueError(f"LayerName.{name}.ReuseFactor {per_layer[name]} is not valid for this "
                                 f"{n_in}x{n_out} dense layer; valid: {valid}")
            bad[name] = (n_in, n_out, valid)
    if bad:
        common = set.intersection(*(set(valid_reuse_factors(*s)) for s in dense_shapes.values()))
        lines = [f"  layer {n} ({a}x{b}): valid {v}" for n, (a, b, v) in bad.items()]
        raise ValueError(
            f"reuse factor {rf} is not valid for every dense layer:\n" + "\n".join(lines)
            + f"\nreuse factors valid for all layers: {sorted(common)}"
        )
