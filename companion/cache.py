"""Where companion keeps what it derives: rigs, converted models. The settings decide."""

from __future__ import annotations

from pathlib import Path

from companion.config import current


def cache_home() -> Path:
    """The `cache` setting, else $XDG_CACHE_HOME/companion (~/.cache/companion)."""
    return current().cache_dir()


def model_cache(kind: str) -> Path:
    """Copies of models (converted LLMs, assembled recognisers), keyed by their source files
    and so safe to share between runs; the `model_cache` setting moves them on their own."""
    return current().model_cache_dir() / kind


def data_dir() -> Path:
    """The `data` setting, else the cache home's sibling 'companion-data' (portraits, the
    consent registry, the signing key)."""
    return current().data_dir()
