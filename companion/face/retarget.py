"""Retargeting: a driver's tracked landmarks → the portrait's parameter vectors (reenactment).

Plain numpy, like motion and render. The driver's head pose comes from a scaled rigid fit of the
points that expressions do not move (forehead, nose, eye corners, cheekbones) to its own neutral
frame; with that pose taken out, each expression is read as a handful of measures — lip gap,
mouth width, corner height, lip thickness, brow heights, lid gaps — relative to the neutral and
over the driver's own scales (eye distance, mouth width, open-eye gap). The portrait's rig is put
through the same measures, one unit of each expression parameter at a time, and every frame's
parameters are the bounded least-squares answer to "which mix of the portrait's shapes moves its
measures as the driver's moved". Only motion crosses over, never the driver's face shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import lsq_linear

from companion.face import topology as T
from companion.face.params import INDEX, NAMES

# Points that no expression moves: the rigid part of the face the head pose is read from.
STABLE = (10, 338, 297, 332, 284, 389, 356, 127, 162, 21, 54, 103, 67, 109, 151, 9, 8, 168, 6,
          197, 195, 5, 4, 1, 2, 98, 327, 33, 133, 263, 362, 50, 280, 123, 352, 116, 345)
SOLVED = ("jaw", "width", "pucker", "upper_raise", "smile", "blink_a", "blink_b", "brow_raise",
          "brow_inner")
BOUNDS = {"jaw": (0.0, 1.0), "width": (-0.5, 1.0), "pucker": (0.0, 1.0),
          "upper_raise": (0.0, 1.0), "smile": (-0.6, 1.0), "blink_a": (-0.3, 1.0),
          "blink_b": (-0.3, 1.0), "brow_raise": (-0.6, 1.0), "brow_inner": (-0.3, 1.0)}
# A driver's translation is as much the camera's as the head's (a hand-held phone), and a portrait
# slid far over its fixed background tears: translation and zoom are damped and bounded.
SHIFT_GAIN, MAX_SHIFT, MAX_SCALE = 0.5, 0.15, 0.12
# The warp draws a turned head cleanly only so far: past ~0.1 rad of yaw the far cheek's edge
# folds over itself (a saw-tooth on the Mona Lisa at 0.15). Angles approach these limits softly
# (L·tanh(a/L)): small turns pass unchanged, a large one is shown smaller, never torn.
ANGLE_LIMITS = {"yaw": 0.12, "pitch": 0.15, "roll": 0.18}
# A tracked lid rarely reads fully shut (the mesh keeps a sliver open, and a 30 FPS frame often
# catches a blink halfway): a lid read at this share of its closing counts as closed.
BLINK_FULL = 0.65
# Small pull toward rest: a measure no shape explains is left unexplained, not forced into
# a mix of large opposing shapes.
RIDGE = 0.02
_GAP_PAIRS = ((13, 14), (82, 87), (312, 317))
_EYE_A_PAIRS = ((159, 145), (158, 153), (160, 144))
_EYE_B_PAIRS = ((386, 374), (385, 380), (387, 373))
_OUTER_BROW = (70, 63, 105, 300, 293, 334)
_INNER_BROW = (107, 66, 55, 65, 336, 296, 285, 295)
_EYE_CORNERS = (33, 133, 263, 362)
MEASURES = ("gap", "width", "corner_y", "upper_y", "lower_y", "thickness", "brow", "brow_in",
            "eye_a", "eye_b")
# How much each measure counts in the fit (measure units differ: eye gaps are fractions of the
# open eye, whose landmark noise is larger than the lips').
WEIGHTS = np.array([3.0, 2.0, 2.0, 1.5, 1.0, 1.0, 2.0, 2.0, 0.5, 0.5])


def _iod(lm: np.ndarray) -> float:
    a = lm[list(T.EYE_A_CORNERS), :2].mean(axis=0)
    b = lm[list(T.EYE_B_CORNERS), :2].mean(axis=0)
    return float(np.linalg.norm(a - b)) or 1.0


def _pair_gap(lm: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> float:
    return float(np.mean([lm[lo, 1] - lm[up, 1] for up, lo in pairs]))


@dataclass(frozen=True)
class Scales:
    """A face's own yardsticks, from its neutral frame."""

    iod: float
    mouth_width: float
    eye_a: float
    eye_b: float

    @classmethod
    def of(cls, lm: np.ndarray) -> Scales:
        iod = _iod(lm)
        floor = 0.05 * iod  # a portrait with narrowed eyes still blinks by a sensible amount
        return cls(iod, float(np.linalg.norm(lm[61, :2] - lm[291, :2])) or iod,
                   max(_pair_gap(lm, _EYE_A_PAIRS), floor), max(_pair_gap(lm, _EYE_B_PAIRS), floor))


def measures(lm: np.ndarray, s: Scales) -> np.ndarray:
    """The expression measures of one frontalised face (x right, y down), in `s`'s units."""
    # Heights are read in the neutral frame's own coordinates (the face is frontalised onto it),
    # so no landmark that an expression moves serves as the zero; brows count from the eyes.
    eye_y = lm[list(_EYE_CORNERS), 1].mean()
    return np.array([
        _pair_gap(lm, _GAP_PAIRS) / s.iod,
        np.linalg.norm(lm[61, :2] - lm[291, :2]) / s.mouth_width,
        lm[[61, 291], 1].mean() / s.iod,
        lm[0, 1] / s.iod,
        lm[17, 1] / s.iod,
        ((lm[17, 1] - lm[14, 1]) + (lm[13, 1] - lm[0, 1])) / s.iod,
        (lm[list(_OUTER_BROW), 1].mean() - eye_y) / s.iod,
        (lm[list(_INNER_BROW), 1].mean() - eye_y) / s.iod,
        _pair_gap(lm, _EYE_A_PAIRS) / s.eye_a,
        _pair_gap(lm, _EYE_B_PAIRS) / s.eye_b,
    ], np.float64)


def gaze(lm: np.ndarray) -> np.ndarray:
    """Both irises' centres relative to their eye corners' midpoint, in iris radii, averaged."""
    out = []
    for corners, iris in ((T.EYE_A_CORNERS, T.EYE_A_IRIS), (T.EYE_B_CORNERS, T.EYE_B_IRIS)):
        c = lm[list(corners), :2].mean(axis=0)
        centre = lm[iris[0], :2]
        r = float(np.mean(np.linalg.norm(lm[list(iris[1:]), :2] - centre, axis=1))) or 1.0
        out.append((centre - c) / r)
    return np.mean(out, axis=0)


@dataclass(frozen=True)
class Pose:
    rotation: np.ndarray  # (3, 3): frame ≈ scale · R (neutral − c_n) + c_f
    scale: float
    shift: np.ndarray  # (2,) centroid shift in neutral eye distances
    centre_neutral: np.ndarray  # c_n: the neutral's stable points' centroid (3,)
    centre_frame: np.ndarray  # c_f: the frame's (3,)


def fit_pose(lm: np.ndarray, neutral: np.ndarray) -> Pose:
    """Scaled rigid fit (Umeyama) of the stable points of `lm` to those of `neutral`."""
    a = neutral[list(STABLE)].astype(np.float64)
    b = lm[list(STABLE)].astype(np.float64)
    ca, cb = a.mean(axis=0), b.mean(axis=0)
    a0, b0 = a - ca, b - cb
    u, sv, vt = np.linalg.svd(b0.T @ a0)
    d = np.sign(np.linalg.det(u @ vt)) or 1.0
    fix = np.diag([1.0, 1.0, d])
    r = u @ fix @ vt
    scale = float((sv * np.diag(fix)).sum() / (a0 ** 2).sum())
    return Pose(r, scale, (cb - ca)[:2] / _iod(neutral), ca, cb)


def frontalise(lm: np.ndarray, pose: Pose) -> np.ndarray:
    """`lm` (the frame `pose` was fitted on) moved back into the neutral frame's pose, so only
    expression differs."""
    return (lm - pose.centre_frame) @ pose.rotation / pose.scale + pose.centre_neutral


def euler(r: np.ndarray) -> tuple[float, float, float]:
    """(yaw, pitch, roll) of R = Rz(roll) Ry(yaw) Rx(pitch), the rig's convention
    (deform.rigid)."""
    yaw = float(np.arcsin(np.clip(-r[2, 0], -1.0, 1.0)))
    pitch = float(np.arctan2(r[2, 1], r[2, 2]))
    roll = float(np.arctan2(r[1, 0], r[0, 0]))
    return yaw, pitch, roll


class Retargeter:
    """Maps one driver's frames onto one rig. Build it with the rig's rest landmarks and its
    expression basis (rig.vertices[:478], rig.basis); `set_neutral(lm)` then fixes the driver's
    rest."""

    def __init__(self, rig_landmarks: np.ndarray, basis: np.ndarray, intensity: float = 1.0):
        rest = rig_landmarks.astype(np.float64)
        self.rig_scales = Scales.of(rest)
        base = measures(rest, self.rig_scales)
        cols = []
        for name in SOLVED:
            moved = rest.copy()
            moved[:, :2] += basis[INDEX[name], : len(rest)]
            cols.append(measures(moved, self.rig_scales) - base)
        self.jacobian = np.stack(cols, axis=1) * WEIGHTS[:, None]
        k = len(SOLVED)
        self._a = np.vstack([self.jacobian, np.sqrt(RIDGE) * np.eye(k)])
        self._lo = np.array([BOUNDS[n][0] for n in SOLVED])
        self._hi = np.array([BOUNDS[n][1] for n in SOLVED])
        self.intensity = intensity
        self._neutral: np.ndarray | None = None

    def set_neutral(self, lm: np.ndarray) -> None:
        self._neutral = lm.astype(np.float64)
        self._scales = Scales.of(self._neutral)
        self._base = measures(self._neutral, self._scales)
        self._gaze0 = gaze(self._neutral)

    def params(self, lm: np.ndarray) -> np.ndarray:
        """One driver frame (478, 3) → a full parameter vector for the rig."""
        if self._neutral is None:
            raise RuntimeError("set_neutral first")
        lm = lm.astype(np.float64)
        pose = fit_pose(lm, self._neutral)
        flat = frontalise(lm, pose)
        delta = (measures(flat, self._scales) - self._base) * WEIGHTS
        b = np.concatenate([delta, np.zeros(len(SOLVED))])
        x = lsq_linear(self._a, b, bounds=(self._lo, self._hi), method="bvls").x
        out = np.zeros(len(NAMES), np.float32)
        k = self.intensity
        for name, v in zip(SOLVED, x, strict=True):
            out[INDEX[name]] = k * v
        for name in ("blink_a", "blink_b"):
            v = out[INDEX[name]]
            out[INDEX[name]] = min(v / BLINK_FULL, 1.0) if v > 0 else v
        g = (gaze(flat) - self._gaze0) * k
        out[INDEX["gaze_x"]], out[INDEX["gaze_y"]] = np.clip(g, -1.0, 1.0)
        for name, angle in zip(("yaw", "pitch", "roll"), euler(pose.rotation), strict=True):
            lim = ANGLE_LIMITS[name]
            out[INDEX[name]] = lim * np.tanh(k * angle / lim)
        out[INDEX["tx"]], out[INDEX["ty"]] = np.clip(k * SHIFT_GAIN * pose.shift, -MAX_SHIFT,
                                                     MAX_SHIFT)
        out[INDEX["scale"]] = np.clip(k * (pose.scale - 1.0), -MAX_SCALE, MAX_SCALE)
        return out


class OneEuro:
    """The 1€ filter (Casiez et al. 2012) over whole parameter vectors: slow motion is smoothed
    hard (landmark jitter is slow), fast motion passes with little lag (a blink, a jaw drop)."""

    def __init__(self, fps: float, min_cutoff: float = 2.0, beta: float = 0.6,
                 d_cutoff: float = 1.0) -> None:
        self.dt = 1.0 / fps
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self._x: np.ndarray | None = None
        self._dx = np.zeros(len(NAMES))
        # Blinks are too short to smooth at all (one frame may be all there is of one), the
        # jaw nearly so; the head and brows move slowly.
        self._scale = np.ones(len(NAMES))
        self._scale[INDEX["jaw"]] = 4.0
        for name in ("blink_a", "blink_b"):
            self._scale[INDEX[name]] = 1e4

    def _alpha(self, cutoff: np.ndarray | float) -> np.ndarray:
        tau = 1.0 / (2 * np.pi * np.asarray(cutoff))
        return 1.0 / (1.0 + tau / self.dt)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = x.astype(np.float64)
        if self._x is None:
            self._x = x
            return x.astype(np.float32)
        dx = (x - self._x) / self.dt
        self._dx = self._dx + self._alpha(self.d_cutoff) * (dx - self._dx)
        cutoff = (self.min_cutoff + self.beta * np.abs(self._dx)) * self._scale
        self._x = self._x + self._alpha(cutoff) * (x - self._x)
        return self._x.astype(np.float32)


# The iris is read poorly through a closing lid: gaze holds while either eye is this shut.
GAZE_HOLD_BLINK = 0.35


def gaze_hold(params: np.ndarray, last: np.ndarray | None = None) -> np.ndarray:
    """Rows (NaN = no face) with the gaze held at its last open-eyed value during blinks.
    `last`, when given, carries that value from one call to the next (a live camera)."""
    out = params.copy()
    gx, gy = INDEX["gaze_x"], INDEX["gaze_y"]
    held = np.zeros(2, np.float32) if last is None else last
    for row in out:
        if np.isnan(row[0]):
            continue
        if max(row[INDEX["blink_a"]], row[INDEX["blink_b"]]) > GAZE_HOLD_BLINK:
            row[gx], row[gy] = held
        else:
            held[:] = row[[gx, gy]]
    return out


__all__ = ["GAZE_HOLD_BLINK", "MEASURES", "SOLVED", "OneEuro", "Pose", "Retargeter", "Scales",
           "euler", "fit_pose", "frontalise", "gaze", "gaze_hold", "measures"]
