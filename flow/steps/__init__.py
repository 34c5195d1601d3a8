"""The registered steps (importing this package registers them all)."""

from flow.steps import common, hunt, legacy, references, trigger, vae_scores  # noqa: F401
