"""One websocket conversation: the handshake, then three tasks — receive (microphone, typed
text, controls), send frames (JPEG + the avatar's voice) and send events — until either side
ends it. Every exit path cancels and awaits the tasks and stops the session, so a dropped
connection leaves no work behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from starlette.websockets import WebSocket, WebSocketDisconnect

from companion.aac.session import AACSession, banked
from companion.config import current
from companion.errors import CompanionError
from companion.face.live import LiveFace
from companion.pipeline import cancel_all
from companion.practice import PracticeSession
from companion.server import protocol as P
from companion.server.camera import CameraLink
from companion.server.recording import RecordingLink, Recordings
from companion.session import VoiceSession

log = logging.getLogger("companion.server")
CHUNK = 512  # samples the VAD takes at a time (32 ms at 16 kHz)
MIC_RATE = 16000  # the protocol's microphone rate


@dataclass(frozen=True)
class ConnectionLimits:
    max_messages_per_s: float = 150.0  # mic audio arrives ~30 times a second
    max_errors: int = 20
    jpeg_quality: int = 80
    hello_timeout_s: float = 5.0  # a client that says nothing does not keep a slot
    # A client silent this long is gone (the page pings every 20 s even when nobody speaks or
    # types, as in the communication aid): its slot is freed.
    idle_timeout_s: float = 90.0
    max_session_s: float = 0.0  # a deployment's limit on a conversation's length (0: none)
    # Microphone audio is taken at up to this many times real time (with the same 4 s burst
    # as messages); beyond it, it is dropped: 150 messages of 64 KB a second would be 300 times
    # real time, and one client's VAD and Whisper work would starve every other session.
    max_audio_speed: float = 1.5


class RateLimit:
    """A token bucket: `per_s` messages a second on average, bursts of up to `burst_s` seconds'
    worth. A client whose network stalled sends its queued microphone audio in one burst when
    it recovers; that is not a flood, a sustained stream far above the rate is."""

    def __init__(self, per_s: float, burst_s: float = 4.0) -> None:
        self.per_s = per_s
        self.capacity = per_s * burst_s
        self.tokens = self.capacity
        self.last = time.monotonic()

    def allow(self, cost: float = 1.0) -> bool:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.per_s)
        self.last = now
        if self.tokens < cost:
            return False
        self.tokens -= cost
        return True


class Closed(Exception):
    """The conversation is over (the client left, or it was closed for a reason sent)."""


class Connection:
    def __init__(self, ws: WebSocket, sid: int, limits: ConnectionLimits,
                 make: Callable[[P.Hello], tuple[VoiceSession, LiveFace]],
                 recordings: Recordings) -> None:
        self.ws = ws
        self.recordings = recordings
        self.sid = sid
        self.limits = limits
        self.make = make
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=256)
        self._pending = np.zeros(0, np.float32)
        self.handsfree = True
        self.talking = False
        self.ended = False  # practice over (the debrief was sent): the microphone is not heard
        self._audio = RateLimit(MIC_RATE * limits.max_audio_speed)
        self._told_dropped = -1e9  # when the client was last told its audio was dropped
        self.camera: CameraLink | None = None
        self.recording: RecordingLink | None = None

    async def run(self) -> None:
        """The whole conversation; returns when it is over, whoever ended it."""
        try:
            hello = await self._handshake()
            session, live = await self._open(hello)
        except (Closed, WebSocketDisconnect):
            return
        session.listener = self._listen
        self.camera = CameraLink(live, self._listen)
        self.recording = RecordingLink(self.recordings, live, self._listen, self.camera.lag)
        tasks: list[asyncio.Task[None]] = []
        try:
            await session.start()
            await self._send_text(P.event(
                "ready", protocol=P.PROTOCOL, session=self.sid, fps=live.fps,
                sample_rate=live.sample_rate, avatar=hello.avatar, persona=session.persona.key,
                name=session.persona.name, llm=session.llm.name, llm_reason=session.llm.reason))
            tasks = [asyncio.create_task(self._send_frames(session, live), name="send frames"),
                     asyncio.create_task(self._send_events(), name="send events")]
            if self.limits.max_session_s > 0:
                tasks.append(asyncio.create_task(self._time_limit(session), name="time limit"))
            receive = asyncio.create_task(self._receive(session), name="receive")
            # whichever ends first ends the conversation (the client left, or the face stopped)
            await asyncio.wait([receive, *tasks], return_when=asyncio.FIRST_COMPLETED)
            tasks.append(receive)
        except (Closed, WebSocketDisconnect):
            pass
        finally:
            live.close()
            await cancel_all(tasks)
            await self.recording.close()
            await self.camera.close()
            await session.stop()
            _report_bugs(tasks)

    # ------------------------------------------------------------------ start
    async def _handshake(self) -> P.Hello:
        try:
            first = await asyncio.wait_for(self.ws.receive_text(), self.limits.hello_timeout_s)
            hello = P.parse_text(first)
            if not isinstance(hello, P.Hello):
                raise P.ProtocolError("the first message must be hello")
            return hello
        except (TimeoutError, P.ProtocolError, KeyError) as e:
            why = "no hello in time" if isinstance(e, TimeoutError) else str(e)
            await self._fail(f"bad start: {why}", 1008)
        raise Closed  # pragma: no cover - _fail raises

    async def _open(self, hello: P.Hello) -> tuple[VoiceSession, LiveFace]:
        try:
            return await asyncio.to_thread(self.make, hello)
        except CompanionError as e:
            await self._fail(str(e), 1011)
        raise Closed  # pragma: no cover - _fail raises

    async def _fail(self, message: str, code: int) -> None:
        """A fatal error: tell the client why, close, and end the conversation."""
        with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect):
            await self.ws.send_text(P.event("error", message=message, fatal=True))
            await self.ws.close(code=code)
        raise Closed

    async def _send_text(self, text: str) -> None:
        try:
            await self.ws.send_text(text)
        except (RuntimeError, OSError) as e:  # the socket went away under us
            raise Closed from e

    # ------------------------------------------------------------------ out
    def _listen(self, ev: dict[str, Any]) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a client that reads nothing loses events
            self.outbox.put_nowait(ev)

    async def _send_events(self) -> None:
        while True:
            ev = await self.outbox.get()
            await self._send_text(P.event(ev.pop("type"), **ev))

    async def _send_frames(self, session: VoiceSession, live: LiveFace) -> None:
        try:
            await self._stream_frames(session, live)
        except CompanionError as e:
            # e.g. the portrait's consent was revoked mid-conversation: the face stops and the
            # user is told why
            await self._fail(str(e), 1011)

    async def _stream_frames(self, session: VoiceSession, live: LiveFace) -> None:
        state = ""
        quality = [int(cv2.IMWRITE_JPEG_QUALITY), self.limits.jpeg_quality]
        async for frame in session.frames(realtime=True):
            if live.state != state:
                state = live.state
                await self._send_text(P.event("state", state=state))
            # ~3-6 ms a frame: off the event loop, which also carries the microphone and events.
            # A repeated picture is not sent: the page keeps showing the last one.
            jpeg = None if frame.repeat else await asyncio.to_thread(
                encode_jpeg, frame.video.image, quality)
            if self.recording is not None:
                self.recording.frame(frame)
            if self._peer_gone():
                raise Closed  # the disconnect may still be queued behind microphone audio
            try:
                if jpeg is not None and frame.driven_by is not None:
                    await self.ws.send_bytes(P.driven_message(frame.video.pts, frame.driven_by,
                                                              jpeg))
                elif jpeg is not None:
                    await self.ws.send_bytes(P.video_message(frame.video.pts, jpeg))
                await self.ws.send_bytes(P.audio_message(frame.audio.pts, frame.audio.samples))
            except (RuntimeError, OSError) as e:
                raise Closed from e

    def _peer_gone(self) -> bool:
        """Has the client's socket closed under us? The server learns it from `receive`, which
        may be busy with audio; until then uvicorn would keep writing frames into a closed
        transport (and asyncio logs each). Read from the server's transport, if it shows it."""
        transport = getattr(getattr(self.ws, "_send", None), "__self__", None)
        transport = getattr(transport, "transport", None)
        closing = getattr(transport, "is_closing", None)
        return bool(closing()) if callable(closing) else False

    async def _time_limit(self, session: VoiceSession) -> None:
        """The deployment's session length: practice ends with its debrief, a conversation
        closes with the reason."""
        await asyncio.sleep(self.limits.max_session_s)
        minutes = round(self.limits.max_session_s / 60, 1)
        if isinstance(session, PracticeSession):
            self.ended = True
            await session.finish()
            self._listen({"type": "error", "message": f"This server limits practice to "
                                                      f"{minutes} minutes."})
            await asyncio.Event().wait()  # the page keeps the debrief; the user leaves
        await self._fail(f"This server limits conversations to {minutes} minutes.", 1000)

    # ------------------------------------------------------------------ in
    async def _receive(self, session: VoiceSession) -> None:
        limit = RateLimit(self.limits.max_messages_per_s)
        errors = 0
        while True:
            try:
                msg = await asyncio.wait_for(self.ws.receive(), self.limits.idle_timeout_s)
            except TimeoutError:
                await self._fail("closed after "
                                 f"{self.limits.idle_timeout_s:.0f} s without a message", 1001)
                raise Closed from None  # pragma: no cover - _fail raises
            if msg["type"] == "websocket.disconnect":
                return
            if not limit.allow():
                await self._fail("too many messages", 1008)
            try:
                await self._handle(session, msg)
            except P.ProtocolError as e:
                errors += 1
                await self._send_text(P.event("error", message=str(e)))
                if errors > self.limits.max_errors:
                    await self._fail("too many bad messages", 1008)

    def _audio_dropped(self) -> None:
        """Told at most every 10 s: the client may be a page whose clock runs fast, not only a
        flood, and the conversation goes on."""
        now = time.monotonic()
        if now - self._told_dropped > 10:
            self._told_dropped = now
            self._listen({"type": "error", "message": "Microphone audio is arriving faster "
                          "than real time; the excess was dropped."})

    async def _handle(self, session: VoiceSession, msg: MutableMapping[str, Any]) -> None:
        if msg.get("bytes") is not None:
            if msg["bytes"][:1] == bytes([P.CAMERA]):
                self._camera().frame(msg["bytes"])
                return
            samples = P.parse_mic(msg["bytes"])
            if not self._audio.allow(len(samples)):
                self._audio_dropped()
                return
            if self._camera().on:
                # the user is acting for the camera, not talking to the avatar; while it
                # records, this is the puppet's voice
                if self.recording is not None:
                    self.recording.voice(samples)
                return
            if not self.handsfree and not self.talking:
                return  # push-to-talk: the mic counts only while held
            if self.ended or (isinstance(session, PracticeSession) and session.paused):
                return  # a time out, or the practice is over
            self._pending = np.concatenate([self._pending, samples])
            while len(self._pending) >= CHUNK:
                await session.feed(self._pending[:CHUNK])
                self._pending = self._pending[CHUNK:]
            return
        if msg.get("text") is None:
            return
        m = P.parse_text(msg["text"])
        if isinstance(m, P.Typed):
            if self.ended:
                raise P.ProtocolError("the practice is over; start it again to go on")
            session.type_text(m.text)
        elif isinstance(m, P.Mode):
            self.handsfree = m.handsfree
        elif isinstance(m, P.PushToTalk):
            self.talking = m.down
            if not m.down:
                await session.release_talk()  # releasing the button ends the turn
        elif isinstance(m, P.Resume):
            if not session.resume():
                raise P.ProtocolError("the notice stays a few seconds, and only after a crisis")
        elif isinstance(m, (P.Pause, P.End)):
            if not isinstance(session, PracticeSession):
                raise P.ProtocolError("time out and end are for practice sessions")
            if isinstance(m, P.Pause):
                session.pause(m.on)
            else:
                self.ended = True
                await session.finish()
        elif isinstance(m, (P.Speak, P.Hush, P.Play, P.Prepare)):
            await self._aid(session, m)
        elif isinstance(m, P.Camera):
            if isinstance(session, (AACSession, PracticeSession)):
                raise P.ProtocolError("the camera drives the avatar in a conversation only")
            if m.on:
                session.live.clear_buffer()  # the avatar stops talking: the user drives it now
                await self._camera().start()
            else:
                if self.recording is not None:
                    self.recording.stop()
                await self._camera().stop()
        elif isinstance(m, P.Record):
            if self.recording is None or not self._camera().on:
                raise P.ProtocolError("recording is for the camera-driven face: turn the camera "
                                      "on first")
            if m.on:
                self.recording.start()
            else:
                self.recording.stop()
        elif isinstance(m, P.Ping):
            await self._send_text(P.event("pong", t=m.t, server=time.time()))
        elif isinstance(m, P.Hello):
            raise P.ProtocolError("hello was already received")

    def _camera(self) -> CameraLink:
        assert self.camera is not None  # made with the session, before anything is received
        return self.camera

    async def _aid(self, session: VoiceSession, m: P.Speak | P.Hush | P.Play | P.Prepare
                   ) -> None:
        """The communication aid's messages: the user's own words, said as they are."""
        if not isinstance(session, AACSession):
            raise P.ProtocolError("speak, stop, play and prepare are for the communication aid")
        if isinstance(m, P.Speak):
            session.speak(m.text)
        elif isinstance(m, P.Hush):
            session.hush()
        elif isinstance(m, P.Prepare):
            session.prepare(list(m.texts))
        else:
            try:
                text, clip = await asyncio.to_thread(banked, session.user, m.board, m.button)
            except CompanionError as e:  # a missing or unreadable recording: say why
                raise P.ProtocolError(str(e)) from None
            session.speak(text, recording=clip)


def _report_bugs(tasks: list[asyncio.Task[None]]) -> None:
    """A task that died of anything but the conversation ending is a bug: one line in the log
    (the whole traceback with COMPANION_DEBUG=1); the server goes on."""
    for t in tasks:
        exc = None if t.cancelled() else t.exception()
        if exc is not None and not isinstance(exc, (Closed, WebSocketDisconnect)):
            log.error("connection task %s failed: %s: %s", t.get_name(),
                      type(exc).__name__, exc, exc_info=exc if current().debug else None)


def encode_jpeg(rgb: np.ndarray, quality: list[int]) -> bytes | None:
    ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), quality)
    return jpeg.tobytes() if ok else None
