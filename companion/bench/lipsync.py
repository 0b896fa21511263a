"""`companion bench quality`: lip sync, bilabial closure, blink rate and identity, measured on
re-detected landmarks of rendered frames. Results → bench/results/quality.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.io import decode_audio
from companion.avatars import resolve
from companion.bench import quality as Q
from companion.face import engine
from companion.face.motion import MotionControls
from companion.face.rig import build_rig
from companion.frames import AudioFrame
from companion.stt import make_stt

CLIPS = ("jfk.flac", "en_librispeech_198-209-0000_female.ogg")


def lipsync(rig: Any, path: Path) -> dict[str, Any]:
    opts = engine.RenderOptions(label=False)
    speech = engine.speech_from_file(path, recognise=make_stt().words)
    params = engine.plan(speech, speech.duration, opts)
    frames = list(engine.frames(rig, params, opts))
    tr = Q.track(frames)
    env = Q.speech_envelope(decode_audio(path, 16000), len(frames), opts.fps)
    corr = Q.lagged_correlation(tr.aperture, env)
    best = max(corr, key=lambda k: corr[k])
    return {"clip": path.name, "frames": len(frames), "best_lag_frames": best,
            "r_at_best_lag": round(corr[best], 3), "r_at_lag0": round(corr.get(0, np.nan), 3)}


def idle(rig: Any, seconds: int = 60) -> dict[str, Any]:
    opts = engine.RenderOptions(label=False, controls=MotionControls(seed=3))
    silence = AudioFrame(samples=np.zeros(16000 * seconds, np.float32), sample_rate=16000)
    speech = engine.Speech(silence, (), None)
    params = engine.plan(speech, seconds, opts)
    tr = Q.track(engine.frames(rig, params, opts))
    return {"seconds": seconds, "blinks": Q.count_blinks(tr.eye_open, opts.fps)}


def run(out_dir: Path, data: Path) -> dict[str, Any]:
    av = resolve("mona-lisa")
    rig = build_rig(av.image, av.consent)
    rows = [lipsync(rig, data / c) for c in CLIPS if (data / c).is_file()]
    blink = idle(rig)
    result: dict[str, Any] = {"avatar": "mona-lisa", "lipsync": rows, "idle": blink}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "quality.json").write_text(json.dumps(result, indent=2) + "\n")
    for row in rows:
        print(f"lip sync {row['clip']}: r={row['r_at_best_lag']} at lag {row['best_lag_frames']}")
    print(f"idle 60 s: {blink['blinks']} blinks")
    return result
