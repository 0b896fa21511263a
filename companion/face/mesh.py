"""Mesh over the aligned portrait: face landmarks, a hair/ear ring, the neck and the frame border.

The main triangulation keeps the lip line and the eyelid openings as cuts: it is built on an
"opened" pose (jaw dropped) so no triangle spans the mouth, then triangles inside the mouth and
eye openings are taken out. Those openings get their own "hole" triangles (inner lip contour; eye
contour + iris), drawn underneath with head motion and gaze only, so the eye and mouth interiors
never stretch with the lids or the jaw.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from companion.face import topology as T

N_LANDMARKS = 478
IRIS = tuple(range(468, 478))


@dataclass(frozen=True)
class MeshLayout:
    vertices: np.ndarray  # (N, 3) float32 rest positions (x, y, z) in pixels
    head_weight: np.ndarray  # (N,) how much each vertex follows the rigid head motion
    triangles: np.ndarray  # (M, 3) int32 main mesh (no iris, cuts at lips and eyes)
    hole_triangles: np.ndarray  # (K, 3) int32 eye and mouth interiors
    fixed: np.ndarray  # (N,) bool: frame-border points that never move


def uncross(lm: np.ndarray, gap: float = 0.3) -> np.ndarray:
    """Return landmarks where every lower lip/lid point lies at least `gap` px below its upper
    partner. A closed mouth is often detected with the lips crossed, which would flip triangles."""
    out = lm.copy()
    pairs = list(zip(T.INNER_UPPER[1:-1], T.INNER_LOWER[1:-1], strict=True))
    pairs += list(zip(T.EYE_A_UPPER, T.EYE_A_LOWER, strict=True))
    pairs += list(zip(T.EYE_B_UPPER, T.EYE_B_LOWER, strict=True))
    for u, lo in pairs:
        if out[lo, 1] - out[u, 1] < gap:
            mid = 0.5 * (out[lo, 1] + out[u, 1])
            out[u, 1] = mid - gap / 2
            out[lo, 1] = mid + gap / 2
    return out


def opened(verts: np.ndarray, iod: float) -> np.ndarray:
    """The rest pose with the lips and lids pulled just apart: triangulating this keeps the lip
    line and lid openings as cuts while staying close enough to rest that nothing flips."""
    out = verts.copy()
    gap = 0.04 * iod
    for upper, lower in ((T.INNER_UPPER[1:-1], T.INNER_LOWER[1:-1]),
                         (T.EYE_A_UPPER, T.EYE_A_LOWER), (T.EYE_B_UPPER, T.EYE_B_LOWER)):
        for u, lo in zip(upper, lower, strict=True):
            d = out[lo, 1] - out[u, 1]
            if d < gap:
                out[u, 1] -= 0.5 * (gap - d)
                out[lo, 1] += 0.5 * (gap - d)
    return out


def _ring(points: np.ndarray, center: np.ndarray, factor: float) -> np.ndarray:
    return center + factor * (points - center)


def extra_points(lm: np.ndarray, size: int, iod: float, matte: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ring, neck and border points with their head weights and 'fixed' flags."""
    oval = lm[list(T.FACE_OVAL), :2]
    center = oval.mean(axis=0)
    chin = lm[T.CHIN, :2]
    pts: list[np.ndarray] = []
    weights: list[float] = []
    fixed: list[bool] = []
    depth: list[float] = []

    def matte_at(p: np.ndarray) -> float:
        x = int(np.clip(p[0], 0, size - 1))
        y = int(np.clip(p[1], 0, size - 1))
        return float(matte[y, x]) / 255.0

    # Hair/ears: close ring follows the head; the outer ring follows it only where the matte says
    # it is the person, so background stays put and the skin in between absorbs the motion.
    # Ring points take the depth of the oval point they extend, so yaw moves them alike and the
    # face edge does not fold over the hair.
    oval_z = lm[list(T.FACE_OVAL), 2]
    for p, z in zip(_ring(oval, center, 1.22), oval_z, strict=True):
        pts.append(p)
        weights.append(0.95)
        fixed.append(False)
        depth.append(float(z))
    for p, z in zip(_ring(oval, center, 1.6), oval_z, strict=True):
        pts.append(p)
        weights.append(0.15 + 0.6 * matte_at(p))
        fixed.append(False)
        depth.append(float(z))
    for dx, dy, w in ((0.0, 0.55, 0.35), (-0.55, 0.4, 0.3), (0.55, 0.4, 0.3),
                      (0.0, 1.1, 0.1), (-0.9, 1.0, 0.08), (0.9, 1.0, 0.08)):
        pts.append(chin + np.array([dx * iod, dy * iod]))
        weights.append(w)
        fixed.append(False)
        depth.append(float(lm[T.CHIN, 2]))
    n_side = 9
    for t in np.linspace(0.0, 1.0, n_side):
        for p in ((t * (size - 1), 0.0), (t * (size - 1), size - 1.0),
                  (0.0, t * (size - 1)), (size - 1.0, t * (size - 1))):
            pts.append(np.array(p))
            weights.append(0.0)
            fixed.append(True)
            depth.append(0.0)
    arr = np.array(pts, np.float32)
    arr = np.clip(arr, 0.0, size - 1.0)
    # Drop points that crowd an earlier one (rings clipped against the border pile up).
    keep: list[int] = []
    min_d = max(2.0, 0.06 * iod)
    face_xy = lm[:468, :2]
    for i, p in enumerate(arr):
        if np.min(np.linalg.norm(face_xy - p, axis=1)) < min_d and not fixed[i]:
            continue
        if keep and np.min(np.linalg.norm(arr[keep] - p, axis=1)) < min_d:
            continue
        keep.append(i)
    xyz = np.concatenate([arr[keep], np.array(depth, np.float32)[keep, None]], axis=1)
    return xyz, np.array(weights, np.float32)[keep], np.array(fixed, bool)[keep]


def _inside(poly: np.ndarray, pts: np.ndarray) -> np.ndarray:
    contour = poly.reshape(-1, 1, 2).astype(np.float32)
    return np.array([cv2.pointPolygonTest(contour, (float(x), float(y)), False) > 0
                     for x, y in pts])


def _hole_triangles(verts: np.ndarray, contour: tuple[int, ...],
                    inner: tuple[int, ...]) -> np.ndarray:
    idx = np.array(contour + inner)
    poly = verts[list(contour), :2]
    tri = Delaunay(verts[idx, :2].astype(np.float64)).simplices
    cent = verts[idx[tri], :2].mean(axis=1)
    return idx[tri[_inside(poly, cent)]].astype(np.int32)


def triangulate(verts_open: np.ndarray, rest: np.ndarray, n_landmarks: int = N_LANDMARKS
                ) -> tuple[np.ndarray, np.ndarray]:
    """Main and hole triangles, from vertex positions in an opened-mouth pose; oriented
    counter-clockwise at rest so a flip shows as a negative area."""
    usable = np.array([i for i in range(len(verts_open)) if not (468 <= i < n_landmarks)])
    tri = usable[Delaunay(verts_open[usable, :2].astype(np.float64)).simplices]
    cent = verts_open[tri, :2].mean(axis=1)
    holes = (T.INNER_LIP_CONTOUR, T.EYE_A_CONTOUR, T.EYE_B_CONTOUR)
    inside = np.zeros(len(tri), bool)
    for contour in holes:
        inside |= _inside(verts_open[list(contour), :2], cent)
    main = orient(tri[~inside], rest)
    # Far triangles first: where a turned head hides part of itself, the near side is drawn last
    # and covers it (painter's algorithm on MediaPipe depth, larger z = farther).
    main = main[np.argsort(-verts_open[main, 2].mean(axis=1), kind="stable")]
    hole = np.concatenate([
        _hole_triangles(verts_open, T.INNER_LIP_CONTOUR, ()),
        _hole_triangles(verts_open, T.EYE_A_CONTOUR, T.EYE_A_IRIS),
        _hole_triangles(verts_open, T.EYE_B_CONTOUR, T.EYE_B_IRIS),
    ])
    return main.astype(np.int32), orient(hole, rest).astype(np.int32)


def signed_areas(tri: np.ndarray, xy: np.ndarray) -> np.ndarray:
    a, b, c = xy[tri[:, 0], :2], xy[tri[:, 1], :2], xy[tri[:, 2], :2]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) -
                  (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def orient(tri: np.ndarray, xy: np.ndarray) -> np.ndarray:
    out = tri.copy()
    neg = signed_areas(tri, xy) < 0
    out[neg, 1], out[neg, 2] = tri[neg, 2], tri[neg, 1]
    return out


def clamp_iris(lm: np.ndarray) -> np.ndarray:
    """Pull iris points inside their eye opening (a half-closed eye hides part of the iris)."""
    out = lm.copy()
    for contour, iris in ((T.EYE_A_CONTOUR, T.EYE_A_IRIS), (T.EYE_B_CONTOUR, T.EYE_B_IRIS)):
        poly = out[list(contour), :2]
        c = poly.mean(axis=0)
        for i in iris:
            for _ in range(12):
                if _inside(poly, out[i:i + 1, :2])[0]:
                    break
                out[i, :2] = c + 0.8 * (out[i, :2] - c)
    return out
