"""`companion bench browser`: the main job as a user runs it. Starts `companion serve`, opens the
page in headless Chromium whose fake microphone plays recorded human speech (LibriSpeech, VCTK,
JFK from tests/data, cut at their pauses into short turns with long gaps), and reports what the
page measured on its audio clock: end of the user's speech → the avatar's first voiced audio
(p50/p90), whether every turn was answered, frames drawn per second while the avatar speaks,
and the server's RSS. Results → bench/results/browser.json.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from companion.audio.io import decode_audio, resample
from companion.cpu import cpu_model
from companion.errors import InputError
from companion.frames import AudioFrame

CLIPS = ("en_librispeech_198-209-0000_female.ogg", "en_vctk_p240_00000_female.mp3", "jfk.flac")


def speech_turns(data: Path, turns: int, min_s: float = 1.5) -> list[np.ndarray]:
    """Real recordings cut at their pauses (≥ 256 ms of silence by Silero VAD): each turn is
    one or more whole phrases, at least `min_s` long, with 100 ms of the recording around it."""
    from companion.vad import SileroVAD

    out: list[np.ndarray] = []
    for name in CLIPS:
        audio = decode_audio(data / name, 16000).samples
        vad = SileroVAD()
        voiced = [vad(audio[i:i + 512]) >= 0.5 for i in range(0, len(audio) - 511, 512)]
        segments, start, quiet = [], None, 0
        for k, v in enumerate([*voiced, *([False] * 8)]):
            if v:
                start, quiet = (k if start is None else start), 0
            elif start is not None:
                quiet += 1
                if quiet == 8:
                    segments.append((start, k - 7))
                    start = None
        first = None
        for s, e in segments:
            first = s if first is None else first
            if (e - first) * 512 / 16000 >= min_s:
                out.append(audio[max(0, first * 512 - 1600): e * 512 + 1600])
                first = None
    return out[:turns]


def _mic_wav(path: Path, turns: list[np.ndarray], gap_s: float, lead_s: float) -> float:
    parts = [np.zeros(int(lead_s * 16000), np.float32)]
    for t in turns:
        parts += [t, np.zeros(int(gap_s * 16000), np.float32)]
    audio = resample(AudioFrame(samples=np.concatenate(parts), sample_rate=16000), 48000).samples
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    return len(audio) / 48000


def _start_server(port: int, extra: list[str]) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("companion")
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else
           ["-m", "companion.cli"]), "serve", "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    assert proc.stdout is not None
    for line in proc.stdout:
        if "is live at" in line:
            return proc
        if time.monotonic() > deadline:
            break
    proc.kill()
    raise RuntimeError("companion serve did not start")


def chromium() -> str:
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        raise InputError("this bench needs Chromium", "apt-get install chromium")
    return path


def chromium_args(mic_wav: Path, camera: Path | None = None) -> list[str]:
    """Headless Chromium with a fake microphone playing `mic_wav` (once; looped when a fake
    camera plays `camera`, which Chromium always loops)."""
    loop = "" if camera is not None else "%noloop"
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={mic_wav}{loop}",
            "--autoplay-policy=no-user-gesture-required"]
    if camera is not None:
        args.append(f"--use-file-for-fake-video-capture={camera}")
    return args


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 2) if values else None


def run(out_dir: Path, data: Path, turns: int = 6, gap_s: float = 14.0,
        serve_args: list[str] | None = None) -> dict[str, Any]:
    import psutil
    from playwright.sync_api import sync_playwright

    from companion.server.background import free_port

    exe = chromium()
    clips = speech_turns(data, turns)
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "mic.wav"
        length = _mic_wav(wav, clips, gap_s, lead_s=4.0)
        server = _start_server(port, serve_args or [])
        rss: list[float] = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=exe, args=chromium_args(wav))
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_function("window.__companion && window.__companion.micStarted",
                                       timeout=120_000)
                end = time.monotonic() + length + 10
                proc = psutil.Process(server.pid)
                while time.monotonic() < end:
                    rss.append(proc.memory_info().rss / 2**30)
                    time.sleep(1.0)
                stats = dict(page.evaluate("window.__companion"))
                browser.close()
        finally:
            server.terminate()
            server.wait(30)
    lat = [float(x) for x in stats["heardLatency"]]
    fps = [float(x) for x in stats["fpsSpeaking"]]
    result = {
        "cpu": cpu_model(), "turns": len(clips), "turn_seconds": [round(len(c) / 16000, 2)
                                                                  for c in clips],
        "transcripts": stats["transcripts"], "captions": stats["captions"],
        "replies_heard": len(lat),
        "all_answered": len(lat) >= len(clips) and len(stats["transcripts"]) >= len(clips),
        "first_audio_p50_s": _pct(lat, 50), "first_audio_p90_s": _pct(lat, 90),
        "first_audio_s": [round(x, 2) for x in lat],
        # the page's split of each: until the voice arrived, then the stream's buffer
        "arrival_s": [round(float(x), 2) for x in stats["heardArrival"]],
        "buffer_s": [round(float(x), 2) for x in stats["heardLead"]],
        "fps_speaking_p10": _pct(fps, 10), "fps_speaking_median": _pct(fps, 50),
        "server_rss_gb_max": round(max(rss), 2) if rss else None,
        "errors": stats["errors"], "interrupted": stats["interrupted"],
        # the server's own per-stage times for each reply (from the end of the user's speech)
        "server_latency_s": [{k: m.get(k) for k in ("stt_done", "llm_first_token",
                                                     "first_audio", "first_frame")}
                             for m in stats["latency"]],
        "serve_args": serve_args or [],
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "browser.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result
