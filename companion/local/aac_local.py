"""`companion aac`: the communication aid on this computer — lines typed in the terminal are
said by the avatar on the speaker (and in a window when there is a display).

Typing a line and Enter says it; `/1` … `/9` say a quick phrase; `/stop` (or an empty line)
stops at once; Ctrl+D (or q in the window) ends. Needs the [mic] extra (pyaudio) for the speaker."""

from __future__ import annotations

import asyncio
import sys

from companion.aac.session import AACSession
from companion.errors import InputError
from companion.face.live import LiveFace
from companion.local.mic import play_frames, pyaudio_module


def command(line: str, quick: list[str]) -> tuple[str, str]:
    """What a typed line asks for: ("say", text), ("stop", ""), or ("none", "")."""
    text = line.strip()
    if text in ("/stop", ""):
        return ("stop", "")
    if len(text) == 2 and text[0] == "/" and text[1].isdigit() and text[1] != "0":
        i = int(text[1]) - 1
        return ("say", quick[i]) if i < len(quick) else ("none", "")
    return ("say", text)


async def run_aac_local(session: AACSession, live: LiveFace, quick: list[str],
                        show: bool = False) -> None:
    pa_mod = pyaudio_module("the speaker")
    pa = pa_mod.PyAudio()
    try:
        speaker = pa.open(format=pa_mod.paFloat32, channels=1, rate=live.sample_rate,
                          output=True)
    except OSError as e:
        pa.terminate()
        raise InputError(f"cannot open the speaker: {e}") from None
    stop = asyncio.Event()
    await session.start()

    async def read_lines() -> None:
        while not stop.is_set():
            line = await asyncio.to_thread(sys.stdin.readline)
            if not line:  # Ctrl+D
                stop.set()
                live.close()
                return
            kind, text = command(line, quick)
            if kind == "stop":
                session.hush()
            elif kind == "say":
                session.speak(text)

    keys = "  ".join(f"/{i + 1} {p}" for i, p in enumerate(quick[:9]))
    print(f"type and press Enter to speak; /stop stops; Ctrl+D ends\nquick phrases: {keys}")
    try:
        await asyncio.gather(read_lines(), play_frames(session, live, speaker, stop, show))
    finally:
        stop.set()
        await session.stop()
        speaker.close()
        pa.terminate()
