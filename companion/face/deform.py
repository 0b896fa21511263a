"""Blend-shape basis over the rig's vertices and the per-frame vertex positions.

The basis is hand-built from face geometry (no learned weights): each expression parameter moves
a region of landmarks with smooth falloff, scaled by the face's own inter-ocular distance (s) and
mouth width, so the same numbers mean the same thing on any portrait.
"""

from __future__ import annotations

import numpy as np

from companion.face import topology as T
from companion.face.params import EXPRESSION, INDEX


def _gauss(p: np.ndarray, c: np.ndarray, sigma: float) -> np.ndarray:
    d2 = ((p - c) ** 2).sum(axis=1)
    return np.exp(-d2 / (2.0 * sigma * sigma))


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def build_basis(verts: np.ndarray, fixed: np.ndarray, iod: float) -> np.ndarray:
    """(len(EXPRESSION), N, 2) displacement per unit of each expression parameter."""
    p = verts[:, :2].astype(np.float64)
    n = len(p)
    s = iod
    lip_l, lip_r = p[61], p[291]
    mw = float(np.linalg.norm(lip_r - lip_l))
    mc = p[list(T.INNER_UPPER + T.INNER_LOWER)].mean(axis=0)
    half = 0.5 * mw
    basis = np.zeros((len(EXPRESSION), n, 2))

    dx_m = p[:, 0] - mc[0]
    profile = np.sqrt(np.clip(1.0 - (dx_m / (half * 1.05)) ** 2, 0.0, 1.0)) ** 0.8
    outer_lower = list(T.OUTER_LOWER[1:-1] + T.LOWER_SEMI)
    uppers = list(T.INNER_UPPER[1:-1] + T.OUTER_UPPER[1:-1] + T.UPPER_SEMI)
    corners = list(T.MOUTH_CORNERS + T.SEMI_CORNERS)
    lips = list(T.INNER_LOWER[1:-1]) + outer_lower + uppers + corners

    # jaw: the lower lip rides the jaw. Below the lip line the weight never decreases going down
    # (lip body, then chin, move at least as much as what is above them), so nothing folds;
    # the opening tapers to the corners, and the jaw's drop fades toward the ears and the neck.
    # The portrait's own opening counts toward the jaw's travel: a face photographed with a wide
    # smile (lips apart, teeth showing) gaped to 0.8 eye-distances on an open vowel.
    rest_gap = float(np.mean(p[list(T.INNER_LOWER[1:-1]), 1] - p[list(T.INNER_UPPER[1:-1]), 1]))
    # A human jaw parts the lips by about 0.4 eye-distances at most, however wide the mouth.
    drop = max(min(0.5 * mw, 0.4 * s) - max(rest_gap, 0.0), 0.1 * s)
    chin_y = p[T.CHIN, 1]
    line_pts = p[list(T.INNER_UPPER)] * 0.5 + p[list(T.INNER_LOWER)] * 0.5
    order = np.argsort(line_pts[:, 0])
    line_y = np.interp(p[:, 0], line_pts[order, 0], line_pts[order, 1])
    dy_line = p[:, 1] - line_y
    inner_half = 0.5 * float(np.ptp(line_pts[:, 0]))
    beyond = _smoothstep((np.abs(dx_m) - inner_half) / (0.3 * s))
    ramp = 0.5 + 0.35 * s * beyond
    below = np.where(dy_line > 0, _smoothstep(dy_line / ramp), 0.0)
    lip_profile = profile ** 2.2
    rigid_jaw = np.exp(-((dx_m / (1.1 * s)) ** 2)) * _smoothstep(dy_line / (0.45 * s))
    w = below * np.maximum(lip_profile, rigid_jaw)
    under_chin = p[:, 1] > chin_y
    w[under_chin] *= np.exp(-(((p[under_chin, 1] - chin_y) / (0.35 * s)) ** 2))
    w[list(T.INNER_LOWER[1:-1])] = lip_profile[list(T.INNER_LOWER[1:-1])]
    w[uppers] = -0.06 * profile[uppers]
    w[corners] = 0.0
    jaw = basis[INDEX["jaw"]]
    jaw[:, 1] = drop * w
    jaw[corners, 0] = -0.04 * mw * np.sign(dx_m[corners])

    g_mouth = _gauss(p, mc, 0.5 * s)
    g_mouth[lips] = 1.0
    lateral = np.clip(dx_m / half, -1.3, 1.3)
    basis[INDEX["width"], :, 0] = 0.12 * mw * lateral * g_mouth

    puck = basis[INDEX["pucker"]]
    puck[:, 0] = -0.5 * dx_m * np.clip(g_mouth, 0, 1) * (np.abs(dx_m) < 1.5 * mw)
    puck[list(T.OUTER_UPPER[1:-1]), 1] = -0.05 * s * profile[list(T.OUTER_UPPER[1:-1])]
    lower_contour = list(T.OUTER_LOWER[1:-1])
    puck[lower_contour, 1] = 0.05 * s * profile[lower_contour]
    # the lip body between the contours follows halfway
    puck[list(T.LOWER_SEMI), 1] = 0.025 * s * profile[list(T.LOWER_SEMI)]
    puck[list(T.UPPER_SEMI), 1] = -0.025 * s * profile[list(T.UPPER_SEMI)]

    up = basis[INDEX["upper_raise"]]
    g_up = _gauss(p, mc - np.array([0.0, 0.2 * s]), 0.3 * s) * (p[:, 1] < mc[1])
    up[:, 1] = -0.05 * s * g_up
    up[list(T.INNER_UPPER[1:-1]), 1] = -0.08 * s * profile[list(T.INNER_UPPER[1:-1])]
    up[list(T.OUTER_UPPER[1:-1]), 1] = -0.065 * s * profile[list(T.OUTER_UPPER[1:-1])]
    up[list(T.UPPER_SEMI), 1] = -0.072 * s * profile[list(T.UPPER_SEMI)]

    # seal: a portrait photographed with its lips apart (a smile showing teeth) cannot close
    # them by the jaw, whose zero is that open rest. The inner lips meet halfway across their
    # own gap; the lip bodies roll in after them, less and less toward the outer contour.
    seal = basis[INDEX["seal"]]
    inner_up, inner_lo = list(T.INNER_UPPER[1:-1]), list(T.INNER_LOWER[1:-1])
    half_gap = 0.5 * np.maximum(p[inner_lo, 1] - p[inner_up, 1], 0.0)
    rings_up = (inner_up, list(T.UPPER_SEMI[9:]), list(T.UPPER_SEMI[:9]),
                list(T.OUTER_UPPER[1:-1]))
    rings_lo = (inner_lo, list(T.LOWER_SEMI[:9]), list(T.LOWER_SEMI[9:]),
                list(T.OUTER_LOWER[1:-1]))
    for share, up_ring, lo_ring in zip((1.0, 0.75, 0.5, 0.3), rings_up, rings_lo, strict=True):
        seal[up_ring, 1] = share * half_gap
        seal[lo_ring, 1] = -share * half_gap

    smile = basis[INDEX["smile"]]
    for corner_pts, sign in (((61, 78), -1.0), ((291, 308), 1.0)):
        c = p[list(corner_pts)].mean(axis=0)
        g = _gauss(p, c, 0.38 * s)
        smile[:, 0] += sign * 0.09 * s * g
        smile[:, 1] += -0.10 * s * g
    for cheek in T.CHEEKS[:2]:
        smile[:, 1] += -0.04 * s * _gauss(p, p[cheek], 0.3 * s)

    for name, upper, lower, crease in (
            ("blink_a", T.EYE_A_UPPER, T.EYE_A_LOWER, T.EYE_A_CREASE),
            ("blink_b", T.EYE_B_UPPER, T.EYE_B_LOWER, T.EYE_B_CREASE)):
        b = basis[INDEX[name]]
        gap = p[list(lower), 1] - p[list(upper), 1]
        # Lids meet low in the middle and halfway at the corners, where they fold together.
        meet = np.array([0.6, 0.85, 0.94, 0.94, 0.94, 0.85, 0.6])
        b[list(upper), 1] = meet * gap
        b[list(lower), 1] = -(1.0 - meet) * gap
        b[list(crease), 1] = 0.3 * gap

    brow = basis[INDEX["brow_raise"]]
    inner = basis[INDEX["brow_inner"]]
    for pts, inner_pts, crease in ((T.EYE_A_BROW, T.EYE_A_BROW_INNER, T.EYE_A_CREASE),
                                   (T.EYE_B_BROW, T.EYE_B_BROW_INNER, T.EYE_B_CREASE)):
        c = p[list(pts)].mean(axis=0)
        above = _smoothstep((p[list(crease), 1].mean() - p[:, 1]) / (0.25 * s))
        g = np.maximum(_gauss(p, c, 0.45 * s) * above, 0.0)
        g[list(pts)] = 1.0
        brow[:, 1] += -0.08 * s * g
        ci = p[list(inner_pts)].mean(axis=0)
        gi = _gauss(p, ci, 0.25 * s) * above
        gi[list(inner_pts)] = 1.0
        inner[:, 1] += -0.08 * s * gi
        inner[:, 0] += np.sign(mc[0] - ci[0]) * 0.025 * s * gi
    # Only jaw and blinks may open the lips or lids: other shapes move both sides of a cut alike.
    pairs = list(zip(T.INNER_UPPER, T.INNER_LOWER, strict=True))
    pairs += list(zip(T.EYE_A_UPPER, T.EYE_A_LOWER, strict=True))
    pairs += list(zip(T.EYE_B_UPPER, T.EYE_B_LOWER, strict=True))
    for k, name in enumerate(EXPRESSION):
        if name in ("jaw", "blink_a", "blink_b", "pucker", "seal"):
            continue
        for u, lo in pairs:
            mean = 0.5 * (basis[k, u] + basis[k, lo])
            basis[k, u] = mean
            basis[k, lo] = mean
    # Iris points ride the lids only through gaze; the border never moves.
    basis[:, 468:478] = 0.0
    basis[:, fixed] = 0.0
    # Expressions live on the face; only the jaw reaches past it (the skin under the chin).
    basis[1:, 478:] = 0.0
    # Gaussian tails are cut off: a shape that moves a vertex by less than 1/50 px leaves it
    # alone, so far-away triangles stay exact copies of the portrait.
    basis[np.abs(basis) < 0.02] = 0.0
    return basis.astype(np.float32)


def rigid(verts: np.ndarray, head: np.ndarray, weight: np.ndarray, pivot: np.ndarray,
          iod: float) -> np.ndarray:
    """Apply the head's rigid 3D motion (yaw, pitch, roll, tx, ty, scale) to (N, 3) vertices,
    orthographically projected, blended per vertex by `weight`. Returns (N, 2)."""
    yaw, pitch, roll, tx, ty, scale = (float(v) for v in head)
    cy, sy = np.cos(yaw), np.sin(yaw)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cr, sr = np.cos(roll), np.sin(roll)
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rx = np.array([[1, 0, 0], [0, cp, -sp], [0, sp, cp]])
    rz = np.array([[cr, -sr, 0], [sr, cr, 0], [0, 0, 1]])
    r = (rz @ ry @ rx).astype(np.float32)
    q = (verts - pivot) @ r.T * (1.0 + scale) + pivot
    moved = q[:, :2] + np.array([tx * iod, ty * iod], np.float32)
    return verts[:, :2] + weight[:, None] * (moved - verts[:, :2])


def head_vector(params: np.ndarray) -> np.ndarray:
    return params[INDEX["yaw"]: INDEX["scale"] + 1]


__all__ = ["build_basis", "head_vector", "rigid"]
