"""`companion bench soak`: a real `companion serve` in a child process, N sessions speaking
recorded human speech for M minutes while a fuzzer attacks the same server over loopback.

Reports messages sent, tracebacks and errors the server printed, replies received, and the
server's RSS over time: at start, after a short warm-up with the same load (the baseline:
everything lazily loaded is loaded), at the peak, and after every connection closed.
Results → soak.json.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.io import decode_audio
from companion.bench.fuzz import fuzz
from companion.cpu import cpu_model
from companion.server.background import free_port
from companion.server.protocol import AUDIO, MIC
from companion.stages.llm_stage import HOLD

SPEECH = ("en_librispeech_198-209-0000_female.ogg", "en_vctk_p240_00000_female.mp3",
          "jfk.flac")


def rss_mb(pid: int) -> float:
    import psutil

    return float(psutil.Process(pid).memory_info().rss) / 2**20


def _turns(data: Path) -> list[np.ndarray]:
    """Spoken turns of 2-6 s cut from the recordings at their quietest points."""
    turns = []
    for name in SPEECH:
        x = decode_audio(data / name, 16000).samples
        step = 16000 * 4
        for i in range(0, len(x) - 16000, step):
            turns.append(x[i:i + step].astype(np.float32))
    return turns


async def _speaker(url: str, turns: list[np.ndarray], until: float, idx: int) -> dict[str, int]:
    """One user talking until `until`; a connection the server drops is reported, not fatal."""
    from websockets.exceptions import ConnectionClosed

    counts = {"sent": 0, "asked": 0, "replies": 0, "holds": 0, "dropped": 0}
    try:
        await _talk(url, turns, until, idx, counts)
    except ConnectionClosed as e:
        counts["dropped"] += 1
        counts[f"closed_{e.rcvd.code if e.rcvd else 1006}"] = 1  # why, as the server said
    return counts


async def _talk(url: str, turns: list[np.ndarray], until: float, idx: int,
                counts: dict[str, int]) -> None:
    import websockets

    async with websockets.connect(url, max_size=2**23, ping_interval=None) as ws:
        await ws.send(json.dumps({"type": "hello", "protocol": 1, "avatar": "mona-lisa"}))
        while not (isinstance(m := await ws.recv(), str) and json.loads(m)["type"] == "ready"):
            pass
        k = idx
        while time.monotonic() < until:
            clip = turns[k % len(turns)]
            k += 1
            for i in range(0, len(clip) - 511, 512):
                await ws.send(bytes([MIC]) + (clip[i:i + 512] * 32767).astype("<i2").tobytes())
                counts["sent"] += 1
                await _drain(ws)
                await asyncio.sleep(0.032)
            counts["asked"] += 1
            voiced = False
            end = time.monotonic() + 12
            silence = bytes([MIC]) + bytes(1024)
            while time.monotonic() < end:  # a polite user: silence until the answer is heard
                await ws.send(silence)
                counts["sent"] += 1
                voiced = await _drain(ws, counts) or voiced
                await asyncio.sleep(0.032)
                if voiced and time.monotonic() > end - 6:
                    break
            counts["replies"] += voiced


async def _drain(ws: Any, counts: dict[str, int] | None = None) -> bool:
    """Read what arrived; True if some of it was the avatar's voice. A "one moment" caption
    (the shared model was busy) is counted in `counts['holds']`."""
    voiced = False
    while True:
        try:
            msg = await asyncio.wait_for(ws.recv(), timeout=0.001)
        except TimeoutError:
            return voiced
        if isinstance(msg, bytes) and msg[0] == AUDIO:
            pcm = np.frombuffer(msg[9:], "<i2")
            voiced = voiced or (len(pcm) > 0 and int(np.abs(pcm).max()) > 300)
        elif isinstance(msg, str) and counts is not None and HOLD in msg:
            doc = json.loads(msg)
            if doc.get("type") == "caption" and doc.get("text") == HOLD:
                counts["holds"] += 1


async def _warm_up(url: str, turns: list[np.ndarray], sessions: int) -> None:
    until = time.monotonic() + 30
    await asyncio.gather(*(_speaker(url, turns, until, i) for i in range(sessions)),
                         fuzz(url, connections=4, messages=100, parallel=2, seed=99))


def _start(port: int, log: Path, llm: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COMPANION_MAX_SESSIONS": "16"}
    proc = subprocess.Popen([sys.executable, "-m", "companion.cli", "serve", "--port", str(port),
                             "--llm", llm], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env=env)
    deadline = time.monotonic() + 300
    while "is live at" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"serve did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    return proc


async def _soak(url: str, pid: int, turns: list[np.ndarray], sessions: int, minutes: float,
                samples: list[tuple[float, float]]) -> dict[str, Any]:
    t0 = time.monotonic()
    until = t0 + minutes * 60

    async def sample() -> None:
        while time.monotonic() < until + 30:
            samples.append((round(time.monotonic() - t0, 1), round(rss_mb(pid), 1)))
            await asyncio.sleep(5)

    async def attack() -> dict[str, Any]:
        total: dict[str, Any] = {"messages_sent": 0, "connections": 0, "error_events": 0}
        seed = 0
        while time.monotonic() < until:  # a round of hostile clients every 20 s
            r = await fuzz(url, connections=8, messages=200, parallel=2, seed=seed)
            seed += 1
            await asyncio.sleep(max(0.0, min(20.0, until - time.monotonic())))
            for key in total:
                total[key] += getattr(r, key)
        return total

    sampler = asyncio.create_task(sample())
    results = await asyncio.gather(*(_speaker(url, turns, until, i) for i in range(sessions)),
                                   attack())
    sampler.cancel()
    speakers = results[:-1]
    return {"speakers": speakers, "fuzz": results[-1]}


def _slots(port: int) -> dict[str, int]:
    """How many conversation slots are taken once every client has gone (all should be free:
    a slot a fuzzer kept would be lost for good)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/info", timeout=10) as r:
        info = json.loads(r.read())
    return {"active": info["sessions_active"], "max": info["max_sessions"]}


def run(out_dir: Path, data: Path, sessions: int = 4, minutes: float = 10.0,
        llm: str = "embedded") -> dict[str, Any]:
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "soak-serve.log"
    port = free_port()
    proc = _start(port, log, llm)
    url = f"ws://127.0.0.1:{port}/ws"
    turns = _turns(data)
    try:
        at_start = rss_mb(proc.pid)
        # Warm-up with the same load, briefly: what N sessions need once (worker threads and
        # their heaps, model arenas at their largest inputs) is in the baseline; what the soak
        # adds on top of it and keeps would be a leak.
        asyncio.run(_warm_up(url, turns, sessions))
        time.sleep(10)
        baseline = rss_mb(proc.pid)
        samples: list[tuple[float, float]] = []
        body = asyncio.run(_soak(url, proc.pid, turns, sessions, minutes, samples))
        time.sleep(20)  # every connection closed; give the server time to let go
        after = rss_mb(proc.pid)
        slots = _slots(port)
        alive = proc.poll() is None
    finally:
        # SIGTERM, as a service manager stops it: how long the server takes to exit is part of
        # the result (killed after 30 s)
        t_stop = time.monotonic()
        proc.terminate()
        try:
            proc.wait(timeout=30)
            stopped = f"exited in {time.monotonic() - t_stop:.1f} s after SIGTERM"
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            stopped = "did not exit within 30 s of SIGTERM; killed"
    text = log.read_text(errors="replace")
    result = {
        "cpu": cpu_model(), "sessions": sessions, "minutes": minutes, "llm": llm,
        "server_alive": alive, "stop": stopped, "tracebacks": text.count("Traceback"),
        "error_lines": sum(1 for line in text.splitlines() if "ERROR" in line),
        "messages_sent": body["fuzz"]["messages_sent"] + sum(s["sent"] for s in
                                                             body["speakers"]),
        "fuzz": body["fuzz"], "turns_asked": sum(s["asked"] for s in body["speakers"]),
        "replies_received": sum(s["replies"] for s in body["speakers"]),
        "speakers_dropped": sum(s["dropped"] for s in body["speakers"]),
        "turns_held": sum(s["holds"] for s in body["speakers"]),
        "slots_after": slots,
        "speakers": body["speakers"],
        "server_warnings": text.count("socket.send() raised"),
        "rss_mb": {"start": round(at_start), "baseline": round(baseline),
                   "peak": round(max(v for _, v in samples)) if samples else None,
                   "after": round(after),
                   "after_vs_baseline": round(after / baseline - 1, 3)},
        "rss_over_time": samples}
    (out_dir / "soak.json").write_text(json.dumps(result, indent=1) + "\n")
    return result
