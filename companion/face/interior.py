"""What the warp cannot show: the inside of an opened mouth and eyelid skin over a closed eye.

Both are painted in destination coordinates on small patches, blended with anti-aliased masks,
and weighted by how far the mouth opened or the lid closed beyond the rest pose — so at rest
nothing is painted and the frame is the portrait.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from companion.face import topology as T
from companion.face.grain import TILE, skin_grain
from companion.face.params import INDEX

if TYPE_CHECKING:  # rig imports the renderer's modules; only the type is needed here
    from companion.face.rig import Rig

SHIFT = 4
ONE = 1 << SHIFT
# /f v/: how much of the lower lip's height the upper teeth cover when it is tucked under them
BITE_TUCK = 0.4
UPPER_DIM = 0.88  # the upper teeth's light, against the portrait's (the lower ones: 0.62)


def iris_radius(lm: np.ndarray) -> float:
    r = [np.linalg.norm(lm[list(ring), :2] - lm[c, :2], axis=1).mean()
         for c, ring in ((468, (469, 470, 471, 472)), (473, (474, 475, 476, 477)))]
    return float(np.mean(r))


def _line_y(x: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """y of a polyline at x (the polyline may run either way)."""
    order = np.argsort(pts[:, 0])
    return np.interp(x, pts[order, 0], pts[order, 1])


@dataclass(frozen=True)
class Patch:
    """A small window of the frame around a polygon, with the polygon's anti-aliased mask."""

    x0: int
    y0: int
    x1: int
    y1: int
    mask: np.ndarray  # (h, w) uint8

    @property
    def origin(self) -> np.ndarray:
        return np.array([self.x0, self.y0], np.float32)


def _patch(poly: np.ndarray, size: int) -> Patch | None:
    x0, y0 = np.maximum(np.floor(poly.min(axis=0)).astype(int) - 3, 0)
    x1, y1 = np.minimum(np.ceil(poly.max(axis=0)).astype(int) + 4, size)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(mask, [_fp(poly, np.array([x0, y0], np.float32))], (255,), cv2.LINE_AA, SHIFT)
    if not mask.any():
        return None
    return Patch(int(x0), int(y0), int(x1), int(y1), mask)


def _fp(pts: np.ndarray, origin: np.ndarray) -> np.ndarray:
    return np.round((pts - origin) * ONE).astype(np.int32)


class Painter:
    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.iod = rig.iod
        src = rig.vertices[:, :2]
        up = src[list(T.INNER_UPPER[1:-1])]
        lo = src[list(T.INNER_LOWER[1:-1])]
        self.rest_gap = float(np.max(lo[:, 1] - up[:, 1]))
        self.mouth_w = float(np.linalg.norm(src[61] - src[291]))
        lip = rig.colour("lip")
        skin = rig.colour("skin")
        # Colours are derived from the portrait so the inside of a painted mouth stays in the
        # painting's palette (a clean white on an old varnished canvas looks pasted on).
        tone = np.clip(skin / max(float(skin.mean()), 1.0), 0.6, 1.4)
        self.cavity_deep = lip * 0.18
        self.cavity_edge = lip * 0.42
        self.tongue = lip * 0.78
        # Teeth: ivory pulled toward the skin tone and no brighter than the portrait allows.
        ivory = np.array([222.0, 212.0, 192.0]) * (0.8 + 0.2 * tone)
        self.teeth = np.clip(0.75 * ivory + 0.25 * skin, 0, 255) * min(
            1.0, 0.5 + float(skin.mean()) / 255.0)
        self.lid = {"a": rig.colour("lid_a"), "b": rig.colour("lid_b")}
        # A flat-shaded drawing is painted in its own style: its lid one flat colour (mirrored
        # texture would bring the outline and the brow down into a tall drawn eye), its mouth's
        # inside flat fills.
        self.flat = bool(rig.meta.get("flat_shaded", False))
        self.lash = {"a": rig.colour("lash_a"), "b": rig.colour("lash_b")}
        if self.flat:
            # Its lid line is inked in the outline's colour: of the two lash samples the darker (one
            # may have caught the white of the eye, which a drawing paints right up to the line)
            ink = min(self.lash.values(), key=lambda c: float(c.sum()))
            self.lash = {"a": ink, "b": ink}
        # Any other portrait's own fine texture is laid over the painted interior (a painting's
        # mouth is painted, a photo's photographic).
        self.grain = None if self.flat else skin_grain(rig.image, rig.landmarks, rig.iod)
        self.rest_lid_gap = {
            "a": float(np.mean(src[list(T.EYE_A_LOWER), 1] - src[list(T.EYE_A_UPPER), 1])),
            "b": float(np.mean(src[list(T.EYE_B_LOWER), 1] - src[list(T.EYE_B_UPPER), 1])),
        }

    # ---------------------------------------------------------------- mouth
    def mouth(self, out: np.ndarray, main: np.ndarray, params: np.ndarray) -> None:
        """Paint what the mouth shows beyond the portrait: the cavity with its tongue and teeth
        where the lips part, the upper teeth over a tucked lower lip (/f v/), or the line where
        lips apart in the portrait now meet."""
        up = main[list(T.INNER_UPPER)]
        lo = main[list(T.INNER_LOWER)]
        gap = float(np.max(lo[1:-1, 1] - up[1:-1, 1]))
        opening = gap - self.rest_gap
        if self.rest_gap > 2.0 and opening < -0.5 * self.rest_gap:
            self._lip_line(out, up, lo)  # lips apart in the portrait, sealed now
            return
        if opening >= 0.25:
            self._cavity(out, up, lo, opening, float(params[INDEX["tongue"]]))
        bite = float(np.clip(params[INDEX["bite"]], 0.0, 1.0))
        if bite > 0.02:
            self._bite(out, up, lo, main[list(T.OUTER_LOWER)], bite)

    def _cavity(self, out: np.ndarray, up: np.ndarray, lo: np.ndarray, opening: float,
                tongue_up: float) -> None:
        weight = float(np.clip((opening - 0.25) / 2.5, 0.0, 1.0))
        poly = np.concatenate([up, lo[::-1][1:-1]])
        pt = _patch(poly, out.shape[0])
        if pt is None:
            return
        x0, y0, x1, y1, mask, origin = pt.x0, pt.y0, pt.x1, pt.y1, pt.mask, pt.origin
        h, w = mask.shape
        cx = float(poly[:, 0].mean())
        mid_up = float(up[1:-1, 1].mean())
        mid_lo = float(lo[1:-1, 1].mean())
        ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        # Cavity: darkest in the middle and back, lighter toward the lips (light falls in).
        rx = max(0.5 * self.mouth_w, 1.0)
        ry = max(0.5 * (mid_lo - mid_up), 1.0)
        d = np.sqrt(((xs - cx) / rx) ** 2 + ((ys - 0.5 * (mid_up + mid_lo)) / (ry * 1.6)) ** 2)
        t = np.full_like(d, 0.4) if self.flat else np.clip(d, 0, 1)
        patch = self.cavity_deep * (1 - t[..., None]) + self.cavity_edge * t[..., None]
        # Tongue: low in the cavity, visible when the jaw drops; for /l t d n θ ð/ its tip rises
        # to the upper teeth (drawn before them, so they overlap it) and narrows.
        up_t = float(np.clip(tongue_up, 0.0, 1.0))
        low_y = mid_lo + 0.1 * self.iod
        high_y = mid_up + 0.1 * self.iod
        tongue = np.zeros((h, w), np.uint8)
        tongue_c = (round((cx - x0) * ONE),
                    round((low_y + (high_y - low_y) * up_t - y0) * ONE))
        tongue_ax = (int((0.3 - 0.08 * up_t) * self.mouth_w * ONE), int(0.16 * self.iod * ONE))
        cv2.ellipse(tongue, tongue_c, tongue_ax, 0, 0, 360, (255,), -1, cv2.LINE_AA, SHIFT)
        ta = (tongue.astype(np.float32) / 255.0)[..., None]
        shade = np.clip(1.0 - (ys - mid_lo + 0.16 * self.iod) / (0.3 * self.iod), 0.6, 1.0)
        if self.flat:
            shade[:] = 0.85
        patch = patch * (1 - ta) + (self.tongue * shade[..., None]) * ta
        # Lower teeth sit on the jaw, upper teeth hang under the upper lip.
        self._teeth(patch, lo, origin, down=False, height=0.035 * self.iod, half=0.24, dim=0.62)
        self._teeth(patch, up, origin, down=True, height=0.06 * self.iod, half=0.3,
                    dim=UPPER_DIM)
        if not self.flat:
            # Soft inner shadow where the lips meet the cavity: depth instead of a sticker edge.
            edge = cv2.GaussianBlur(mask, (0, 0), max(0.8, 0.012 * self.iod)).astype(np.float32)
            inner = np.clip((edge / 255.0 - 0.5) * 2.0, 0, 1)[..., None]
            patch = patch * (0.7 + 0.3 * inner)
        patch = self._grained(patch, x0, y0, cx, mid_up)
        alpha = (mask.astype(np.float32) / 255.0 * weight)[..., None]
        region = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = np.clip(region * (1 - alpha) + patch * alpha + 0.5, 0, 255
                                    ).astype(np.uint8)

    def _grained(self, patch: np.ndarray, x0: int, y0: int, cx: float, mid_up: float
                 ) -> np.ndarray:
        """`patch` (at x0, y0 in the frame) with the portrait's grain laid over it, anchored to
        the mouth (`cx`, `mid_up`: its middle and the upper lip's) so the texture moves with it
        rather than over it. A flat drawing has none."""
        if self.grain is None:
            return patch
        h, w = patch.shape[:2]
        gy = (np.arange(h) + y0 - round(mid_up)) % TILE
        gx = (np.arange(w) + x0 - round(cx)) % TILE
        return patch + self.grain[np.ix_(gy, gx)][..., None]

    def _lip_line(self, out: np.ndarray, up: np.ndarray, lo: np.ndarray) -> None:
        """Where sealed lips meet, the half-resolution warp interpolates between the two lips'
        source positions and shows a hairline of the teeth between them: draw the line where
        closed lips meet over it, in the lips' own shadow colour."""
        line = 0.5 * (up + lo)
        # the warp's map is half resolution: its seams step in 2-pixel blocks
        thick = max(2, round(0.015 * self.iod))
        band = np.array([0.0, thick + 2.0], np.float32)
        pt = _patch(np.concatenate([line - band, line[::-1] + band]), out.shape[0])
        if pt is None:
            return
        m = np.zeros(pt.mask.shape, np.uint8)
        cv2.polylines(m, [_fp(line, pt.origin)], False, (255,), thick, cv2.LINE_AA, SHIFT)
        a = (cv2.GaussianBlur(m, (0, 0), 0.7).astype(np.float32) / 255.0)[..., None]
        region = out[pt.y0:pt.y1, pt.x0:pt.x1].astype(np.float32)
        out[pt.y0:pt.y1, pt.x0:pt.x1] = np.clip(region * (1 - a) + self.cavity_edge * a + 0.5,
                                                0, 255).astype(np.uint8)

    def _bite(self, out: np.ndarray, up: np.ndarray, lo: np.ndarray, lo_out: np.ndarray,
              bite: float) -> None:
        """/f v/: the lower lip drawn up under the upper teeth. The incisors show from under
        the upper lip down over the top of the lower lip (BITE_TUCK of its height at the
        middle, less where the arch turns back), their edge casting a thin shadow on it.
        `bite` (0..1) fades the shape in and out with the phone."""
        cx = float(up[:, 0].mean())
        half_w = 0.3 * self.mouth_w
        xs = np.linspace(cx - half_w, cx + half_w, 12)
        top = _line_y(xs, up) - 0.5
        lip_in, lip_out = _line_y(xs, lo), _line_y(xs, lo_out)
        arch = 1.0 - 0.6 * ((xs - cx) / half_w) ** 2
        edge = np.maximum(lip_in + BITE_TUCK * arch * (lip_out - lip_in), top + 1.0)
        shadow = max(1.0, 0.012 * self.iod)
        outline = np.concatenate([np.stack([xs, top], 1), np.stack([xs, edge + shadow], 1)[::-1]])
        pt = _patch(outline, out.shape[0])
        if pt is None:
            return
        h, w = pt.mask.shape
        teeth = np.zeros((h, w), np.uint8)
        poly = np.concatenate([np.stack([xs, top], 1), np.stack([xs, edge], 1)[::-1]])
        cv2.fillPoly(teeth, [_fp(poly, pt.origin)], (255,), cv2.LINE_AA, SHIFT)
        region = out[pt.y0:pt.y1, pt.x0:pt.x1].astype(np.float32)
        # The lip under the teeth's edge is in their shadow.
        shade = np.clip(pt.mask.astype(np.float32) - teeth, 0, 255)[..., None] / 255.0
        region = region * (1.0 - 0.35 * bite * shade)
        mid = float(np.interp(cx, xs, edge - top))
        colour = self._tooth_colour(h, w, pt.origin, cx, half_w, up, max(mid, 1.0), 1.0,
                                    self._tooth_base(UPPER_DIM))
        colour = self._grained(colour, pt.x0, pt.y0, cx, float(up[1:-1, 1].mean()))
        a = (teeth.astype(np.float32) / 255.0 * bite)[..., None]
        out[pt.y0:pt.y1, pt.x0:pt.x1] = np.clip(region * (1 - a) + colour * a + 0.5, 0, 255
                                                ).astype(np.uint8)

    def _teeth(self, patch: np.ndarray, lip: np.ndarray, origin: np.ndarray, down: bool,
               height: float, half: float, dim: float) -> None:
        cx = float(lip[:, 0].mean())
        half_w = half * self.mouth_w
        xs = np.linspace(cx - half_w, cx + half_w, 12)
        ys = _line_y(xs, lip)
        # Teeth follow the lip line but curve away at the sides (the arch turns back).
        curve = ((xs - cx) / half_w) ** 2 * 0.35 * height
        sign = 1.0 if down else -1.0
        edge = np.stack([xs, ys - sign * 0.5], axis=1)
        tip = np.stack([xs, ys + sign * (height - curve)], axis=1)
        poly = np.concatenate([edge, tip[::-1]])
        h, w = patch.shape[:2]
        m = np.zeros((h, w), np.uint8)
        cv2.fillPoly(m, [_fp(poly, origin)], (255,), cv2.LINE_AA, SHIFT)
        if not m.any():
            return
        colour = self._tooth_colour(h, w, origin, cx, half_w, lip, height, sign,
                                    self._tooth_base(dim))
        a = (m.astype(np.float32) / 255.0)[..., None]
        patch[:] = patch * (1 - a) + colour * a

    def _tooth_base(self, dim: float) -> np.ndarray:
        """Teeth further in shadow (`dim` < 1) also pick up the mouth's warm light."""
        return self.teeth * dim + self.tongue * (1.0 - dim) * 0.6

    def _tooth_colour(self, h: int, w: int, origin: np.ndarray, cx: float, half_w: float,
                      lip: np.ndarray, height: float, sign: float, base: np.ndarray
                      ) -> np.ndarray:
        """A row of teeth hanging from (sign 1) or standing on (-1) `lip`, as an (h, w, 3)
        colour: a drawing's one flat colour; otherwise darker toward the sides and the biting
        edge, with faint gaps between the teeth."""
        if self.flat:
            return np.broadcast_to(base, (h, w, 3))
        gx = np.arange(w, dtype=np.float32) + origin[0]
        gy = np.arange(h, dtype=np.float32)[:, None] + origin[1]
        side = np.clip(np.abs(gx - cx) / half_w, 0, 1)
        shade = (1.0 - 0.45 * side ** 2)[None, :]
        lip_y = _line_y(gx, lip)[None, :]
        depth = np.clip(sign * (gy - lip_y) / max(height, 1.0), 0, 1)
        shade = shade * (1.0 - 0.18 * depth)
        tooth_w = max(self.mouth_w * 0.13, 2.0)
        phase = np.abs(((gx - cx) / tooth_w + 0.5) % 1.0 - 0.5)
        gaps = np.where(phase > 0.46, 0.9, 1.0)[None, :]
        return base * (shade * gaps)[..., None]

    # ---------------------------------------------------------------- eyelids
    def eyelids(self, out: np.ndarray, main: np.ndarray, hole: np.ndarray,
                params: np.ndarray) -> None:
        for key, upper, corners in (("a", T.EYE_A_UPPER, T.EYE_A_CORNERS),
                                    ("b", T.EYE_B_UPPER, T.EYE_B_CORNERS)):
            b = float(params[INDEX["blink_" + key]])
            if b <= 0.12:
                continue
            weight = float(np.clip((b - 0.12) / 0.45, 0.0, 1.0))
            lid_now = main[[corners[0], *upper, corners[1]]]
            lid_rest = hole[[corners[0], *upper, corners[1]]]
            pt = _patch(np.concatenate([lid_rest, lid_now[::-1]]), out.shape[0])
            if pt is None:
                continue
            x0, y0, x1, y1, mask, origin = pt.x0, pt.y0, pt.x1, pt.y1, pt.mask, pt.origin
            h, w = mask.shape
            gy = np.arange(h, dtype=np.float32)[:, None] + y0
            gx = np.arange(w, dtype=np.float32) + x0
            top = _line_y(gx, lid_rest)[None, :]
            bot = _line_y(gx, lid_now)[None, :]
            t = np.clip((gy - top) / np.maximum(bot - top, 1.0), 0, 1)
            # Lid skin: mirror the skin just above the rest lid line down over the eye (real
            # texture, the portrait's own palette), a touch darker toward the lash line.
            ys = np.broadcast_to(gy, (h, w))
            mapy = (top - 1.0 - 0.7 * np.maximum(ys - top, 0.0)).astype(np.float32)
            mapx = np.broadcast_to(gx[None, :], (h, w)).astype(np.float32)
            patch = cv2.remap(out, mapx, mapy, cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REFLECT101).astype(np.float32)
            # Soften vertically: the mirrored strip is thin, so its texture would streak.
            patch = np.asarray(cv2.GaussianBlur(patch, (0, 0), sigmaX=0.6,
                                                sigmaY=max(1.0, 0.02 * self.iod)), np.float32)
            patch = (np.broadcast_to(self.lid[key], patch.shape).astype(np.float32)
                     if self.flat else 0.7 * patch + 0.3 * self.lid[key])
            patch *= (1.0 - 0.1 * t)[..., None]
            lash = np.zeros((h, w), np.uint8)
            thick = max(1, round(0.015 * self.iod))
            cv2.polylines(lash, [_fp(lid_now, origin)], False, (255,), thick, cv2.LINE_AA,
                          SHIFT)
            la = (lash.astype(np.float32) / 255.0)[..., None] * 0.5 * weight
            soft = cv2.GaussianBlur(mask, (0, 0), max(0.6, 0.01 * self.iod))
            alpha = (soft.astype(np.float32) / 255.0)[..., None]
            region = out[y0:y1, x0:x1].astype(np.float32)
            skin = region * (1 - alpha * weight) + patch * alpha * weight
            skin = skin * (1 - la) + self.lash[key] * la
            out[y0:y1, x0:x1] = np.clip(skin + 0.5, 0, 255).astype(np.uint8)
