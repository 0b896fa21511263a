"""`companion bench consent`: the face-match calibration (dlib distances between the real
photographs in the data folder: same person vs different people), how long one identity
descriptor takes, and what a signed export costs. Results → bench/results/consent.json."""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.io import resample
from companion.consent.identity import THRESHOLD, distance, identity
from companion.face.image import load_image
from companion.face.params import INDEX

# who is in each photograph (the data folder's SOURCES.md says so; two_people.jpg holds both)
PEOPLE = {"obama.jpg": ["obama"], "obama2.jpg": ["obama"], "biden.jpg": ["biden"],
          "two_people.jpg": ["obama", "biden"]}


def _faces(data: Path) -> tuple[list[tuple[str, str, Any]], list[float]]:
    faces, times = [], []
    for name, people in PEOPLE.items():
        img = load_image(data / name)
        t = time.perf_counter()
        found = identity().describe(img.rgb)
        times.append((time.perf_counter() - t) / max(1, len(found)))
        # two_people.jpg: left to right is Obama, then Biden
        found = sorted(found, key=lambda f: f.box[0])
        for person, f in zip(people, found, strict=True):
            faces.append((f"{name}:{person}", person, f))
    return faces, times


ACTION_S = 1.6  # how long the asked action takes after the phrase


def perform(params: np.ndarray, start: int, action: str, fps: int) -> None:
    """Make the face do a consent challenge's action from frame `start` on: a smooth head turn
    (the engine's negative yaw turns the face to its own left) or two deliberate blinks. For
    the benchmark's and the tests' clips; nothing in the product fakes an action."""
    t = np.arange(len(params) - start) / fps
    if action in ("turn-left", "turn-right"):
        bump = np.sin(np.pi * np.clip(t / (ACTION_S - 0.2), 0, 1)) ** 2
        params[start:, INDEX["yaw"]] += (-0.6 if action == "turn-left" else 0.6) * bump
    elif action == "blink-twice":
        closed = ((t > 0.1) & (t < 0.45)) | ((t > 0.8) & (t < 1.15))
        for k in ("blink_a", "blink_b"):
            params[start:, INDEX[k]] = np.where(closed, 1.0, params[start:, INDEX[k]])


def _clip_check(rig: Any, portrait_rgb: Any, out: Path) -> dict[str, Any]:
    """Time the checks on a consent clip: the bundled Mona Lisa saying the phrase and turning
    her head (a painting, so no real person's face is animated for a benchmark). Rendered
    without companion's marks, as a camera would record her; the same clip exported as `say`
    exports it (watermark, manifest, label) must be refused."""
    from companion.consent import clip as clips
    from companion.consent.phrase import phrase_for
    from companion.face import engine
    from companion.output.mp4 import Mp4Writer
    from companion.stt.whisper import FasterWhisperSTT
    from companion.tts import make_tts
    from companion.wiring import consent_tools

    code, action = "4719", "turn-left"
    spoken = phrase_for("Lisa", code).replace("4 7 1 9", "four seven one nine")
    speech = engine.speech_from_segment(make_tts("piper").synthesize(spoken))
    opts = engine.RenderOptions(label=False)
    params = engine.plan(speech, speech.duration + 0.4 + ACTION_S, opts)
    perform(params, int((speech.duration + 0.2) * opts.fps), action, opts.fps)
    with Mp4Writer(out, rig.size, opts.fps) as w:  # no consent id: neither marked nor signed
        w.write_audio(resample(speech.audio, 48000))
        for img in engine.frames(rig, params, opts, mark=False):
            w.write_frame(img)
    exported = engine.write_mp4(rig, speech, params, out.with_name("exported.mp4"),
                                engine.RenderOptions())
    portrait = identity().describe_one(portrait_rgb)
    stt = FasterWhisperSTT("tiny.en")
    stt.words(clips.read_clip(out).audio)  # load the model first: a server loads it once
    t = time.perf_counter()
    checks = clips.check_clip(clips.read_clip(out), portrait, "Lisa", code, stt,
                              consent_tools().track_faces, action)
    took = time.perf_counter() - t
    marked = clips.check_clip(clips.read_clip(exported), portrait, "Lisa", code, stt,
                              consent_tools().track_faces, action)
    return {"clip_check_s": round(took, 2), "clip_seconds": round(speech.duration + 0.4 +
                                                                  ACTION_S, 2),
            "clip_accepted": checks.ok, "clip_reasons": list(checks.reasons),
            "clip_turn_left": round(checks.turn_left, 3),
            "exported_clip_refused_for": list(marked.reasons)}


def run(out_dir: Path, data: Path) -> dict[str, Any]:
    identity().describe(load_image(data / "obama.jpg").rgb)  # load the models first
    faces, times = _faces(data)
    same: list[float] = []
    diff: list[float] = []
    pairs = []
    for (na, pa, fa), (nb, pb, fb) in combinations(faces, 2):
        dist = distance(fa, fb)
        (same if pa == pb else diff).append(dist)
        pairs.append({"a": na, "b": nb, "same_person": pa == pb, "distance": round(dist, 3)})
    with tempfile.TemporaryDirectory() as d:
        from companion.avatars import resolve
        from companion.consent.provenance import read_manifest
        from companion.face import engine
        from companion.face.rig import build_rig
        from companion.output.mp4 import sign_export

        av = resolve("mona-lisa")
        rig = build_rig(av.image, av.consent)
        opts = engine.RenderOptions()
        params = engine.plan(None, 4.0, opts)
        out = Path(d) / "idle.mp4"
        engine.write_mp4(rig, None, params, out, opts)  # signed on close
        t = time.perf_counter()
        sign_export(out, rig.consent_id)  # once more, timed on its own
        sign_s = time.perf_counter() - t
        t = time.perf_counter()
        valid = read_manifest(out).valid
        read_s = time.perf_counter() - t
        clip = _clip_check(rig, av.image.rgb, Path(d) / "clip.mp4")
    result: dict[str, Any] = {
        "threshold": THRESHOLD,
        "same_person": {"n": len(same), "min": round(min(same), 3), "max": round(max(same), 3)},
        "different_people": {"n": len(diff), "min": round(min(diff), 3),
                             "max": round(max(diff), 3)},
        "separated": max(same) < THRESHOLD < min(diff),
        "descriptor_s_median": round(statistics.median(times), 3),
        "c2pa_sign_4s_mp4_s": round(sign_s, 3), "c2pa_read_s": round(read_s, 3),
        "c2pa_valid": valid,
        **clip, "pairs": pairs,
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "consent.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"same person {result['same_person']['min']}-{result['same_person']['max']}, "
          f"different {result['different_people']['min']}-{result['different_people']['max']}, "
          f"threshold {THRESHOLD} separates them: {result['separated']}")
    print(f"descriptor (detect + align + embed) {result['descriptor_s_median'] * 1000:.0f} ms "
          f"per face; C2PA sign {sign_s * 1000:.0f} ms, read+validate {read_s * 1000:.0f} ms")
    print(f"consent clip check (read + marks + Whisper + liveness + identity) "
          f"{clip['clip_check_s']:.2f} s for a {clip['clip_seconds']:.1f} s clip (accepted: "
          f"{clip['clip_accepted']}{'' if clip['clip_accepted'] else ': '}"
          f"{'; '.join(clip['clip_reasons'])}); the same clip exported by companion is refused "
          f"for: {'; '.join(clip['exported_clip_refused_for']) or 'NOTHING'}")
    return result
