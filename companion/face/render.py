"""CPU renderer: piecewise-affine mesh warp with one cv2.remap, plus synthesized interiors.

Per frame: move the vertices (blend shapes + rigid head), compute each moving triangle's
destination→source affine, scan-convert those into a dense source map over the region that
moves (compiled: face/raster.py), remap once, then paint the mouth interior and closing eyelids
on top. Triangles whose vertices do not move are the identity and are skipped, so a frame at
rest is the portrait.
"""

from __future__ import annotations

import cv2
import numpy as np

from companion.face import interior, raster
from companion.face.deform import head_vector, rigid
from companion.face.params import EXPRESSION, INDEX
from companion.face.rig import Rig

MOVE_EPS = 1e-3


class CpuRenderer:
    """Renders frames of one rig from parameter vectors. One instance per thread."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.src = rig.vertices[:, :2].astype(np.float32)
        self.src3 = rig.vertices.astype(np.float32)
        self.tris = np.concatenate([rig.hole_triangles, rig.triangles]).astype(np.int32)
        self.n_hole = len(rig.hole_triangles)
        self.basis = rig.basis.reshape(len(EXPRESSION), -1)
        self.iris_radius = interior.iris_radius(rig.landmarks)
        self.paint = interior.Painter(rig)
        raster.warm()  # compiled once per process (and cached on disk), not in the first frame

    def vertices(self, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Destination positions for the main mesh and for the hole (eye/mouth interior) mesh."""
        expr = params[: len(EXPRESSION)]
        moved = self.src3.copy()
        moved[:, :2] += (expr @ self.basis).reshape(-1, 2)
        head = head_vector(params)
        main = rigid(moved, head, self.rig.head_weight, self.rig.pivot, self.rig.iod)
        hole3 = self.src3.copy()
        gaze = np.array([params[INDEX["gaze_x"]], params[INDEX["gaze_y"]]], np.float32)
        hole3[468:478, :2] += np.clip(gaze, -0.7, 0.7) * self.iris_radius
        hole = rigid(hole3, head, self.rig.head_weight, self.rig.pivot, self.rig.iod)
        return main.astype(np.float32), hole.astype(np.float32)

    def render(self, params: np.ndarray) -> np.ndarray:
        main, hole = self.vertices(np.asarray(params, np.float32))
        out = self.warp(main, hole)
        self.paint.mouth(out, main, params)
        self.paint.eyelids(out, main, hole, params)
        return out

    def warp(self, main: np.ndarray, hole: np.ndarray) -> np.ndarray:
        img = self.rig.image
        size = self.rig.size
        moved_main = np.abs(main - self.src).max(axis=1) > MOVE_EPS
        moved_hole = np.abs(hole - self.src).max(axis=1) > MOVE_EPS
        tri_h = self.tris[: self.n_hole]
        tri_m = self.tris[self.n_hole:]
        sel_h = moved_hole[tri_h].any(axis=1)
        sel_m = moved_main[tri_m].any(axis=1)
        if not sel_h.any() and not sel_m.any():
            return img.copy()
        tri = np.concatenate([tri_h[sel_h], tri_m[sel_m]])
        dst = np.concatenate([hole[tri_h[sel_h]], main[tri_m[sel_m]]])  # (k, 3, 2)
        src_pts = self.src[tri]
        lo = np.floor(np.minimum(dst.reshape(-1, 2).min(axis=0),
                                 src_pts.reshape(-1, 2).min(axis=0))).astype(int) - 1
        hi = np.ceil(np.maximum(dst.reshape(-1, 2).max(axis=0),
                                src_pts.reshape(-1, 2).max(axis=0))).astype(int) + 2
        x0, y0 = np.clip(lo, 0, size)
        x1, y1 = np.clip(hi, 0, size)
        # The map is piecewise affine and continuous, so it is evaluated on a half-resolution
        # grid and upsampled bilinearly (exact inside triangles).
        w, h = x1 - x0, y1 - y0
        hw, hh = w // 2 + 1, h // 2 + 1  # one sample past the edge: no clamped last row
        # half-res pixel j sits at full-res x = 2 j + 0.5 (cv2.resize's convention)
        half = (dst - np.array([x0 + 0.5, y0 + 0.5], np.float32)) * 0.5
        mapx, mapy = raster.affine_map(half, self._affines(dst, src_pts), hw, hh,
                                       (2.0, x0 + 0.5, y0 + 0.5))
        mapx = cv2.resize(mapx, (hw * 2, hh * 2), interpolation=cv2.INTER_LINEAR)[:h, :w]
        mapy = cv2.resize(mapy, (hw * 2, hh * 2), interpolation=cv2.INTER_LINEAR)[:h, :w]
        out = img.copy()
        out[y0:y1, x0:x1] = cv2.remap(img, mapx, mapy, cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REFLECT101)
        return out

    @staticmethod
    def _affines(dst: np.ndarray, src: np.ndarray) -> np.ndarray:
        """Per-triangle destination→source affine as (k, 6) [a, b, c, d, e, f] with
        u = a x + b y + c, v = d x + e y + f. Closed form (a batched 3×3 solve costs 10× more);
        degenerate destination triangles become plain translations."""
        x0, y0 = dst[:, 0, 0], dst[:, 0, 1]
        dx1, dy1 = dst[:, 1, 0] - x0, dst[:, 1, 1] - y0
        dx2, dy2 = dst[:, 2, 0] - x0, dst[:, 2, 1] - y0
        u0, v0 = src[:, 0, 0], src[:, 0, 1]
        du1, dv1 = src[:, 1, 0] - u0, src[:, 1, 1] - v0
        du2, dv2 = src[:, 2, 0] - u0, src[:, 2, 1] - v0
        det = dx1 * dy2 - dx2 * dy1
        ok = np.abs(det) > 1e-4
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        a = np.where(ok, (du1 * dy2 - du2 * dy1) * inv, 1.0)
        b = np.where(ok, (du2 * dx1 - du1 * dx2) * inv, 0.0)
        d = np.where(ok, (dv1 * dy2 - dv2 * dy1) * inv, 0.0)
        e = np.where(ok, (dv2 * dx1 - dv1 * dx2) * inv, 1.0)
        c = u0 - a * x0 - b * y0
        f = v0 - d * x0 - e * y0
        return np.stack([a, b, c, d, e, f], axis=1).astype(np.float32)
