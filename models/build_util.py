"""Small helpers shared by the model families and the build: cache keys and progress lines."""

from __future__ import annotations

import hashlib
import json


def config_hash(obj) -> str:
    """A short, stable hash of a JSON-serialisable configuration (model cache keys)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:12]


def say(msg: str) -> None:
    print(f"[build] {msg}", flush=True)
