"""What consent needs from the face engine and the speech recogniser, handed in by the wiring:
consent/ imports neither (DESIGN.md: "the face check it needs is handed to it")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from companion.frames import LoadedImage


class FaceTracker(Protocol):
    def landmarks(self, rgb: np.ndarray) -> list[np.ndarray]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ConsentTools:
    # one usable face in the portrait, or a FaceError with the reason (nothing is stored)
    check_portrait: Callable[[LoadedImage], object]
    # a landmark tracker for the clip's liveness check (a new one per clip)
    track_faces: Callable[[], FaceTracker]
    # the recogniser that hears the consent phrase (has .words(AudioFrame))
    stt: Callable[[], Any]
    # the files made from an image (by its SHA-256) that revoking deletes: the cached rigs
    derived_files: Callable[[str], list[Path]]
