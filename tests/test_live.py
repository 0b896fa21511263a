"""The live face stream: idle motion, queued speech with its audio, barge-in."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np

from companion.face.engine import RenderOptions
from companion.face.live import LiveFace
from companion.face.rig import Rig
from companion.frames import AudioFrame, Phoneme, SpeechSegment


def _segment(seconds: float, text: str, rate: int = 22050) -> SpeechSegment:
    t = np.arange(int(seconds * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 150 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)))
    words = text.split()
    step = seconds / (2 * len(words))
    phones = []
    for i in range(2 * len(words)):
        phones.append(Phoneme("m" if i % 2 == 0 else "ɑ", i * step, (i + 1) * step))
    return SpeechSegment(audio=AudioFrame(samples=tone.astype(np.float32), sample_rate=rate),
                         phonemes=tuple(phones), text=text)


def test_idle_stream_moves_and_is_silent(mona: Rig) -> None:
    live = LiveFace(mona, RenderOptions(label=False))
    frames = [live.next_frame() for _ in range(50)]
    assert [f.video.index for f in frames] == list(range(50))
    assert all(not f.speaking and not f.audio.samples.any() for f in frames)
    assert all(not np.array_equal(a.video.image, b.video.image)
               for a, b in itertools.pairwise(frames))
    assert sum(len(f.audio.samples) for f in frames) == 2 * 22050  # 2 s of audio clock


def test_speech_plays_back_to_back_with_its_audio(mona: Rig) -> None:
    live = LiveFace(mona, RenderOptions(label=False))
    for _ in range(5):
        live.next_frame()
    a, b = _segment(1.0, "one two"), _segment(0.6, "three")
    live.push_audio(a)
    live.push_audio(b)
    assert abs(live.buffered_seconds - 1.6) < 0.05
    frames = [live.next_frame() for _ in range(60)]
    spoken = [f for f in frames if f.speaking]
    assert 39 <= len(spoken) <= 41  # 1.6 s at 25 fps
    audio = np.concatenate([f.audio.samples for f in frames])
    expected = np.concatenate([a.audio.samples, b.audio.samples])
    assert np.allclose(audio[: len(expected)], expected, atol=1e-6)
    assert not audio[len(expected) + 10:].any()
    assert live.state == "listening" and not live.speaking


def test_clear_buffer_stops_at_once_and_reports_what_was_heard(mona: Rig) -> None:
    live = LiveFace(mona, RenderOptions(label=False))
    first, second = _segment(2.0, "a long first sentence here"), _segment(1.0, "never heard")
    live.push_audio(first)
    live.push_audio(second)
    for _ in range(25):  # one second in
        live.next_frame()
    heard = live.clear_buffer()
    assert len(heard) == 1 and heard[0].segment is first
    assert abs(heard[0].seconds - 1.0) < 0.05 and not heard[0].complete
    assert heard[0].words() in ("a long", "a long first")
    after = live.next_frame()
    assert not after.speaking and not after.audio.samples.any()


def test_the_report_names_whole_segments_already_played_and_only_the_reply_asked_for(
        mona: Rig) -> None:
    """Segments that played to their end have left the queue, but they were heard: the report
    of an interruption includes them, and leaves out an earlier reply's speech."""
    live = LiveFace(mona, RenderOptions(label=False))
    old, first, second = _segment(0.4, "old reply"), _segment(0.4, "hello there"), \
        _segment(1.0, "and then more words")
    live.push_audio(old, tag=1)
    live.push_audio(first, tag=2)
    live.push_audio(second, tag=2)
    for _ in range(30):  # 1.2 s: both short ones done, 0.4 s into the long one
        live.next_frame()
    heard = live.clear_buffer(tag=2)
    assert [h.segment for h in heard] == [first, second]
    assert heard[0].complete and heard[0].words() == "hello there"
    assert abs(heard[1].seconds - 0.4) < 0.05 and not heard[1].complete
    assert live.clear_buffer(tag=2) == []  # reported once


def test_async_frames_unpaced(mona: Rig) -> None:
    live = LiveFace(mona, RenderOptions(label=False))

    async def take(n: int) -> list[int]:
        out = []
        async for f in live.frames(realtime=False):
            out.append(f.video.index)
            if len(out) == n:
                live.close()
        return out

    assert asyncio.run(take(10)) == list(range(10))


def test_listening_nods_and_thinking_gaze(mona: Rig) -> None:
    from companion.face.params import INDEX

    live = LiveFace(mona, RenderOptions(label=False))
    idle = np.stack([live._idle_params(i) for i in range(140)])
    live.set_state("listening")
    listening = np.stack([live._idle_params(i) for i in range(140)])
    nod = listening[:, INDEX["pitch"]] - idle[:, INDEX["pitch"]]
    assert nod.max() > 0.02 and (nod > 0.01).sum() >= 3  # at least one visible nod
    live.set_state("thinking")
    thinking = live._idle_params(10)
    assert thinking[INDEX["gaze_x"]] > 0.3 and thinking[INDEX["gaze_y"]] < -0.2


def test_thinking_renders_every_other_frame_and_speech_every_frame(mona: Rig) -> None:
    live = LiveFace(mona, RenderOptions(label=False))
    live.next_frame()
    live.set_state("thinking")
    thinking = [live.next_frame() for _ in range(10)]
    # the clock and the audio keep the full rate; every other picture is the one before
    assert [f.video.index for f in thinking] == list(range(1, 11))
    assert [f.repeat for f in thinking] == [i % 2 == 1 for i in range(1, 11)]
    for prev, f in itertools.pairwise(thinking):
        assert np.array_equal(prev.video.image, f.video.image) == f.repeat
    live.push_audio(_segment(0.6, "hello there"))
    spoken = [live.next_frame() for _ in range(12)]
    assert all(f.speaking and not f.repeat for f in spoken)
    assert all(not np.array_equal(a.video.image, b.video.image)
               for a, b in itertools.pairwise(spoken))
