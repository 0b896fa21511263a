"""Offline talking-portrait engine: speech (text or audio) + rig → frames → mp4 or still.

Ties the stages together for `companion say` and `companion render`; the streaming renderer for
live sessions uses the same motion and render steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from companion.audio.features import Features, analyse
from companion.audio.io import decode_audio, resample
from companion.consent import watermark
from companion.consent.gate import is_active
from companion.consent.label import draw_label
from companion.errors import ConsentError, InputError
from companion.face import align
from companion.face.motion import MotionControls, generate
from companion.face.rig import Rig
from companion.frames import AudioFrame, Phoneme, SpeechSegment, Word
from companion.output.mp4 import Mp4Writer

FPS_CHOICES = (25, 30, 40)


@dataclass(frozen=True)
class RenderOptions:
    fps: int = 25
    label: bool = True
    backend: str = "cpu"  # or "torch" (CUDA when present)
    controls: MotionControls = field(default_factory=MotionControls)

    def validate(self) -> RenderOptions:
        if self.fps not in FPS_CHOICES:
            raise InputError(f"fps must be one of {FPS_CHOICES}")
        self.controls.validate()
        return self


@dataclass(frozen=True)
class Speech:
    """Audio to play plus the phone timings that drive the mouth."""

    audio: AudioFrame
    phonemes: tuple[Phoneme, ...]
    features: Features | None

    @property
    def duration(self) -> float:
        return self.audio.duration


def speech_from_segment(seg: SpeechSegment) -> Speech:
    return Speech(seg.audio, seg.phonemes, analyse(seg.audio))


def speech_from_file(path: str | Path, transcript: str | None = None,
                     recognise: Callable[[AudioFrame], Sequence[Word]] | None = None) -> Speech:
    """Decode any audio file and find its phone timings: the given transcript laid over the
    voiced audio, or the words `recognise` (a speech recogniser, handed in: the face knows no
    speech backend) hears, refined on the audio."""
    audio16 = decode_audio(path, 16000)
    feat = analyse(audio16)
    if not feat.voiced.any():
        phones: list[Phoneme] = []
    elif transcript is not None and transcript.strip():
        phones = align.from_transcript(transcript, feat)
    elif recognise is not None:
        phones = align.from_words(list(recognise(audio16)), feat)
    else:
        raise InputError("this audio needs a transcript or a speech recogniser")
    return Speech(audio16, tuple(phones), feat)


def make_renderer(rig: Rig, backend: str = "cpu") -> Callable[[np.ndarray], np.ndarray]:
    if not rig.consent_id or not is_active(rig.consent_id):
        raise ConsentError(f"consent {rig.consent_id or '(none)'} is missing or revoked; "
                           "refusing to render")
    if backend == "cpu":
        from companion.face.render import CpuRenderer

        return CpuRenderer(rig).render
    if backend == "torch":
        from companion.face.render_torch import TorchRenderer

        tr = TorchRenderer(rig)
        return lambda p: tr.render_batch(p[None])[0]
    raise InputError(f"unknown render backend {backend!r}", "choose cpu or torch")


def plan(speech: Speech | None, duration: float, opts: RenderOptions) -> np.ndarray:
    n = max(1, math.ceil(duration * opts.fps))
    if speech is None:
        return generate(n, opts.fps, opts.controls)
    return generate(n, opts.fps, opts.controls, speech.phonemes, speech.features)


def frames(rig: Rig, params: np.ndarray, opts: RenderOptions,
           mark: bool = False) -> Iterator[np.ndarray]:
    """Rendered frames; `mark` adds the invisible watermark with the consent id (exports)."""
    render = make_renderer(rig, opts.backend)
    for p in params:
        img = render(p)
        if opts.label:
            draw_label(img)
        yield watermark.embed(img, rig.consent_id) if mark else img


def write_mp4(rig: Rig, speech: Speech | None, params: np.ndarray, out: str | Path,
              opts: RenderOptions, progress: bool = False,
              description: str | None = None) -> Path:
    """An export: labelled (unless opts say not), watermarked and signed; `description` says
    in the manifest what made it when it was not speech (a reenactment)."""
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise InputError(f"output must end in .mp4: {out}")
    it = frames(rig, params, opts, mark=True)
    if progress and len(params) > opts.fps:
        from tqdm import tqdm

        it = tqdm(it, total=len(params), unit="frame", desc="render", leave=False)
    try:
        with Mp4Writer(out, rig.size, opts.fps, consent_id=rig.consent_id,
                       description=description) as w:
            if speech is not None:
                w.write_audio(resample(speech.audio, 48000))
            else:
                silence = np.zeros(int(48000 * len(params) / opts.fps), np.float32)
                w.write_audio(AudioFrame(samples=silence, sample_rate=48000))
            for i, img in enumerate(it):
                if i and i % opts.fps == 0:
                    _still_consented(rig)  # every second of output
                w.write_frame(img)
            _still_consented(rig)  # and at the end, before the manifest is signed
    except ConsentError:
        out.unlink(missing_ok=True)  # a revoked portrait leaves no partial export behind
        raise
    return out


def _still_consented(rig: Rig) -> None:
    if not is_active(rig.consent_id):
        raise ConsentError(f"consent {rig.consent_id} was revoked during the export; the "
                           "partial file was deleted")


def write_still(rig: Rig, params: np.ndarray, at: float, out: str | Path,
                opts: RenderOptions) -> Path:
    idx = int(at * opts.fps)
    if not 0 <= idx < len(params):
        raise InputError(f"--at {at} is outside the clip (0 … {len(params) / opts.fps:.2f} s)")
    img = next(frames(rig, params[idx: idx + 1], opts, mark=True))
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out), cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
        raise InputError(f"cannot write image {out} (use .png or .jpg)")
    return out
