"""Input transformations applied upstream of the firmware input port, before the standardisation (pure numpy).

The SM tail that a trigger at ~30 events/day lives in is made of heavy-tailed features (isolation sums, MET,
energies, masses, multiplicities).  Standardised linearly, they dominate any squared error: a compressing
transform first makes the per-feature likelihood see the shape of the bulk and of the tail alike.

``log1p``: x -> sign(x) * log(1 + |x|) on the listed features (the identity on the others).  Like the
standardisation, the feature computation upstream of the firmware applies it; it is written into the
project's ``metadata.json`` (:meth:`FeatureTransform.to_dict`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# heavy-tailed HLT features (data.features): energies, masses, isolation sums, MET components, multiplicities
HLT21_LOG1P = ("lep_pt", "lep_iso_ch", "lep_iso_neu", "lep_iso_ph", "st", "m_jets", "met_par", "met_perp", "mt",
               "m_mu", "pt_mu_tot", "m_ele", "pt_ele_tot", "n_charged_hadrons", "n_neutral_hadrons")


@dataclass(frozen=True)
class FeatureTransform:
    """sign(x) log(1 + |x|) on ``features`` (names from ``feature_names``), identity elsewhere."""

    feature_names: tuple[str, ...]
    features: tuple[str, ...]

    def __post_init__(self):
        unknown = [f for f in self.features if f not in self.feature_names]
        if unknown:
            raise ValueError(f"feature transform: unknown features {unknown}; known: {list(self.feature_names)}")

    @property
    def columns(self) -> np.ndarray:
        return np.array([self.feature_names.index(f) for f in self.features], dtype=np.int64)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != len(self.feature_names):
            raise ValueError(f"feature transform expects (n, {len(self.feature_names)}) inputs, got {x.shape}")
        y = np.array(x, dtype=np.float64, copy=True)
        c = self.columns
        y[:, c] = np.sign(y[:, c]) * np.log1p(np.abs(y[:, c]))
        return y.astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)

    def to_dict(self) -> dict:
        return {"kind": "sign(x) * log1p(|x|)", "features": list(self.features),
                "applied": "upstream of the input port, before the standardisation"}

    @classmethod
    def from_dict(cls, feature_names, d: dict) -> "FeatureTransform":
        """The transform :meth:`to_dict` wrote (a project's ``metadata.json`` ``feature_transform``)."""
        return cls(tuple(feature_names), tuple(d["features"]))


def port_input(x: np.ndarray, transform: FeatureTransform | None, mean, std) -> np.ndarray:
    """Raw features -> the values at the firmware's input port, as the build computes them for the events it
    emulates and :class:`lhc_trigger.ProjectEmulator` for a user's: the raw features in float32 (the datasets'
    dtype), the feature transform (``None``: none), then (x - mean) / std in float32 arithmetic.  One function for
    both, so that a project's emulator reproduces the build's scores bit for bit (float64 arithmetic rounded to
    float32 differs by one ulp now and then, which the port's quantizer can turn into a different code)."""
    x = np.asarray(x, np.float32)
    if transform is not None:
        x = transform(x)
    return ((x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)).astype(np.float32)
