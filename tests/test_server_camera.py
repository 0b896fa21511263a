"""'Drive with my camera' over a real websocket: camera frames (real photographs of a face) in,
driven frames with their capture times out; bad frames are errors, the session lives on."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path

import cv2
import numpy as np
import websockets

from companion.server.background import LiveServer
from companion.server.protocol import CAMERA, DRIVEN, VIDEO
from tests.test_server import _hello, _receive, _ws, server  # noqa: F401  (the module's server fixture)


def _camera_jpegs(data: Path) -> list[bytes]:
    """A face photo as a 320×240 webcam would send it, shaking a pixel left and right."""
    img = cv2.imread(str(data / "obama2.jpg"))
    h, w = img.shape[:2]
    side = min(h, w)
    img = cv2.resize(img[:side, (w - side) // 2:(w + side) // 2], (240, 240))
    out = []
    for k in range(24):
        frame = np.full((240, 320, 3), 90, np.uint8)
        frame[:, 40:280] = img
        frame = np.roll(frame, k % 3 - 1, axis=1)  # a hand-held camera's small shake
        ok, jpg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])
        assert ok
        out.append(jpg.tobytes())
    return out


def _camera_message(tag: float, jpeg: bytes) -> bytes:
    return bytes([CAMERA]) + struct.pack("<d", tag) + jpeg


async def _collect(ws: websockets.ClientConnection, seconds: float
                   ) -> tuple[list[dict[str, object]], list[float], int]:
    """Events, the capture times the driven frames carry, and the plain frames."""
    events: list[dict[str, object]] = []
    tags: list[float] = []
    plain = 0
    for msg in await _receive(ws, seconds):
        if isinstance(msg, str):
            events.append(json.loads(msg))
        elif msg[0] == DRIVEN:
            tags.append(struct.unpack("<d", msg[9:17])[0])
            assert msg[17:19] == b"\xff\xd8"
        elif msg[0] == VIDEO:
            plain += 1
    return events, tags, plain


def test_camera_frames_drive_the_face_and_bad_ones_are_refused(server: LiveServer,  # noqa: F811
                                                               data: Path) -> None:
    jpegs = _camera_jpegs(data)

    async def run() -> None:
        async with websockets.connect(_ws(server), max_size=2**22) as ws:
            await _hello(ws)
            await ws.send(_camera_message(1.0, jpegs[0]))  # before the camera is on
            await ws.send(json.dumps({"type": "camera", "on": True}))
            await ws.send(bytes([CAMERA]) + struct.pack("<d", 2.0) + b"not a jpeg at all")
            big = cv2.imencode(".jpg", np.zeros((1080, 1920, 3), np.uint8))[1].tobytes()
            await ws.send(_camera_message(3.0, big))  # past 1280×720
            events, tags, _ = await _collect(ws, 1.0)
            errors = [str(e["message"]) for e in events if e["type"] == "error"]
            assert len(errors) == 3, errors
            assert "camera is off" in errors[0] and "JPEG" in errors[1] and "1280" in errors[2]
            assert {"type": "camera", "state": "calibrating"} in events and not tags
            for k, jpg in enumerate(jpegs):
                await ws.send(_camera_message(100.0 + k, jpg))
                await asyncio.sleep(0.04)
            events, tags, _ = await _collect(ws, 1.0)
            assert {"type": "camera", "state": "driving"} in events, events
            # the frames carry the capture times of camera frames that were sent, newest last
            assert len(tags) > 5 and set(tags) <= {100.0 + k for k in range(len(jpegs))}
            assert tags == sorted(tags)
            await ws.send(json.dumps({"type": "camera", "on": False}))
            events, tags, plain = await _collect(ws, 1.5)
            assert {"type": "camera", "state": "off"} in events
            assert plain > 10  # the face goes on by itself
            await ws.send(json.dumps({"type": "ping", "t": 1.0}))
            events, _, _ = await _collect(ws, 0.5)
            assert any(e["type"] == "pong" for e in events)

    asyncio.run(run())


def test_the_camera_is_for_conversations_only(server: LiveServer) -> None:  # noqa: F811
    async def run() -> None:
        async with websockets.connect(_ws(server)) as ws:
            await ws.send(json.dumps({"type": "hello", "protocol": 1, "mode": "aac"}))
            while not isinstance(msg := await ws.recv(), str) or json.loads(msg)["type"] != "ready":
                pass
            await ws.send(json.dumps({"type": "camera", "on": True}))
            events, _, _ = await _collect(ws, 1.0)
            assert any(e["type"] == "error" and "conversation only" in str(e["message"])
                       for e in events), events

    asyncio.run(run())
