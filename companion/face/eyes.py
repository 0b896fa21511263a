"""Drawn eyes: on a flat-shaded cartoon, MediaPipe's eyelids sit on the top sliver of the large
painted eye (on `toonhead` the lower lid crosses the top of the iris, a third of the way down),
so a blink closed only that sliver and the painted iris stayed in view. Here the eye as drawn —
everything of another colour than the skin that touches the detected opening — is found, and the
lower lid and the iris landmarks are moved onto it. Photographs and paintings are left alone:
their skin has texture (a 9×9 patch varies by 3-9 grey levels; a vector cartoon's by 0), and under
their eyes a shadow, not an outline, would be found.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy import ndimage

from companion.face import topology as T

FLAT_SKIN_STD = 1.0  # grey levels: below this the skin is flat colour (a drawing)
SKIN_DISTANCE = 40.0  # Lab units from the skin colour: the eye's outline, white and iris
# The drawn eye must reach this many lid gaps below the detected lower lid to count as drawn
# larger than detected; less is left as it was.
MIN_EXTENSION = 0.5
CHEEK_POINTS = (205, 50, 187, 425, 280, 411)


def flat_shaded(img: np.ndarray, lm: np.ndarray) -> bool:
    stds = []
    for x, y in np.round(lm[list(CHEEK_POINTS), :2]).astype(int):
        patch = img[max(0, y - 4): y + 5, max(0, x - 4): x + 5].reshape(-1, 3).astype(np.float32)
        if len(patch):
            stds.append(float(patch.std(axis=0).mean()))
    return bool(stds) and float(np.median(stds)) < FLAT_SKIN_STD


def skin_lab(img: np.ndarray, lm: np.ndarray) -> np.ndarray:
    pts = np.round(lm[list(CHEEK_POINTS), :2]).astype(int)
    h, w = img.shape[:2]
    rgb = np.median([img[min(max(y, 0), h - 1), min(max(x, 0), w - 1)] for x, y in pts], axis=0)
    pixel = np.asarray(rgb, np.uint8).reshape(1, 1, 3)
    return np.asarray(cv2.cvtColor(pixel, cv2.COLOR_RGB2LAB), np.float32)[0, 0]


def skin_share(rgb: np.ndarray, skin: np.ndarray) -> float:
    """The share of these pixels (any shape, RGB last) that are the skin's colour: how much of
    a drawn eye a closing lid covers."""
    lab = cv2.cvtColor(np.ascontiguousarray(rgb.reshape(-1, 1, 3)), cv2.COLOR_RGB2LAB)
    near = np.linalg.norm(lab.reshape(-1, 3).astype(np.float32) - skin, axis=1) <= SKIN_DISTANCE
    return float(near.mean()) if len(near) else 0.0


def drawn_eye(img: np.ndarray, lm: np.ndarray, contour: tuple[int, ...], lower: tuple[int, ...],
               skin: np.ndarray) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The drawn eye as a mask over a box around the detected one, with the box's origin."""
    poly = lm[list(contour), :2]
    x0, x1 = float(poly[:, 0].min()), float(poly[:, 0].max())
    w = x1 - x0
    bx0, bx1 = int(x0 - 0.05 * w), int(x1 + 0.05 * w) + 1
    by0, by1 = int(poly[:, 1].min() - 0.1 * w), int(lm[list(lower), 1].max() + 0.8 * w) + 1
    h_img, w_img = img.shape[:2]
    bx0, by0, bx1, by1 = max(bx0, 0), max(by0, 0), min(bx1, w_img), min(by1, h_img)
    if bx1 - bx0 < 3 or by1 - by0 < 3:
        return None
    lab = cv2.cvtColor(img[by0:by1, bx0:bx1], cv2.COLOR_RGB2LAB).astype(np.float32)
    labels, n = ndimage.label(np.linalg.norm(lab - skin, axis=2) > SKIN_DISTANCE)
    inside = np.zeros(labels.shape, np.uint8)
    cv2.fillPoly(inside, [np.round(poly - [bx0, by0]).astype(np.int32)], (1,))
    counts = np.bincount(labels[inside.astype(bool)], minlength=n + 1)
    counts[0] = 0
    if n == 0 or counts.max() == 0:
        return None
    return labels == int(np.argmax(counts)), (bx0, by0)


def _iris_onto(lm: np.ndarray, iris: tuple[int, ...], eye: np.ndarray, lab_l: np.ndarray,
               origin: tuple[int, int]) -> None:
    """Centre the iris landmarks on the drawn eye's darkest blob, keeping their pattern."""
    dark = eye & (lab_l < np.percentile(lab_l[eye], 50))
    labels, n = ndimage.label(dark)
    if n == 0:
        return
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    blob = labels == int(np.argmax(sizes))
    ys, xs = np.nonzero(blob)
    centre = np.array([xs.mean() + origin[0], ys.mean() + origin[1]], np.float32)
    radius = float(np.sqrt(blob.sum() / np.pi))
    ring = lm[list(iris[1:]), :2] - lm[iris[0], :2]
    scale = radius / max(float(np.linalg.norm(ring, axis=1).mean()), 1e-3)
    lm[iris[0], :2] = centre
    lm[list(iris[1:]), :2] = centre + ring * scale


def _bottom(eye: np.ndarray, x: int, fallback: float) -> float:
    """The drawn eye's lowest row in column x (`fallback` where the column misses it)."""
    col = np.flatnonzero(eye[:, x]) if 0 <= x < eye.shape[1] else np.zeros(0, int)
    return float(col.max()) if len(col) else fallback


def _corners_onto(lm: np.ndarray, corners: tuple[int, int], white: np.ndarray,
                  origin: tuple[int, int]) -> None:
    """Move the eye's corners out to where its white reaches furthest, left and right: a drawn
    eye is round, widest halfway down, where the detected corners sit higher (the outline's
    lash flick is dark, so it is not followed)."""
    ys, xs = np.nonzero(white)
    if len(xs) == 0:
        return
    for c in corners:
        left = lm[c, 0] < lm[list(corners), 0].mean()
        edge = xs.min() if left else xs.max()
        at = abs(xs - edge) <= 1
        x, y = float(edge + origin[0]), float(np.median(ys[at]) + origin[1])
        if (x < lm[c, 0]) if left else (x > lm[c, 0]):
            lm[c, 0], lm[c, 1] = x, y


def fit_drawn_eyes(img: np.ndarray, lm: np.ndarray, flat: bool | None = None) -> np.ndarray:
    """Landmarks with a cartoon's lower lids and irises on its eyes as drawn (else unchanged).
    `flat`: whether the picture is flat-shaded, when the caller has already asked."""
    if not (flat_shaded(img, lm) if flat is None else flat):
        return lm
    out = lm.copy()
    skin = skin_lab(img, lm)
    for contour, upper, lower, iris, corners in (
            (T.EYE_A_CONTOUR, T.EYE_A_UPPER, T.EYE_A_LOWER, T.EYE_A_IRIS, T.EYE_A_CORNERS),
            (T.EYE_B_CONTOUR, T.EYE_B_UPPER, T.EYE_B_LOWER, T.EYE_B_IRIS, T.EYE_B_CORNERS)):
        found = drawn_eye(img, lm, contour, lower, skin)
        if found is None:
            continue
        eye, (bx0, by0) = found
        gap = float(np.mean(lm[list(lower), 1] - lm[list(upper), 1]))
        bottoms = np.array([_bottom(eye, round(float(lm[i, 0])) - bx0, float(lm[i, 1]) - by0)
                            for i in lower]) + by0
        drop = bottoms - lm[list(lower), 1]
        if np.median(drop) < MIN_EXTENSION * max(gap, 1.0):
            continue
        out[list(lower), 1] = np.maximum(lm[list(lower), 1], bottoms - 1.0)
        h, w = eye.shape
        lab_l = cv2.cvtColor(img[by0:by0 + h, bx0:bx0 + w], cv2.COLOR_RGB2LAB)[..., 0]
        lab_l = lab_l.astype(np.float32)
        _corners_onto(out, corners, eye & (lab_l > skin[0] + 20), (bx0, by0))
        _iris_onto(out, iris, eye, lab_l, (bx0, by0))
    return out


__all__ = ["SKIN_DISTANCE", "drawn_eye", "fit_drawn_eyes", "flat_shaded", "skin_lab",
           "skin_share"]
