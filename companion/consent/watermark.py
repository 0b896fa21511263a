"""Invisible watermark carrying the consent id, in the DCT domain of 8×8 luma blocks.

Payload: 64 bits that name the consent record + a 16-bit CRC. Every bit is spread over ~50
blocks chosen by a keyed permutation; in each block the difference of two mid-frequency DCT
coefficients is pushed to at least +STRENGTH for a 1 and -STRENGTH for a 0 (blocks already
there are left alone; blocks whose texture points hard the other way are skipped rather than
scarred). Decoding adds each block's clipped difference over a bit's blocks and over frames.
A sign, unlike a quantisation lattice, survives H.264 squeezing small coefficients toward zero.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

import numpy as np

BITS = 80
STRENGTH = 6.0  # DCT units (orthonormal 8×8): about one grey level per pixel
MAX_PUSH = 4.0 * STRENGTH
CLIP = 1.5 * STRENGTH  # a skipped block can outvote no more than one and a half good ones
KEY = b"companion-watermark-v1"
U1, V1, U2, V2 = 2, 3, 3, 2


def _dct_basis(u: int, v: int) -> np.ndarray:
    x = np.arange(8)
    cu = np.sqrt(1 / 8) if u == 0 else np.sqrt(2 / 8)
    cv = np.sqrt(1 / 8) if v == 0 else np.sqrt(2 / 8)
    bu = cu * np.cos((2 * x + 1) * u * np.pi / 16)
    bv = cv * np.cos((2 * x + 1) * v * np.pi / 16)
    return np.outer(bu, bv)


_PATTERN = _dct_basis(U1, V1) - _dct_basis(U2, V2)  # coefficient difference ↔ this pattern
_NORM = float((_PATTERN ** 2).sum())


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


def embed(rgb: np.ndarray, consent_id: str) -> np.ndarray:
    """A copy of the frame carrying the id (luma changes by about a grey level)."""
    blocks, h, w = _luma_blocks(rgb)
    owner = _layout(len(blocks))
    target = np.where(_bits(payload_for(consent_id))[owner] == 1, STRENGTH, -STRENGTH)
    d = np.einsum("bij,ij->b", blocks, _PATTERN)  # = c1 - c2
    need = np.where(target > 0, np.maximum(target - d, 0), np.minimum(target - d, 0))
    need = np.where(np.abs(need) > MAX_PUSH, 0.0, need)
    alpha = need / _NORM  # moving along the pattern by alpha changes d by alpha·|P|²
    delta = alpha[:, None, None] * _PATTERN
    dd = delta.reshape(h // 8, w // 8, 8, 8).transpose(0, 2, 1, 3).reshape(h, w)
    out = rgb.astype(np.float32)
    out[:h, :w] += dd[..., None]  # the same shift on R, G and B changes luma only
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class Reading:
    found: bool
    payload: bytes
    confidence: float  # mean |evidence| per bit relative to the embedding strength

    def matches(self, consent_id: str) -> bool:
        return self.found and self.payload == payload_for(consent_id)


class Votes:
    """The evidence of frames added one at a time, so a long clip is read without keeping its
    frames (a consent clip is checked for our mark while it is decoded)."""

    def __init__(self) -> None:
        self.votes = np.zeros(BITS)
        self.counts = np.zeros(BITS)

    def add(self, rgb: np.ndarray) -> None:
        blocks, _, _ = _luma_blocks(rgb)
        owner = _layout(len(blocks))
        d = np.clip(np.einsum("bij,ij->b", blocks, _PATTERN), -CLIP, CLIP)
        self.votes += np.bincount(owner, weights=d, minlength=BITS)
        self.counts += np.bincount(owner, minlength=BITS)

    def reading(self) -> Reading:
        """The CRC decides whether a mark is there."""
        if not self.counts.any():
            return Reading(False, b"", 0.0)
        bits = (self.votes > 0).astype(np.uint8)
        data = np.packbits(bits).tobytes()
        payload, crc = data[:8], int.from_bytes(data[8:10], "big")
        ok = (zlib.crc32(payload) & 0xFFFF) == crc
        conf = float(np.mean(np.abs(self.votes) / np.maximum(self.counts, 1)) / STRENGTH)
        return Reading(ok, payload if ok else b"", conf)


def read(frames: list[np.ndarray]) -> Reading:
    """Votes over frames and blocks."""
    v = Votes()
    for rgb in frames:
        v.add(rgb)
    return v.reading()
