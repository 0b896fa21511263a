"""Typed frames that travel between stages.

Data frames (audio, text, phonemes, video) are dropped on interrupt; system frames (interrupt,
speech start/stop, end of segment) overtake them. This module imports nothing of the project.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Frame:
    """Base of every frame; `pts` is the presentation time in seconds on the stream's clock."""

    pts: float = 0.0


@dataclass(frozen=True)
class DataFrame(Frame):
    """A frame that carries content and is dropped when the pipeline is interrupted."""


@dataclass(frozen=True)
class SystemFrame(Frame):
    """A control frame; never waits behind data frames."""


@dataclass(frozen=True)
class AudioFrame(DataFrame):
    """Mono float32 PCM in [-1, 1]."""

    samples: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    sample_rate: int = 16000

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


@dataclass(frozen=True)
class TextFrame(DataFrame):
    text: str = ""


@dataclass(frozen=True)
class Phoneme:
    """One phone with its time span in seconds. `symbol` is IPA (stress marks stripped)."""

    symbol: str
    start: float
    end: float
    stressed: bool = False

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Word:
    """A recognised word and when it was said (seconds from the start of the audio)."""

    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class Message:
    """One line of a conversation as a language model sees it."""

    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class SpeechSegment(DataFrame):
    """Synthesized or recorded speech with its phone timings (relative to the segment start)."""

    audio: AudioFrame = field(default_factory=AudioFrame)
    phonemes: tuple[Phoneme, ...] = ()
    text: str = ""


@dataclass(frozen=True)
class VideoFrame(DataFrame):
    """One rendered RGB frame (H, W, 3) uint8; `index` counts frames from the stream start."""

    image: np.ndarray = field(default_factory=lambda: np.zeros((1, 1, 3), np.uint8))
    index: int = 0


@dataclass(frozen=True)
class UserTurn(DataFrame):
    """What the user said (or typed) in one turn."""

    text: str = ""
    turn: int = 0


@dataclass(frozen=True)
class ReplyClause(DataFrame):
    """A speakable piece of the avatar's reply, in order."""

    text: str = ""
    turn: int = 0
    index: int = 0
    apology: bool = False  # said because a backend failed
    hold: bool = False  # "one moment": the model is busy with another conversation
    # Set once this clause has its voice. The model waits for it after a reply's first clause:
    # that synthesis is what the user is waiting for, and decoding on beside it doubled it.
    voiced: threading.Event | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ReplySpeech(DataFrame):
    """A reply clause turned into speech."""

    segment: SpeechSegment = field(default_factory=SpeechSegment)
    turn: int = 0
    index: int = 0
    apology: bool = False


@dataclass(frozen=True)
class ReplyEnd(DataFrame):
    """The reply to `turn` is complete; `text` is all that was generated."""

    text: str = ""
    turn: int = 0
    failed: bool = False


@dataclass(frozen=True)
class EndOfSegment(SystemFrame):
    """The current speech segment is complete; the renderer may return to idle motion."""


@dataclass(frozen=True)
class InterruptFrame(SystemFrame):
    """Drop all queued data and cancel work in flight (barge-in)."""


@dataclass(frozen=True)
class SpeechStarted(SystemFrame):
    """The user started speaking."""


@dataclass(frozen=True)
class SpeechStopped(SystemFrame):
    """The user stopped speaking (turn end candidate)."""


__all__ = [
    "AudioFrame",
    "DataFrame",
    "EndOfSegment",
    "Frame",
    "InterruptFrame",
    "Phoneme",
    "ReplyClause",
    "ReplyEnd",
    "ReplySpeech",
    "SpeechSegment",
    "SpeechStarted",
    "SpeechStopped",
    "SystemFrame",
    "TextFrame",
    "UserTurn",
    "VideoFrame",
]


@dataclass(frozen=True)
class FirstToken:
    """Stage report: the model's first words of this turn's reply have arrived."""

    turn: int


@dataclass(frozen=True)
class StageFailed:
    """Stage report: a stage failed on this turn (0: while starting); the conversation goes on."""

    stage: str  # "llm" | "tts"
    turn: int
    error: str


StageReport = FirstToken | StageFailed


@dataclass(frozen=True)
class LoadedImage:
    """A portrait as read from a file or an upload (`face.image` reads them)."""

    rgb: np.ndarray  # (H, W, 3) uint8, EXIF orientation applied, metadata dropped
    sha256: str  # of the file bytes as given
    name: str
