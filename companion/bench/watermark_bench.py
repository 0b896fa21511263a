"""`companion bench watermark`: how visible the mark is, which re-encodings and rescalings it
survives on each bundled avatar at 256² and 512², and how often unmarked video reads as marked.
Results → bench/results/watermark.json."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from companion.avatars import resolve
from companion.consent import watermark
from companion.face import engine
from companion.face.rig import build_rig
from companion.output.mp4 import Mp4Writer

AVATARS = ("mona-lisa", "difficult-lesson", "toonhead")
SECONDS = 3.0
RANDOM_IDS = 500  # ids the unmarked videos are asked about: none may be named
Transform = Callable[[np.ndarray], np.ndarray]


def _scale(f: float) -> Transform:
    return lambda rgb: cv2.resize(rgb, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)


def _pad_16_9(rgb: np.ndarray) -> np.ndarray:
    h, w = rgb.shape[:2]
    side = (h * 16 // 9 - w) // 2
    return cv2.copyMakeBorder(rgb, 0, 0, side, side, cv2.BORDER_CONSTANT)


# What a copy goes through after the export (itself CRF 20): (name, frame transform, CRF).
COPIES: tuple[tuple[str, Transform | None, int], ...] = (
    ("export", None, 0), ("crf 23", None, 23), ("crf 28", None, 28), ("crf 32", None, 32),
    ("scaled 0.75, crf 23", _scale(0.75), 23), ("scaled 0.5, crf 23", _scale(0.5), 23),
    ("padded to 16:9, crf 23", _pad_16_9, 23))


def _encode(frames: list[np.ndarray], path: Path, crf: int) -> list[np.ndarray]:
    """The frames through libx264 at `crf` (as exports are encoded) and decoded back."""
    h, w = frames[0].shape[:2]
    h, w = h - h % 2, w - w % 2  # yuv420p wants even sides
    with Mp4Writer(path, (w, h), 25, crf=crf) as out:
        for img in frames:
            out.write_frame(img[:h, :w])
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _speech(data: Path) -> engine.Speech:
    return engine.speech_from_file(
        data / "jfk.flac", "And so my fellow Americans ask not what your country can do for you")


def _visibility(plain: list[np.ndarray], marked: list[np.ndarray]) -> dict[str, float]:
    d = np.stack(marked).astype(float) - np.stack(plain).astype(float)
    return {"pixel_change_mean": round(float(np.abs(d).mean()), 3),
            "pixel_change_max": int(np.abs(d).max()),
            "psnr_db": round(float(10 * np.log10(255 ** 2 / (d ** 2).mean())), 1)}


def _case(name: str, size: int, speech: engine.Speech, ids: list[str],
          tmp: Path) -> tuple[dict[str, Any], list[float]]:
    """One avatar at one size: the export and its copies read back, asked about the bundled
    ids; the same video unmarked, asked about `ids`. Returns the row and the unmarked
    readings' presence figures."""
    av_ = resolve(name)
    rig = build_rig(av_.image, av_.consent, size=size)
    opts = engine.RenderOptions()
    plain = list(engine.frames(rig, engine.plan(speech, SECONDS, opts), opts))
    marked = [watermark.embed(f, rig.consent_id) for f in plain]
    exported = _encode(marked, tmp / "export.mp4", 20)
    bundled = [f"bundled:{a}" for a in AVATARS]
    row: dict[str, Any] = {"avatar": name, "size": size, **_visibility(plain, marked)}
    for label, fn, crf in COPIES:
        frames = exported if fn is None and not crf else \
            _encode([fn(f) if fn else f for f in exported], tmp / "copy.mp4", crf)
        r = watermark.read(frames, bundled)
        named = r.consent_id == rig.consent_id or r.matches(rig.consent_id)
        row[label] = {"found": r.found, "id": named, "presence": round(r.presence, 1),
                      "read_at": r.side or "as it came"}
        print(f"{name:17s} {size:4d}  {label:24s} found {r.found!s:5s} id {named!s:5s} "
              f"presence {r.presence:6.1f}", flush=True)
    nulls = []
    for fn in (None, _scale(0.75)):
        r = watermark.read(_encode([fn(f) if fn else f for f in plain], tmp / "plain.mp4", 20),
                           ids + bundled)
        row.setdefault("unmarked_found", []).append(r.found)
        nulls.append(r.presence)
    return row, nulls


def run(out_dir: Path, data: Path) -> dict[str, Any]:
    speech = _speech(data)
    rng = np.random.default_rng(0)
    ids = ["c_" + rng.bytes(8).hex() for _ in range(RANDOM_IDS)]
    rows, nulls = [], []
    with tempfile.TemporaryDirectory() as d:
        for name in AVATARS:
            for size in (256, 512):
                row, null = _case(name, size, speech, ids, Path(d))
                rows.append(row)
                nulls += null
    result = {"seconds": SECONDS, "export_crf": 20, "random_ids_asked": RANDOM_IDS,
              "presence_threshold": watermark.PRESENCE_Z, "match_threshold": watermark.MATCH_Z,
              "unmarked_presence_max": round(max(nulls), 2),
              "unmarked_found": sum(sum(r["unmarked_found"]) for r in rows), "cases": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "watermark.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"unmarked: {result['unmarked_found']} of {2 * len(rows)} read as marked "
          f"(presence at most {result['unmarked_presence_max']})")
    return result
