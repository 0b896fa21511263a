"""Phones → mouth shapes, with co-articulation (dominance blending, Cohen–Massaro style).

Each phone pulls the mouth toward its target with a dominance that is flat over the phone and
decays outside it; closures (/p b m/) and labiodentals dominate hard so the lips really meet,
while /h/ and schwa barely assert themselves and take their neighbours' shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from companion.frames import Phoneme


@dataclass(frozen=True)
class Viseme:
    jaw: float
    width: float = 0.0
    pucker: float = 0.0
    upper_raise: float = 0.0
    strength: float = 1.0
    decay: float = 0.04  # seconds: how far the phone's pull reaches beyond its own interval


REST = Viseme(0.0, strength=0.4)
_V = Viseme
TABLE: dict[str, Viseme] = {
    # closures and near-closures
    # Closures dominate hard inside their interval but fall off fast, so the lips really meet on
    # /p b m/ without dragging neighbouring vowels shut.
    "p": _V(0.0, strength=14, decay=0.02), "b": _V(0.0, strength=14, decay=0.02),
    "m": _V(0.0, strength=14, decay=0.02),
    "f": _V(0.04, upper_raise=0.35, strength=5, decay=0.025),
    "v": _V(0.04, upper_raise=0.35, strength=5, decay=0.025),
    "θ": _V(0.14, width=0.2, strength=1.2), "ð": _V(0.14, width=0.2, strength=1.2),
    # tongue consonants keep the jaw fairly high
    "t": _V(0.14, width=0.25, strength=0.9), "d": _V(0.14, width=0.25, strength=0.9),
    "n": _V(0.13, width=0.2, strength=0.8), "l": _V(0.18, width=0.15, strength=0.7),
    "s": _V(0.07, width=0.45, strength=1.5), "z": _V(0.07, width=0.45, strength=1.5),
    "ʃ": _V(0.12, pucker=0.6, strength=1.6), "ʒ": _V(0.12, pucker=0.6, strength=1.6),
    "tʃ": _V(0.12, pucker=0.6, strength=1.6), "dʒ": _V(0.12, pucker=0.6, strength=1.6),
    "k": _V(0.22, strength=0.7), "g": _V(0.22, strength=0.7), "ɡ": _V(0.22, strength=0.7),
    "ŋ": _V(0.2, strength=0.6), "ɹ": _V(0.16, pucker=0.45, strength=0.9),
    "r": _V(0.16, pucker=0.45, strength=0.9), "w": _V(0.1, pucker=0.9, strength=2.0),
    "j": _V(0.14, width=0.4, strength=0.8), "h": _V(0.3, strength=0.15),
    "ʔ": _V(0.1, strength=0.5), "ɾ": _V(0.16, width=0.2, strength=0.7),
    # vowels
    "i": _V(0.18, width=0.7), "ɪ": _V(0.3, width=0.5), "e": _V(0.36, width=0.5),
    "ɛ": _V(0.46, width=0.4), "æ": _V(0.6, width=0.45), "a": _V(0.68, width=0.15),
    "ɑ": _V(0.7), "ɒ": _V(0.58, pucker=0.35), "ɔ": _V(0.52, pucker=0.5),
    "ʌ": _V(0.5, width=0.1), "ə": _V(0.3, strength=0.6), "ɜ": _V(0.34, pucker=0.3),
    "ɚ": _V(0.3, pucker=0.35), "ɝ": _V(0.32, pucker=0.35), "o": _V(0.42, pucker=0.7),
    "ʊ": _V(0.28, pucker=0.6), "u": _V(0.2, pucker=0.9), "ᵻ": _V(0.28, width=0.4),
    "ɐ": _V(0.5), "ɨ": _V(0.28, width=0.3), "y": _V(0.2, pucker=0.8),
}
PAUSE = {"", " ", "sil", "sp", "^", "$", "_", ".", ",", "?", "!", ";", ":", "-", "…"}
VOWELS = set("iɪeɛæaɑɒɔʌəɜɚɝoʊuᵻɐɨy")
BILABIALS = {"p", "b", "m"}

# ARPAbet (CMUdict) → IPA
ARPABET = {
    "AA": "ɑ", "AE": "æ", "AH": "ʌ", "AO": "ɔ", "AW": "aʊ", "AY": "aɪ", "B": "b", "CH": "tʃ",
    "D": "d", "DH": "ð", "EH": "ɛ", "ER": "ɝ", "EY": "eɪ", "F": "f", "G": "ɡ", "HH": "h",
    "IH": "ɪ", "IY": "i", "JH": "dʒ", "K": "k", "L": "l", "M": "m", "N": "n", "NG": "ŋ",
    "OW": "oʊ", "OY": "ɔɪ", "P": "p", "R": "ɹ", "S": "s", "SH": "ʃ", "T": "t", "TH": "θ",
    "UH": "ʊ", "UW": "u", "V": "v", "W": "w", "Y": "j", "Z": "z", "ZH": "ʒ",
}


def viseme(symbol: str) -> Viseme:
    if symbol in PAUSE:
        return REST
    if symbol in TABLE:
        return TABLE[symbol]
    # Multi-character symbols (diphthongs, affricates): take the first known part.
    for ch in symbol:
        if ch in TABLE:
            return TABLE[ch]
    return Viseme(0.25, strength=0.5)


def is_pause(symbol: str) -> bool:
    return symbol in PAUSE


def mouth_curves(phonemes: list[Phoneme] | tuple[Phoneme, ...], times: np.ndarray,
                 lead: float = 0.03) -> np.ndarray:
    """Mouth parameters (len(times), 4): jaw, width, pucker, upper_raise at each time.

    `lead` shifts targets earlier: the lips move before the sound they shape. A closure still
    holds until its release: the lips close early but do not open before the burst.
    """
    t = np.asarray(times, np.float64) + lead
    num = np.zeros((len(t), 4))
    den = np.full(len(t), 1e-3)
    # A faint pull toward rest everywhere closes the mouth far from any phone.
    den += 0.05
    for ph in phonemes:
        v = viseme(ph.symbol)
        end = ph.end + (lead if ph.symbol in BILABIALS else 0.0)
        half = max(end - ph.start, 1e-3) / 2.0
        c = ph.start + half
        outside = np.maximum(np.abs(t - c) - half, 0.0)
        near = outside < 8 * v.decay
        if not near.any():
            continue
        dom = v.strength * np.exp(-outside[near] / v.decay)
        num[near] += dom[:, None] * np.array([v.jaw, v.width, v.pucker, v.upper_raise])
        den[near] += dom
    return (num / den[:, None]).astype(np.float32)
