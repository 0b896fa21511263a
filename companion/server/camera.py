"""The user's camera driving one conversation's face ("Drive with my camera").

Camera frames are tracked one at a time in a worker thread; a frame that arrives while the last
one is still being tracked is dropped, because the newest pose is what the face should show, and
a queue would only add delay. The page hears how it is going: calibrating (hold still, relaxed),
driving, no face in view, off.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from companion.face.live import LiveFace
from companion.face.puppet import Puppet
from companion.face.rig import Rig
from companion.server import protocol as P

log = logging.getLogger("companion.server")


class CameraLink:
    def __init__(self, live: LiveFace, listen: Callable[[dict[str, Any]], None],
                 tracker: Callable[[Rig], Puppet] = Puppet) -> None:
        self.live = live
        self.listen = listen
        self._tracker = tracker  # builds the camera's face tracker for this portrait
        self._puppet: Puppet | None = None
        self._job: asyncio.Task[None] | None = None
        self._state = "off"
        self._arrived: dict[float, float] = {}  # capture time → when it reached the server

    @property
    def on(self) -> bool:
        return self._puppet is not None

    async def start(self) -> None:
        if self._puppet is None:
            self._puppet = await asyncio.to_thread(self._tracker, self.live.rig)
            self._say("calibrating")

    async def stop(self) -> None:
        """The camera stopped: the face eases back to its own motion; the tracker is closed
        once the frame it may be tracking is done."""
        puppet, self._puppet = self._puppet, None
        self.live.undrive()
        await self._close_after_frame(puppet)
        self._say("off")

    def frame(self, data: bytes) -> None:
        """A camera message: tracked now, or dropped when the tracker is busy."""
        if self._puppet is None:
            raise P.ProtocolError("the camera is off: send {\"type\": \"camera\", \"on\": true} "
                                  "first")
        if self._job is not None and not self._job.done():
            return
        tag, rgb = P.parse_camera(data)  # a bad frame is the client's error, said at once
        self._arrived[tag] = time.monotonic()
        if len(self._arrived) > 64:
            del self._arrived[next(iter(self._arrived))]
        self._job = asyncio.create_task(self._track(self._puppet, tag, rgb), name="camera")

    async def _track(self, puppet: Puppet, tag: float, rgb: Any) -> None:
        params = await asyncio.to_thread(puppet.feed, rgb)
        if puppet is not self._puppet:
            return  # the camera was turned off meanwhile
        if params is None:
            self._say("no_face" if puppet.calibrated else "calibrating")
            return
        self.live.drive(params, tag)
        self._say("driving")

    def lag(self, tag: float) -> float | None:
        """How long ago the camera frame captured at `tag` reached the server."""
        t = self._arrived.get(tag)
        return None if t is None else time.monotonic() - t

    def _say(self, state: str) -> None:
        if state != self._state:
            self._state = state
            self.listen({"type": "camera", "state": state})

    async def close(self) -> None:
        """The conversation is over."""
        puppet, self._puppet = self._puppet, None
        await self._close_after_frame(puppet)

    async def _close_after_frame(self, puppet: Puppet | None) -> None:
        """Close `puppet` once the frame it may be tracking is done: a thread cannot be
        cancelled, and MediaPipe must not be closed under it. If this is cancelled while it
        waits, the close still comes after the frame, and the cancellation goes on (it is the
        caller's, not something to swallow)."""
        if puppet is None:
            return
        job = self._job
        if job is not None and not job.done():
            try:
                await asyncio.wait([job])  # does not raise the frame's own failure (below)
            except asyncio.CancelledError:
                job.add_done_callback(
                    lambda _: threading.Thread(target=puppet.close, daemon=True).start())
                raise
            if not job.cancelled() and job.exception() is not None:
                log.warning("camera tracking failed: %s", job.exception())
        await asyncio.to_thread(puppet.close)


__all__ = ["CameraLink"]
