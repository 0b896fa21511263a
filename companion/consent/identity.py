"""Face identity for consent clips: is the person in the clip the person in the portrait?

dlib's ResNet face descriptor (128-d), with faces aligned by the 5-point shape predictor from the
`face-recognition-models` package (its 68-point model is trained on non-commercial data and is
never loaded). Faces are found with dlib's own HOG detector, which ships inside dlib.

Threshold: descriptors closer than THRESHOLD (Euclidean) are the same person. Calibrated on the
real photographs in shared/data/faces (see `companion bench facematch` and tests/test_identity.py):
same person 0.05-0.44, different people 0.82-0.87; dlib's documented operating point, 0.6, sits
in the middle of that gap.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from companion.errors import FaceError
from companion.models import require

THRESHOLD = 0.6
# HOG detection time grows with pixels; a face in a portrait or webcam frame stays well above
# the detector's ~80 px minimum after this.
MAX_SIDE = 960


@dataclass(frozen=True)
class FaceDescriptor:
    vector: np.ndarray  # (128,) float
    box: tuple[int, int, int, int]  # left, top, right, bottom in the input image's pixels

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]


class FaceIdentity:
    """Loads the dlib models once (checked against their SHA-256s); thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: tuple[Any, Any, Any] | None = None

    def _load(self) -> tuple[Any, Any, Any]:
        if self._models is None:
            import dlib

            root = require("dlib-face-recognition") / "models"
            aligner = dlib.shape_predictor(str(root / "shape_predictor_5_face_landmarks.dat"))
            net = dlib.face_recognition_model_v1(
                str(root / "dlib_face_recognition_resnet_model_v1.dat"))
            self._models = (dlib.get_frontal_face_detector(), aligner, net)
        return self._models

    def describe(self, rgb: np.ndarray, upsample: int = 1) -> list[FaceDescriptor]:
        """A descriptor for every face dlib finds, largest first."""
        scale = min(1.0, MAX_SIDE / max(rgb.shape[:2]))
        small = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale,
                                                     interpolation=cv2.INTER_AREA)
        small = np.ascontiguousarray(small, dtype=np.uint8)
        with self._lock:
            detector, aligner, net = self._load()
            found = []
            for box in detector(small, upsample):
                shape = aligner(small, box)
                vec = np.asarray(net.compute_face_descriptor(small, shape), dtype=np.float64)
                found.append(FaceDescriptor(vec, (int(box.left() / scale), int(box.top() / scale),
                                                  int(box.right() / scale),
                                                  int(box.bottom() / scale))))
        return sorted(found, key=lambda f: -f.width)

    def describe_one(self, rgb: np.ndarray, what: str = "the portrait") -> FaceDescriptor:
        faces = self.describe(rgb)
        if not faces:
            raise FaceError(f"no face frontal enough for an identity check in {what}",
                            "use a photo looking at the camera, face fully visible")
        if len(faces) > 1 and faces[1].width > 0.5 * faces[0].width:
            raise FaceError(f"{len(faces)} faces in {what}; the identity check needs one")
        return faces[0]


def distance(a: FaceDescriptor | np.ndarray, b: FaceDescriptor | np.ndarray) -> float:
    va = a.vector if isinstance(a, FaceDescriptor) else a
    vb = b.vector if isinstance(b, FaceDescriptor) else b
    return float(np.linalg.norm(va - vb))


_shared: FaceIdentity | None = None
_shared_lock = threading.Lock()


def identity() -> FaceIdentity:
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FaceIdentity()
        return _shared
