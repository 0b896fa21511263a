"""`companion verify FILE`: is this video or image marked as made by companion, under which
consent record, and is that consent still valid?"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from companion.consent import watermark
from companion.errors import InputError

MAX_FRAMES = 75  # three seconds at 25 fps is plenty of evidence


@dataclass(frozen=True)
class Report:
    path: str
    frames: int
    watermark: bool
    confidence: float
    consent_id: str | None
    consent_status: str  # "active" | "revoked" | "unknown id" | "-"
    c2pa: str
    c2pa_valid: bool = False

    def lines(self) -> list[str]:
        mark = (f"found (confidence {self.confidence:.2f})" if self.watermark
                else "not found")
        return [f"file:       {self.path} ({self.frames} frame(s) read)",
                f"watermark:  {mark}",
                f"consent:    {self.consent_id or '-'} ({self.consent_status})",
                f"C2PA:       {self.c2pa}"]


def _frames(path: Path) -> list[np.ndarray]:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is not None:
        return [cv2.cvtColor(img, cv2.COLOR_BGR2RGB)]
    try:
        with av.open(str(path)) as c:
            if not c.streams.video:
                raise InputError(f"no video or image in {path.name}")
            out = []
            for f in c.decode(video=0):
                out.append(f.to_ndarray(format="rgb24"))
                if len(out) >= MAX_FRAMES:
                    break
            return out
    except av.error.FFmpegError:
        raise InputError(f"not a video or image file: {path.name}") from None


def _identify(payload: bytes) -> tuple[str | None, str]:
    from companion.consent.bundled import bundled_names
    from companion.consent.registry import ConsentRegistry

    for name in bundled_names():
        if watermark.payload_for(f"bundled:{name}") == payload:
            return f"bundled:{name}", "active"
    with ConsentRegistry() as reg:
        for rec in reg.records():
            if watermark.payload_for(rec.consent_id) == payload:
                return rec.consent_id, "revoked" if rec.revoked else "active"
    return "c_" + payload.hex(), "unknown id"


def verify_file(path: str | Path) -> Report:
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        raise InputError(f"nothing to verify: {p}")
    frames = _frames(p)
    reading = watermark.read(frames)
    cid, status = _identify(reading.payload) if reading.found else (None, "-")
    from companion.consent.provenance import read_manifest

    m = read_manifest(p)
    c2pa = m.summary()
    if m.valid and m.consent_id and cid and m.consent_id != cid:
        c2pa += f" — but it names consent {m.consent_id}, the watermark {cid}"
    return Report(str(p), len(frames), reading.found, reading.confidence, cid, status, c2pa,
                  m.valid)
