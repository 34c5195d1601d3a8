"""The one validated configuration of a build.

``BuildConfig`` is built once, at the boundary (the command line, a sweep point, the Python API), and every
step reads it.  Strings from users become enums here; impossible values raise ``ValueError`` naming the option
and the fix; ``from_dict`` refuses unknown keys with their path (a typo in a sweep or a saved config never
goes unnoticed).  ``to_dict``/``from_dict`` round-trip: the config is written into every project
(``metadata.json["build_config"]``) and read back by sweeps.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from analysis.budgets import Budgets
from hls.config import HLSConfig

_CHECKOUT = Path(__file__).resolve().parents[1]
# defaults (firmware_projects/, .cache/) live in the checkout; for an installed package (pip install .) in the
# folder the command runs from
ROOT = _CHECKOUT if (_CHECKOUT / "pyproject.toml").is_file() else Path.cwd()
HUNT_FEATURES = ("mj1", "mj2", "tau21_1", "tau21_2")


def _parse_choice(cls, s, label: str):
    """``cls(s)`` case-insensitively, or a ValueError naming the option and its choices."""
    try:
        return cls(str(s).lower())
    except ValueError:
        names = [repr(m.value) for m in cls]
        raise ValueError(f"{label} {s!r}: choose {', '.join(names[:-1])} or {names[-1]}") from None


class Emulator(enum.StrEnum):
    """Which bit-exact emulator produces the numbers of a build."""

    FAST = "fast"
    CSIM = "csim"
    RTL = "rtl"
    DA4ML = "da4ml"  # da4ml's interpreter (CombLogic.predict) on the da4ml-traced model

    @classmethod
    def parse(cls, s) -> "Emulator":
        return _parse_choice(cls, s, "--emulator")


class QuantMode(enum.StrEnum):
    QAT = "qat"  # train at the build's precision
    PTQ = "ptq"  # reuse the weights trained at the default precision

    @classmethod
    def parse(cls, s) -> "QuantMode":
        return _parse_choice(cls, s, "quantization mode")


@dataclass(frozen=True)
class Tolerances:
    max_mismatched: int = 0
    min_spearman_float_view: float = 0.98
    # |eff_emu - eff_view| / eff_view per signal at the model's efficiency-check working point (L1: 1 kHz)
    max_rel_eff_diff_float_view: float = 0.10

    def __post_init__(self):
        if self.max_mismatched < 0:
            raise ValueError(f"max_mismatched must be >= 0, got {self.max_mismatched}")
        if not -1.0 <= self.min_spearman_float_view <= 1.0:
            raise ValueError(f"--min-spearman must lie in [-1, 1], got {self.min_spearman_float_view}")
        if not self.max_rel_eff_diff_float_view >= 0:
            raise ValueError(f"--max-eff-rel-diff must be >= 0, got {self.max_rel_eff_diff_float_view}")


@dataclass(frozen=True)
class HardwareOptions:
    # None = the family's default: on for the L1 family when Verilator / yosys are on the machine (see
    # :meth:`resolved`), off otherwise; True = asked for (--rtl / --synth), False = skipped (--no-rtl)
    rtl: bool | None = None
    synth: bool | None = None
    latency_cutoff: float = 5.0  # da4ml pipelining: max combinational delay per stage (da4ml units)
    budgets: Budgets = field(default_factory=Budgets)
    skipped: str = ""  # why a family-default RTL / synthesis did not run (tools missing), for the report

    def __post_init__(self):
        if self.synth and self.rtl is False:
            raise ValueError("--synth synthesizes the da4ml RTL: it needs --rtl as well (not --no-rtl)")
        if not self.latency_cutoff > 0:
            raise ValueError(f"--rtl-latency-cutoff must be > 0, got {self.latency_cutoff}")

    def to_dict(self) -> dict:
        return {"rtl": self.rtl, "synth": self.synth, "latency_cutoff": self.latency_cutoff,
                "budgets": self.budgets.to_dict(), "skipped": self.skipped}

    def resolved(self, rtl_by_default: bool) -> "HardwareOptions":
        """Both flags decided: an unset flag follows the family (``rtl_by_default``: on when the tools are present;
        when they are not, ``skipped`` says why); explicit flags are kept."""
        if self.rtl is not None and self.synth is not None:
            return self
        rtl, synth, why = self.rtl, self.synth, []
        if rtl is None:
            rtl = rtl_by_default
            if rtl and not synth:
                from emulation.rtl import rtl_unavailable_reason

                reason = rtl_unavailable_reason()
                if reason:
                    rtl = False
                    why.append(f"RTL simulation: {reason}")
        if synth is None:
            synth = bool(rtl) and rtl_by_default
            if synth:
                from emulation.synth import yosys_unavailable_reason

                reason = yosys_unavailable_reason()
                if reason:
                    synth = False
                    why.append(f"yosys synthesis: {reason}")
        if synth and not rtl:
            raise ValueError("--synth synthesizes the da4ml RTL: it needs --rtl as well")
        return replace(self, rtl=rtl, synth=synth, skipped="; ".join(why))


@dataclass(frozen=True)
class CWoLaOptions:
    """The CWoLa hunt (``--model cwola``): dijet sample, windows, nested k-fold."""

    n_bkg: int = 300_000
    n_sig: int = 400
    no_signal: bool = False
    window: int | None = None  # deployed window index (default: most significant)
    features: tuple[str, ...] = HUNT_FEATURES
    decorrelate_masses: bool = True
    n_folds: int = 5
    n_init: int = 1
    first_center: float = 3449.0  # = 3200 e^h: the first SR starts one sideband (3 fit bins) above the fit range
    last_center: float = 4800.0
    fit_range: tuple[float, float] = (2968.0, 6900.0)  # above the trigger turn-on (see data/dijet.py)
    n_supervised_sig: int = 20_000
    n_supervised_bkg: int = 200_000
    n_toys: int = 200  # pseudo-experiments checking the tightest cut's fit uncertainty, per window (0: none)

    def __post_init__(self):
        from data.dijet import FEATURES

        bad = [f for f in self.features if f not in FEATURES or f == "mjj"]
        if bad or not self.features:
            raise ValueError(f"--features {list(self.features)}: unknown or not allowed {bad}; choose from "
                             f"{[f for f in FEATURES if f != 'mjj']} (mjj itself would learn the window)")
        if self.n_folds < 3:
            raise ValueError(f"--folds {self.n_folds}: nested k-fold needs at least 3 folds")
        if self.n_init < 1:
            raise ValueError("--inits must be >= 1")
        if self.n_sig < 0:
            raise ValueError(f"--n-inject must be >= 0, got {self.n_sig}")
        if self.n_toys < 0 or self.n_toys == 1:
            raise ValueError(f"cwola.n_toys must be 0 (no pseudo-experiments) or >= 2, got {self.n_toys}")

    def to_dict(self) -> dict:
        return {**asdict(self), "features": list(self.features), "fit_range": list(self.fit_range)}


_PATHS = ("output_dir", "data_path", "cache_dir", "weights_path", "reference_path")
# the defaults of the fields a model family may replace (models/registry.py ``Family.build_defaults``)
COUNT_DEFAULTS = {"n_train": 150_000, "n_val": 30_000, "n_signal": 50_000}
HLS_FAMILY_KEYS = ("part", "clock_period_ns")  # HLSConfig fields a family may replace


def family_defaults(model) -> dict:
    """The build defaults of the family handling ``model`` (e.g. cicada: its part, clock and event counts); {} for
    an unknown model or a missing model file (the build reports those with their reason)."""
    from models.registry import get_family

    try:
        family = get_family(str(model))
    except (ValueError, FileNotFoundError):
        return {}
    return family.build_defaults()  # a family declaring unknown keys raises (a bug of the registry, not of the user)


def _resolve_hls(hls, fam: dict) -> HLSConfig:
    """An HLSConfig is used as given; None or a mapping of HLSConfig fields (typed values) gets the family's part
    and clock for the keys it does not set."""
    if isinstance(hls, HLSConfig):
        return hls
    if hls is not None and not isinstance(hls, dict):
        raise ValueError(f"hls: expected an HLSConfig or a mapping of its fields, got {type(hls).__name__}")
    return HLSConfig(**{**{k: fam[k] for k in HLS_FAMILY_KEYS if k in fam}, **(hls or {})})


@dataclass(frozen=True)
class BuildConfig:
    model: str = "vae21"
    output_dir: Path | None = None
    data_path: Path | None = None
    seed: int = 42
    # None: the model family's default (models/registry.py ``build_defaults``), else COUNT_DEFAULTS
    n_train: int | None = None
    n_val: int | None = None
    n_test_bkg: int | None = None  # None: as many as the working points need
    n_signal: int | None = None
    retrain: bool = False
    epochs: int | None = None
    precision_bits: int | None = None
    input_precision: str | None = None
    extra_rates_hz: tuple[float, ...] = ()
    fprs: tuple[float, ...] = ()  # replaces the default working points when given
    emulator: Emulator = Emulator.FAST
    quant_mode: QuantMode = QuantMode.QAT
    csim_events: int = 250_000  # C-sim cross-check subset when the fast emulator produces the numbers
    # None or a mapping of HLSConfig fields: the family's part / clock where not set (resolved to an HLSConfig)
    hls: HLSConfig | dict | None = None
    tolerances: Tolerances = field(default_factory=Tolerances)
    cache_dir: Path = ROOT / ".cache"
    hardware: HardwareOptions = field(default_factory=HardwareOptions)
    # imported legacy QKeras / Keras 2 models
    weights_path: Path | None = None
    reference_path: Path | None = None
    reference_tolerance: float = 1e-4
    allow_overflow: bool = False  # accept importer-inserted quantizers that saturate on the data
    allow_saturation: bool = False  # accept a user's --data that saturates the input port (data.validate)
    companion: bool = True  # also build the model's registered companion (e.g. vae57 -> vae57hgq) and compare
    cwola: CWoLaOptions = field(default_factory=CWoLaOptions)
    score: str | None = None  # the on-chip score of a family with several (vae21: mu2, reco); None: its default

    def __post_init__(self):
        self._apply_family_defaults()
        object.__setattr__(self, "emulator", Emulator.parse(self.emulator))
        object.__setattr__(self, "quant_mode", QuantMode.parse(self.quant_mode))
        for k in _PATHS:
            v = getattr(self, k)
            if v is not None and not isinstance(v, Path):
                object.__setattr__(self, k, Path(v))
        object.__setattr__(self, "extra_rates_hz", tuple(float(r) for r in self.extra_rates_hz))
        object.__setattr__(self, "fprs", tuple(float(f) for f in self.fprs))
        for k in ("n_train", "n_val", "n_signal", "csim_events"):
            if getattr(self, k) < 1:
                raise ValueError(f"--{k.replace('_', '-')} must be >= 1, got {getattr(self, k)}")
        for k in ("n_test_bkg", "epochs"):
            if getattr(self, k) is not None and getattr(self, k) < 1:
                raise ValueError(f"--{k.replace('_', '-')} must be >= 1, got {getattr(self, k)}")
        bad = [f for f in self.fprs if not 0 < f < 1]
        if bad:
            raise ValueError(f"--fpr {bad}: a false-positive rate lies strictly between 0 and 1")
        if any(r <= 0 for r in self.extra_rates_hz):
            raise ValueError(f"--rate {list(self.extra_rates_hz)}: rates must be > 0 Hz")
        if self.emulator is Emulator.RTL and self.hardware.rtl is False:
            raise ValueError("--emulator rtl needs --rtl (the RTL is built by the --rtl path)")
        if self.hardware.rtl and any(ls.precision for ls in self.hls.layers):
            raise ValueError("per-layer Precision with the RTL path (--rtl; the L1 models' default, --no-rtl skips it): "
                             "not supported (the RTL variant re-rounds every quantizer)")
        if self.score is not None:
            object.__setattr__(self, "score", str(self.score).lower())
        if not self.reference_tolerance >= 0:
            raise ValueError(f"--reference-tolerance must be >= 0, got {self.reference_tolerance}")

    def _apply_family_defaults(self) -> None:
        """Fields left unset (None) take the model family's defaults, then the global ones: every entry point (command
        line, config file, sweep, Python API) gets the same.  ``replace()`` keeps the values already resolved."""
        unset = [k for k in COUNT_DEFAULTS if getattr(self, k) is None]
        fam = family_defaults(self.model) if unset or not isinstance(self.hls, HLSConfig) else {}
        for k in unset:
            object.__setattr__(self, k, int(fam.get(k, COUNT_DEFAULTS[k])))
        object.__setattr__(self, "hls", _resolve_hls(self.hls, fam))

    def resolved_output_dir(self) -> Path:
        if self.output_dir is not None:
            return Path(self.output_dir)
        return ROOT / "firmware_projects" / Path(self.model).stem

    def replace(self, **kw) -> "BuildConfig":
        return replace(self, **kw)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["hls"] = self.hls.to_dict()
        d["hardware"] = self.hardware.to_dict()
        d["cwola"] = self.cwola.to_dict()
        d["emulator"], d["quant_mode"] = str(self.emulator), str(self.quant_mode)
        for k in _PATHS:
            d[k] = str(d[k]) if d[k] is not None else None
        d["extra_rates_hz"], d["fprs"] = list(self.extra_rates_hz), list(self.fprs)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BuildConfig":
        """Inverse of :meth:`to_dict`; unknown keys are refused with their path."""
        d = dict(d)
        _refuse_unknown(cls, d, "build_config")
        if "hls" in d:
            _refuse_unknown(HLSConfig, d["hls"], "build_config.hls")
            fam = family_defaults(d.get("model", "vae21"))  # a partial mapping: the family's part / clock first
            base = {**HLSConfig().to_dict(), **{k: fam[k] for k in HLS_FAMILY_KEYS if k in fam}}
            d["hls"] = HLSConfig.from_dict({**base, **d["hls"]})
        if "tolerances" in d:
            _refuse_unknown(Tolerances, d["tolerances"], "build_config.tolerances")
            d["tolerances"] = Tolerances(**d["tolerances"])
        if isinstance(d.get("hardware"), dict):
            h = dict(d["hardware"])
            _refuse_unknown(HardwareOptions, h, "build_config.hardware")
            _refuse_unknown(Budgets, h.get("budgets", {}), "build_config.hardware.budgets")
            h["budgets"] = Budgets(**h.get("budgets", {}))
            d["hardware"] = HardwareOptions(**h)
        if isinstance(d.get("cwola"), dict):
            c = dict(d["cwola"])
            _refuse_unknown(CWoLaOptions, c, "build_config.cwola")
            c["features"], c["fit_range"] = tuple(c.get("features", HUNT_FEATURES)), tuple(c.get("fit_range", (2968.0, 6900.0)))
            d["cwola"] = CWoLaOptions(**c)
        if d.get("cache_dir") is None:
            d.pop("cache_dir", None)
        return cls(**d)


def _refuse_unknown(cls, d: dict, where: str) -> None:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; known: {sorted(known)}")
