"""Live face: a video generator that never stops.

Speech segments are pushed in (`push_audio`), played back to back, and interrupted at once by
`clear_buffer` (barge-in), which reports how much of each segment was actually heard. Between
segments the face keeps moving: idle motion (sway, breathing, blinks, saccades) runs on its own
clock, and speech adds its mouth and prosody on top. `frames()` yields each video frame together
with the audio that plays during it, paced in real time or as fast as possible (files).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

import numpy as np

from companion.audio.features import analyse
from companion.audio.io import resample
from companion.consent.gate import is_active
from companion.consent.label import draw_label
from companion.errors import ConsentError
from companion.face import align
from companion.face.engine import RenderOptions, make_renderer
from companion.face.motion import generate
from companion.face.params import INDEX
from companion.face.rig import Rig
from companion.frames import AudioFrame, EndOfSegment, SpeechSegment, VideoFrame

IDLE_BLOCK_S = 120.0  # idle motion is planned this far ahead, then extended
# While the reply is being prepared the face is rendered every other frame: its rendering,
# encoding and the page's decoding take most of a core on two, and the reply's model is what
# the user waits for then. Speech and listening are always rendered at the full rate.
THINKING_EVERY = 2
STATES = ("idle", "listening", "thinking", "speaking")
# A camera driving the face (puppet.Puppet): a pose older than this many seconds is stale (the
# camera stopped or lost the face) and the face eases back to its own motion over EASE_S, as it
# eases into the camera's when driving starts.
DRIVE_STALE_S = 0.4
EASE_S = 0.3


@dataclass(frozen=True)
class TimedFrame:
    """One video frame and the audio that plays while it is shown (silence when idle)."""

    video: VideoFrame
    audio: AudioFrame
    speaking: bool
    # The same picture as the frame before (not rendered again): a viewer that keeps showing
    # the last picture need not be sent it.
    repeat: bool = False
    # The capture time (the client's clock) of the camera frame whose pose this frame shows.
    driven_by: float | None = None


@dataclass(frozen=True)
class Heard:
    """What the listener actually heard of one segment before an interruption."""

    segment: SpeechSegment
    seconds: float

    @property
    def complete(self) -> bool:
        return self.seconds >= self.segment.audio.duration - 1e-3

    def words(self) -> str:
        """The words fully or mostly spoken by then (by phone timing)."""
        if self.complete:
            return self.segment.text
        words = self.segment.text.split()
        if not words:
            return ""
        # Fraction of phones played, mapped onto words: no word-level timing is needed.
        phones = [p for p in self.segment.phonemes if p.symbol.strip(" ^$.,?!")]
        played = sum(1 for p in phones if p.start + 0.5 * p.duration <= self.seconds)
        share = played / max(len(phones), 1)
        return " ".join(words[: math.floor(share * len(words) + 0.25)])


@dataclass
class _Scheduled:
    segment: SpeechSegment
    start_frame: int
    params: np.ndarray  # (n, P) speech-driven additions to the idle motion
    samples: np.ndarray  # audio at the output rate
    tag: int = 0  # whose speech this is (the session's turn number)


class LiveFace:
    """A real-time talking-face stream for one rig (one per session)."""

    def __init__(self, rig: Rig, opts: RenderOptions | None = None, sample_rate: int = 22050,
                 render: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.opts = (opts or RenderOptions()).validate()
        self.rig = rig
        self.fps = self.opts.fps
        self.sample_rate = sample_rate
        self._render = render or make_renderer(rig, self.opts.backend)
        self._frame = 0  # next frame to show
        self._queue: deque[_Scheduled] = deque()
        # Segments that played to their end, kept for the playback report of an interruption:
        # they have left the queue, but they were heard.
        self._finished: deque[_Scheduled] = deque(maxlen=64)
        self._idle = np.zeros((0, len(INDEX)), np.float32)
        self._idle_blocks = 0
        self.state = "idle"
        self._last_image: np.ndarray | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._driven: tuple[np.ndarray, float, int] | None = None  # pose, its tag, frame
        self._drive_w = 0.0  # how much of the face the camera drives now (0..1)

    # ------------------------------------------------------------------ input
    def push_audio(self, item: SpeechSegment | AudioFrame | EndOfSegment,
                   tag: int = 0) -> float | None:
        """Queue speech to be said after what is already queued; returns when it will start
        (seconds on this stream's clock). A bare AudioFrame has no phone timings: its syllables
        come from the audio's energy (the acoustic fallback). `tag` says whose speech it is: the
        playback report of `clear_buffer` names it."""
        if isinstance(item, EndOfSegment):
            return None  # segments are already whole; the end needs no action
        seg = item if isinstance(item, SpeechSegment) else self.segment_from_audio(item)
        if seg.audio.duration <= 0:
            return None
        with self._lock:
            last = self._queue[-1] if self._queue else None
            start = self._frame if last is None else max(self._frame,
                                                         last.start_frame + len(last.params))
        n = max(1, math.ceil(seg.audio.duration * self.fps))
        feats = analyse(seg.audio)
        controls = replace(self.opts.controls, seed=self.opts.controls.seed + start)
        speaking = generate(n, self.fps, controls, seg.phonemes, feats)
        still = generate(n, self.fps, controls)
        samples = resample(seg.audio, self.sample_rate).samples
        with self._lock:
            self._queue.append(_Scheduled(seg, start, speaking - still, samples, tag))
            self.state = "speaking"
        return start / self.fps

    @staticmethod
    def segment_from_audio(audio: AudioFrame, text: str = "") -> SpeechSegment:
        """Recorded speech with no phone timings: its syllables come from its energy."""
        phones = align.acoustic(analyse(audio), covered=[])
        return SpeechSegment(audio=audio, phonemes=tuple(phones), text=text)

    def clear_buffer(self, tag: int | None = None) -> list[Heard]:
        """Stop speaking now. Returns what was heard, in order, of the speech tagged `tag` (all
        speech when None): segments that played to the end, then the one cut off (how much of
        it); segments that had not started are dropped unheard. Read under the same lock that
        advances the frames, so the report and the position agree."""
        heard = []
        with self._lock:
            for s in self._finished:
                if tag is None or s.tag == tag:
                    heard.append(Heard(s.segment, s.segment.audio.duration))
            for s in self._queue:
                played = (self._frame - s.start_frame) / self.fps
                if played > 0 and (tag is None or s.tag == tag):
                    heard.append(Heard(s.segment, min(played, s.segment.audio.duration)))
            self._queue.clear()
            self._finished.clear()
            if self.state == "speaking":
                self.state = "listening"
        return heard

    def drive(self, params: np.ndarray, tag: float) -> None:
        """Show this pose (from a camera) from the next frame on, instead of the face's own
        motion; `tag` comes back on the frames that show it."""
        with self._lock:
            self._driven = (params.astype(np.float32), tag, self._frame)

    def undrive(self) -> None:
        with self._lock:
            self._driven = None

    def _apply_drive(self, i: int, p: np.ndarray) -> tuple[np.ndarray, float | None]:
        """Blend the camera's pose over the face's own motion `p` (under the lock)."""
        d = self._driven
        fresh = d is not None and (i - d[2]) / self.fps <= DRIVE_STALE_S
        step = 1.0 / max(1.0, EASE_S * self.fps)
        self._drive_w = min(1.0, self._drive_w + step) if fresh else max(0.0,
                                                                          self._drive_w - step)
        if d is None or self._drive_w <= 0.0:
            return p, None
        w = self._drive_w * self._drive_w * (3 - 2 * self._drive_w)
        return p * (1 - w) + d[0] * w, (d[1] if fresh else None)

    def set_state(self, state: str) -> None:
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}")
        self.state = state

    @property
    def position(self) -> float:
        """Seconds on this stream's clock: the time of the next frame to be shown."""
        return self._frame / self.fps

    @property
    def speaking(self) -> bool:
        return bool(self._queue)

    @property
    def buffered_seconds(self) -> float:
        if not self._queue:
            return 0.0
        last = self._queue[-1]
        return max(0.0, (last.start_frame + len(last.params) - self._frame) / self.fps)

    def close(self) -> None:
        self._closed = True

    # ------------------------------------------------------------------ output
    def _idle_params(self, frame: int) -> np.ndarray:
        while frame >= len(self._idle):
            n = int(IDLE_BLOCK_S * self.fps)
            seed = self.opts.controls.seed + 7919 * self._idle_blocks
            block = generate(n, self.fps, replace(self.opts.controls, seed=seed))
            if len(self._idle):
                # Cross-fade into the new block so the head does not jump at the seam.
                fade = min(n, self.fps // 2)
                w = np.linspace(0, 1, fade, dtype=np.float32)[:, None]
                block[:fade] = self._idle[-1] * (1 - w) + block[:fade] * w
            self._idle = np.concatenate([self._idle, block])
            self._idle_blocks += 1
        p = self._idle[frame].copy()
        if self.state == "thinking":
            # Looking up and away while thinking, as people do.
            p[INDEX["gaze_x"]] = 0.45
            p[INDEX["gaze_y"]] = -0.35
        elif self.state == "listening":
            # Small listening nods (a ~0.4 s dip every 2.8 s) and a touch more attention.
            t = (frame / self.fps) % 2.8
            p[INDEX["pitch"]] += 0.025 * float(np.exp(-0.5 * ((t - 0.4) / 0.12) ** 2))
            p[INDEX["brow_raise"]] += 0.08
        return p

    def next_frame(self) -> TimedFrame:
        """Render the next frame (and its audio) and advance the clock by one frame. Once a
        second the consent is checked again: a revoked portrait stops the stream."""
        i = self._frame
        if i % self.fps == 0 and i > 0 and not is_active(self.rig.consent_id):
            self._closed = True
            raise ConsentError(f"consent {self.rig.consent_id} was revoked; the stream stops")
        p = self._idle_params(i)
        hop = self.sample_rate / self.fps
        a0, a1 = round(i * hop), round((i + 1) * hop)
        audio = np.zeros(a1 - a0, np.float32)
        speaking = False
        # The queue is shared with the event loop (push/clear); render outside the lock.
        with self._lock:
            while self._queue and i >= self._queue[0].start_frame + len(self._queue[0].params):
                self._finished.append(self._queue.popleft())
            for s in self._queue:
                k = i - s.start_frame
                if 0 <= k < len(s.params):
                    p = p + s.params[k]
                    speaking = True
                    s0 = round(s.start_frame * hop)
                    seg = s.samples[max(0, a0 - s0): max(0, a1 - s0)]
                    audio[: len(seg)] += seg
            if not self._queue and self.state == "speaking":
                self.state = "listening"
            p, driven_by = self._apply_drive(i, p)
            self._frame += 1
        last = self._last_image
        repeat = False
        if (last is not None and not speaking and self.state == "thinking" and i % THINKING_EVERY
                and driven_by is None):
            img, repeat = last.copy(), True  # a copy: a viewer may draw on what it is given
        else:
            img = self._render(p)
            if self.opts.label:
                draw_label(img)  # every frame that leaves the engine says it is synthetic
            self._last_image = img
        pts = i / self.fps
        return TimedFrame(VideoFrame(pts=pts, image=img, index=i),
                          AudioFrame(pts=pts, samples=audio, sample_rate=self.sample_rate),
                          speaking, repeat, driven_by)

    async def frames(self, realtime: bool = True,
                     clock: Callable[[], float] = time.monotonic) -> AsyncIterator[TimedFrame]:
        """Frames forever (until close()). With realtime, each frame is released at its own time
        on `clock`; rendering runs in a worker thread so the event loop never stalls."""
        t0 = clock()
        while not self._closed:
            frame = await asyncio.to_thread(self.next_frame)
            if realtime:
                wait = t0 + (frame.video.index + 1) / self.fps - clock()
                if wait > 0:
                    await asyncio.sleep(wait)
            yield frame


__all__ = ["Heard", "LiveFace", "TimedFrame"]
