"""`companion chat --mic`: the local microphone in, the avatar in a window and on the speaker.

Needs the [mic] extra (pyaudio) and, for the window, a display."""

from __future__ import annotations

import asyncio
from typing import Any

import numpy as np

from companion.errors import InputError
from companion.face.live import LiveFace
from companion.session import VoiceSession


def pyaudio_module(what: str = "the microphone") -> Any:
    try:
        import pyaudio
    except ImportError:
        raise InputError(f"{what} needs pyaudio",
                         "pip install 'companion[mic]' (and portaudio19-dev to build it)") from None
    return pyaudio


async def play_frames(session: VoiceSession, live: LiveFace, speaker: Any,
                      stop: asyncio.Event, show: bool) -> None:
    """The face on the speaker (and in a window with `show`); q or Esc in the window ends."""
    import cv2

    async for frame in session.frames(realtime=True):
        await asyncio.to_thread(speaker.write, frame.audio.samples.tobytes())
        if show:
            cv2.imshow("companion", cv2.cvtColor(frame.video.image, cv2.COLOR_RGB2BGR))
            if cv2.waitKey(1) & 0xFF in (27, ord("q")):
                stop.set()
                live.close()
        if stop.is_set():
            break


async def run_mic_chat(session: VoiceSession, live: LiveFace, show: bool = False) -> None:
    """`show`: the avatar in a window too (needs a display)."""
    pa_mod = pyaudio_module()
    pa = pa_mod.PyAudio()
    try:
        if pa.get_device_count() == 0:
            raise InputError("no sound device found on this machine")
        mic = pa.open(format=pa_mod.paFloat32, channels=1, rate=16000, input=True,
                      frames_per_buffer=512)
        speaker = pa.open(format=pa_mod.paFloat32, channels=1, rate=live.sample_rate,
                          output=True)
    except OSError as e:
        pa.terminate()
        raise InputError(f"cannot open the microphone or speaker: {e}") from None
    stop = asyncio.Event()
    await session.start()

    async def listen() -> None:
        while not stop.is_set():
            data = await asyncio.to_thread(mic.read, 512, False)
            await session.feed(np.frombuffer(data, np.float32).copy())

    print("listening — speak to the avatar; press q in the window or Ctrl+C to stop")
    try:
        await asyncio.gather(listen(), play_frames(session, live, speaker, stop, show))
    finally:
        stop.set()
        await session.stop()
        mic.close()
        speaker.close()
        pa.terminate()
