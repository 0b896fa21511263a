"""Recording the live puppet with the user's own voice ("Record" while the camera drives).

While the camera drives the face, the microphone is not a conversation turn; during a recording
it is the puppet's voice. The frames the page is shown are written as they are sent, the
microphone's audio as it arrives, and when the recording stops the two are laid on one clock
and the file is made an export like any other: the label is on every frame already, the
watermark is added (12 ms a frame, too slow to do while the face streams) and a signed C2PA
manifest says the face was driven by a live camera and the voice is the user's.

Sync: a driven frame shows the pose of a camera frame that reached the server `lag` seconds
before the frame was sent (tracking + rendering), while the microphone's audio reaches the
server about when the camera's frames do (same page, same socket). So the voice is laid
`lag` later than it arrived: the median lag over the recording's driven frames.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import av
import numpy as np

from companion.audio.io import resample
from companion.consent.gate import is_active
from companion.errors import CompanionError, ConsentError
from companion.face.live import LiveFace, TimedFrame
from companion.frames import AudioFrame
from companion.output.mp4 import Mp4Writer, mark_and_sign
from companion.server.protocol import ProtocolError

MIC_RATE = 16000
MAX_SECONDS = 300.0  # a recording stops itself after five minutes
BACKLOG = 50  # frames waiting for the encoder; past this, frames are dropped (and refilled)
log = logging.getLogger(__name__)
_STOP = object()
DESCRIPTION = ("portrait driven live by the user's camera (face tracking); the voice is the "
               "user's own microphone")


class Recordings:
    """The server's finished recordings, by unguessable name, in a private temporary folder
    (made on the first recording) that goes when the server stops; each conversation's
    recordings go when it ends."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._paths: dict[str, Path] = {}

    @property
    def root(self) -> Path:
        if self._root is None:
            self._root = Path(tempfile.mkdtemp(prefix="companion-recordings-"))
        return self._root

    def new_path(self) -> tuple[str, Path]:
        name = secrets.token_urlsafe(12) + ".mp4"
        return name, self.root / name

    def publish(self, name: str, path: Path) -> None:
        self._paths[name] = path

    def get(self, name: str) -> Path | None:
        p = self._paths.get(name)
        return p if p is not None and p.is_file() else None

    def drop(self, name: str) -> None:
        p = self._paths.pop(name, None) or self.root / name
        p.unlink(missing_ok=True)
        p.with_suffix(".raw.mp4").unlink(missing_ok=True)

    def close(self) -> None:
        if self._root is not None:
            shutil.rmtree(self._root, ignore_errors=True)


class PuppetRecording:
    """One recording: frames and voice in, a signed, watermarked mp4 out (`finish`)."""

    def __init__(self, path: Path, size: int, fps: int, consent_id: str,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.path = path
        self.raw = path.with_suffix(".raw.mp4")
        self.fps = fps
        self.consent_id = consent_id
        self.frames = 0
        self.dropped = 0
        self.lags: list[float] = []
        self._voice: list[np.ndarray] = []
        self._voice_t0: float | None = None  # when the first voice sample was spoken
        self._first_frame_t: float | None = None  # when the first frame was sent
        self._writer = Mp4Writer(self.raw, size, fps)  # unsigned: the export is the rewrite
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._encode, name="recording", daemon=True)
        self._thread.start()

    @property
    def seconds(self) -> float:
        return self.frames / self.fps

    def frame(self, image: np.ndarray, lag: float | None) -> None:
        """A frame as it is sent to the page; `lag`: how long ago the camera frame whose pose
        it shows reached the server (None when it is not driven).

        The file keeps the wall clock, as the voice does: a frame sent late (a server that
        fell behind) is preceded by the last picture shown again, and frames sent in a burst
        to catch up go in at their time, the extra ones left out."""
        now = self.clock()
        if self._first_frame_t is None:
            self._first_frame_t = now
        due = round((now - self._first_frame_t) * self.fps)  # this frame's place in the file
        if self.frames > due:
            return  # a catch-up burst: its place is taken
        while self.frames < due:
            self._put(None)
        if self._queue.qsize() >= BACKLOG:
            self.dropped += 1
            self._put(None)  # the encoder shows the last picture again
        else:
            self._put(image)
        if lag is not None:
            self.lags.append(lag)

    def _put(self, image: np.ndarray | None) -> None:
        self._queue.put(image)
        self.frames += 1

    def voice(self, samples: np.ndarray) -> None:
        """Microphone audio (16 kHz) as it arrives."""
        if self._voice_t0 is None:
            self._voice_t0 = self.clock() - len(samples) / MIC_RATE
        self._voice.append(samples)

    def _encode(self) -> None:
        last: np.ndarray | None = None
        while (item := self._queue.get()) is not _STOP:
            img = item if item is not None else last  # None: a dropped frame, shown again
            if img is not None:
                self._writer.write_frame(img)
                last = img

    def _voice_track(self) -> AudioFrame:
        """The microphone on the frames' clock: delayed by the median tracking lag."""
        n = int(self.seconds * MIC_RATE)
        track = np.zeros(n, np.float32)
        if self._voice and self._voice_t0 is not None and self._first_frame_t is not None:
            lag = float(np.median(self.lags)) if self.lags else 0.0
            voice = np.concatenate(self._voice)
            at = round((self._voice_t0 - self._first_frame_t + lag) * MIC_RATE)
            if at < 0:
                voice, at = voice[-at:], 0
            voice = voice[: max(0, n - at)]
            track[at: at + len(voice)] = voice
        return resample(AudioFrame(samples=track, sample_rate=MIC_RATE), 48000)

    def finish(self) -> Path:
        """Blocking (run it in a thread): the export, or ConsentError (nothing kept) when the
        portrait's consent went meanwhile."""
        self._queue.put(_STOP)
        self._thread.join()
        try:
            self._writer.write_audio(self._voice_track())
            self._writer.close(sign=False)
        except BaseException:
            self.raw.unlink(missing_ok=True)
            raise
        return mark_and_sign(self.raw, self.path, self.consent_id, DESCRIPTION,
                             check=self._still_consented)

    def _still_consented(self) -> None:
        if not is_active(self.consent_id):
            raise ConsentError("the portrait's consent was revoked: the recording was deleted")

    def discard(self) -> None:
        """The conversation ended mid-recording: nothing is kept."""
        self._queue.put(_STOP)
        self._thread.join()
        with contextlib.suppress(Exception):
            self._writer.close(sign=False)
        self.raw.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)


class RecordingLink:
    """One conversation's recordings: at most one running, and the finished ones until the
    conversation ends. The page hears each step: on, saving, ready (with the file's address),
    failed (with the reason)."""

    def __init__(self, store: Recordings, live: LiveFace, listen: Callable[[dict[str, Any]], None],
                 lag: Callable[[float], float | None]) -> None:
        self.store = store
        self.live = live
        self.listen = listen
        self.lag = lag  # a camera frame's capture time → how long ago it reached the server
        self._rec: PuppetRecording | None = None
        self._name = ""
        self._mine: list[str] = []
        self._saving: asyncio.Task[None] | None = None

    @property
    def on(self) -> bool:
        return self._rec is not None

    def start(self) -> None:
        if self._rec is not None:
            return
        if self._saving is not None and not self._saving.done():
            raise ProtocolError("the last recording is still being saved")
        self._name, path = self.store.new_path()
        self._rec = PuppetRecording(path, self.live.rig.size, self.live.fps,
                                    self.live.rig.consent_id)
        self.listen({"type": "recording", "state": "on"})

    def frame(self, f: TimedFrame) -> None:
        if self._rec is None:
            return
        self._rec.frame(f.video.image, None if f.driven_by is None else self.lag(f.driven_by))
        if self._rec.seconds >= MAX_SECONDS:
            self.stop()

    def voice(self, samples: np.ndarray) -> None:
        if self._rec is not None:
            self._rec.voice(samples)

    def stop(self) -> None:
        rec, self._rec = self._rec, None
        if rec is None:
            return
        if rec.frames == 0:
            self._saving = asyncio.create_task(asyncio.to_thread(rec.discard))
            self.listen({"type": "recording", "state": "failed",
                         "message": "nothing was recorded (it was stopped at once)"})
            return
        self.listen({"type": "recording", "state": "saving", "seconds": round(rec.seconds, 1)})
        self._saving = asyncio.create_task(self._save(rec, self._name), name="recording")

    async def _save(self, rec: PuppetRecording, name: str) -> None:
        try:
            path = await asyncio.to_thread(rec.finish)
        except (CompanionError, OSError, av.error.FFmpegError) as e:
            self.listen({"type": "recording", "state": "failed", "message": str(e)})
            return
        except Exception as e:  # a bug: the page is told, and the log has it
            log.exception("saving a recording failed")
            self.listen({"type": "recording", "state": "failed",
                         "message": f"the recording could not be saved ({type(e).__name__})"})
            return
        self.store.publish(name, path)
        self._mine.append(name)
        self.listen({"type": "recording", "state": "ready", "url": f"/api/recordings/{name}",
                     "seconds": round(rec.seconds, 1), "dropped": rec.dropped})

    async def close(self) -> None:
        """The conversation is over: a recording in progress is discarded, one being saved
        is finished first (its thread cannot be stopped), and every file goes."""
        rec, self._rec = self._rec, None
        if rec is not None:
            await asyncio.to_thread(rec.discard)
        if self._saving is not None:
            # waits without taking over the save's outcome (it reports its own failures);
            # a cancellation of this conversation's ending still goes through (issue 15), and
            # then the files go with the folder when the server stops
            await asyncio.wait([self._saving])
        for name in self._mine:
            self.store.drop(name)
