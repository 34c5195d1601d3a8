"""A reuse-factor *target* for a whole model, resolved per dense layer to a reuse factor hls4ml accepts.

hls4ml 1.3 accepts a dense layer's reuse factor R only when it fits the layer's n_in x n_out multiplications
(``FPGABackend._validate_reuse_factor``, mirrored in :func:`hls.config.valid_reuse_factors`); under the Resource
strategy it *silently* replaces any other value by the closest valid one (``set_closest_reuse_factor``), under
the Latency strategy it takes the value as given.  A model-wide R therefore rarely fits every layer (vae21's
21x32 first layer accepts 1, 3, 7, 21, ...).

**Rule** (the same for both strategies, so that a Latency and a Resource point of one target share their
per-layer values): each dense layer gets the **largest valid reuse factor <= the target** (1 is always valid).
A layer with its own explicit ``ReuseFactor`` (``LayerName.<layer>.ReuseFactor``, ``--layer-reuse-factor``)
keeps it.  The resolved values are written as per-layer settings into the configuration (so into hls4ml's
``LayerName`` config, the project's ``metadata.json``, ``build.yml``, the report and the sweep table), and
every layer whose value differs from the target is printed: never a silent replacement.
"""

from __future__ import annotations

from dataclasses import replace

from .config import HLSConfig, valid_reuse_factors
from .layer_settings import LayerSettings

RULE = "largest valid reuse factor <= target per dense layer (explicit per-layer values kept)"


def resolve_layer(target: int, n_in: int, n_out: int) -> int:
    """The largest reuse factor <= ``target`` that hls4ml accepts for an ``n_in`` x ``n_out`` dense layer."""
    if target < 1:
        raise ValueError(f"reuse-factor target must be >= 1, got {target}")
    return max(r for r in valid_reuse_factors(n_in, n_out) if r <= target)


def resolve_reuse(cfg: HLSConfig, shapes: dict[str, tuple[int, int]]) -> HLSConfig:
    """``cfg`` with every dense layer of ``shapes`` (name -> (n_in, n_out)) given its resolved reuse factor as a
    per-layer setting; unchanged when ``cfg`` has no target.  Idempotent (resolved values are explicit ones)."""
    if cfg.reuse_target is None:
        return cfg
    explicit = {ls.name for ls in cfg.layers if ls.reuse_factor is not None}
    extra = [LayerSettings(name, reuse_factor=resolve_layer(cfg.reuse_target, *s))
             for name, s in shapes.items() if name not in explicit]
    if not extra:
        return cfg
    from .layer_settings import merge_layers

    return replace(cfg, layers=merge_layers(cfg.layers, tuple(extra)))


def reuse_table(cfg: HLSConfig, shapes: dict[str, tuple[int, int]]) -> list[dict]:
    """Per dense layer: shape, target, the reuse factor used, the multipliers hls4ml allows
    (``ceil(n_in * n_out / R)``, before zero weights) and the valid values around the target."""
    rows = []
    for name, (n_in, n_out) in shapes.items():
        rf = cfg.reuse_factor_of(name)
        valid = valid_reuse_factors(n_in, n_out)
        rows.append({"layer": name, "n_in": n_in, "n_out": n_out, "target": cfg.reuse_target, "reuse_factor": rf,
                     "strategy": cfg.strategy_of(name).value, "multiplier_limit": -(-n_in * n_out // rf),
                     "valid_le_16": [v for v in valid if v <= 16]})
    return rows


def describe(cfg: HLSConfig, shapes: dict[str, tuple[int, int]]) -> str:
    """One line for the build log: the target and every layer whose reuse factor differs from it."""
    if cfg.reuse_target is None:
        return ""
    rows = reuse_table(cfg, shapes)
    moved = [f"{r['layer']} {r['n_in']}x{r['n_out']} -> {r['reuse_factor']}" for r in rows
             if r["reuse_factor"] != cfg.reuse_target]
    return (f"reuse-factor target {cfg.reuse_target} ({RULE}): "
            + ("; ".join(moved) if moved else "every dense layer takes it as is"))
