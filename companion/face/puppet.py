"""Live reenactment: camera frames in, the portrait's parameters out, one frame at a time.

The first CALIBRATE frames that show a face are the driver's rest pose candidates (the user is
asked to look at the camera with a relaxed face); the most typical of them with the mouth closed
becomes the neutral, as for a video (reenact.pick_neutral). From then on every frame is tracked
(MediaPipe's video mode), retargeted and smoothed. Not thread-safe: one per camera.
"""

from __future__ import annotations

import numpy as np

from companion.face import reenact
from companion.face import retarget as R
from companion.face.driver import DriverTrack
from companion.face.landmarks import FaceAnalyzer
from companion.face.rig import Rig

CALIBRATE = 8
FPS_GUESS = 25.0  # the page sends up to this many frames a second


class Puppet:
    def __init__(self, rig: Rig, analyzer: FaceAnalyzer | None = None) -> None:
        self._fa = analyzer or FaceAnalyzer(tracking=True, max_faces=1)
        self._rt = R.Retargeter(rig.vertices[:478], rig.basis)
        self._smooth = R.OneEuro(FPS_GUESS)
        self._calibration: list[np.ndarray] = []
        self._gaze = np.zeros(2, np.float32)
        self.calibrated = False

    def feed(self, rgb: np.ndarray) -> np.ndarray | None:
        """Parameters for this camera frame; None while calibrating or when no face shows."""
        faces = self._fa.landmarks(rgb)
        if not faces:
            return None
        lm = faces[0]
        if not self.calibrated:
            self._calibration.append(lm)
            if len(self._calibration) < CALIBRATE:
                return None
            track = DriverTrack(np.stack(self._calibration), np.arange(CALIBRATE) / FPS_GUESS,
                                FPS_GUESS, (rgb.shape[1], rgb.shape[0]), None)
            self._rt.set_neutral(self._calibration[reenact.pick_neutral(track)])
            self.calibrated = True
            self._calibration.clear()
        p = self._smooth(self._rt.params(lm))
        return R.gaze_hold(p[None], self._gaze)[0]

    def close(self) -> None:
        self._fa.close()


__all__ = ["CALIBRATE", "Puppet"]
