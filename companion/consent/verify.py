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
    evidence: float  # z: about 0 ± 1 on unmarked video (see watermark._read_view)
    consent_id: str | None
    consent_status: str  # "active" | "revoked" | "unknown id" | "-"
    c2pa: str
    c2pa_valid: bool = False
    rescaled_to: int = 0  # the mark was read on the picture scaled back to this size

    def lines(self) -> list[str]:
        where = (f", read scaled back to {self.rescaled_to}×{self.rescaled_to}"
                 if self.rescaled_to else "")
        mark = (f"found (evidence {self.evidence:.0f}σ{where})" if self.watermark
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


def _identify(reading: watermark.Reading, ids: dict[str, str]) -> tuple[str | None, str]:
    if not reading.found:
        return None, "-"
    if reading.consent_id:
        return reading.consent_id, ids[reading.consent_id]
    if not reading.payload:
        return None, "marked, but the id it carries could not be read"
    for cid, status in ids.items():
        if watermark.payload_for(cid) == reading.payload:
            return cid, status
    return "c_" + reading.payload.hex(), "unknown id"


def verify_file(path: str | Path) -> Report:
    p = Path(path)
    if not p.is_file() or p.stat().st_size == 0:
        raise InputError(f"nothing to verify: {p}")
    frames = _frames(p)
    from companion.consent.registry import ConsentRegistry

    with ConsentRegistry() as reg:
        ids = reg.mark_ids()
    reading = watermark.read(frames, list(ids))
    cid, status = _identify(reading, ids)
    from companion.consent.provenance import read_manifest

    m = read_manifest(p)
    c2pa = m.summary()
    if m.valid and m.consent_id and cid and m.consent_id != cid:
        c2pa += f" — but it names consent {m.consent_id}, the watermark {cid}"
    return Report(str(p), len(frames), reading.found,
                  max(reading.presence, reading.match), cid, status, c2pa,
                  m.valid, reading.side)
