"""Sweep specification: a validated grid of build configurations.

A sweep is a product of *axes* (``mode``, ``precision``, ``reuse_factor``, ``strategy``, ``io_type``,
``clock_period_ns``) over one set of *fixed* build settings (event counts, seed, epochs, part, ...).
Each point of the grid is one :class:`flow.config.BuildConfig`; its **configuration hash** (of
everything that changes the result, not of where it is written) names its directory and makes the sweep
resumable.

Every point is validated before anything runs: an unsupported io_type or strategy, a precision narrower than
the integer bits... are reported with the valid choices.  The ``reuse_factor`` axis is a **target** R: each
dense layer gets the largest reuse factor <= R that hls4ml accepts for its shape (:mod:`hls.reuse`), recorded
as per-layer settings in the point's configuration (so in its hash, its project and the table's ``rf[<layer>]``
columns): a replacement is always visible, never silent.

The YAML form (``--spec sweep.yaml``) is checked against :data:`SCHEMA`: an unknown key or a value of the
wrong type stops the run with the key's path (``axes.precision[2]: expected int, got str 'x'``).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from flow.config import ROOT, BuildConfig, HardwareOptions, QuantMode, Tolerances, family_defaults
from hls.config import DEFAULT_PART, HLSConfig, IOType, Strategy

AXES = ("mode", "precision", "reuse_factor", "strategy", "io_type", "clock_period_ns")
MODES = ("qat", "ptq")


class SpecError(ValueError):
    """A sweep specification that cannot be run (message names the key path and the fix)."""


# --------------------------------------------------------------------------------------------------
# schema: key -> type, list of type, or nested dict.  ``float`` accepts ints too; ``None`` in a tuple = nullable.
_NUM = (int, float)
SCHEMA = {
    "name": str,
    "model": str,
    "output": str,
    "axes": {
        "mode": [str],
        "precision": [int],
        "reuse_factor": [int],
        "strategy": [str],
        "io_type": [str],
        "clock_period_ns": [_NUM],
    },
    "build": {
        "seed": int,
        "n_train": int,
        "n_val": int,
        "n_test_bkg": (int, None),
        "n_signal": int,
        "epochs": (int, None),
        "input_precision": (str, None),
        "part": str,
        "emulator": str,
        "csim_events": int,
        "fprs": [_NUM],
        "extra_rates_hz": [_NUM],
        "min_spearman": _NUM,
        "cache_dir": (str, None),
        "rtl": (bool, None),  # false = --no-rtl (the L1 families build the da4ml RTL by default)
        "score": (str, None),  # the on-chip score every point deploys (None: each point picks its own)
    },
    "execution": {
        "workers": int,
        "scheduler": (str, None),
        "skip_invalid": bool,
        "retry_failed": bool,
    },
    "budgets": {"*": _NUM},
    "pareto": {
        "efficiency": str,
        "resource": str,
        "latency": str,
    },
}


def _type_name(t) -> str:
    if isinstance(t, tuple):
        return " or ".join("null" if x is None else _type_name(x) for x in t)
    return {int: "int", float: "float", str: "str", bool: "bool"}.get(t, getattr(t, "__name__", str(t)))


def _is_type(v, t) -> bool:
    if isinstance(t, tuple):
        return any((v is None) if x is None else _is_type(v, x) for x in t)
    if t is bool:
        return isinstance(v, bool)
    if isinstance(v, bool):  # YAML true is not a number
        return False
    if t is float:
        return isinstance(v, (int, float))
    return isinstance(v, t)


def validate_spec_dict(d, schema=SCHEMA, path: str = "") -> None:
    """Raise :class:`SpecError` naming the first unknown key or wrongly typed value by its path."""
    if not isinstance(d, dict):
        raise SpecError(f"{path or 'spec'}: expected a mapping, got {type(d).__name__}")
    for k, v in d.items():
        kp = f"{path}.{k}" if path else str(k)
        if k not in schema and "*" not in schema:
            raise SpecError(f"{kp}: unknown key; allowed here: {', '.join(sorted(schema))}")
        t = schema.get(k, schema.get("*"))
        if isinstance(t, dict):
            validate_spec_dict(v, t, kp)
        elif isinstance(t, list):
            items = v if isinstance(v, list) else [v]  # a scalar is a one-value axis
            for i, x in enumerate(items):
                if not _is_type(x, t[0]):
                    where = f"{kp}[{i}]" if isinstance(v, list) else kp
                    raise SpecError(f"{where}: expected {_type_name(t[0])}, got {type(x).__name__} {x!r}")
        elif not _is_type(v, t):
            hint = ""
            if isinstance(v, str) and _is_type(1.0, t):
                try:
                    float(v)
                    hint = " (YAML reads a number like 5e4 as text: write 5.0e+4 or 50000)"
                except ValueError:
                    pass
            raise SpecError(f"{kp}: expected {_type_name(t)}, got {type(v).__name__} {v!r}{hint}")


# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepSpec:
    name: str = "sweep"
    model: str = "vae21"
    output: Path | None = None
    axes: dict = field(default_factory=dict)  # axis -> tuple of values
    build: dict = field(default_factory=dict)  # fixed BuildConfig settings
    workers: int = 1
    scheduler: str | None = None
    skip_invalid: bool = False
    retry_failed: bool = False
    budgets: dict = field(default_factory=dict)  # column or metric -> maximum
    pareto: dict = field(default_factory=dict)

    def __post_init__(self):
        # the name is a folder inside firmware_projects/<model>/sweeps/: never a path out of it
        n = str(self.name)
        if not n or n in (".", "..") or any(c in n for c in "/\\\0") or n.startswith(".") or len(n) > 100:
            raise SpecError(f"--name {n!r}: a sweep name is one folder name inside firmware_projects/<model>/sweeps/ "
                            "(letters, digits, '-', '_', '.'; no '/', no leading '.'); use --output DIR for "
                            "another place")

    @classmethod
    def from_dict(cls, d: dict) -> "SweepSpec":
        validate_spec_dict(d)
        axes = {k: tuple(v if isinstance(v, list) else [v]) for k, v in d.get("axes", {}).items()}
        ex = d.get("execution", {})
        return cls(
            name=d.get("name", "sweep"), model=d.get("model", "vae21"),
            output=Path(d["output"]) if d.get("output") else None,
            axes=axes, build=dict(d.get("build", {})),
            workers=ex.get("workers", 1), scheduler=ex.get("scheduler"),
            skip_invalid=ex.get("skip_invalid", False), retry_failed=ex.get("retry_failed", False),
            budgets=dict(d.get("budgets", {})), pareto=dict(d.get("pareto", {})),
        )

    @classmethod
    def from_yaml(cls, path: Path) -> "SweepSpec":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"--spec {path}: no such file")
        try:
            d = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise SpecError(f"{path}: not valid YAML: {exc}") from exc
        try:
            return cls.from_dict(d)
        except SpecError as exc:
            raise SpecError(f"{path}: {exc}") from None

    def with_overrides(self, **kw) -> "SweepSpec":
        """CLI values override the spec's (``None`` = keep)."""
        axes = dict(self.axes)
        for a in AXES:
            v = kw.pop(a, None)
            if v is not None:
                axes[a] = tuple(v)
        build = dict(self.build)
        for k, v in kw.pop("build", {}).items():
            if v is not None:
                build[k] = v
        validate_spec_dict(build, SCHEMA["build"], "build")
        budgets = {**self.budgets, **(kw.pop("budgets", None) or {})}
        kw = {k: v for k, v in kw.items() if v is not None}
        return replace(self, axes=axes, build=build, budgets=budgets, **kw)

    def sweep_dir(self) -> Path:
        if self.output is not None:
            return Path(self.output)
        return ROOT / "firmware_projects" / Path(self.model).stem / "sweeps" / self.name

    def to_dict(self) -> dict:
        return {
            "name": self.name, "model": self.model, "output": str(self.sweep_dir()),
            "axes": {k: list(v) for k, v in self.axes.items()}, "build": self.build,
            "execution": {"workers": self.workers, "scheduler": self.scheduler,
                          "skip_invalid": self.skip_invalid, "retry_failed": self.retry_failed},
            "budgets": self.budgets, "pareto": self.pareto,
        }


# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """One point of the grid: its axis values, its BuildConfig, its hash, and why it is invalid (if it is)."""

    values: dict
    config: BuildConfig
    hash: str
    training_key: str
    invalid: str | None = None


def _hash(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def config_hash(cfg: BuildConfig) -> str:
    """Hash of everything that changes a point's result (not where it is written or cached)."""
    d = cfg.to_dict()
    for k in ("output_dir", "cache_dir", "retrain"):
        d.pop(k, None)
    return _hash(d)


def training_key(cfg: BuildConfig) -> str:
    """Points with the same key use the same trained model (QAT: one per precision; PTQ: one for all)."""
    d = {k: getattr(cfg, k) for k in ("model", "data_path", "seed", "n_train", "n_val", "n_test_bkg", "n_signal", "epochs")}
    qat = cfg.quant_mode == "qat"  # PTQ trains at the default precision, like QAT without --precision
    d.update(precision_bits=cfg.precision_bits if qat else None, input_precision=cfg.input_precision if qat else None)
    return _hash(d)


_BUILD_KEYS = {"seed", "n_train", "n_val", "n_test_bkg", "n_signal", "epochs", "input_precision", "emulator",
               "csim_events", "fprs", "extra_rates_hz", "cache_dir", "score"}


def expand(spec: SweepSpec) -> list[Point]:
    """The grid in a stable order (axes in :data:`AXES` order, values as given), each point validated."""
    for a in spec.axes:
        if a not in AXES:
            raise SpecError(f"axes.{a}: unknown axis; axes: {', '.join(AXES)}")
    fam = family_defaults(spec.model)  # e.g. cicada: its part and clock (flow.config)
    axes = {
        "mode": spec.axes.get("mode", ("qat",)),
        "precision": spec.axes.get("precision", (None,)),
        "reuse_factor": spec.axes.get("reuse_factor", (1,)),
        "strategy": spec.axes.get("strategy", ("Latency",)),
        "io_type": spec.axes.get("io_type", ("io_parallel",)),
        "clock_period_ns": spec.axes.get("clock_period_ns", (fam.get("clock_period_ns", 5.0),)),
    }
    for a, vals in axes.items():
        if len(vals) == 0:
            raise SpecError(f"axes.{a}: empty list")
        if len(set(vals)) != len(vals):
            raise SpecError(f"axes.{a}: repeated values {list(vals)}")
    b = dict(spec.build)
    kw = {k: b[k] for k in _BUILD_KEYS if k in b}
    for k in ("fprs", "extra_rates_hz"):
        if k in kw:
            kw[k] = tuple(float(x) for x in kw[k])
    if kw.get("cache_dir"):
        kw["cache_dir"] = Path(kw["cache_dir"])
    else:
        kw.pop("cache_dir", None)
    tol = Tolerances(min_spearman_float_view=float(b["min_spearman"])) if "min_spearman" in b else Tolerances()
    part = b.get("part") or fam.get("part", DEFAULT_PART)
    if b.get("rtl") is not None:
        kw["hardware"] = HardwareOptions(rtl=bool(b["rtl"]))
    sdir = spec.sweep_dir()

    points = []
    for combo in itertools.product(*axes.values()):
        v = dict(zip(axes, combo))
        invalid = None
        try:
            hls = HLSConfig(part=part, clock_period_ns=float(v["clock_period_ns"]), reuse_target=int(v["reuse_factor"]),
                            strategy=Strategy.parse(v["strategy"]), io_type=IOType.parse(v["io_type"]))
        except ValueError as exc:
            hls, invalid = HLSConfig(part=part), str(exc)
        mode = str(v["mode"]).lower()
        if mode not in MODES:
            invalid = invalid or f"mode {mode!r} is not one of {list(MODES)}"
            mode = QuantMode.QAT
        cfg = BuildConfig(model=spec.model, precision_bits=v["precision"], quant_mode=mode, hls=hls, tolerances=tol,
                          companion=False, **kw)
        if invalid is None:
            invalid, cfg = _check_point(cfg, v)
        h = config_hash(cfg)
        cfg = replace(cfg, output_dir=sdir / "points" / h / "project")
        points.append(Point(values=v, config=cfg, hash=h, training_key=training_key(cfg), invalid=invalid))
    return points


def _check_point(cfg: BuildConfig, v: dict) -> tuple[str | None, BuildConfig]:
    """Why this point cannot be built (with the valid choices) or None, and its configuration with the reuse-factor
    target resolved per dense layer (:mod:`hls.reuse`) over the layers the model's family declares
    (``Family.layer_shapes``; a family that declares none is resolved on its deployable model at conversion)."""
    from hls.reuse import resolve_reuse
    from models.registry import get_family

    try:
        family = get_family(cfg.model)
    except (ValueError, FileNotFoundError) as exc:
        return str(exc), cfg
    if not family.handles:  # a model file: its precision is its own
        return (None if cfg.precision_bits is None else (
            f"precision {cfg.precision_bits}: a user model's precision is fixed by its own quantizers; "
            "omit the precision axis")), cfg
    try:
        shapes = family.layer_shapes(cfg)
    except ValueError as exc:
        return f"precision {cfg.precision_bits}: {exc}", cfg
    if not shapes:
        return None, cfg
    return None, cfg.replace(hls=resolve_reuse(cfg.hls, shapes))


def invalid_summary(points: list[Point]) -> str:
    bad = [p for p in points if p.invalid]
    lines = [f"{len(bad)} of {len(points)} sweep points are invalid:"]
    for p in bad:
        lines.append(f"  {_label(p.values)}: {p.invalid}")
    return "\n".join(lines)


def _label(v: dict) -> str:
    return ", ".join(f"{k}={x}" for k, x in v.items())
