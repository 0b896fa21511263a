"""`companion bench aac`: how soon the communication aid speaks, measured as a client sees it.

A real server (the settings' voice, the bundled avatar) runs in this process; a websocket client
opens the aid, waits until its quick phrases are synthesised, then sends, one at a time with
pauses between, quick phrases and typed sentences it has never seen. The figure is the time from
sending the words to the first voiced audio message arriving (the page then plays it after its
own 60 ms jitter buffer, reported beside it). p50 and p90 per kind, on this CPU.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from companion.cpu import cpu_model
from companion.server.protocol import AUDIO, MAX_MESSAGE

PAGE_BUFFER_S = 0.06  # aac.js: companionBuffer in the aid
TYPED = ("Could you pass me the blue blanket from the chair?",
         "My sister is coming to visit on Saturday afternoon.",
         "I think the soup needs a little more salt.",
         "Please turn the radio down, it is too loud.",
         "Did you remember to water the tomatoes this morning?",
         "I would rather sit by the window today.",
         "The new nurse is very kind to me.",
         "Can we go for a walk after lunch if the rain stops?",
         "I'm worried about the appointment on Monday.",
         "Tell the children I'm proud of them.")


def _pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)), 3) if xs else float("nan")


async def _say(ws: Any, text: str, timeout: float = 15.0) -> float:
    """Seconds from sending `text` to its first voiced audio; waits until it has finished."""
    t0 = time.perf_counter()
    await ws.send(json.dumps({"type": "speak", "text": text}))
    first = None
    quiet_since = None
    end = t0 + timeout
    while time.perf_counter() < end:
        msg = await asyncio.wait_for(ws.recv(), timeout)
        if isinstance(msg, str):
            continue
        if msg[0] != AUDIO:
            continue
        pcm = np.frombuffer(msg[9:], "<i2")
        voiced = pcm.size > 0 and int(np.abs(pcm).max()) > 30
        if voiced and first is None:
            first = time.perf_counter() - t0
        if first is not None:
            quiet_since = None if voiced else (quiet_since or time.perf_counter())
            if quiet_since is not None and time.perf_counter() - quiet_since > 0.4:
                return first
    if first is None:
        raise TimeoutError(f"no voice for {text!r} within {timeout} s")
    return first


async def _measure(url: str, quick: list[str], rounds: int) -> dict[str, list[float]]:
    import websockets

    times: dict[str, list[float]] = {"quick": [], "typed": []}
    async with websockets.connect(url, max_size=MAX_MESSAGE * 8) as ws:
        await ws.send(json.dumps({"type": "hello", "mode": "aac", "user": "bench"}))
        while True:
            msg = await ws.recv()
            if isinstance(msg, str) and json.loads(msg)["type"] == "ready":
                break
        await asyncio.sleep(8.0)  # the quick phrases are synthesised as the aid opens
        for r in range(rounds):  # each typed sentence is new to the voice: said once only
            for text in [*quick, *TYPED[r::rounds]]:
                times["quick" if text in quick else "typed"].append(await _say(ws, text))
                await asyncio.sleep(0.3)
    return times


def run(out: Path, rounds: int = 3) -> dict[str, Any]:
    import os
    import tempfile

    # the bench user's history and boards never mix with a real user's
    os.environ.setdefault("COMPANION_DATA", tempfile.mkdtemp(prefix="companion-bench-aac-"))
    from companion.aac.store import DEFAULT_QUICK
    from companion.config import load_settings
    from companion.server.app import session_maker
    from companion.server.background import LiveServer
    from companion.wiring import load_models

    settings = load_settings()
    models = load_models(settings, warm=False)  # the aid's pipeline warms its voice itself
    with LiveServer(session_maker(models, settings)) as srv:
        url = srv.url.replace("http", "ws") + "/ws"
        times = asyncio.run(_measure(url, list(DEFAULT_QUICK), rounds))
    result: dict[str, Any] = {"cpu": cpu_model(), "voice": settings.voice,
                              "page_buffer_s": PAGE_BUFFER_S}
    for kind, xs in times.items():
        result[kind] = {"n": len(xs), "p50_s": _pct(xs, 50), "p90_s": _pct(xs, 90),
                        "max_s": round(max(xs), 3), "mean_s": round(statistics.mean(xs), 3)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "aac.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    for kind, goal in (("quick", 0.150), ("typed", 0.400)):
        r = result[kind]
        print(f"{kind}: first audio p50 {r['p50_s'] * 1000:.0f} ms, p90 "
              f"{r['p90_s'] * 1000:.0f} ms over {r['n']} (goal ≤ {goal * 1000:.0f} ms; the "
              f"page adds its {PAGE_BUFFER_S * 1000:.0f} ms buffer)")
    print(f"on {result['cpu']}, voice {settings.voice}")
    return result

