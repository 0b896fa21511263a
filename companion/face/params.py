"""The per-frame face parameter vector (the contract between motion and render)."""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np

# Expression parameters with a displacement basis in the rig (linear blend shapes).
EXPRESSION = ("jaw", "width", "pucker", "upper_raise", "smile", "blink_a", "blink_b",
              "brow_raise", "brow_inner", "seal")
# Gaze moves the iris inside the eye opening; head parameters are a rigid 3D motion.
GAZE = ("gaze_x", "gaze_y")
HEAD = ("yaw", "pitch", "roll", "tx", "ty", "scale")
# Painted, not warped: the tongue tip raised toward the upper teeth (/l t d n θ ð/), the lower
# lip tucked under the upper teeth (/f v/).
INTERIOR = ("tongue", "bite")
NAMES = EXPRESSION + GAZE + HEAD + INTERIOR
INDEX = {n: i for i, n in enumerate(NAMES)}


@dataclass
class FaceParams:
    """One frame of motion. Units: expression 0..1 (smile, brows and blinks may go negative:
    frown, lowered brows, eyes wide); gaze in iris radii; yaw/pitch/roll in radians; tx/ty in
    inter-ocular distances; scale relative (0 = unchanged)."""

    jaw: float = 0.0
    width: float = 0.0
    pucker: float = 0.0
    upper_raise: float = 0.0
    smile: float = 0.0
    blink_a: float = 0.0
    blink_b: float = 0.0
    brow_raise: float = 0.0
    brow_inner: float = 0.0
    seal: float = 0.0  # 1: lips that are apart in the portrait brought together (/p b m/)
    gaze_x: float = 0.0
    gaze_y: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    tx: float = 0.0
    ty: float = 0.0
    scale: float = 0.0
    tongue: float = 0.0
    bite: float = 0.0

    def to_array(self) -> np.ndarray:
        return np.array(astuple(self), np.float32)

    @classmethod
    def from_array(cls, a: np.ndarray) -> FaceParams:
        return cls(*(float(v) for v in a[: len(NAMES)]))


assert tuple(f.name for f in fields(FaceParams)) == NAMES

__all__ = ["EXPRESSION", "GAZE", "HEAD", "INDEX", "INTERIOR", "NAMES", "FaceParams"]
