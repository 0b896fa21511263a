"""Scan conversion of a triangle mesh into a dense piecewise-affine map (compiled with numba).

Each triangle carries an affine map (destination → source). Every pixel whose centre lies inside a
triangle gets that triangle's map; pixels outside all of them keep the identity. The loop over
triangles, rows and pixels is compiled: as 1,100 `cv2.fillConvexPoly` calls from Python it cost a
frame as much as the remap itself, and as vectorised numpy (spans expanded into pixels) hardly
less. It runs without the GIL, so the event loop and the other sessions go on meanwhile.

A pixel centre on an edge shared by two triangles goes to exactly one of them (the top-left rule:
a span covers [ceil(left), ceil(right)) and a triangle rows [ceil(top), ceil(bottom)), and both
triangles compute the shared edge from its upper end, bit for bit), so a mesh leaves no gaps;
where triangles overlap (a hole mesh under the face mesh, lips pressed together) the later one
in the list wins, as with painting in order.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from companion.errors import ModelError

_kernel: Any = None


def _compile() -> Any:
    """The compiled loop (numba caches it on disk: compiling takes a few seconds once)."""
    global _kernel
    if _kernel is not None:
        return _kernel
    try:
        from numba import njit
    except ImportError as e:
        raise ModelError("the CPU renderer needs numba", "pip install numba") from e

    edge = njit(cache=True, nogil=True)(_edge)
    _kernel = njit(cache=True, nogil=True)(_make_fill(edge))
    return _kernel


def _edge(ax: float, ay: float, bx: float, by: float) -> tuple[float, float, float]:
    """An edge as (x, y) of its upper end and dx/dy, the same whichever way it is given."""
    if by < ay or (by == ay and bx < ax):
        ax, ay, bx, by = bx, by, ax, ay
    dy = by - ay
    return ax, ay, (bx - ax) / dy if dy != 0 else 0.0


def _make_fill(edge: Any) -> Any:
    def fill(tris: np.ndarray, coef: np.ndarray, mapx: np.ndarray, mapy: np.ndarray,
             s: float, ox: float, oy: float) -> None:
        h, w = mapx.shape
        for t in range(tris.shape[0]):
            # the vertices from top to bottom (ties keep their order)
            i0, i1, i2 = 0, 1, 2
            if tris[t, i1, 1] < tris[t, i0, 1]:
                i0, i1 = i1, i0
            if tris[t, i2, 1] < tris[t, i1, 1]:
                i1, i2 = i2, i1
                if tris[t, i1, 1] < tris[t, i0, 1]:
                    i0, i1 = i1, i0
            x0, y0 = float(tris[t, i0, 0]), float(tris[t, i0, 1])
            x1, y1 = float(tris[t, i1, 0]), float(tris[t, i1, 1])
            x2, y2 = float(tris[t, i2, 0]), float(tris[t, i2, 1])
            lx, ly, ls = edge(x0, y0, x2, y2)
            ux, uy, us = edge(x0, y0, x1, y1)
            dx, dy, ds = edge(x1, y1, x2, y2)
            r0 = min(max(math.ceil(y0), 0), h)
            r1 = min(max(math.ceil(y1), 0), h)
            r2 = min(max(math.ceil(y2), 0), h)
            a, b, c = coef[t, 0], coef[t, 1], coef[t, 2]
            d, e, f = coef[t, 3], coef[t, 4], coef[t, 5]
            for j in range(r0, r2):
                y = float(j)
                xl = lx + (y - ly) * ls
                xs = ux + (y - uy) * us if j < r1 else dx + (y - dy) * ds
                left = min(max(math.ceil(min(xl, xs)), 0), w)
                right = min(max(math.ceil(max(xl, xs)), 0), w)
                fy = s * j + oy
                for i in range(left, right):
                    fx = s * i + ox
                    mapx[j, i] = a * fx + b * fy + c
                    mapy[j, i] = d * fx + e * fy + f

    return fill


def affine_map(tris: np.ndarray, coef: np.ndarray, width: int, height: int,
               to_full: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """The map over a (height, width) grid whose pixel (i, j) centre is at (i, j) in the
    coordinates of `tris` ((k, 3, 2) vertices) and at (s*i + ox, s*j + oy) in the coordinates
    the affines `coef` ((k, 6): u = a x + b y + c, v = d x + e y + f) take, for
    `to_full` = (s, ox, oy). Returns (mapx, mapy), float32."""
    s, ox, oy = (float(v) for v in to_full)
    mapx = np.empty((height, width), np.float32)
    mapy = np.empty((height, width), np.float32)
    mapx[:] = (s * np.arange(width) + ox).astype(np.float32)[None, :]  # the identity
    mapy[:] = (s * np.arange(height) + oy).astype(np.float32)[:, None]
    if len(tris):
        _compile()(np.ascontiguousarray(tris, np.float32),
                   np.ascontiguousarray(coef, np.float32), mapx, mapy, s, ox, oy)
    return mapx, mapy


def warm() -> None:
    """Compile (or load the compiled loop) now, not on the first frame of a conversation."""
    affine_map(np.array([[[0, 0], [4, 0], [0, 4]]], np.float32),
               np.array([[1, 0, 0, 0, 1, 0]], np.float32), 4, 4, (1.0, 0.0, 0.0))


__all__ = ["affine_map", "warm"]
