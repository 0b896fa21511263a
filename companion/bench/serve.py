"""`companion bench serve`: N concurrent browser-less clients over real websockets on loopback,
each speaking scripted questions (PCM, paced in real time) to the real embedded models.
Reports, per N, reply latency (end of the question's audio → first voiced audio back) p50/p90
and the frames per second each session receives. Results → bench/results/serve.json."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.io import resample
from companion.cpu import cpu_model
from companion.server.protocol import AUDIO, MIC, VIDEO
from companion.tts import make_tts

QUESTIONS = ("Hi Mona, how are you today?", "What is your favourite season?",
             "Can you tell me something nice?")


async def _client(url: str, clips: list[np.ndarray], gap_s: float) -> dict[str, Any]:
    import websockets

    latencies: list[float] = []
    frames = 0
    async with websockets.connect(url, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "avatar": "mona-lisa"}))
        while True:
            msg = await ws.recv()
            if isinstance(msg, str) and json.loads(msg)["type"] == "ready":
                break
        t_start = time.monotonic()
        waiting_since: float | None = None
        stop = asyncio.Event()

        async def receive() -> None:
            nonlocal frames, waiting_since
            while not stop.is_set():
                try:
                    msg = await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue
                if isinstance(msg, bytes) and msg[0] == VIDEO:
                    frames += 1
                elif isinstance(msg, bytes) and msg[0] == AUDIO and waiting_since is not None:
                    pcm = np.frombuffer(msg[9:], "<i2")
                    if len(pcm) and np.abs(pcm).max() > 300:
                        latencies.append(time.monotonic() - waiting_since)
                        waiting_since = None

        async def speak() -> None:
            nonlocal waiting_since
            for clip in clips:
                for i in range(0, len(clip), 512):
                    await ws.send(bytes([MIC]) + (clip[i:i + 512] * 32767).astype("<i2").tobytes())
                    await asyncio.sleep(512 / 16000)
                waiting_since = time.monotonic()
                silence = bytes([MIC]) + np.zeros(512, "<i2").tobytes()
                end = time.monotonic() + gap_s
                while time.monotonic() < end:
                    await ws.send(silence)
                    await asyncio.sleep(512 / 16000)
            stop.set()

        await asyncio.gather(receive(), speak())
        duration = time.monotonic() - t_start
    return {"latencies": latencies, "fps": frames / duration, "answered": len(latencies)}


async def _round(url: str, n: int, clips: list[np.ndarray], gap_s: float) -> dict[str, Any]:
    results = await asyncio.gather(*[_client(url, clips, gap_s) for _ in range(n)])
    lat = [x for r in results for x in r["latencies"]]
    fps = [r["fps"] for r in results]
    return {"sessions": n, "questions": n * len(clips), "answered": len(lat),
            "latency_p50_s": round(float(np.percentile(lat, 50)), 2) if lat else None,
            "latency_p90_s": round(float(np.percentile(lat, 90)), 2) if lat else None,
            "fps_per_session_min": round(min(fps), 1), "fps_per_session_mean":
                round(float(np.mean(fps)), 1)}


def run(out_dir: Path, sessions: tuple[int, ...] = (1, 2, 4), gap_s: float = 12.0
        ) -> dict[str, Any]:
    from companion.config import load_settings
    from companion.server.app import ServerConfig, session_maker
    from companion.server.background import LiveServer
    from companion.wiring import load_models

    voice = make_tts("espeak")
    clips = [resample(voice.synthesize(q).audio, 16000).samples for q in QUESTIONS]
    settings = load_settings(max_sessions=16)
    models = load_models(settings)
    rows = []
    with LiveServer(session_maker(models, settings), ServerConfig(max_sessions=16)) as srv:
        for n in sessions:
            rows.append(asyncio.run(_round(f"ws://127.0.0.1:{srv.port}/ws", n, clips, gap_s)))
            print(rows[-1], flush=True)
    models.llm.close()
    result = {"cpu": cpu_model(), "llm": models.llm.name, "rounds": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "serve.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
