"""`companion bench serve`: N concurrent browser-less clients over real websockets on loopback,
each speaking scripted questions (PCM, paced in real time) to the real embedded models.
Reports, per N, reply latency (end of the question's audio → first voiced audio back) p50/p90
and the frames per second each session receives. With `flood`, a last round puts one such
speaker beside a client that sends speech as hard as the protocol lets it (140 messages a
second of 2 s each, 280× real time, just under the message-rate limit that closes a socket):
the bystander's frames per second and replies show whether one client can starve another.
Results → bench/results/serve.json."""

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


FLOOD_RATE = 140  # messages a second: under ConnectionLimits.max_messages_per_s (150)
FLOOD_SAMPLES = 32000  # 2 s of 16 kHz audio per message (64 KB, the message size limit)


async def _flooder(url: str, speech: np.ndarray, seconds: float) -> dict[str, Any]:
    """Speech, sent far faster than real time for `seconds`; what comes back is read and
    thrown away (a client that stops reading slows only its own connection)."""
    import websockets

    sent = 0
    loop = np.tile(speech, FLOOD_SAMPLES // len(speech) + 2)
    chunk = bytes([MIC]) + (loop[:FLOOD_SAMPLES] * 32767).astype("<i2").tobytes()
    async with websockets.connect(url, max_size=2**22) as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "avatar": "mona-lisa"}))
        stop = asyncio.Event()

        async def drain() -> None:
            while not stop.is_set():
                try:
                    await asyncio.wait_for(ws.recv(), timeout=0.5)
                except TimeoutError:
                    continue

        async def flood() -> None:
            nonlocal sent
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                await ws.send(chunk)
                sent += 1
                await asyncio.sleep(1 / FLOOD_RATE)
            stop.set()

        await asyncio.gather(drain(), flood())
    return {"messages": sent, "audio_seconds_sent": round(sent * FLOOD_SAMPLES / 16000)}


async def _flood_round(url: str, clips: list[np.ndarray], gap_s: float) -> dict[str, Any]:
    seconds = sum(len(c) / 16000 + gap_s for c in clips)
    speaker, flood = await asyncio.gather(_client(url, clips, gap_s),
                                          _flooder(url, np.concatenate(clips), seconds))
    lat = speaker["latencies"]
    return {"bystander_fps": round(speaker["fps"], 1), "bystander_answered":
            f"{len(lat)}/{len(clips)}", "bystander_latency_p50_s":
            round(float(np.percentile(lat, 50)), 2) if lat else None, "flood": flood}


async def _round(url: str, n: int, clips: list[np.ndarray], gap_s: float) -> dict[str, Any]:
    results = await asyncio.gather(*[_client(url, clips, gap_s) for _ in range(n)])
    lat = [x for r in results for x in r["latencies"]]
    fps = [r["fps"] for r in results]
    return {"sessions": n, "questions": n * len(clips), "answered": len(lat),
            "latency_p50_s": round(float(np.percentile(lat, 50)), 2) if lat else None,
            "latency_p90_s": round(float(np.percentile(lat, 90)), 2) if lat else None,
            "fps_per_session_min": round(min(fps), 1), "fps_per_session_mean":
                round(float(np.mean(fps)), 1)}


def run(out_dir: Path, sessions: tuple[int, ...] = (1, 2, 4), gap_s: float = 12.0,
        flood: bool = True) -> dict[str, Any]:
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
        flooded = asyncio.run(_flood_round(f"ws://127.0.0.1:{srv.port}/ws", clips, gap_s)) \
            if flood else None
        print(flooded, flush=True)
    models.llm.close()
    result = {"cpu": cpu_model(), "llm": models.llm.name, "rounds": rows,
              "beside_a_flood": flooded}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "serve.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
