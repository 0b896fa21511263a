"""The compiled scan conversion against a plain point-in-triangle test (edge functions with the
top-left rule), which pixel goes to which triangle, and what the warp makes of it."""

from __future__ import annotations

import numpy as np
from scipy.spatial import Delaunay

from companion.face.raster import affine_map

IDENTITY = (1.0, 0.0, 0.0)


def _ids(tris: np.ndarray, size: int) -> np.ndarray:
    """Which triangle each pixel centre went to (-1: none): every triangle's map is the
    constant v = -1 - its index, which no pixel's own (identity) y can be."""
    coef = np.zeros((len(tris), 6), np.float32)
    coef[:, 5] = -1.0 - np.arange(len(tris))
    _, mapy = affine_map(tris.astype(np.float32), coef, size, size, IDENTITY)
    return np.where(mapy >= 0, -1, -1 - np.rint(mapy)).astype(int)


def _reference(tris: np.ndarray, size: int) -> np.ndarray:
    """Per pixel and triangle: inside when on the inner side of every edge, or exactly on an
    edge that is the triangle's top or left side; later triangles paint over earlier ones."""
    jj, ii = np.mgrid[0:size, 0:size].astype(np.float64)
    out = np.full((size, size), -1)
    for k, t in enumerate(tris.astype(np.float64)):
        inside = np.ones((size, size), bool)
        for a, b, c in ((t[0], t[1], t[2]), (t[1], t[2], t[0]), (t[2], t[0], t[1])):
            def side(x: np.ndarray, y: np.ndarray, a: np.ndarray = a, b: np.ndarray = b
                     ) -> np.ndarray:
                return (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0])

            inner = np.sign(side(c[0], c[1]))
            if a[1] == b[1]:
                top_left = bool(c[1] > a[1])  # a horizontal edge with the triangle below
            else:
                x_at = a[0] + (c[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1])
                top_left = bool(c[0] > x_at)  # the triangle lies to the edge's right
            e = side(ii, jj)
            inside &= (np.sign(e) == inner) | ((e == 0) & top_left)
        out[inside] = k
    return out


def test_a_mesh_is_covered_once_and_matches_the_point_in_triangle_test() -> None:
    rng = np.random.default_rng(3)
    pts = np.concatenate([rng.uniform(4, 60, (60, 2)),
                          [[2, 2], [62, 2], [2, 62], [62, 62]]])
    tris = pts[Delaunay(pts).simplices]
    ids = _ids(tris, 64)
    assert np.array_equal(ids, _reference(tris, 64))
    inner = ids[3:62, 3:62]  # inside the hull: no gaps
    assert (inner >= 0).all()


def test_shared_edges_on_pixel_centres_go_to_one_side() -> None:
    # a square cut along its diagonal, every vertex and the diagonal on pixel centres
    tris = np.array([[[2, 2], [12, 2], [2, 12]], [[12, 2], [12, 12], [2, 12]]], np.float32)
    ids = _ids(tris, 16)
    assert np.array_equal(ids, _reference(tris, 16))
    square = ids[2:12, 2:12]
    assert (square >= 0).all()  # the diagonal is covered, once
    assert (ids[12, :] == -1).all() and (ids[:, 12] == -1).all()  # bottom and right edges out


def test_later_triangles_paint_over_earlier_ones() -> None:
    under = [[0, 0], [20, 0], [0, 20]]
    over = [[4, 4], [14, 4], [4, 14]]
    ids = _ids(np.array([under, over], np.float32), 24)
    assert ids[6, 6] == 1 and ids[1, 1] == 0
    ids = _ids(np.array([over, under], np.float32), 24)
    assert ids[6, 6] == 1  # the big one (now second) was drawn last


def test_the_map_is_each_triangles_affine() -> None:
    # a half-resolution grid: pixel (i, j) sits at (2 i + 0.5, 2 j + 0.5) in full resolution
    tri = np.array([[[0, 0], [30, 0], [0, 30]]], np.float32)
    coef = np.array([[0.9, 0.1, 3.0, -0.2, 1.1, -1.0]], np.float32)
    mapx, mapy = affine_map(tri, coef, 16, 16, (2.0, 0.5, 0.5))
    x, y = 2 * 5 + 0.5, 2 * 3 + 0.5
    assert np.isclose(mapx[3, 5], 0.9 * x + 0.1 * y + 3.0)
    assert np.isclose(mapy[3, 5], -0.2 * x + 1.1 * y - 1.0)
    assert mapx[15, 15] == 2 * 15 + 0.5 and mapy[15, 15] == 2 * 15 + 0.5  # outside: identity
