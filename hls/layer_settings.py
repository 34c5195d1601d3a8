"""Per-layer settings of a build, in hls4ml's vocabulary (``LayerName: {<layer>: {ReuseFactor, Strategy, Precision}}``).

``LayerSettings(name, reuse_factor=None, strategy=None, precision={})``: ``None`` means "the model-level value".
``ReuseFactor`` and ``Strategy`` go into the hls4ml configuration of that layer and into the analytic estimate.
``Precision`` is different: hls4ml 1.3's bit-exact flow (the one this toolkit uses) takes every type from the
model's quantizers and ignores configured precisions, so a per-layer precision is applied by replacing that
layer's quantizers (:mod:`quantize.layer_precision`): ``weight`` / ``bias`` set a QDense's kernel / bias
quantizer, ``result`` a quantizer layer's (``QActivation``) type.  The types must be expressible by QKeras-API
quantizers (``AP_RND_CONV`` rounding with ``AP_SAT`` or ``AP_SAT_SYM``); a bare ``ap_fixed<W,I>`` means exactly
that (QKeras's own rounding and saturation) here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from quantize.precision import Overflow, Precision, Rounding

from .config import Strategy

PRECISION_PLACES = ("weight", "bias", "result")
HLS4ML_KEYS = ("ReuseFactor", "Strategy", "Precision")


def parse_layer_precision(s, where: str) -> Precision:
    """``ap_fixed<W,I>`` (QKeras rounding/saturation: RND_CONV, SAT) or a full ``ap_fixed<W,I,AP_RND_CONV,AP_SAT>``."""
    if isinstance(s, Precision):
        return s
    if not isinstance(s, str):
        raise ValueError(f"{where}: expected a type such as 'ap_fixed<8,2>', got {s!r}")
    p = Precision.parse(s)
    if len(s[s.find("<") + 1: s.rfind(">")].split(",")) == 2:  # bare ap_fixed<W,I>: QKeras rounding/saturation
        p = Precision(p.signed, p.width, p.integer, Rounding.RND_CONV, Overflow.SAT)
    if p.rounding is not Rounding.RND_CONV or p.overflow is Overflow.WRAP:
        raise ValueError(f"{where}: {s!r} cannot be a QKeras-API quantizer (they round half to even and saturate); "
                         "write 'ap_fixed<W,I>' or give AP_RND_CONV with AP_SAT or AP_SAT_SYM")
    return p


@dataclass(frozen=True)
class LayerSettings:
    name: str
    reuse_factor: int | None = None
    strategy: Strategy | None = None
    precision: tuple[tuple[str, Precision], ...] = field(default=())  # (place, type), places in PRECISION_PLACES

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"layer settings need a layer name, got {self.name!r}")
        where = f"LayerName.{self.name}"
        if self.reuse_factor is not None:
            if not isinstance(self.reuse_factor, int) or isinstance(self.reuse_factor, bool) or self.reuse_factor < 1:
                raise ValueError(f"{where}.ReuseFactor must be an integer >= 1, got {self.reuse_factor!r}")
        if self.strategy is not None and not isinstance(self.strategy, Strategy):
            object.__setattr__(self, "strategy", Strategy.parse(str(self.strategy)))
        prec = dict(self.precision)
        bad = sorted(set(prec) - set(PRECISION_PLACES))
        if bad:
            raise ValueError(f"{where}.Precision: unknown key(s) {bad}; valid: {list(PRECISION_PLACES)}")
        prec = {k: parse_layer_precision(v, f"{where}.Precision.{k}") for k, v in prec.items()}
        object.__setattr__(self, "precision", tuple((k, prec[k]) for k in PRECISION_PLACES if k in prec))

    @property
    def precisions(self) -> dict[str, Precision]:
        return dict(self.precision)

    def merged(self, other: "LayerSettings") -> "LayerSettings":
        """These settings with ``other``'s given values on top (same layer)."""
        return LayerSettings(self.name, other.reuse_factor or self.reuse_factor, other.strategy or self.strategy,
                             tuple({**self.precisions, **other.precisions}.items()))

    # hls4ml vocabulary: {"ReuseFactor": 2, "Strategy": "Resource", "Precision": {"weight": "ap_fixed<8,2>"}}
    def to_hls4ml(self) -> dict:
        d: dict = {}
        if self.reuse_factor is not None:
            d["ReuseFactor"] = self.reuse_factor
        if self.strategy is not None:
            d["Strategy"] = self.strategy.value
        if self.precision:
            d["Precision"] = {k: _ap(p) for k, p in self.precision}
        return d

    @classmethod
    def from_hls4ml(cls, name: str, d) -> "LayerSettings":
        where = f"LayerName.{name}"
        if not isinstance(d, dict):
            raise ValueError(f"{where}: expected a mapping with keys {list(HLS4ML_KEYS)}, got {d!r}")
        bad = sorted(set(d) - set(HLS4ML_KEYS))
        if bad:
            raise ValueError(f"{where}: unknown key(s) {bad}; valid: {list(HLS4ML_KEYS)}")
        prec = d.get("Precision") or {}
        if not isinstance(prec, dict):
            raise ValueError(f"{where}.Precision: give one type per place, e.g. {{weight: 'ap_fixed<8,2>'}} "
                             f"(places {list(PRECISION_PLACES)}), got {prec!r}")
        strategy = d.get("Strategy")
        return cls(name, d.get("ReuseFactor"), Strategy.parse(str(strategy)) if strategy is not None else None,
                   tuple(prec.items()))

    def to_dict(self) -> dict:
        return {"name": self.name, **self.to_hls4ml()}

    @classmethod
    def from_dict(cls, d: dict) -> "LayerSettings":
        d = dict(d)
        return cls.from_hls4ml(d.pop("name"), d)


def _ap(p: Precision) -> str:
    """The shortest string that parses back to ``p`` under :func:`parse_layer_precision`."""
    if p.rounding is Rounding.RND_CONV and p.overflow is Overflow.SAT:
        return f"{'ap_fixed' if p.signed else 'ap_ufixed'}<{p.width},{p.integer}>"
    return p.to_ap()


def merge_layers(base: tuple[LayerSettings, ...], extra: tuple[LayerSettings, ...]) -> tuple[LayerSettings, ...]:
    """``base`` with ``extra`` on top, layer by layer and setting by setting (order: first appearance)."""
    out = {ls.name: ls for ls in base}
    for ls in extra:
        out[ls.name] = out[ls.name].merged(ls) if ls.name in out else ls
    return tuple(out.values())
