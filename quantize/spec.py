"""``QuantSpec``: the one quantizer-settings type of every model family (vae21, ae57, vae57, vae57hgq, cwola).

A spec maps each *place* of a network that the family quantizes with QKeras-API quantizers to QKeras-style
``(bits, integer)``: ``bits`` count the sign bit, ``integer`` does not (QKeras's ``quantized_bits(bits,
integer)``; :func:`quantize.qkeras.quantizer_config` turns the :class:`~quantize.precision.Precision` into
hgq2's compat quantizer, whose ``quantized_bits`` does *not* count the sign).  Each place has a fixed sign:

=============  ======  ===================================================  ======================
place          signed  what it quantizes                                    ``to_dict`` keys
=============  ======  ===================================================  ======================
``input``      yes     the firmware's input port                            ``input_bits`` ...
``weight``     yes     dense kernels                                        ``weight_bits`` ...
``bias``       yes     dense biases                                         ``bias_bits`` ...
``activation`` no      the ReLUs (``quantized_relu(bits, integer)``)        ``act_bits`` ...
``mu``         yes     a VAE's mu (the deployed latent)                     ``mu_bits`` ...
``latent``     yes     an autoencoder's bottleneck                          ``latent_bits`` ...
``output``     yes     an autoencoder's reconstruction                      ``out_bits`` ...
=============  ======  ===================================================  ======================

A spec holds only the places its family uses.  ``precision_places`` lists the places ``--precision N``
(:meth:`QuantSpec.with_bits`) sets to N bits, integer bits kept: the family's choice (default: every place
but the input).  Everything is validated when a spec is built: an unknown place or key, a place without
its pair, a width below the sign bit + 1 raise ``ValueError`` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral
from typing import NamedTuple

from .precision import Precision


class _Place(NamedTuple):
    signed: bool
    key: str  # prefix of the ``<key>_bits`` / ``<key>_integer`` keys of ``to_dict`` (the report's names)


PLACES: dict[str, _Place] = {
    "input": _Place(True, "input"),
    "weight": _Place(True, "weight"),
    "bias": _Place(True, "bias"),
    "activation": _Place(False, "act"),
    "mu": _Place(True, "mu"),
    "latent": _Place(True, "latent"),
    "output": _Place(True, "out"),
}
_BY_KEY = {p.key: name for name, p in PLACES.items()}


def _check_place(place: str) -> None:
    if place not in PLACES:
        raise ValueError(f"unknown quantizer place {place!r}; known: {list(PLACES)}")


def _check_pair(place: str, value) -> tuple[int, int]:
    """``value`` as a validated QKeras ``(bits, integer)`` for ``place``."""
    _check_place(place)
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{place}: expected (bits, integer), got {value!r}")
    bits, integer = value
    for what, v in (("bits", bits), ("integer", integer)):
        if not isinstance(v, Integral) or isinstance(v, bool):
            raise ValueError(f"{place}: {what} must be an integer, got {v!r}")
    lowest = 1 + int(PLACES[place].signed)
    if bits < lowest:
        raise ValueError(f"{place}: bits={bits} is too few (need >= {lowest}: QKeras bits count the sign)")
    return int(bits), int(integer)


@dataclass(frozen=True, init=False)
class QuantSpec:
    """``QuantSpec(input=(16, 5), weight=(8, 1), bias=(8, 1), activation=(10, 4), mu=(12, 4))``: QKeras
    ``(bits, integer)`` per place, plus ``precision_places`` (None: every place but the input)."""

    pairs: tuple[tuple[str, int, int], ...]  # (place, bits, integer) in the order of PLACES
    precision_places: tuple[str, ...]

    def __init__(self, precision_places: tuple[str, ...] | None = None, **places):
        checked = {p: _check_pair(p, v) for p, v in places.items()}
        pairs = tuple((p, *checked[p]) for p in PLACES if p in checked)
        if precision_places is None:
            precision_places = tuple(p for p, _, _ in pairs if p != "input")
        for p in precision_places:
            _check_place(p)
            if p not in checked:
                raise ValueError(f"precision_places: {p!r} is not a place of this spec ({list(checked)})")
        object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "precision_places", tuple(precision_places))

    # ---- reading -------------------------------------------------------------------------------
    @property
    def places(self) -> dict[str, tuple[int, int]]:
        """place -> (bits, integer)."""
        return {p: (b, i) for p, b, i in self.pairs}

    def qkeras(self, place: str) -> tuple[int, int]:
        """QKeras ``(bits, integer)`` of ``place``."""
        _check_place(place)
        try:
            return self.places[place]
        except KeyError:
            raise ValueError(f"this spec has no {place!r} place (it has {list(self.places)})") from None

    def precision(self, place: str) -> Precision:
        """The fixed-point type of ``place`` (QKeras semantics: round half to even, saturate)."""
        bits, integer = self.qkeras(place)
        return Precision.from_qkeras(bits, integer, keep_negative=PLACES[place].signed)

    # ---- derived specs -------------------------------------------------------------------------
    def with_places(self, **places) -> "QuantSpec":
        """A copy with the given places set (added or replaced): ``spec.with_places(input=(13, 6))``."""
        return QuantSpec(precision_places=self.precision_places, **{**self.places, **places})

    def with_bits(self, bits: int) -> "QuantSpec":
        """``--precision N``: every place of ``precision_places`` at ``bits`` bits, its integer bits kept."""
        if not isinstance(bits, Integral) or isinstance(bits, bool):
            raise ValueError(f"with_bits: bits must be an integer, got {bits!r}")
        return self.with_places(**{p: (bits, self.places[p][1]) for p in self.precision_places})

    # ---- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """``<key>_bits``, ``<key>_integer`` and ``<place>`` (the ``ap_fixed`` string) per place, and
        ``precision_places``."""
        d: dict = {}
        for p, bits, integer in self.pairs:
            key = PLACES[p].key
            d[f"{key}_bits"], d[f"{key}_integer"] = bits, integer
            d[p] = self.precision(p).to_ap()
        d["precision_places"] = list(self.precision_places)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "QuantSpec":
        """Inverse of :meth:`to_dict`; the ``ap_fixed`` strings are optional but must agree when present."""
        halves: dict[str, dict[str, int]] = {}
        aps = {}
        for k, v in d.items():
            if k == "precision_places":
                continue
            if k in PLACES:
                aps[k] = v
                continue
            key, _, half = k.rpartition("_")
            if key not in _BY_KEY or half not in ("bits", "integer"):
                raise ValueError(f"unknown quantizer-settings key {k!r}")
            halves.setdefault(_BY_KEY[key], {})[half] = v
        for p, h in halves.items():
            for half in ("bits", "integer"):
                if half not in h:
                    raise ValueError(f"{PLACES[p].key}_{half} is missing ({p} needs both bits and integer)")
        pp = d.get("precision_places")
        spec = cls(precision_places=None if pp is None else tuple(pp),
                   **{p: (h["bits"], h["integer"]) for p, h in halves.items()})
        for p, ap in aps.items():
            if p not in halves or spec.precision(p).to_ap() != ap:
                raise ValueError(f"{p}: {ap!r} does not match {PLACES[p].key}_bits / {PLACES[p].key}_integer")
        return spec

    def __repr__(self) -> str:
        places = ", ".join(f"{p}={(b, i)}" for p, b, i in self.pairs)
        return f"QuantSpec({places}, precision_places={self.precision_places})"
