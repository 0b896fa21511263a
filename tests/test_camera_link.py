"""The camera link's tracker is closed only after the frame it is tracking (MediaPipe must not be
closed under a running thread), and a close that is itself cancelled says so instead of
swallowing the cancellation. Fakes: the timing of a blocked frame is the point."""

from __future__ import annotations

import asyncio
import struct
import threading
from typing import Any

import cv2
import numpy as np
import pytest

from companion.server import protocol as P
from companion.server.camera import CameraLink


class SlowTracker:
    """Tracks one frame only when told to; records what happened, in order."""

    calibrated = True

    def __init__(self, rig: Any) -> None:
        self.tracking = threading.Event()
        self.go_on = threading.Event()
        self.events: list[str] = []

    def feed(self, rgb: np.ndarray) -> None:
        self.tracking.set()
        self.go_on.wait(10)
        self.events.append("tracked")

    def close(self) -> None:
        self.events.append("closed")


class Face:
    """The part of LiveFace the link uses."""

    rig = None

    def undrive(self) -> None:
        pass


def camera_message(tag: float) -> bytes:
    ok, jpeg = cv2.imencode(".jpg", np.zeros((48, 64, 3), np.uint8))
    assert ok
    return bytes([P.CAMERA]) + struct.pack("<d", tag) + jpeg.tobytes()


def link_making(made: list[SlowTracker]) -> CameraLink:
    """A camera link whose trackers are SlowTrackers, kept in `made`."""
    def tracker(rig: Any) -> SlowTracker:
        made.append(SlowTracker(rig))
        return made[-1]

    return CameraLink(Face(), lambda event: None, tracker)  # type: ignore[arg-type]


async def _until(cond: Any) -> None:
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


@pytest.mark.parametrize("how", ["close", "stop"])
def test_a_cancelled_close_waits_for_the_frame_and_stays_cancelled(how: str) -> None:
    made: list[SlowTracker] = []

    async def scenario() -> None:
        link = link_making(made)
        await link.start()
        link.frame(camera_message(1.0))
        t = made[0]
        await asyncio.to_thread(t.tracking.wait, 10)
        ending = asyncio.create_task(getattr(link, how)())
        await asyncio.sleep(0.05)
        assert not ending.done()  # it waits for the frame being tracked
        ending.cancel()
        with pytest.raises(asyncio.CancelledError):
            await ending  # the cancellation is not swallowed
        assert t.events == []  # and MediaPipe was not closed under the running frame
        t.go_on.set()
        await _until(lambda: "closed" in t.events)
        assert t.events == ["tracked", "closed"]

    asyncio.run(scenario())


def test_closing_after_the_frame_closes_at_once() -> None:
    made: list[SlowTracker] = []

    async def scenario() -> None:
        link = link_making(made)
        await link.start()
        made[0].go_on.set()
        link.frame(camera_message(2.0))
        await _until(lambda: made[0].events == ["tracked"])
        await link.close()
        assert made[0].events == ["tracked", "closed"]

    asyncio.run(scenario())
