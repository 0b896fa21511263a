"""A scripted conversation from real speech through the real embedded models.

The recording is fed on a scripted timeline (`--fast`: each chunk waits until recognition and the
reply have caught up, so compute counts as instant): what is asserted is the behaviour — every
turn heard, answered in full, recorded in sync — which must not depend on how fast this machine
is. How fast it is, is measured by `companion bench latency` and `companion bench browser`."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from companion.audio.io import decode_audio, resample
from companion.tts import make_tts
from tests.conftest import run_cli, write_wav


def _user_voice(text: str) -> np.ndarray:
    # The user speaks with espeak's voice, the avatar with piper's: two different voices.
    return resample(make_tts("espeak").synthesize(text).audio, 16000).samples


def test_scripted_conversation_end_to_end(data: Path, tmp_path: Path) -> None:
    silence = lambda s: np.zeros(int(s * 16000), np.float32)  # noqa: E731
    jfk = decode_audio(data / "jfk.flac", 16000).samples
    script = [silence(0.5), _user_voice("Hi Mona! How are you today?"), silence(12.0),
              jfk[int(0.2 * 16000): int(2.5 * 16000)], silence(12.0),
              _user_voice("Thank you. Goodbye!"), silence(1.0)]
    wav = write_wav(tmp_path / "conversation.wav", np.concatenate(script))
    out = tmp_path / "chat.mp4"
    r = run_cli("chat", "--input", str(wav), "-o", str(out), "--max-tokens", "40", "--fast",
                timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    doc = json.loads(out.with_suffix(".json").read_text())
    turns = doc["turns"]
    assert len(turns) == 3, turns
    users = [t["user"].lower() for t in turns]
    assert "how are you" in users[0]
    assert "americans" in users[1]  # the recogniser heard the real recording
    assert "goodbye" in users[2] or "good bye" in users[2]
    # On the scripted timeline nobody speaks over the avatar: every reply is complete, was
    # heard, and its timings are in order.
    for t in turns:
        assert not t["failed"] and not t["interrupted"], t
        assert any(ch.isalpha() for ch in t["reply"]), t  # "Goodbye!" is a whole reply
        lat = t["latency_s"]
        assert 0 <= lat["stt_done"] <= lat["llm_first_token"] <= lat["first_audio"], t
    # the mp4 has the avatar and both voices, in sync
    with av.open(str(out)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        assert v.codec_context.width == 512 and a.codec_context.name == "aac"
        frames = sum(1 for _ in c.decode(video=0))
        vdur = frames / float(v.average_rate or 25)
    with av.open(str(out)) as c:  # the audio's own length, from its decoded samples
        adur = sum(f.samples / f.sample_rate for f in c.decode(audio=0))
    assert vdur > 25.0  # at least as long as the recording
    assert abs(vdur - adur) < 0.5
    # an export like any other: watermarked (added after the conversation) and signed
    from companion.consent.verify import verify_file

    report = verify_file(out)
    assert report.watermark and report.consent_id == "bundled:mona-lisa" and report.c2pa_valid
    assert not list(tmp_path.glob("*.unmarked.mp4"))
