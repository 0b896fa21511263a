"""Where companion keeps what it derives: rigs, converted models. One place decides."""

from __future__ import annotations

import os
from pathlib import Path


def cache_home() -> Path:
    """COMPANION_CACHE, else $XDG_CACHE_HOME/companion (~/.cache/companion)."""
    base = os.environ.get("COMPANION_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "companion")
    return Path(base)


def model_cache(kind: str) -> Path:
    """Copies of models (converted LLMs, assembled recognisers), keyed by their source files
    and so safe to share between runs; COMPANION_MODEL_CACHE moves them on their own."""
    base = os.environ.get("COMPANION_MODEL_CACHE")
    return (Path(base) if base else cache_home()) / kind
