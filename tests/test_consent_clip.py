"""Consent clips for real people, checked with real models on real photographs: the phrase and
its one-time code (Whisper), the face (dlib against a different photo of the same man), liveness
(MediaPipe). See tests/consent_clips.py for how the clips are made."""

from __future__ import annotations

import itertools
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from companion.consent.identity import THRESHOLD, distance, identity
from companion.consent.phrase import ACTIONS
from companion.consent.registry import ConsentRegistry
from companion.errors import ConsentError, FaceError, InputError
from companion.face import engine
from companion.face.image import load_image, load_image_bytes
from companion.face.rig import Rig, build_rig
from companion.output.mp4 import rewrite_frames
from companion.wiring import consent_tools
from tests.conftest import run_cli
from tests.consent_clips import export_clip, person_rig, spoken_phrase, write_clip

TOOLS = consent_tools()  # the face checks and recogniser consent is handed (as the wiring does)


@pytest.fixture(scope="module")
def obama(data: Path) -> Rig:
    return person_rig(data / "obama2.jpg")  # the portrait under consent is obama.jpg


@pytest.fixture(scope="module")
def biden(data: Path) -> Rig:
    return person_rig(data / "biden.jpg")


@pytest.fixture
def registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ConsentRegistry:
    # Codes are random in use; here they are fixed, so a test's outcome does not depend on
    # which digits the small recogniser happened to get (how often it hears a random code is
    # `companion bench consent`'s measurement, not a test's).
    codes = itertools.cycle(["4719", "2836", "5184", "6295"])
    monkeypatch.setattr("companion.consent.phrase.new_code", lambda: next(codes))
    return ConsentRegistry(tmp_path / "data")


def _nothing_stored(reg: ConsentRegistry) -> None:
    assert reg.records() == []
    assert not list((reg.root / "portraits").iterdir())
    assert not list((reg.root / "clips").iterdir())


def test_threshold_separates_same_and_different_people(data: Path) -> None:
    faces = {n: identity().describe_one(load_image(data / f).rgb)
             for n, f in [("obama", "obama.jpg"), ("obama2", "obama2.jpg"),
                          ("biden", "biden.jpg")]}
    pair = identity().describe(load_image(data / "two_people.jpg").rgb)
    assert len(pair) == 2
    same = [distance(faces["obama"], faces["obama2"])]
    diff = [distance(faces["obama"], faces["biden"]), distance(faces["obama2"], faces["biden"])]
    # two_people.jpg holds one of each: each of its faces matches exactly one of the singles
    for f in pair:
        d_o, d_b = distance(f, faces["obama"]), distance(f, faces["biden"])
        same.append(min(d_o, d_b))
        diff.append(max(d_o, d_b))
    assert max(same) < THRESHOLD < min(diff), (same, diff)
    assert min(diff) - max(same) > 0.3  # a wide gap, not a lucky split


def test_same_person_clip_is_accepted_then_revoked(obama: Rig, data: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    home = str(tmp_path / "cli")  # the user's consent registry, used through the CLI
    r = run_cli("consent", "challenge", "--name", "Barack", COMPANION_DATA=home)
    assert r.returncode == 0, r.stderr
    challenge = r.stdout.split()[0]
    phrase = r.stdout.split('"')[1]
    code = phrase.rsplit("Code", 1)[1].replace(" ", "").strip(".")
    assert phrase.startswith("I, Barack, agree") and len(code) == 4
    # the action is announced with the code, at random; the "person" does what is asked
    action = next(k for k, text in ACTIONS.items() if f"still on camera: {text}." in r.stdout)
    clip = write_clip(obama, spoken_phrase("Barack", code), tmp_path / "consent.mp4",
                      action=action)
    portrait = str(data / "obama.jpg")
    r = run_cli("consent", "record", portrait, "--challenge", challenge, "--clip", str(clip),
                COMPANION_DATA=home)
    assert r.returncode == 0, r.stderr
    rid = r.stdout.split()[0]
    # the record keeps who, what, the hashes and every check's score
    reg = ConsentRegistry(tmp_path / "cli")
    d = reg.details(rid)
    checks = json.loads(d["checks"])["clip"]
    assert d["category"] == "real-person" and d["subject"] == "Barack"
    assert d["image_sha256"] == load_image(portrait).sha256 and len(d["clip_sha256"]) == 64
    assert checks["code_heard"] and checks["face_distance"] < THRESHOLD
    assert checks["mouth_range"] > 0.2 and checks["action"] == action
    # the code was for one clip
    r = run_cli("consent", "record", portrait, "--challenge", challenge, "--clip", str(clip),
                COMPANION_DATA=home)
    assert r.returncode == 2 and "already been used" in r.stderr
    # the consented portrait animates
    monkeypatch.setenv("COMPANION_DATA", home)
    img = load_image(portrait)
    rig = build_rig(img, reg.get(rid))
    engine.make_renderer(rig)(engine.plan(None, 0.04, engine.RenderOptions())[0])
    stored = [p for p in (tmp_path / "cli").rglob(f"{rid}.*")]
    assert {p.suffix for p in stored} == {".png", ".npy", ".mp4"}
    # revoking deletes the portrait, its embedding and the clip; the engine refuses
    removed = reg.revoke(rid, tools=TOOLS)
    assert set(stored) <= set(removed) and not any(p.exists() for p in stored)
    with pytest.raises(ConsentError, match="revoked"):
        engine.make_renderer(rig)
    with pytest.raises(ConsentError, match="revoked"):
        build_rig(img, reg.get(rid))
    assert reg.verify_audit().ok
    # the red-team's follow-up: the same photo, or another of the same man, typed in as
    # "artwork" right after he revoked
    for photo in ("obama.jpg", "obama2.jpg"):
        with pytest.raises(ConsentError, match="cannot be attested"):
            reg.attest(load_image(data / photo), "artwork", "a public-domain painting",
                       tools=TOOLS, allowed=True)


def _refused(reg: ConsentRegistry, data: Path, clip: Path, challenge: str, match: str,
             now: float | None = None) -> None:
    with pytest.raises(ConsentError, match=match):
        reg.consent_from_clip(load_image(data / "obama.jpg"), challenge, clip, now=now,
                              tools=TOOLS)
    _nothing_stored(reg)


def test_different_person_is_refused(biden: Rig, registry: ConsentRegistry, data: Path,
                                     tmp_path: Path) -> None:
    ch = registry.issue_challenge("Barack")
    clip = write_clip(biden, spoken_phrase("Barack", ch.code), tmp_path / "c.mp4",
                      action=ch.action)
    _refused(registry, data, clip, ch.challenge_id, "not the face in the portrait")
    # the refusal is in the audit log, with its scores
    row = registry.audit_log()[-1]
    assert row["action"] == "consent-refused" and row["record_id"] == ch.challenge_id
    detail = json.loads(row["detail"])["checks"]
    assert detail["face_distance"] > THRESHOLD and detail["code_heard"]


def test_wrong_code_is_refused(obama: Rig, registry: ConsentRegistry, data: Path,
                               tmp_path: Path) -> None:
    ch = registry.issue_challenge("Barack")
    wrong = "".join(str((int(c) + 5) % 10) for c in ch.code)
    clip = write_clip(obama, spoken_phrase("Barack", wrong), tmp_path / "c.mp4",
                      action=ch.action)
    _refused(registry, data, clip, ch.challenge_id, "code was not heard")


def test_expired_code_is_refused(obama: Rig, registry: ConsentRegistry, data: Path,
                                 tmp_path: Path) -> None:
    ch = registry.issue_challenge("Barack", now=time.time() - 400)  # issued 6m40s ago
    clip = write_clip(obama, spoken_phrase("Barack", ch.code), tmp_path / "c.mp4",
                      action=ch.action)
    _refused(registry, data, clip, ch.challenge_id, "expired")
    # and it stays closed
    _refused(registry, data, clip, ch.challenge_id, "already been used")


def test_still_photo_is_refused(obama: Rig, registry: ConsentRegistry, data: Path,
                                tmp_path: Path) -> None:
    ch = registry.issue_challenge("Barack")
    clip = write_clip(obama, spoken_phrase("Barack", ch.code), tmp_path / "c.mp4", still=True)
    _refused(registry, data, clip, ch.challenge_id, "does not move")


def test_the_announced_action_must_be_done(obama: Rig, registry: ConsentRegistry, data: Path,
                                           tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # a clip prepared in advance does some action; the challenge asks for another
    asked = iter(["turn-left", "blink-twice"])
    monkeypatch.setattr("companion.consent.phrase.new_action", lambda: next(asked))
    ch = registry.issue_challenge("Barack")
    clip = write_clip(obama, spoken_phrase("Barack", ch.code), tmp_path / "c.mp4",
                      action="turn-right")
    _refused(registry, data, clip, ch.challenge_id, "did not turn to the left")
    # blinks on their own, every few seconds, are not "blink twice"
    ch = registry.issue_challenge("Barack")
    clip = write_clip(obama, spoken_phrase("Barack", ch.code), tmp_path / "c2.mp4")
    _refused(registry, data, clip, ch.challenge_id, "did not blink twice in a row")
    detail = json.loads(registry.audit_log()[-1]["detail"])["checks"]
    assert detail["action"] == "blink-twice" and detail["blinks"] >= 1


def test_clip_made_with_companion_is_refused(obama: Rig, registry: ConsentRegistry,
                                             data: Path, tmp_path: Path) -> None:
    # the red team's clip: the photo animated by companion, a synthetic voice reading the
    # phrase with its code, the asked action done, exported as `say` exports
    ch = registry.issue_challenge("Barack")
    text = spoken_phrase("Barack", ch.code)
    made = export_clip(obama, text, tmp_path / "say.mp4", ch.action, label=True)
    with pytest.raises(ConsentError) as e:
        registry.consent_from_clip(load_image(data / "obama.jpg"), ch.challenge_id, made,
                                   tools=TOOLS)
    for mark in ("invisible watermark", "'AI-generated' label", "C2PA manifest"):
        assert mark in str(e.value), str(e.value)
    assert "not the face" not in str(e.value) and "code was not heard" not in str(e.value)
    # without the label (--no-label), scaled down and re-encoded at x264's default quality,
    # which drops the manifest: the watermark is still there (read scaled back to 512²; both
    # at once at CRF 26 lose it on this photograph: README)
    ch = registry.issue_challenge("Barack")
    made = export_clip(obama, spoken_phrase("Barack", ch.code), tmp_path / "nolabel.mp4",
                       ch.action, label=False)
    copy = rewrite_frames(made, tmp_path / "copy.mp4",
                          lambda rgb: cv2.resize(rgb, (384, 384), interpolation=cv2.INTER_AREA),
                          crf=23, size=(384, 384))
    _refused(registry, data, copy, ch.challenge_id, "invisible watermark")
    _nothing_stored(registry)


def test_broken_input_is_refused_without_spending_the_code(registry: ConsentRegistry,
                                                            data: Path, tmp_path: Path) -> None:
    ch = registry.issue_challenge("Barack")
    portrait = load_image(data / "obama.jpg")
    noise = np.random.default_rng(0)
    for name, content in [("empty.webm", b""), ("noise.webm", noise.bytes(5000)),
                          ("text.mp4", b"I agree, honestly\n" * 50)]:
        (tmp_path / name).write_bytes(content)
        with pytest.raises(InputError, match="consent clip"):
            registry.consent_from_clip(portrait, ch.challenge_id, tmp_path / name, tools=TOOLS)
    # a portrait without a face is refused before the clip is even read
    blank = load_image_bytes(cv2.imencode(".png", np.full((200, 200, 3), 90, np.uint8))[1]
                             .tobytes(), "blank.png")
    with pytest.raises(FaceError):
        registry.consent_from_clip(blank, ch.challenge_id, tmp_path / "text.mp4", tools=TOOLS)
    with pytest.raises(ConsentError, match="unknown consent phrase"):
        registry.consent_from_clip(portrait, "k_nope", tmp_path / "text.mp4", tools=TOOLS)
    _nothing_stored(registry)
    # the code is still good for a real attempt
    assert registry.db.execute("SELECT used FROM challenges").fetchone()[0] is None


@pytest.mark.parametrize("heard, ok", [
    ("I, Barack, agree that my face may be animated by companion. Code 4 7 1 9.", True),
    ("I Barak agree that my face may be animated by companion code 4719", True),
    ("I, Barack, agree that my face may be animated by Companion. Code four seven one nine.",
     True),
    ("I barrack agree my face may be animated by companion. Code, for 7, 1, 9.", True),
    ("I, Barack, agree that my face may be animated by companion. Code 4,719.", True),
    ("I, Barack, agree that my face may be animated by companion. Code 4 7 9 1.", False),
    ("I, Barack, agree that my face may be animated by companion.", False),
    ("I do not agree to anything. Code 4 7 1 9.", False),
    ("", False),
])
def test_phrase_matching_is_tolerant_but_needs_the_code(heard: str, ok: bool) -> None:
    from companion.consent.phrase import match

    assert match(heard, "Barack", "4719").ok is ok
