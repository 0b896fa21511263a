"""Invisible watermark carrying the consent id, in the DCT domain of 8×8 luma blocks.

Payload: 64 bits that name the consent record + a 16-bit CRC. Every bit is spread over ~50
blocks (at 512²) chosen by a keyed permutation; in each block the difference of two DCT
coefficients, (1,2) and (2,1), is pushed to at least +s for a 1 and -s for a 0, s growing with
the block's own texture, which hides it (blocks already there are left alone; blocks whose
texture points hard the other way are skipped rather than scarred). A sign, unlike a
quantisation lattice, survives H.264 squeezing small coefficients toward zero, and a
low-frequency pair survives rescaling.

Reading adds each block's clipped difference over frames, for the frame as it came and for
its centre square rescaled to each size companion renders at. The evidence is then read three
ways (`_read_view`): whether anything is marked at all, which 80 bits it carries (the CRC
says whether they are an id), and whether it names one of the ids the caller knows.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

BITS = 80
KEY = b"companion-watermark-v1"
STRENGTH = 6.0  # DCT units (orthonormal 8×8) in a flat block: about half a grey level
MASKED_STRENGTH = 15.0  # at most, in textured blocks (see `_strengths`)
MASK_ACTIVITY = 4.0  # grey levels of a block's own standard deviation per STRENGTH added
MAX_PUSH_FACTOR = 4.0  # a block whose texture points harder the other way is skipped
CLIP = 1.5 * MASKED_STRENGTH  # a skipped block can outvote no more than one and a half good ones
SIDES = (256, 512, 1024)  # the sizes companion renders at: a rescaled copy is read back at each
PRESENCE_Z = 8.0  # thresholds: see `_read_view`; `companion bench watermark` measures both
MATCH_Z = 6.0
MATCH_AGREEMENT = 0.8  # a wrong id agrees on 40 ± 4.5 of the 80 bits; this asks for 64


def _dct_basis(u: int, v: int) -> np.ndarray:
    x = np.arange(8)
    cu = np.sqrt(1 / 8) if u == 0 else np.sqrt(2 / 8)
    cv = np.sqrt(1 / 8) if v == 0 else np.sqrt(2 / 8)
    bu = cu * np.cos((2 * x + 1) * u * np.pi / 16)
    bv = cv * np.cos((2 * x + 1) * v * np.pi / 16)
    return np.outer(bu, bv)


_PATTERN = _dct_basis(1, 2) - _dct_basis(2, 1)  # coefficient difference ↔ this pattern
_NORM = float((_PATTERN ** 2).sum())
# exports made before 2026-12-06 carry the (2,3)/(3,2) pair at a fixed STRENGTH: still read,
# at the size they came in
_LEGACY = _dct_basis(2, 3) - _dct_basis(3, 2)


def payload_for(consent_id: str) -> bytes:
    """8 bytes naming a consent record: a registry id's own random bytes, or a hash."""
    if consent_id.startswith("c_") and len(consent_id) == 18:
        try:
            return bytes.fromhex(consent_id[2:])
        except ValueError:
            pass
    return hashlib.sha256(consent_id.encode()).digest()[:8]


def _bits(payload: bytes) -> np.ndarray:
    crc = zlib.crc32(payload) & 0xFFFF
    data = payload + crc.to_bytes(2, "big")
    return np.unpackbits(np.frombuffer(data, np.uint8)).astype(np.int8)


def _layout(blocks: int) -> np.ndarray:
    """For each block, which payload bit it carries (keyed, the same for every frame)."""
    seed = int.from_bytes(hashlib.sha256(KEY + blocks.to_bytes(4, "big")).digest()[:8], "big")
    order = np.random.default_rng(seed).permutation(blocks)
    owner = np.empty(blocks, np.int64)
    owner[order] = np.arange(blocks) % BITS
    return owner


def _luma_blocks(rgb: np.ndarray) -> tuple[np.ndarray, int, int]:
    h, w = (rgb.shape[0] // 8) * 8, (rgb.shape[1] // 8) * 8
    y = rgb[:h, :w].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    blocks = y.reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    return blocks, h, w


def _strengths(blocks: np.ndarray) -> np.ndarray:
    """How hard each block is pushed: STRENGTH where the block is flat (a cartoon's skin, a
    plain background: there a stronger pattern shows as faint hatching), up to MASKED_STRENGTH
    where its own texture hides the change and keeps it through a re-encode."""
    activity = blocks.reshape(len(blocks), -1).std(axis=1)
    return STRENGTH * np.clip(1 + activity / MASK_ACTIVITY, 1, MASKED_STRENGTH / STRENGTH)


def embed(rgb: np.ndarray, consent_id: str) -> np.ndarray:
    """A copy of the frame carrying the id (luma changes by about a grey level)."""
    blocks, h, w = _luma_blocks(rgb)
    owner = _layout(len(blocks))
    strength = _strengths(blocks)
    target = np.where(_bits(payload_for(consent_id))[owner] == 1, strength, -strength)
    d = np.einsum("bij,ij->b", blocks, _PATTERN)  # = c1 - c2
    need = np.where(target > 0, np.maximum(target - d, 0), np.minimum(target - d, 0))
    need = np.where(np.abs(need) > MAX_PUSH_FACTOR * strength, 0.0, need)
    alpha = need / _NORM  # moving along the pattern by alpha changes d by alpha·|P|²
    delta = alpha[:, None, None] * _PATTERN
    dd = delta.reshape(h // 8, w // 8, 8, 8).transpose(0, 2, 1, 3).reshape(h, w)
    out = rgb.astype(np.float32)
    out[:h, :w] += dd[..., None]  # the same shift on R, G and B changes luma only
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Reading:
    found: bool  # a mark is there
    payload: bytes  # the 8 bytes it carries, when they could be read (else b"")
    presence: float = 0.0  # how far the bits' evidence stands above unmarked content (z)
    consent_id: str | None = None  # which of the ids it was asked about the mark names
    match: float = 0.0  # how well it lines up with that id (z)
    side: int = 0  # the size it was read at: 0 as it came, else rescaled to side × side

    def matches(self, consent_id: str) -> bool:
        return self.found and self.payload == payload_for(consent_id)


def _views(rgb: np.ndarray) -> dict[tuple[int, bool], np.ndarray]:
    """Each block's clipped difference: for the frame as it came (side 0; also with the legacy
    pattern) and for its centre square scaled to each size companion renders at, so a copy
    that was resized, or padded to another shape, is read on the grid it was marked on."""
    h, w = rgb.shape[:2]
    imgs = {0: rgb}
    s = min(h, w)
    square = rgb[(h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    for side in SIDES:
        if (h, w) != (side, side) and s >= 64:
            how = cv2.INTER_AREA if side < s else cv2.INTER_LINEAR
            imgs[side] = cv2.resize(square, (side, side), interpolation=how)
    out = {}
    for side, img in imgs.items():
        blocks, _, _ = _luma_blocks(img)
        for legacy in ((False, True) if side == 0 else (False,)):
            d = np.einsum("bij,ij->b", blocks, _LEGACY if legacy else _PATTERN)
            out[(side, legacy)] = np.clip(d, -CLIP, CLIP)
    return out


class Votes:
    """The evidence of frames added one at a time, so a long clip is read without keeping its
    frames (a consent clip is checked for our mark while it is decoded)."""

    def __init__(self) -> None:
        self.sums: dict[tuple[int, bool], np.ndarray] = {}
        self.frames = 0

    def add(self, rgb: np.ndarray) -> None:
        views = _views(rgb)
        if self.sums and any(k not in self.sums or len(self.sums[k]) != len(d)
                             for k, d in views.items()):
            return  # a frame of another size than the first: not part of the same picture
        for k, d in views.items():
            self.sums[k] = self.sums[k] + d if k in self.sums else d
        self.frames += 1

    def reading(self, candidates: Sequence[str] = ()) -> Reading:
        """The view that reads best."""
        best = Reading(False, b"", 0.0)
        for (side, _), sums in self.sums.items():
            r = _read_view(sums / self.frames, candidates, side)
            if (r.found, r.presence) > (best.found, best.presence):
                best = r
        return best


def _read_view(means: np.ndarray, candidates: Sequence[str], side: int) -> Reading:
    """One view's reading from each block's mean difference.

    Marked at all (blind): the keyed shuffle deals the blocks to the 80 bits, so on unmarked
    content a bit's vote is a sum of unrelated blocks, and Σ vote² / (blocks · variance) is
    about χ² with 80 degrees of freedom (80 ± 12.6); a mark makes every vote grow with its
    blocks. `presence` is that statistic's z.
    The id (blind): the votes' signs, accepted when the CRC holds (and something is there).
    A candidate id: the blocks weighed by the bit each should carry for it (a z over the
    blocks, about N(0, 1) on unmarked content), and the bits read must agree with it — that
    second test is what tells two ids apart, since a wrong id still shares half the bits."""
    x = means - means.mean()
    var = float((x ** 2).mean())
    if var <= 0:
        return Reading(False, b"", 0.0, side=side)
    owner = _layout(len(x))
    counts = np.maximum(np.bincount(owner, minlength=BITS), 1)
    votes = np.bincount(owner, weights=x, minlength=BITS)
    presence = float(((votes ** 2 / counts).sum() / var - BITS) / np.sqrt(2 * BITS))
    bits = (votes > 0).astype(np.int8)
    data = np.packbits(bits).tobytes()
    if (zlib.crc32(data[:8]) & 0xFFFF) == int.from_bytes(data[8:10], "big") and \
            presence >= PRESENCE_Z / 2:
        return Reading(True, data[:8], presence, side=side)
    norm = float(np.sqrt((x ** 2).sum()))
    for cid in candidates:
        want = _bits(payload_for(cid))
        z = float(((want * 2 - 1) * votes).sum()) / norm
        if z >= MATCH_Z and float((want == bits).mean()) >= MATCH_AGREEMENT:
            return Reading(True, payload_for(cid), presence, cid, z, side)
    return Reading(presence >= PRESENCE_Z, b"", presence, side=side)


def read(frames: list[np.ndarray], candidates: Sequence[str] = ()) -> Reading:
    """Votes over frames and blocks."""
    v = Votes()
    for rgb in frames:
        v.add(rgb)
    return v.reading(candidates)
