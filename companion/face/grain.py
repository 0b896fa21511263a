"""The portrait's own fine texture — canvas weave, craquelure, brushwork, film grain, sensor
noise — so that what the renderer paints (the inside of a mouth) carries the same texture as
the picture around it: a painting's teeth look painted, a photo's photographic. A flat-shaded
drawing has none, and gets none.
"""

from __future__ import annotations

import cv2
import numpy as np

from companion.face.eyes import CHEEK_POINTS

TILE = 64  # pixels: the texture is mirrored out to a tile this size
SIGMA = 1.5  # the texture is what a blur of this radius takes away
TRIMMED_GAUSS = 0.5586  # E|x| over the lower 80 % of |x|, x ~ N(0, 1)


def _luma(rgb: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), np.float32)


def skin_grain(image: np.ndarray, landmarks: np.ndarray, iod: float) -> np.ndarray:
    """A (TILE, TILE) zero-mean luma texture with the spectrum of the two cheeks' fine detail
    and random phases (random-phase noise synthesis): the portrait's grain without its shapes —
    a stray edge or a highlight in the patch, tiled, would show as stripes. Periodic, so it
    tiles without seams; seeded by the picture, so a portrait always gets the same grain."""
    luma = _luma(image)
    fine = luma - cv2.GaussianBlur(luma, (0, 0), SIGMA)
    r = max(4, round(0.12 * iod))
    h, w = fine.shape
    parts = []
    for side in (CHEEK_POINTS[:3], CHEEK_POINTS[3:]):
        cx, cy = np.round(landmarks[list(side), :2].mean(axis=0)).astype(int)
        if r <= cx < w - r and r <= cy < h - r:
            parts.append(fine[cy - r:cy + r, cx - r:cx + r])
    if not parts:
        return np.zeros((TILE, TILE), np.float32)
    spectrum = np.zeros((TILE, TILE // 2 + 1))
    for part in parts:
        part = part[:TILE, :TILE] - float(part.mean())
        window = np.outer(np.hanning(part.shape[0]), np.hanning(part.shape[1]))
        spectrum += np.abs(np.fft.rfft2(part * window, (TILE, TILE))) ** 2
    seed = int.from_bytes(np.ascontiguousarray(image[::37, ::37]).tobytes()[:8].ljust(8, b"0"),
                          "little")
    noise = np.fft.rfft2(np.random.default_rng(seed).standard_normal((TILE, TILE)))
    grain = np.fft.irfft2(np.sqrt(spectrum) * noise / np.maximum(np.abs(noise), 1e-9),
                          (TILE, TILE))
    # as strong as the cheeks' detail, measured robustly (an edge in a patch does not count)
    spread = 1.4826 * float(np.median(np.abs(np.concatenate([p.ravel() for p in parts]))))
    grain *= spread / max(float(grain.std()), 1e-9)
    return np.asarray(grain - grain.mean(), np.float32)


def noise_level(rgb: np.ndarray, mask: np.ndarray) -> float:
    """How much fine texture a region has, blind to edges and smooth shading: the finest
    diagonal Haar coefficients over the region, their mean size below the 80th percentile (the
    rest is edges) as a standard deviation (for Gaussian noise σ it reads σ; after Donoho's
    estimator, which the median makes coarse on 8-bit pictures). A flat fill reads 0; a
    horizontal or vertical edge (a tooth's side, the lip line) adds nothing."""
    y = _luma(rgb)
    h, w = (y.shape[0] // 2) * 2, (y.shape[1] // 2) * 2
    a, b = y[0:h:2, 0:w:2], y[0:h:2, 1:w:2]
    c, d = y[1:h:2, 0:w:2], y[1:h:2, 1:w:2]
    hh = (a - b - c + d) / 2
    m = mask[0:h:2, 0:w:2] & mask[1:h:2, 1:w:2] & mask[0:h:2, 1:w:2] & mask[1:h:2, 0:w:2]
    if not m.any():
        return 0.0
    v = np.abs(hh[m])
    return float(v[v <= np.percentile(v, 80)].mean() / TRIMMED_GAUSS)
