"""`companion chat --input FILE`: a recording is fed in real time, the way a microphone would,
and the conversation is written as an mp4 (the avatar, both voices) and a JSON transcript."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.io import decode_audio, resample
from companion.face.live import LiveFace
from companion.frames import AudioFrame
from companion.output.mp4 import Mp4Writer, mark_and_sign
from companion.session import VoiceSession

CHUNK = 512
RATE = 16000


@dataclass(frozen=True)
class ChatResult:
    mp4: Path
    transcript: Path
    turns: list[dict[str, Any]]


async def run_file_chat(session: VoiceSession, live: LiveFace, input_path: Path, out: Path,
                        realtime: bool = True, tail_timeout_s: float = 60.0) -> ChatResult:
    """Feed `input_path` through `session` and record what the avatar did. After the recording
    ends, the session runs on (silence in) until the avatar has finished its last reply."""
    mic = decode_audio(input_path, RATE).samples
    out = Path(out)
    # Recorded near-losslessly first; the watermark (12 ms a frame) is added after the
    # conversation, so it never competes with the voice loop for the CPU.
    raw = out.with_name(out.stem + ".unmarked.mp4")
    writer = Mp4Writer(raw, live.rig.size, live.fps, crf=12)
    avatar_audio: list[np.ndarray] = []
    done = asyncio.Event()
    fed = 0
    await session.start()  # models load before the clock starts
    t0 = time.monotonic()

    async def feeder() -> None:
        nonlocal fed
        pos = 0
        quiet_since = None
        deadline = None
        while True:
            if pos + CHUNK <= len(mic):
                chunk = mic[pos: pos + CHUNK]
            else:
                chunk = np.zeros(CHUNK, np.float32)
                if deadline is None:
                    deadline = time.monotonic() + tail_timeout_s
                quiet_since = (quiet_since or time.monotonic()) if session.idle else None
                if (quiet_since and time.monotonic() - quiet_since > 1.5) or \
                        time.monotonic() > deadline:
                    break
            pos += CHUNK
            if realtime:
                wait = t0 + pos / RATE - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            await session.feed(chunk)
            fed = pos
            if not realtime:
                await session.settle()
        done.set()

    async def recorder() -> None:
        async for frame in session.frames(realtime=realtime):
            writer.write_frame(frame.video.image)
            avatar_audio.append(frame.audio.samples)
            if done.is_set() and frame.video.pts >= fed / RATE:
                break
            if not realtime:
                while frame.video.pts > fed / RATE and not done.is_set():
                    await asyncio.sleep(0.001)

    try:
        await asyncio.gather(feeder(), recorder())
    finally:
        await session.stop()
    # Both voices on one track: the avatar's, and the user's on the same clock.
    avatar = np.concatenate(avatar_audio) if avatar_audio else np.zeros(0, np.float32)
    user = resample(AudioFrame(samples=mic, sample_rate=RATE), live.sample_rate).samples
    n = max(len(avatar), len(user))
    mix = np.zeros(n, np.float32)
    mix[: len(avatar)] += avatar
    mix[: len(user)] += 0.8 * user
    writer.write_audio(AudioFrame(samples=np.clip(mix, -1, 1), sample_rate=live.sample_rate))
    writer.close()
    mark_and_sign(raw, out, live.rig.consent_id)
    turns = [r.as_dict() for r in session.records]
    doc = {"input": str(input_path), "video": out.name, "persona": session.persona.key,
           "llm": getattr(session.llm, "name", ""), "realtime": realtime,
           "turns": turns, "events": session.events}
    transcript = out.with_suffix(".json")
    transcript.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return ChatResult(out, transcript, turns)
