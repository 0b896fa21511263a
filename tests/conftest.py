"""Shared fixtures: real embedded models, the bundled avatars, real speech from tests/data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


_MADE: list[str] = []  # the temporary folders this run made, removed when it ends


def pytest_configure(config: pytest.Config) -> None:
    # Rigs built by the tests go to a private cache, so a stale user cache never hides a bug.
    if "COMPANION_CACHE" not in os.environ:
        import tempfile

        from companion.cache import cache_home

        # Converted models are keyed by their source files, so the user's copies are safe to
        # share (converting the embedded GGUF takes about a minute).
        os.environ.setdefault("COMPANION_MODEL_CACHE", str(cache_home()))
        os.environ["COMPANION_CACHE"] = tempfile.mkdtemp(prefix="companion-test-cache-")
        _MADE.append(os.environ["COMPANION_CACHE"])
    if "COMPANION_DATA" not in os.environ:
        import tempfile

        # consent records and stored portraits of the tests never mix with the user's
        os.environ["COMPANION_DATA"] = tempfile.mkdtemp(prefix="companion-test-data-")
        _MADE.append(os.environ["COMPANION_DATA"])
    # Typed attestations are off by default (tests/test_consent.py checks that); most tests
    # animate a painting from a path, which needs them on.
    os.environ.setdefault("COMPANION_ATTESTATION", "allowed")


def pytest_unconfigure(config: pytest.Config) -> None:
    # every run left its rig cache and consent data in /tmp: hundreds of runs filled the disk
    import shutil

    for d in _MADE:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def data() -> Path:
    return DATA


@pytest.fixture(scope="session")
def mona() -> Any:  # a Rig
    from companion.avatars import resolve
    from companion.face.rig import build_rig

    avatar = resolve("mona-lisa")
    return build_rig(avatar.image, avatar.consent)


def recorded_consent(img: Any) -> Any:
    """A registry record for a test image, stored directly (no face checks), for tests about
    other things than consent: rig geometry on two-face or faceless images, and the stand-in
    "person in front of the webcam" whose consent clips the consent tests render. The engine's
    gate looks records up, so a record object made up in a test would be refused."""
    from companion.consent.registry import ConsentRegistry

    with ConsentRegistry() as reg:
        return reg._store(img, "artwork", img.name, "test fixture, never shipped",
                          {"fixture": True}, "tests")


def run_cli(*args: str, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    """Run `companion ARGS` in a subprocess; keyword arguments override environment variables."""
    return subprocess.run([sys.executable, "-m", "companion.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env})


def video_frames(path: Path) -> Iterator[np.ndarray]:
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            yield f.to_ndarray(format="rgb24")


def write_wav(path: Path, samples: np.ndarray, rate: int = 16000) -> Path:
    import wave

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return path
