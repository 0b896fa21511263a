"""TTS stage: each reply clause → speech with phone timings. If the voice fails, the fallback
voice (espeak-ng) says the clause, and if that fails too the clause is reported as not spoken."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from companion.errors import CompanionError
from companion.frames import DataFrame, ReplyClause, ReplySpeech, StageFailed, StageReport
from companion.pipeline import Emit, Stage
from companion.tts.base import TTS


class TTSStage(Stage):
    name = "tts"

    def __init__(self, tts: TTS, fallback: TTS | None = None,
                 on_event: Callable[[StageReport], None] | None = None) -> None:
        self.tts = tts
        self.fallback = fallback
        self._on_event = on_event or (lambda report: None)

    async def start(self) -> None:
        # Load the voice now, not on the first reply; a broken voice shows up here first, and
        # the session still starts (replies will use the fallback voice).
        try:
            await asyncio.to_thread(self.tts.synthesize, "Hello.")
        except CompanionError as e:
            self._on_event(StageFailed("tts", 0, str(e)))

    async def process(self, frame: DataFrame, emit: Emit) -> None:
        if not isinstance(frame, ReplyClause):
            await emit(frame)
            return
        try:
            await self._speak(frame, emit)
        finally:
            if frame.voiced is not None:
                frame.voiced.set()  # the model may go on (also when this voice failed)

    async def _speak(self, frame: ReplyClause, emit: Emit) -> None:
        try:
            seg = await asyncio.to_thread(self.tts.synthesize, frame.text)
        except CompanionError as e:
            self._on_event(StageFailed("tts", frame.turn, str(e)))
            if self.fallback is None:
                return
            try:
                seg = await asyncio.to_thread(self.fallback.synthesize, frame.text)
            except CompanionError as e2:
                self._on_event(StageFailed("tts", frame.turn, str(e2)))
                return
        await emit(ReplySpeech(segment=seg, turn=frame.turn, index=frame.index,
                               apology=frame.apology))
