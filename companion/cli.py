"""`companion` command line: say, render, models, doctor, bench."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from companion.config import Settings, load_settings
from companion.errors import CompanionError


def _face_args(p: argparse.ArgumentParser, output: bool = True) -> None:
    p.add_argument("--avatar", default="mona-lisa", help="bundled avatar name or image path")
    p.add_argument("--attest", help="for an image path: 'artwork: …' or 'synthetic: …'")
    p.add_argument("--face", type=int, help="which face when the image shows several (0 = largest)")
    p.add_argument("-o", "--output", required=output,
                   help="output .mp4 (or .png/.jpg with --at)")
    p.add_argument("--at", type=float, help="write one still frame at this time (seconds)")
    p.add_argument("--fps", type=int, default=25, choices=(25, 30, 40))
    p.add_argument("--size", type=int, default=512, choices=(256, 512, 1024))
    p.add_argument("--emotion", default="neutral")
    p.add_argument("--gaze", type=float, nargs=2, default=(0.0, 0.0), metavar=("X", "Y"))
    p.add_argument("--distance", type=float, default=1.0)
    p.add_argument("--intensity", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--backend", default="cpu", choices=("cpu", "torch"))
    p.add_argument("--no-label", action="store_true", help="omit the visible AI-generated label")


def _options(a: argparse.Namespace) -> object:
    from companion.face.engine import RenderOptions
    from companion.face.motion import MotionControls

    controls = MotionControls(gaze=(a.gaze[0], a.gaze[1]), distance=a.distance,
                              emotion=a.emotion, intensity=a.intensity, seed=a.seed)
    return RenderOptions(fps=a.fps, label=not a.no_label, backend=a.backend,
                         controls=controls).validate()


def _rig(a: argparse.Namespace) -> object:
    from companion.avatars import resolve
    from companion.face.rig import build_rig
    from companion.wiring import consent_tools

    av = resolve(a.avatar, a.attest, consent_tools())
    return build_rig(av.image, av.consent, size=a.size, face=a.face)


def _finish(a: argparse.Namespace, rig: object, speech: object, opts: object) -> None:
    from companion.face import engine

    assert isinstance(opts, engine.RenderOptions)
    duration = speech.duration if isinstance(speech, engine.Speech) else 0.0
    sp = speech if isinstance(speech, engine.Speech) else None
    params = engine.plan(sp, duration, opts)
    if a.at is not None:
        out = engine.write_still(rig, params, a.at, a.output, opts)  # type: ignore[arg-type]
    else:
        out = engine.write_mp4(rig, sp, params, a.output, opts,  # type: ignore[arg-type]
                               progress=sys.stderr.isatty())
    print(f"wrote {out} ({len(params)} frames, {duration:.2f} s)")


def cmd_say(a: argparse.Namespace) -> None:
    from companion.face import engine
    from companion.tts import make_tts

    opts = _options(a)
    rig = _rig(a)
    seg = make_tts(a.voice).synthesize(a.text)
    _finish(a, rig, engine.speech_from_segment(seg), opts)


def cmd_render(a: argparse.Namespace) -> None:
    from companion.face import engine

    opts = _options(a)
    rig = _rig(a)
    recognise = None
    if not a.transcript:
        from companion.stt import make_stt

        recognise = make_stt(_settings(a).stt).words
    speech = engine.speech_from_file(a.audio, a.transcript, recognise)
    _finish(a, rig, speech, opts)


def cmd_reenact(a: argparse.Namespace) -> None:
    from companion.face import driver, engine, reenact

    track = driver.track(a.driver)  # a bad driver fails before the portrait's rig is built
    fps = a.fps or min(engine.FPS_CHOICES, key=lambda f: abs(f - track.fps))
    opts = engine.RenderOptions(fps=fps, label=not a.no_label, backend=a.backend).validate()
    rig = _rig(a)
    params = reenact.plan(track, rig, fps, a.intensity, a.neutral_at)  # type: ignore[arg-type]
    out = reenact.write(rig, track, params, a.output, opts,  # type: ignore[arg-type]
                        progress=sys.stderr.isatty())
    lost = int((~track.found).sum())
    print(f"wrote {out} ({len(params)} frames at {fps} FPS, {track.duration:.2f} s; driver face "
          f"lost in {lost} of {len(track.found)} frames; "
          f"{'driver sound kept' if track.audio is not None else 'driver has no sound'})")


def _settings(a: argparse.Namespace, **flags: Any) -> Settings:
    """The settings file and environment, with the flags this command was given on top."""
    return load_settings(a.config, **flags)


def cmd_chat(a: argparse.Namespace) -> None:
    import asyncio

    from companion.errors import InputError
    from companion.wiring import load_models, new_session

    settings = _settings(a, avatar=a.avatar, persona=a.persona, llm=a.llm, stt=a.stt,
                         voice=a.voice, max_tokens=a.max_tokens, silence_ms=a.silence_ms,
                         barge_in_ms=a.barge_in_ms, turn=a.turn,
                         label=False if a.no_label else None)
    if not a.mic and not a.input:
        raise InputError("chat needs --input FILE (a recording) or --mic")
    if a.input:
        from companion.audio.io import decode_audio

        decode_audio(a.input, 16000)  # a broken file fails here, before any model loads
    session, live = new_session(load_models(settings, warm=False), settings, attest=a.attest)
    if a.mic:
        from companion.local.mic import run_mic_chat

        asyncio.run(run_mic_chat(session, live, show=bool(os.environ.get("DISPLAY"))))
        return
    from companion.local.filechat import run_file_chat

    result = asyncio.run(run_file_chat(session, live, Path(a.input), Path(a.output),
                                       realtime=not a.fast))
    for t in result.turns:
        flag = " (interrupted)" if t["interrupted"] else ""
        print(f"user: {t['user']}\n{session.persona.name}: {t['heard'] or t['reply']}{flag}")
    print(f"wrote {result.mp4} and {result.transcript}")


def cmd_serve(a: argparse.Namespace) -> None:
    import uvicorn

    from companion.errors import InputError
    from companion.server.app import Hub, ServerConfig, create_app, session_maker
    from companion.server.protocol import UVICORN_WS
    from companion.wiring import load_models

    settings = _settings(a, host=a.host, port=a.port, token=a.token, llm=a.llm, stt=a.stt,
                         voice=a.voice, max_tokens=a.max_tokens, max_sessions=a.max_sessions,
                         turn=a.turn, attestation=a.attestation)
    if not settings.local and not settings.token:
        raise InputError(f"--host {settings.host} opens the server beyond this computer",
                         "give an access token with --token (the page then needs ?token=...)")
    print("loading models…", flush=True)
    models = load_models(settings)
    hub = Hub(make=session_maker(models, settings), info={"llm": models.llm.name},
              release=models.release_memory)
    app = create_app(hub, ServerConfig.from_settings(settings))
    print(f"companion is live at http://{settings.host}:{settings.port}/", flush=True)
    if not settings.attestation_allowed:
        print("consent: recorded consent clips only (attestation is off)", flush=True)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning",
                    **UVICORN_WS)
    finally:
        models.llm.close()


def cmd_config(a: argparse.Namespace) -> None:
    from companion.config import config_file, describe

    path = config_file(a.config)
    print(f"# settings file: {path or 'none (defaults and COMPANION_* environment)'}")
    for name, value, doc in describe(load_settings(a.config)):
        print(f"{name:16} = {value:28} # {doc}")


def cmd_consent(a: argparse.Namespace) -> None:
    import json

    from companion.consent.registry import ConsentRegistry
    from companion.face.image import load_image
    from companion.wiring import consent_tools

    tools = consent_tools()
    with ConsentRegistry() as reg:
        if a.action == "attest":
            if not a.target or not a.category or not a.statement:
                raise CompanionError("consent attest IMAGE --category artwork|synthetic "
                                     "--statement TEXT")
            rec = reg.attest(load_image(a.target), a.category, a.statement, tools=tools)
            print(f"{rec.consent_id}  {rec.category}  {rec.statement}")
        elif a.action == "challenge":
            if not a.name:
                raise CompanionError("consent challenge --name NAME (the person who will speak)")
            ch = reg.issue_challenge(a.name)
            minutes = (ch.expires - time.time()) / 60
            print(f"{ch.challenge_id}\n"
                  f"The person records themselves on camera, face visible, saying:\n"
                  f"  \"{ch.phrase}\"\n"
                  f"and then, still on camera: {ch.action_text}.\n"
                  f"The code is valid for {minutes:.0f} minutes and for one clip. Then run:\n"
                  f"  companion consent record PORTRAIT --challenge {ch.challenge_id} "
                  f"--clip VIDEO")
        elif a.action == "record":
            if not a.target or not a.challenge or not a.clip:
                raise CompanionError("consent record PORTRAIT --challenge ID --clip VIDEO")
            rec = reg.consent_from_clip(load_image(a.target), a.challenge, Path(a.clip),
                                        tools=tools)
            checks = json.loads(reg.details(rec.consent_id)["checks"])["clip"]
            print(f"{rec.consent_id}  real-person  consent recorded")
            print(f"heard: {checks['transcript']!r} (phrase {checks['phrase_score']:.0%}, code "
                  f"heard); face distance {checks['face_distance']} (< {checks['threshold']}); "
                  f"mouth range {checks['mouth_range']}, blinks {checks['blinks']}, head "
                  f"turned left {checks['turn_left']} / right {checks['turn_right']} "
                  f"(asked: {checks['action']})")
        elif a.action == "list":
            for rec in reg.records():
                state = "REVOKED" if rec.revoked else "active"
                print(f"{rec.consent_id}  {state:8} {rec.category:10} {rec.statement[:60]}")
        elif a.action == "show":
            print(json.dumps(reg.details(a.target or ""), indent=2, default=str))
        elif a.action == "revoke":
            removed = reg.revoke(a.target or "", tools=tools)
            print(f"revoked {a.target}; deleted {len(removed)} file(s)")
        elif a.action == "audit":
            check = reg.verify_audit()
            for row in reg.audit_log():
                print(f"{row['seq']:5} {row['action']:15} {row['record_id']}  "
                      f"{row['hash'][:16]}")
            if not check.ok:
                where = f" at row {check.first_bad}" if check.first_bad is not None else ""
                raise CompanionError(f"audit failed{where}: {check.reason}")
            print(f"audit chain intact ({check.rows} rows), every record verifies")
        elif a.action == "sign-avatar":
            _sign_avatar(Path(a.target or "."))


def _sign_avatar(folder: Path) -> None:
    """Sign an avatar folder's provenance with this installation's key, after checking that
    the image is the one it names: only then does a folder outside the package count."""
    import json

    from companion import atomic
    from companion.consent.bundled import sign
    from companion.face.image import load_image

    prov_path = folder / "provenance.json"
    try:
        prov = json.loads(prov_path.read_text())
        img = load_image(folder / Path(prov["file"]).name)
    except (OSError, ValueError, KeyError, TypeError):
        raise CompanionError(f"no readable provenance.json naming an image in {folder}") from None
    if img.sha256 != prov.get("sha256"):
        raise CompanionError(f"{prov['file']} is not the image its provenance names "
                             f"(sha256 {img.sha256[:16]}…)")
    atomic.write_bytes(prov_path, (json.dumps(sign(prov), indent=2, ensure_ascii=False)
                                   + "\n").encode())
    print(f"signed {prov_path} ({prov.get('category')}: {prov.get('statement')})")


def cmd_verify(a: argparse.Namespace) -> None:
    from companion.consent.verify import verify_file

    report = verify_file(a.file)
    print("\n".join(report.lines()))


def cmd_models(a: argparse.Namespace) -> None:
    from companion import models

    print(f"{'model':32} {'installed':9} {'verified':8} {'size':>9}  package "
          "(optional models are marked *)")
    for s in models.REGISTRY:
        st = models.status(s, check_hashes=not a.fast)
        size = f"{st.size_bytes / 1e6:.1f} MB" if st.size_bytes else "-"
        name = s.name if s.default else s.name + " *"
        print(f"{name:32} {'yes' if st.installed else 'NO':9} "
              f"{'yes' if st.verified else ('-' if a.fast else 'NO'):8} {size:>9}  "
              f"{s.requirement}")
        if st.problem:
            print(f"    fix: {st.problem}")


def cmd_doctor(a: argparse.Namespace) -> None:
    from companion.doctor import run_checks

    ok = run_checks()
    if not ok:
        raise SystemExit(1)


def cmd_bench(a: argparse.Namespace) -> None:
    from companion.bench.cli import run

    run(a)


def cmd_safety(a: argparse.Namespace) -> None:
    """`check`: one sentence a line on stdin → its risk category, or none. `train`: fit the
    second opinion on the sentence sets (a development step; the package ships the result)."""
    from companion.safety import detect

    if a.action == "train":
        from companion.safety.semantic import WEIGHTS
        from companion.safety.train import run as train

        train(Path(a.out) if a.out else Path(__file__).parent / "safety" / WEIGHTS)
        return
    for line in sys.stdin:
        if line.strip():
            risk = detect(line)
            print(risk.category if risk else "none", flush=True)


def cmd_aac(a: argparse.Namespace) -> None:
    """The communication aid: say words verbatim (to a file or live), move boards in and out."""
    from companion.aac.store import AACStore
    from companion.errors import InputError

    if a.action == "import":
        from companion.aac.board import read_board_file

        if not a.file:
            raise InputError("aac import needs a .obf or .obz file")
        path = Path(a.file)
        if not path.is_file():
            raise InputError(f"no such file: {path}")
        boards = read_board_file(path.name, path.read_bytes())
        with AACStore() as store:
            print(f"imported for {a.user}: {', '.join(store.save(a.user, boards))}")
    elif a.action == "export":
        from companion.aac.board import write_obz

        if not a.file:
            raise InputError("aac export needs a file name ending in .obf or .obz")
        with AACStore() as store:
            boards = [store.board(a.user, a.board)] if a.board else store.boards(a.user)
        out = Path(a.file)
        if out.suffix.lower() == ".obf":
            out.write_text(json.dumps(boards[0].to_obf(), indent=1), encoding="utf-8")
        else:
            out.write_bytes(write_obz(boards))
        print(f"wrote {out} ({', '.join(b.id for b in boards)})")
    elif a.say:
        if not a.output:
            raise InputError("aac --say needs -o OUT.mp4")
        a.text = a.say
        cmd_say(a)  # the same verbatim path: the voice, then the face
    else:
        _aac_live(a)


def _aac_live(a: argparse.Namespace) -> None:
    import asyncio

    from companion.aac.session import AACSession
    from companion.aac.store import AACStore
    from companion.local.aac_local import run_aac_local
    from companion.wiring import load_models, new_session

    settings = _settings(a, avatar=a.avatar, voice=a.voice,
                         label=False if a.no_label else None)
    session, live = new_session(load_models(settings, warm=False), settings, attest=a.attest,
                                mode="aac", user=a.user)
    assert isinstance(session, AACSession)
    with AACStore() as store:
        quick = store.quick(a.user)
    asyncio.run(run_aac_local(session, live, quick, show=bool(os.environ.get("DISPLAY"))))


def cmd_practice(a: argparse.Namespace) -> None:
    from companion.dialogue.scenario import DIFFICULTY, load_scenarios

    found = load_scenarios()
    for s in found.found.values():
        print(f"{s.key}: {s.title} — with {s.partner_name}, {DIFFICULTY[s.difficulty][0]}; "
              f"skills: {', '.join(k.name for k in s.skills)}")
    for problem in found.problems:
        print(f"not loaded: {problem}", file=sys.stderr)
    if found.problems:
        raise SystemExit(1)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="companion", description=__doc__)
    ap.add_argument("--config", help="settings file (TOML; default ~/.config/companion/"
                                     "config.toml; docs/settings.md)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("config", help="the settings in force and what each does")
    p.set_defaults(func=cmd_config)
    p = sub.add_parser("say", help="speak a sentence as the avatar → mp4")
    p.add_argument("text")
    p.add_argument("--voice", default="piper", choices=("piper", "espeak"))
    _face_args(p)
    p.set_defaults(func=cmd_say)
    p = sub.add_parser("aac", help="the communication aid: typed lines said by the avatar "
                                   "(live, or --say TEXT -o OUT.mp4); import|export boards")
    p.add_argument("action", nargs="?", choices=("live", "import", "export"), default="live")
    p.add_argument("file", nargs="?", help="the .obf or .obz to import or export")
    p.add_argument("--say", help="say these words verbatim into -o OUT.mp4")
    p.add_argument("--user", default="me", help="whose boards, phrases and history")
    p.add_argument("--board", help="export this board only")
    p.add_argument("--voice", default="piper", choices=("piper", "espeak"))
    _face_args(p, output=False)
    p.set_defaults(func=cmd_aac)
    p = sub.add_parser("render", help="lip-sync the avatar to an audio file → mp4")
    p.add_argument("--audio", required=True)
    p.add_argument("--transcript", help="what is said (skips speech recognition)")
    _face_args(p)
    p.set_defaults(func=cmd_render)
    p = sub.add_parser("reenact", help="drive the avatar with a video of a face → mp4")
    p.add_argument("--driver", required=True, help="video of one person's face (its sound is kept)")
    p.add_argument("--neutral-at", type=float,
                   help="time (s) of the driver's rest face (default: picked automatically)")
    p.add_argument("--avatar", default="mona-lisa", help="bundled avatar name or image path")
    p.add_argument("--attest", help="for an image path: 'artwork: …' or 'synthetic: …'")
    p.add_argument("--face", type=int, help="which face when the image shows several (0 = largest)")
    p.add_argument("-o", "--output", required=True, help="output .mp4")
    p.add_argument("--fps", type=int, choices=(25, 30, 40),
                   help="output frame rate (default: the nearest to the driver's)")
    p.add_argument("--size", type=int, default=512, choices=(256, 512, 1024))
    p.add_argument("--intensity", type=float, default=1.0, help="scale the driver's motion (0-2)")
    p.add_argument("--backend", default="cpu", choices=("cpu", "torch"))
    p.add_argument("--no-label", action="store_true", help="omit the visible AI-generated label")
    p.set_defaults(func=cmd_reenact)
    p = sub.add_parser("chat", help="a spoken conversation: a recording fed in real time, or "
                                    "the microphone")
    p.add_argument("--input", help="recording to feed as the microphone (any audio file)")
    p.add_argument("--mic", action="store_true", help="use the microphone (extra [mic])")
    p.add_argument("-o", "--output", default="out/chat.mp4",
                   help="mp4 of the conversation; the JSON transcript goes beside it")
    p.add_argument("--avatar")
    p.add_argument("--attest", help="for an image path: 'artwork: …' or 'synthetic: …'")
    p.add_argument("--persona")
    p.add_argument("--llm",
                   help="auto | embedded[:NAME] | llamacpp:FILE.gguf | transformers:DIR_OR_GGUF | "
                        "openai:MODEL")
    p.add_argument("--stt",
                   help="faster-whisper:tiny.en | faster-whisper:base | openai-whisper:FILE.pt")
    p.add_argument("--voice", choices=("piper", "espeak"))
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--silence-ms", type=int,
                   help="silence that ends a turn (with --turn silence)")
    p.add_argument("--turn", choices=("smart", "silence"),
                   help="smart: Smart Turn ends a finished turn after ~200 ms of silence and "
                        "waits for an unfinished one; silence: --silence-ms decides")
    p.add_argument("--barge-in-ms", type=int,
                   help="speech that counts as a turn (and interrupts the avatar)")
    p.add_argument("--fast", action="store_true",
                   help="do not pace the recording in real time (compute counts as instant)")
    p.add_argument("--no-label", action="store_true")
    p.set_defaults(func=cmd_chat)
    p = sub.add_parser("serve", help="the live avatar in the browser (the main job)")
    p.add_argument("--host", help="address to bind (default 127.0.0.1: this computer only)")
    p.add_argument("--port", type=int)
    p.add_argument("--token", help="access token (required when --host is not local)")
    p.add_argument("--attestation", choices=("auto", "allowed", "clips-only"),
                   help="may the page attest artwork/synthetic faces in writing? auto: on this "
                        "computer yes, served beyond it clips only")
    p.add_argument("--llm",
                   help="auto (a served model if one answers, else embedded) | "
                        "embedded[:NAME] | llamacpp:FILE.gguf | transformers:DIR_OR_GGUF | "
                        "openai:MODEL")
    p.add_argument("--stt")
    p.add_argument("--voice", choices=("piper", "espeak"))
    p.add_argument("--max-tokens", type=int)
    p.add_argument("--max-sessions", type=int)
    p.add_argument("--turn", choices=("smart", "silence"),
                   help="smart: Smart Turn ends a finished turn after ~200 ms of silence and "
                        "waits for an unfinished one; silence: --silence-ms decides")
    p.set_defaults(func=cmd_serve)
    p = sub.add_parser("consent", help="consent records: attest (artwork, synthetic faces), "
                       "challenge + record (a real person's consent clip), list, show, revoke, "
                       "audit, sign-avatar")
    p.add_argument("action", choices=("attest", "challenge", "record", "list", "show", "revoke",
                                      "audit", "sign-avatar"))
    p.add_argument("target", nargs="?",
                   help="image path (attest, record), record id (show, revoke) or an avatar "
                        "folder outside the package (sign-avatar)")
    p.add_argument("--category", choices=("artwork", "synthetic"))
    p.add_argument("--statement")
    p.add_argument("--name", help="challenge: the name the person will say")
    p.add_argument("--challenge", help="record: the id `consent challenge` printed")
    p.add_argument("--clip", help="record: the person's video saying the phrase")
    p.set_defaults(func=cmd_consent)
    p = sub.add_parser("safety", help="the crisis detector: `safety check` reads sentences, one "
                                      "a line, on stdin and prints each one's category or none")
    p.add_argument("action", choices=("check", "train"))
    p.add_argument("--out", help="train: where to write the weights (default: the package's)")
    p.set_defaults(func=cmd_safety)
    p = sub.add_parser("practice", help="practice scenarios: `practice list` (and any file that "
                                        "does not load, by name and line)")
    p.add_argument("action", choices=("list",))
    p.set_defaults(func=cmd_practice)
    p = sub.add_parser("verify", help="is a video or image marked as companion output?")
    p.add_argument("file")
    p.set_defaults(func=cmd_verify)
    p = sub.add_parser("models", help="list embedded models: installed, verified, size")
    p.add_argument("--fast", action="store_true", help="skip the SHA-256 checks")
    p.set_defaults(func=cmd_models)
    p = sub.add_parser("doctor", help="what works on this machine and how to fix what does not")
    p.set_defaults(func=cmd_doctor)
    p = sub.add_parser("bench", help="speed measurements → bench/results/*.json")
    p.add_argument("what",
                   choices=("render", "quality", "llm", "latency", "serve", "watermark",
                            "consent", "replies", "browser", "soak", "safety", "aac", "mouth",
                            "reenact", "camera"))
    p.add_argument("--llm", default="embedded",
                   help="the model the replies, latency and browser benches use")
    p.add_argument("--turns", type=int, default=20,
                   help="spoken turns for the latency bench (browser: 6)")
    p.add_argument("--data", default="tests/data",
                   help="speech clips (quality) or face photographs (consent)")
    p.add_argument("--out", default="bench/results")
    p.add_argument("--frames", type=int, default=300)
    p.add_argument("--avatars", help="mouth: avatars or consent ids, comma-separated (default: "
                                     "the three bundled)")
    p.add_argument("--sessions", type=int, default=4, help="soak: sessions speaking at once")
    p.add_argument("--minutes", type=float, default=10.0, help="soak: how long they speak")
    p.set_defaults(func=cmd_bench)
    return ap


def _debug() -> bool:
    from companion.config import current

    try:
        return current().debug
    except CompanionError:
        return False


def main(argv: list[str] | None = None) -> int:
    from companion.cpu import budget, limit_blas_at_load

    limit_blas_at_load(budget())  # before numpy loads: idle BLAS workers spin and hold a core
    args = build_parser().parse_args(argv)
    t0 = time.time()
    try:
        args.func(args)
    except CompanionError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug, not bad input: one line, the traceback only on request
        if _debug():
            raise
        print(f"error: internal error ({e.__class__.__name__}: {e}); "
              "run again with COMPANION_DEBUG=1 for the details and please report it",
              file=sys.stderr)
        return 1
    if args.cmd in ("say", "render", "chat", "reenact"):
        print(f"done in {time.time() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
