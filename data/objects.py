"""Object-level event record: padded, pT-ordered numpy arrays of leptons, jets and photons.

Layout (N events):

* leptons (N, 4): ``lep_pt, lep_eta, lep_phi`` (float32, GeV / rad), ``lep_charge`` (int8, +1/-1, 0 pad),
  ``lep_flavour`` (int8, 11 electron, 13 muon, 0 pad), ``lep_iso_ch, lep_iso_neu, lep_iso_ph`` (float32, relative
  isolations: scalar pT sum of charged hadrons / neutral hadrons / photons in a cone around the lepton divided by
  the lepton pT);
* jets (N, 10): ``jet_pt, jet_eta, jet_phi, jet_mass`` (float32), ``jet_btag`` (int8, 0/1);
* photons (N, 2): ``pho_pt, pho_eta, pho_phi`` (float32);
* per event (N,): ``met, met_phi`` (float32), ``n_charged_hadrons, n_neutral_hadrons`` (int32).

Padding slots have ``pt == 0`` (and every other field 0). Real objects are ordered by decreasing pT.
The same names are the HDF5 dataset names written by :meth:`EventObjects.to_h5`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

N_LEPTONS = 4
N_JETS = 10
N_PHOTONS = 2

# name -> (dtype, number of slots or None for a per-event scalar)
_SPEC: dict[str, tuple[type, int | None]] = {
    "lep_pt": (np.float32, N_LEPTONS),
    "lep_eta": (np.float32, N_LEPTONS),
    "lep_phi": (np.float32, N_LEPTONS),
    "lep_charge": (np.int8, N_LEPTONS),
    "lep_flavour": (np.int8, N_LEPTONS),
    "lep_iso_ch": (np.float32, N_LEPTONS),
    "lep_iso_neu": (np.float32, N_LEPTONS),
    "lep_iso_ph": (np.float32, N_LEPTONS),
    "jet_pt": (np.float32, N_JETS),
    "jet_eta": (np.float32, N_JETS),
    "jet_phi": (np.float32, N_JETS),
    "jet_mass": (np.float32, N_JETS),
    "jet_btag": (np.int8, N_JETS),
    "pho_pt": (np.float32, N_PHOTONS),
    "pho_eta": (np.float32, N_PHOTONS),
    "pho_phi": (np.float32, N_PHOTONS),
    "met": (np.float32, None),
    "met_phi": (np.float32, None),
    "n_charged_hadrons": (np.int32, None),
    "n_neutral_hadrons": (np.int32, None),
}
OBJECT_FIELDS: tuple[str, ...] = tuple(_SPEC)


def _expected_shape(name: str, n: int | str) -> tuple:
    k = _SPEC[name][1]
    return (n,) if k is None else (n, k)


@dataclass
class EventObjects:
    """Padded object arrays for N events (see the module docstring for the layout)."""

    lep_pt: np.ndarray
    lep_eta: np.ndarray
    lep_phi: np.ndarray
    lep_charge: np.ndarray
    lep_flavour: np.ndarray
    lep_iso_ch: np.ndarray
    lep_iso_neu: np.ndarray
    lep_iso_ph: np.ndarray
    jet_pt: np.ndarray
    jet_eta: np.ndarray
    jet_phi: np.ndarray
    jet_mass: np.ndarray
    jet_btag: np.ndarray
    pho_pt: np.ndarray
    pho_eta: np.ndarray
    pho_phi: np.ndarray
    met: np.ndarray
    met_phi: np.ndarray
    n_charged_hadrons: np.ndarray
    n_neutral_hadrons: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for name in OBJECT_FIELDS:
            dtype, _ = _SPEC[name]
            arr = np.asarray(getattr(self, name))
            if n is None:
                n = arr.shape[0] if arr.ndim else -1
            want = _expected_shape(name, n)
            if arr.shape != want:
                raise ValueError(
                    f"EventObjects.{name}: shape {arr.shape}, expected {want} "
                    f"({'per-event scalar' if len(want) == 1 else f'{want[1]} padded slots'} for {n} events)"
                )
            if arr.dtype != dtype:
                arr = arr.astype(dtype)
            setattr(self, name, arr)

    # ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.met.shape[0])

    def select(self, mask_or_index) -> EventObjects:
        """Subset of events by a boolean mask (N,), an integer index array (copies) or a slice (views)."""
        if isinstance(mask_or_index, slice):
            return EventObjects(**{name: getattr(self, name)[mask_or_index] for name in OBJECT_FIELDS})
        idx = np.asarray(mask_or_index)
        if idx.dtype == bool and idx.shape != (len(self),):
            raise ValueError(f"select: boolean mask of shape {idx.shape}, expected ({len(self)},)")
        if idx.dtype == bool:
            idx = np.flatnonzero(idx)
        return EventObjects(**{name: np.take(getattr(self, name), idx, axis=0) for name in OBJECT_FIELDS})

    def head(self, k: int) -> EventObjects:
        """The first k events (views, no copy)."""
        return EventObjects(**{name: getattr(self, name)[:k] for name in OBJECT_FIELDS})

    @staticmethod
    def concatenate(items: list[EventObjects]) -> EventObjects:
        items = list(items)
        if not items:
            raise ValueError("EventObjects.concatenate: empty list")
        return EventObjects(**{name: np.concatenate([getattr(e, name) for e in items]) for name in OBJECT_FIELDS})

    @staticmethod
    def empty(n: int = 0) -> EventObjects:
        return EventObjects(**{name: np.zeros(_expected_shape(name, n), _SPEC[name][0]) for name in OBJECT_FIELDS})

    # ------------------------------------------------------------------------------------------
    def to_h5(self, group, compression: str | None = "lzf") -> None:
        """Write every field as a dataset ``group[name]`` (names and dtypes as in the module docstring)."""
        for name in OBJECT_FIELDS:
            arr = getattr(self, name)
            kw = {"compression": compression} if (compression and arr.size) else {}
            if kw and arr.ndim == 2:
                kw["chunks"] = (min(len(arr), 65536), arr.shape[1])
            group.create_dataset(name, data=arr, **kw)

    @classmethod
    def from_h5(cls, group) -> EventObjects:
        """Read the fields written by :meth:`to_h5`; ValueError naming the missing / malformed dataset."""
        where = getattr(group, "name", "?")
        file = getattr(getattr(group, "file", None), "filename", "?")
        missing = [name for name in OBJECT_FIELDS if name not in group]
        if missing:
            raise ValueError(
                f"{file}:{where}: missing object dataset(s) {missing}; an object group needs all of "
                f"{list(OBJECT_FIELDS)} (leptons (N,{N_LEPTONS}), jets (N,{N_JETS}), photons (N,{N_PHOTONS}), "
                f"per-event (N,)), or a 'features' dataset (N,21) instead"
            )
        n = group["met"].shape[0] if group["met"].ndim >= 1 else None
        out = {}
        for name in OBJECT_FIELDS:
            ds = group[name]
            want = _expected_shape(name, n if n is not None else "N")
            if n is None or ds.shape != want:
                raise ValueError(
                    f"{file}:{where}/{name}: shape {ds.shape}, expected {tuple(want)} "
                    f"(N = number of events, taken from 'met')"
                )
            out[name] = ds[()]
        return cls(**out)

    def __eq__(self, other) -> bool:  # array-aware equality
        if not isinstance(other, EventObjects):
            return NotImplemented
        return all(np.array_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))
