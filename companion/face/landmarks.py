"""MediaPipe wrappers: face detection, the 478-point face mesh and the selfie matte.

This is the only module of the face engine that imports MediaPipe; motion and render work on the
plain arrays it returns, so they run wherever numpy (or torch) runs.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from companion import models


@dataclass(frozen=True)
class Detection:
    """A detected face: box (x0, y0, x1, y1) in pixels and a confidence score."""

    box: tuple[float, float, float, float]
    score: float


def _mp() -> Any:
    models.require("mediapipe-face-mesh")
    models.require("mediapipe-face-detection")
    models.require("mediapipe-selfie-segmentation")
    import mediapipe as mp  # heavy import: only when a face is actually processed

    return mp


class FaceAnalyzer:
    """Detects faces and their landmarks in RGB uint8 images. Not thread-safe: one per thread.

    `tracking=True` uses MediaPipe's video mode (faster, for consecutive frames of one clip).
    """

    def __init__(self, tracking: bool = False, max_faces: int = 5) -> None:
        mp = _mp()
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=not tracking, max_num_faces=max_faces, refine_landmarks=True,
            min_detection_confidence=0.5, min_tracking_confidence=0.5)
        self._mp = mp
        self._det: Any = None
        self._seg: Any = None

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """Faces in the image, largest first (full-range model: small and far faces too)."""
        if self._det is None:
            self._det = self._mp.solutions.face_detection.FaceDetection(
                model_selection=1, min_detection_confidence=0.5)
        h, w = rgb.shape[:2]
        res = self._det.process(rgb)
        out = []
        for d in res.detections or []:
            b = d.location_data.relative_bounding_box
            out.append(Detection((b.xmin * w, b.ymin * h, (b.xmin + b.width) * w,
                                  (b.ymin + b.height) * h), float(d.score[0])))
        out.sort(key=lambda d: -(d.box[2] - d.box[0]) * (d.box[3] - d.box[1]))
        return out

    def landmarks(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Every face's 478 landmarks as (478, 3) float32 pixels; z is in the x scale."""
        h, w = rgb.shape[:2]
        res = self._mesh.process(np.ascontiguousarray(rgb))
        faces = []
        for lm in res.multi_face_landmarks or []:
            a = np.array([(p.x * w, p.y * h, p.z * w) for p in lm.landmark], np.float32)
            faces.append(a)
        return faces

    def matte(self, rgb: np.ndarray) -> np.ndarray:
        """Person/background matte in [0, 1], float32 (H, W)."""
        if self._seg is None:
            self._seg = self._mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)
        res = self._seg.process(np.ascontiguousarray(rgb))
        return np.clip(res.segmentation_mask.astype(np.float32), 0.0, 1.0)

    def close(self) -> None:
        for m in (self._mesh, self._det, self._seg):
            if m is not None:
                m.close()


_local = threading.local()


def analyzer() -> FaceAnalyzer:
    """A per-thread still-image analyzer, created on first use."""
    a = getattr(_local, "analyzer", None)
    if a is None:
        a = FaceAnalyzer(tracking=False)
        _local.analyzer = a
    return a


__all__ = ["Detection", "FaceAnalyzer", "analyzer"]
