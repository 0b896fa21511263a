"""The visible "AI-generated" label drawn on every output frame by default."""

from __future__ import annotations

import functools

import cv2
import numpy as np

TEXT = "AI-generated"


def draw_label(rgb: np.ndarray, text: str = TEXT) -> np.ndarray:
    """Draw a small legible label in the bottom-left corner, in place; returns the image."""
    size = rgb.shape[0]
    scale = max(0.35, size / 1100.0)
    thick = max(1, round(size / 400))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    pad = max(3, size // 128)
    x0, y1 = pad, size - pad
    y0 = y1 - th - base - 2 * pad
    roi = rgb[y0:y1, x0:x0 + tw + 2 * pad]
    roi[:] = (roi.astype(np.float32) * 0.45).astype(np.uint8)
    cv2.putText(rgb, text, (x0 + pad, y1 - pad - base), cv2.FONT_HERSHEY_SIMPLEX, scale,
                (255, 255, 255), thick, cv2.LINE_AA)
    return rgb


@functools.lru_cache(maxsize=8)
def _template(h: int, w: int, text: str) -> tuple[tuple[slice, slice], np.ndarray] | None:
    """Where the label falls in an h×w frame, and its luma there, zero-mean and unit-norm:
    the same for every frame of a clip, so made once per size."""
    template = draw_label(np.full((h, w, 3), 128, np.uint8), text)
    ys, xs = np.nonzero(np.any(template != 128, axis=2))
    if len(ys) == 0:
        return None
    box = (slice(int(ys.min()), int(ys.max()) + 1), slice(int(xs.min()), int(xs.max()) + 1))
    b = template[box].astype(np.float32).mean(axis=2).ravel()
    b -= b.mean()
    return box, b / (float(np.linalg.norm(b)) or 1.0)


def label_score(rgb: np.ndarray, text: str = TEXT) -> float:
    """How much the frame's bottom-left corner looks like our label drawn at this frame size:
    the correlation of its luma with the label's (about 0.9 on our frames after H.264, near 0
    on others). A consent clip showing it was made by us, not recorded by a camera."""
    h, w = rgb.shape[:2]
    found = _template(h, w, text) if h >= 32 and w >= 64 else None
    if found is None:
        return 0.0
    box, b = found
    a = rgb[box].astype(np.float32).mean(axis=2).ravel()
    a -= a.mean()
    norm = float(np.linalg.norm(a))
    return float(a @ b / norm) if norm > 1e-6 else 0.0
