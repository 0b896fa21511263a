"""`companion bench latency`: end of user speech → first avatar audio and first frame, per stage,
over scripted spoken turns fed in real time through the real embedded models.
Results → bench/results/latency.json."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.io import resample
from companion.config import Settings, load_settings
from companion.cpu import cpu_model
from companion.tts import make_tts
from companion.wiring import load_models, new_session

QUESTIONS = (
    "Hi Mona, how are you today?", "What did you do this morning?",
    "I feel a little tired.", "Can you tell me a joke?", "What is your favourite colour?",
    "I went for a walk in the park.", "Do you like music?", "What should I read next?",
    "My friend is visiting tomorrow.", "I am cooking pasta tonight.",
    "Have you ever seen the sea?", "I could not sleep last night.",
    "What makes you happy?", "Tell me about your day.", "I got a new job.",
    "It is raining outside.", "Do you like cats or dogs?", "I miss my family.",
    "What is a good way to relax?", "Thank you for talking with me.",
)
STAGES = ("stt_done", "llm_first_token", "first_audio", "first_frame")


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 3) if values else None


async def _run(turns: int, settings: Settings) -> tuple[str, list[dict[str, Any]]]:
    session, _ = new_session(load_models(settings, warm=False), settings)
    voice = make_tts("espeak")
    clips = [resample(voice.synthesize(q).audio, 16000).samples for q in QUESTIONS[:turns]]
    await session.start()
    stop = asyncio.Event()

    async def render() -> None:
        async for _ in session.frames(realtime=True):
            if stop.is_set():
                break

    async def talk() -> None:
        t0 = time.monotonic()
        fed = 0
        silence = np.zeros(512, np.float32)

        async def feed(chunk: np.ndarray) -> None:
            nonlocal fed
            fed += 512
            wait = t0 + fed / 16000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            await session.feed(chunk)

        for clip in clips:
            for i in range(0, len(clip) - 511, 512):
                await feed(clip[i:i + 512])
            # a polite user: waits until the avatar has answered, then a short pause
            deadline = time.monotonic() + 30
            n_before = len(session.records)
            while time.monotonic() < deadline:
                await feed(silence)
                if len(session.records) > n_before and session.idle:
                    break
            for _ in range(15):
                await feed(silence)
        stop.set()

    try:
        await asyncio.gather(render(), talk())
    finally:
        await session.stop()
    return session.llm.name, [r.as_dict() for r in session.records]


def run(out_dir: Path, turns: int = 20, llm_spec: str = "auto") -> dict[str, Any]:
    llm, records = asyncio.run(_run(turns, load_settings(label=True, llm=llm_spec)))
    summary: dict[str, Any] = {}
    for stage in STAGES:
        vals = [r["latency_s"][stage] for r in records if stage in r["latency_s"]]
        summary[stage] = {"p50": _pct(vals, 50), "p90": _pct(vals, 90), "n": len(vals)}
    result = {"cpu": cpu_model(), "turns": len(records), "llm": llm, "stt": "whisper tiny.en",
              "turn_end": "smart-turn v3.2",
              "tts": "piper en_US-joe-medium", "latency_s": summary, "records": records}
    out_dir.mkdir(parents=True, exist_ok=True)
    name = "latency.json" if llm_spec in ("auto", "embedded") else \
        f"latency-{llm_spec.replace(':', '-')}.json"
    (out_dir / name).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"{'end of user speech →':24} {'p50 (s)':>8} {'p90 (s)':>8}  n")
    for stage, s in summary.items():
        print(f"{stage:24} {s['p50']!s:>8} {s['p90']!s:>8}  {s['n']}")
    return result
