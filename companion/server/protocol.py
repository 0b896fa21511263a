"""Wire protocol v1 between the page and the server (see docs/protocol.md).

Binary messages start with one type byte. Client → server: 0x01 + PCM16 little-endian mono
16 kHz microphone samples; 0x04 + float64 capture time + JPEG (a camera frame that drives the
avatar). Server → client: 0x02 + float64 pts + JPEG (a video frame), 0x03 + float64 pts + PCM16
mono at the session's sample rate (the avatar's voice for that frame), 0x05 + float64 pts +
float64 capture time + JPEG (a video frame showing the pose of that camera frame).
Text messages are JSON objects with a "type".
"""

from __future__ import annotations

import io
import json
import math
import struct
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

PROTOCOL = 1
MIC = 0x01
VIDEO = 0x02
AUDIO = 0x03
CAMERA = 0x04
DRIVEN = 0x05
MAX_CAMERA_PIXELS = 1280 * 720  # the page sends 320×240; anything past HD is not a camera frame
MAX_MESSAGE = 64 * 1024  # bytes; larger messages close the socket (1009)
MAX_TEXT = 2000  # characters of typed text
# How uvicorn carries the websocket, for every server that speaks this protocol. No
# per-message deflate: the frames are JPEG and PCM, which do not compress, and zlib on every
# one cost the server's event loop ~4 % of a core and the page as much again to inflate.
UVICORN_WS: dict[str, Any] = {"ws": "websockets-sansio", "ws_max_size": MAX_MESSAGE + 1024,
                              "ws_per_message_deflate": False}
CLIENT_TYPES = ("hello", "text", "ptt", "mode", "ping", "pause", "resume", "end", "speak", "stop",
                "play", "prepare", "camera", "record")
MAX_PREPARE = 60  # phrases the aid may ask to have synthesised ahead at once
MAX_DEPTH = 4  # client messages are flat objects; deeper nesting is refused before parsing
MAX_DIGITS = 18  # longer numbers are refused (no float overflow, no slow big ints)


class ProtocolError(ValueError):
    """A message the server cannot accept; the reason goes back as an error event."""


@dataclass(frozen=True)
class Hello:
    avatar: str = "mona-lisa"
    persona: str = "companion"
    mode: str = "companion"  # or "practice", with a scenario and a difficulty (1–3; 0: its own)
    scenario: str = ""
    difficulty: int = 0
    user: str = "me"  # the communication aid's user (their boards and history)


@dataclass(frozen=True)
class Typed:
    text: str


@dataclass(frozen=True)
class PushToTalk:
    down: bool


@dataclass(frozen=True)
class Mode:
    handsfree: bool


@dataclass(frozen=True)
class Ping:
    t: float


@dataclass(frozen=True)
class Pause:
    """Practice: time out (on) or go on (off)."""

    on: bool


@dataclass(frozen=True)
class Resume:
    """After the crisis notice: the user chooses to go on."""


@dataclass(frozen=True)
class End:
    """Practice: end the role-play; the debrief follows."""


@dataclass(frozen=True)
class Speak:
    """The communication aid: say these words as they are."""

    text: str


@dataclass(frozen=True)
class Hush:
    """The aid's stop key: silence now, drop what is queued."""


@dataclass(frozen=True)
class Play:
    """The aid: say a board button with the user's own recording."""

    board: str
    button: str


@dataclass(frozen=True)
class Prepare:
    """The aid: synthesise these phrases ahead (a board was opened)."""

    texts: tuple[str, ...]


@dataclass(frozen=True)
class Camera:
    """The user's camera drives the avatar (on) or stops driving it (off)."""

    on: bool


@dataclass(frozen=True)
class Record:
    """Record the camera-driven face with the user's microphone (on), or stop and save (off)."""

    on: bool


ClientMessage = (Hello | Typed | PushToTalk | Mode | Ping | Pause | Resume | End | Speak | Hush
                 | Play | Prepare | Camera | Record)


def nesting(raw: str) -> int:
    """How deeply arrays and objects nest in `raw`, brackets inside strings not counted."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in raw:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def _number(text: str) -> float:
    if len(text.lstrip("-").replace(".", "").split("e")[0].split("E")[0]) > MAX_DIGITS:
        raise ProtocolError("number too long")
    value = float(text)
    if not math.isfinite(value):
        raise ProtocolError("number out of range")
    return value


def _constant(name: str) -> float:
    raise ProtocolError(f"{name} is not a number this protocol accepts")


def _load(raw: str) -> object:
    if len(raw) > MAX_MESSAGE:
        raise ProtocolError("message too large")
    if nesting(raw) > MAX_DEPTH:
        raise ProtocolError("message nested too deeply")
    try:
        return json.loads(raw, parse_int=lambda t: int(_number(t)), parse_float=_number,
                          parse_constant=_constant)
    except ProtocolError:
        raise
    except (ValueError, RecursionError):
        raise ProtocolError("not valid JSON") from None


def _words(value: object) -> str:
    text = str(value).strip()
    if not text or len(text) > MAX_TEXT:
        raise ProtocolError(f"text must be 1–{MAX_TEXT} characters")
    return text


def parse_text(raw: str) -> ClientMessage:
    msg = _load(raw)
    if not isinstance(msg, dict) or msg.get("type") not in CLIENT_TYPES:
        raise ProtocolError(f"unknown message type (expected one of {', '.join(CLIENT_TYPES)})")
    kind = msg["type"]
    try:
        if kind == "hello":
            if msg.get("protocol", PROTOCOL) != PROTOCOL:
                raise ProtocolError(f"protocol {msg.get('protocol')} not supported (server: "
                                    f"{PROTOCOL})")
            difficulty = msg.get("difficulty", 0)
            if not isinstance(difficulty, int) or isinstance(difficulty, bool) \
                    or not 0 <= difficulty <= 3:
                raise ProtocolError("difficulty must be 0–3")
            return Hello(str(msg.get("avatar", "mona-lisa"))[:100],
                         str(msg.get("persona", "companion"))[:50],
                         str(msg.get("mode", "companion"))[:20],
                         str(msg.get("scenario", ""))[:80], difficulty,
                         str(msg.get("user", "me"))[:40])
        if kind in ("text", "speak"):
            text = _words(msg["text"])
            return Typed(text) if kind == "text" else Speak(text)
        if kind == "stop":
            return Hush()
        if kind == "play":
            return Play(str(msg["board"])[:100], str(msg["button"])[:100])
        if kind == "prepare":
            texts = msg["texts"]
            if not isinstance(texts, list) or len(texts) > MAX_PREPARE:
                raise ProtocolError(f"prepare takes a list of at most {MAX_PREPARE} phrases")
            return Prepare(tuple(_words(t) for t in texts))
        if kind == "ptt":
            return PushToTalk(bool(msg["down"]))
        if kind == "mode":
            return Mode(bool(msg["handsfree"]))
        if kind == "pause":
            return Pause(bool(msg["on"]))
        if kind == "camera":
            return Camera(bool(msg["on"]))
        if kind == "record":
            return Record(bool(msg["on"]))
        if kind == "resume":
            return Resume()
        if kind == "end":
            return End()
        return Ping(float(msg.get("t", 0.0)))
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, ProtocolError):
            raise
        raise ProtocolError(f"malformed {kind} message") from None


def parse_mic(data: bytes) -> np.ndarray:
    if len(data) > MAX_MESSAGE:
        raise ProtocolError("audio message too large")
    if len(data) < 3 or data[0] != MIC or (len(data) - 1) % 2:
        raise ProtocolError("binary messages must be 0x01 + 16-bit PCM samples")
    return np.frombuffer(data[1:], "<i2").astype(np.float32) / 32768.0


def parse_camera(data: bytes) -> tuple[float, np.ndarray]:
    """A camera frame: (its capture time on the client's clock, RGB pixels)."""
    if len(data) > MAX_MESSAGE:
        raise ProtocolError("camera frame too large")
    if len(data) < 12 or data[0] != CAMERA or data[9:11] != b"\xff\xd8":
        raise ProtocolError("camera messages must be 0x04 + float64 capture time + a JPEG")
    (tag,) = struct.unpack("<d", data[1:9])
    if not math.isfinite(tag):
        raise ProtocolError("camera capture time is not a number")
    try:  # the header's size first: a small file may claim a huge picture
        w, h = Image.open(io.BytesIO(data[9:])).size
    except (OSError, ValueError, Image.DecompressionBombError):
        raise ProtocolError("camera frame is not a readable JPEG") from None
    if w * h > MAX_CAMERA_PIXELS:
        raise ProtocolError("camera frames may be at most 1280×720")
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8, offset=9), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ProtocolError("camera frame is not a readable JPEG")
    return float(tag), cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def driven_message(pts: float, tag: float, jpeg: bytes) -> bytes:
    return bytes([DRIVEN]) + struct.pack("<dd", pts, tag) + jpeg


def video_message(pts: float, jpeg: bytes) -> bytes:
    return bytes([VIDEO]) + struct.pack("<d", pts) + jpeg


def audio_message(pts: float, samples: np.ndarray) -> bytes:
    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes()
    return bytes([AUDIO]) + struct.pack("<d", pts) + pcm


def event(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})
