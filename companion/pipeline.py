"""Stages, the pipeline runner and the interrupt protocol.

Each stage has an input queue with two lanes: system frames (interrupt, speech start/stop, end of
segment) always leave before data frames. A stage processes one data frame at a time in a task
that can be cancelled; while it works, the runner still watches the system lane, so an interrupt
cancels work in flight at once, drops the stage's queued data and travels on downstream.
`Pipeline.interrupt()` puts the interrupt into every stage's queue at the same moment, so the
whole chain stops within one event-loop turn rather than stage by stage.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from companion.frames import DataFrame, Frame, InterruptFrame, SystemFrame


class FrameQueue:
    """Two-lane queue: system frames first, then data frames in order."""

    def __init__(self) -> None:
        self._system: deque[SystemFrame] = deque()
        self._data: deque[DataFrame] = deque()
        # For each queued interrupt, how many data frames were queued before it: those belong
        # to the reply it interrupts; frames put after it (the user's next turn) do not.
        self._before_interrupt: deque[int] = deque()
        self._ready = asyncio.Event()

    def put(self, frame: Frame) -> None:
        if isinstance(frame, InterruptFrame):
            self._before_interrupt.append(len(self._data))
        if isinstance(frame, SystemFrame):
            self._system.append(frame)
        elif isinstance(frame, DataFrame):
            self._data.append(frame)
        else:
            raise TypeError(f"not a frame: {frame!r}")
        self._ready.set()

    def clear_data(self) -> int:
        """Drop the data frames queued before the oldest pending interrupt (all of them when
        none is pending). Returns how many were dropped."""
        n = self._before_interrupt.popleft() if self._before_interrupt else len(self._data)
        n = min(n, len(self._data))
        for _ in range(n):
            self._data.popleft()
        self._before_interrupt = deque(max(0, k - n) for k in self._before_interrupt)
        self._sync()
        return n

    def has_system(self) -> bool:
        return bool(self._system)

    def interrupt_pending(self) -> bool:
        return any(isinstance(f, InterruptFrame) for f in self._system)

    def pop_system(self) -> SystemFrame:
        f = self._system.popleft()
        self._sync()
        return f

    def _sync(self) -> None:
        if self._system or self._data:
            self._ready.set()
        else:
            self._ready.clear()

    async def get(self) -> Frame:
        while True:
            if self._system:
                return self.pop_system()
            if self._data:
                f = self._data.popleft()
                self._sync()
                return f
            self._ready.clear()
            await self._ready.wait()

    async def wait_system(self) -> None:
        while not self._system:
            self._ready.clear()
            await self._ready.wait()

    def __len__(self) -> int:
        return len(self._system) + len(self._data)


@dataclass
class StageMetrics:
    """What the observer sees of one stage: counts and time spent per data frame."""

    processed: int = 0
    cancelled: int = 0
    dropped: int = 0
    busy_s: deque[float] = field(default_factory=lambda: deque(maxlen=1000))  # the latest


Emit = Callable[[Frame], Awaitable[None]]


class Stage:
    """Base class. Override `process` (one data frame → frames out, via `emit`); optionally
    `start`, `stop` and `on_system`. Blocking model calls belong in `asyncio.to_thread`."""

    name = "stage"

    async def start(self) -> None:
        """Load models and open devices."""

    async def stop(self) -> None:
        """Release what start() took."""

    async def process(self, frame: DataFrame, emit: Emit) -> None:
        await emit(frame)

    async def on_system(self, frame: SystemFrame, emit: Emit) -> None:
        """Called for every system frame before it is forwarded (the interrupt included)."""

    def interrupt(self) -> None:
        """Drop internal state tied to the current reply (called on InterruptFrame)."""


class Pipeline:
    """Runs stages in a chain; frames from the last stage go to `sink`."""

    def __init__(self, stages: Sequence[Stage],
                 sink: Callable[[Frame], Awaitable[None]] | None = None,
                 observer: Callable[[str, str, float], None] | None = None) -> None:
        if not stages:
            raise ValueError("a pipeline needs at least one stage")
        self.stages = list(stages)
        self.queues = [FrameQueue() for _ in stages]
        self.metrics = {s.name: StageMetrics() for s in stages}
        self._sink = sink
        self._observer = observer
        self._tasks: list[asyncio.Task[None]] = []
        self._out: asyncio.Queue[Frame] = asyncio.Queue()

    async def start(self) -> None:
        for s in self.stages:
            await s.start()
        self._tasks = [asyncio.create_task(self._run(i), name=f"stage:{s.name}")
                       for i, s in enumerate(self.stages)]

    async def stop(self) -> None:
        await cancel_all(self._tasks)
        self._tasks = []
        for s in self.stages:
            await s.stop()

    def push(self, frame: Frame) -> None:
        self.queues[0].put(frame)

    def interrupt(self) -> None:
        """Barge-in: every stage gets the interrupt now; each drops its data and cancels."""
        for q in self.queues:
            q.put(InterruptFrame(pts=time.monotonic()))

    async def output(self) -> AsyncIterator[Frame]:
        while True:
            yield await self._out.get()

    async def _emit_from(self, index: int, frame: Frame) -> None:
        if index + 1 < len(self.stages):
            self.queues[index + 1].put(frame)
        elif self._sink is not None:
            await self._sink(frame)
        else:
            await self._out.put(frame)

    def _notify(self, stage: str, event: str, value: float) -> None:
        if self._observer is not None:
            self._observer(stage, event, value)

    async def _system(self, index: int, frame: SystemFrame) -> None:
        stage = self.stages[index]
        if isinstance(frame, InterruptFrame):
            dropped = self.queues[index].clear_data()
            self.metrics[stage.name].dropped += dropped
            stage.interrupt()
            self._notify(stage.name, "interrupt", float(dropped))
            # The pipeline already gave every stage its own interrupt; only the last stage
            # passes it on (to the sink) so outputs can clear their buffers too.
            await stage.on_system(frame, lambda f: self._emit_from(index, f))
            if index + 1 == len(self.stages):
                await self._emit_from(index, frame)
            return
        await stage.on_system(frame, lambda f: self._emit_from(index, f))
        await self._emit_from(index, frame)

    async def _run(self, index: int) -> None:
        stage = self.stages[index]
        q = self.queues[index]
        m = self.metrics[stage.name]

        async def emit(f: Frame) -> None:
            # Between Pipeline.interrupt() and this stage cancelling its work, anything the
            # work still produces belongs to the reply being interrupted: drop it.
            if isinstance(f, DataFrame) and q.interrupt_pending():
                return
            await self._emit_from(index, f)

        while True:
            frame = await q.get()
            if isinstance(frame, SystemFrame):
                await self._system(index, frame)
                continue
            assert isinstance(frame, DataFrame)
            t0 = time.perf_counter()
            work = asyncio.create_task(stage.process(frame, emit))
            try:
                await self._watch(index, work)
            except asyncio.CancelledError:
                await cancel_all([work])  # the pipeline stops: no work left behind
                raise
            if work.done() and not work.cancelled():
                exc = work.exception()
                if exc is not None:
                    # A failing stage must not take the pipeline down: report and go on.
                    self._notify(stage.name, "error", 0.0)
                    await self._emit_from(index, StageError(stage=stage.name, error=str(exc),
                                                            pts=frame.pts))
                    continue
                m.processed += 1
                m.busy_s.append(time.perf_counter() - t0)
                self._notify(stage.name, "processed", time.perf_counter() - t0)


    async def _watch(self, index: int, work: asyncio.Task[None]) -> None:
        """Wait for `work`, handling system frames meanwhile; an interrupt cancels it."""
        q = self.queues[index]
        while not work.done():
            watcher = asyncio.create_task(q.wait_system())
            try:
                await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                await cancel_all([watcher])
            if q.has_system():
                sysf = q.pop_system()
                if isinstance(sysf, InterruptFrame) and not work.done():
                    await cancel_all([work])
                    self.metrics[self.stages[index].name].cancelled += 1
                await self._system(index, sysf)


async def cancel_all(tasks: Sequence[asyncio.Task[Any]]) -> None:
    """Cancel `tasks` and wait until they have finished. Unlike awaiting each one inside
    suppress(CancelledError), a cancellation of the caller itself still goes through."""
    pending = [t for t in tasks if not t.done()]
    for t in pending:
        t.cancel()
    if pending:
        await asyncio.wait(pending)
    for t in tasks:  # retrieve outcomes so none is reported as never retrieved
        if t.done() and not t.cancelled():
            t.exception()


@dataclass(frozen=True)
class StageError(SystemFrame):
    """A stage failed on a frame; downstream decides what to tell the user."""

    stage: str = ""
    error: str = ""


__all__ = ["FrameQueue", "Pipeline", "Stage", "StageError", "StageMetrics", "cancel_all"]
