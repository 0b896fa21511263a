"""The visible "AI-generated" label drawn on every output frame by default."""

from __future__ import annotations

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
