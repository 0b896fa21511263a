"""`companion bench render`: renderer FPS at 256/512/1024 on one CPU thread (and CUDA when
present), and the real-time factor of `say` end to end. Results → bench/results/render.json."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from companion.avatars import resolve
from companion.cpu import cpu_model
from companion.face import engine
from companion.face.motion import MotionControls, generate
from companion.face.render import CpuRenderer
from companion.face.rig import build_rig
from companion.frames import Phoneme

SENTENCE = ("Hello, it is good to see you again. Tell me, how was your week, and what would you "
            "like to talk about today?")


def _speech_params(n: int) -> np.ndarray:
    """Speech-like motion: a phone every 90 ms with pauses, plus head motion and blinks."""
    syms = ["h", "ɛ", "l", "o", "m", "ɑ", "s", "i", "p", "u", " "]
    phones = [Phoneme(syms[i % len(syms)], t, t + 0.09) for i, t in enumerate(
        np.arange(0.1, n / 25.0, 0.09)) if (t // 3) % 3 != 2]
    return generate(n, 25, MotionControls(seed=1), phones)


def _stats(times: list[float]) -> dict[str, float]:
    ms = np.array(times) * 1000
    return {"fps": round(float(1000.0 / ms.mean()), 1), "ms_mean": round(float(ms.mean()), 2),
            "ms_p50": round(float(np.percentile(ms, 50)), 2),
            "ms_p90": round(float(np.percentile(ms, 90)), 2)}


def cpu_fps(rig: Any, params: np.ndarray) -> dict[str, float]:
    r = CpuRenderer(rig)
    for p in params[:10]:
        r.render(p)
    times = []
    for p in params:
        t = time.perf_counter()
        r.render(p)
        times.append(time.perf_counter() - t)
    return _stats(times)


def cuda_fps(rig: Any, params: np.ndarray) -> dict[str, Any]:
    try:
        import torch
    except ImportError:
        return {"available": False, "reason": "torch not installed"}
    if not torch.cuda.is_available():
        return {"available": False, "reason": "no CUDA device"}
    from companion.face.render_torch import TorchRenderer

    tr = TorchRenderer(rig, device="cuda")
    out: dict[str, Any] = {"available": True, "device": torch.cuda.get_device_name(0)}
    for batch in (1, 8, 32):
        tr.render_batch(params[:batch])
        torch.cuda.synchronize()
        t = time.perf_counter()
        done = 0
        while done + batch <= len(params):
            tr.render_batch(params[done: done + batch])
            done += batch
        torch.cuda.synchronize()
        out[f"batch{batch}_fps"] = round(done / (time.perf_counter() - t), 1)
    return out


def say_rtf(rig: Any) -> dict[str, float]:
    """Text → speech → motion → frames → H.264/AAC mp4, with models already loaded."""
    import tempfile

    from companion.tts import make_tts

    tts = make_tts("piper")
    tts.synthesize("Warm up.")
    opts = engine.RenderOptions()
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        seg = tts.synthesize(SENTENCE)
        t1 = time.perf_counter()
        speech = engine.speech_from_segment(seg)
        params = engine.plan(speech, speech.duration, opts)
        engine.write_mp4(rig, speech, params, Path(d) / "say.mp4", opts)
        t2 = time.perf_counter()
    dur = seg.audio.duration
    return {"audio_s": round(dur, 2), "tts_s": round(t1 - t0, 2),
            "render_encode_s": round(t2 - t1, 2), "total_s": round(t2 - t0, 2),
            "rtf": round((t2 - t0) / dur, 3)}


def run(out_dir: Path, frames: int = 300) -> dict[str, Any]:
    av = resolve("mona-lisa")
    rig512 = build_rig(av.image, av.consent)
    params = _speech_params(frames)
    threads = cv2.getNumThreads()
    cv2.setNumThreads(1)  # the target is per core
    try:
        cpu = {str(s): cpu_fps(rig512.scaled(s), params) for s in (256, 512, 1024)}
    finally:
        cv2.setNumThreads(threads)
    result: dict[str, Any] = {
        "machine": {"cpu": cpu_model(),
                    "cores": os.cpu_count(), "python": platform.python_version()},
        "avatar": "mona-lisa", "frames": frames,
        "cpu_1_thread": cpu,
        "cuda": cuda_fps(rig512, params),
        "say_end_to_end": say_rtf(rig512),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "render.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'size':>6} {'fps (1 thread)':>15} {'ms p50':>8} {'ms p90':>8}")
    for size, st in cpu.items():
        print(f"{size:>6} {st['fps']:>15} {st['ms_p50']:>8} {st['ms_p90']:>8}")
    print("cuda:", result["cuda"])
    print("say end to end:", result["say_end_to_end"])
    print(f"wrote {path}")
    return result
