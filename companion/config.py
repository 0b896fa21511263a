"""Settings: the one home of defaults. A TOML file, then the environment, then command-line flags.

The file is `--config FILE`, else COMPANION_CONFIG, else ~/.config/companion/config.toml when it
exists. Every setting also reads from the environment as COMPANION_<NAME> (upper case), which
wins over the file; flags given on the command line win over both. Unknown keys and values of the
wrong kind are errors that name the key and where it came from. `companion config` prints the
settings in force and where each came from; docs/settings.md lists them.

This module imports nothing of the project but its errors, so any module may ask it for a path.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from companion.errors import InputError

PACKAGE_AVATARS = Path(__file__).resolve().parents[1] / "avatars"

ATTESTATION = ("auto", "allowed", "clips-only")
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _doc(text: str) -> dict[str, str]:
    return {"doc": text}


@dataclass(frozen=True)
class Settings:
    # models
    llm: str = field(default="auto", metadata=_doc(
        "auto | embedded[:NAME] | llamacpp:FILE.gguf | transformers:DIR_OR_GGUF | openai:MODEL"))
    llm_base_url: str = field(default="", metadata=_doc(
        "an OpenAI-compatible endpoint (…/v1) that `auto` tries first and `openai:` uses"))
    llm_model: str = field(default="", metadata=_doc("the model to ask that endpoint for"))
    llm_api_key: str = field(default="", metadata=_doc("bearer token for that endpoint"))
    stt: str = field(default="faster-whisper:tiny.en", metadata=_doc(
        "faster-whisper:tiny.en | faster-whisper:base | openai-whisper:FILE.pt"))
    voice: str = field(default="piper", metadata=_doc("piper | espeak"))
    turn: str = field(default="smart", metadata=_doc(
        "smart: Smart Turn ends a finished turn after ~200 ms; silence: silence_ms decides"))
    allow_download: bool = field(default=False, metadata=_doc(
        "let transformers fetch a model id from the Hugging Face hub"))
    # the conversation
    avatar: str = field(default="mona-lisa", metadata=_doc("the avatar a conversation starts with"))
    persona: str = field(default="companion", metadata=_doc("the persona it starts with"))
    max_tokens: int = field(default=48, metadata=_doc("longest spoken reply, in tokens"))
    silence_ms: int = field(default=600, metadata=_doc("silence that ends a turn (turn=silence)"))
    barge_in_ms: int = field(default=300, metadata=_doc(
        "speech that counts as a turn and interrupts the avatar"))
    fps: int = field(default=25, metadata=_doc("frames per second of the live face (25|30|40)"))
    label: bool = field(default=True, metadata=_doc("the visible 'AI-generated' label"))
    # the server
    host: str = field(default="127.0.0.1", metadata=_doc("address `serve` binds"))
    port: int = field(default=8000, metadata=_doc("port `serve` listens on"))
    token: str = field(default="", metadata=_doc(
        "access token; required when host is not this computer"))
    allowed_origins: tuple[str, ...] = field(default=(), metadata=_doc(
        "page origins allowed besides the server's own"))
    max_sessions: int = field(default=8, metadata=_doc("conversations at once"))
    jpeg_quality: int = field(default=80, metadata=_doc("quality of the streamed frames"))
    attestation: str = field(default="clips-only", metadata=_doc(
        "may a typed claim ('artwork', 'synthetic') stand in for a consent clip? clips-only "
        "(the default: a claim is not trust) | allowed | auto (allowed on this computer only)"))
    # modes and safety (the crisis safeguard itself cannot be turned off)
    practice: bool = field(default=True, metadata=_doc(
        "offer conversation practice (scenarios in prompts/scenarios/)"))
    max_session_minutes: int = field(default=0, metadata=_doc(
        "end a conversation after this many minutes (0: no limit)"))
    crisis_resources: tuple[str, ...] = field(default=(
        "United States: call or text 988 (Suicide & Crisis Lifeline); emergencies: 911",
        "UK and Ireland: Samaritans 116 123 (free at any hour); emergencies: 999 or 112",
        "Europe: emergencies 112",
        "Elsewhere: your local emergency number; findahelpline.com lists free and confidential "
        "helplines by country",
    ), metadata=_doc("what the crisis notice lists (set your deployment's own)"))
    crisis_hold_s: int = field(default=5, metadata=_doc(
        "seconds before the crisis notice can be closed (at least 3)"))
    reflection: str = field(default="auto", metadata=_doc(
        "an LLM-written reflection in the practice debrief: on | off | auto (only with a served "
        "model, llm_base_url; the small embedded models are not up to it)"))
    # places
    data: str = field(default="", metadata=_doc(
        "consent registry and portraits (default: ~/.cache/companion-data)"))
    cache: str = field(default="", metadata=_doc(
        "derived files: rigs (default: $XDG_CACHE_HOME/companion)"))
    model_cache: str = field(default="", metadata=_doc(
        "converted models (default: inside cache)"))
    avatars: str = field(default="", metadata=_doc("bundled avatars (default: the package's)"))
    prompts: str = field(default="", metadata=_doc("personas (default: the package's)"))
    debug: bool = field(default=False, metadata=_doc("print tracebacks of internal errors"))

    def validate(self) -> Settings:
        if self.fps not in (25, 30, 40):
            raise InputError(f"fps {self.fps} is not supported", "use 25, 30 or 40")
        if self.voice not in ("piper", "espeak"):
            raise InputError(f"unknown voice {self.voice!r}", "use piper or espeak")
        if self.turn not in ("smart", "silence"):
            raise InputError(f"unknown turn detection {self.turn!r}", "use smart or silence")
        if self.attestation not in ATTESTATION:
            raise InputError(f"attestation {self.attestation!r} is not a policy",
                             "use " + ", ".join(ATTESTATION))
        if self.reflection not in ("auto", "on", "off"):
            raise InputError(f"reflection {self.reflection!r} is not a choice",
                             "use on, off or auto")
        if not self.crisis_resources:
            raise InputError("crisis_resources is empty", "list at least one place to get help")
        for name, low, high in (("max_tokens", 1, 2048), ("crisis_hold_s", 3, 60),
                                ("max_session_minutes", 0, 1440), ("silence_ms", 100, 10000),
                                ("barge_in_ms", 50, 5000), ("port", 1, 65535),
                                ("max_sessions", 1, 256), ("jpeg_quality", 10, 100)):
            value = getattr(self, name)
            if not low <= value <= high:
                raise InputError(f"{name} = {value} is out of range", f"use {low}–{high}")
        return self

    @property
    def local(self) -> bool:
        """Served only to this computer?"""
        return self.host in LOCAL_HOSTS

    @property
    def attestation_allowed(self) -> bool:
        if self.attestation == "auto":
            return self.local
        return self.attestation == "allowed"

    def data_dir(self) -> Path:
        return Path(self.data) if self.data else self.cache_dir().with_name("companion-data")

    def cache_dir(self) -> Path:
        if self.cache:
            return Path(self.cache)
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
        return Path(xdg) / "companion"

    def avatars_dir(self) -> Path:
        """The bundled avatars: the `avatars` setting, else the folder beside the package."""
        return Path(self.avatars) if self.avatars else PACKAGE_AVATARS

    def avatars_are_packaged(self) -> bool:
        """Are the avatars the ones that ship with the package? Any other folder's provenance
        files must be signed with the installation's key (`companion consent sign-avatar`)."""
        return self.avatars_dir().resolve() == PACKAGE_AVATARS

    def model_cache_dir(self) -> Path:
        return Path(self.model_cache) if self.model_cache else self.cache_dir()


def _coerce(name: str, kind: Any, value: Any, where: str) -> Any:
    """`value` from a file or the environment as the setting's type, or a clear error."""
    text = isinstance(value, str)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if text and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off", ""):
            return value.lower() in ("1", "true", "yes", "on")
    elif kind == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if text and value.strip().lstrip("-").isdigit() and len(value) < 12:
            return int(value)
    elif kind == "str":
        if text:
            return value
    elif kind == "tuple[str, ...]":
        if text:
            return tuple(v.strip() for v in value.split(",") if v.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return tuple(value)
    want = {"bool": "true or false", "int": "a whole number", "str": "text",
            "tuple[str, ...]": "a list of text"}.get(str(kind), str(kind))
    raise InputError(f"setting {name!r} from {where} must be {want}, not {value!r}")


def config_file(explicit: str | Path | None = None,
                env: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if env is None else env
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise InputError(f"settings file not found: {path}")
        return path
    if env.get("COMPANION_CONFIG"):
        path = Path(env["COMPANION_CONFIG"])
        if not path.is_file():
            raise InputError(f"COMPANION_CONFIG names a file that is not there: {path}")
        return path
    default = Path(os.path.expanduser("~/.config/companion/config.toml"))
    return default if default.is_file() else None


def _read_file(path: Path) -> dict[str, Any]:
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read the settings file {path}: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise InputError(f"the settings file {path} is not valid TOML: {e}") from None
    # sections are only for the reader's eye: [server] port = 8000 is the setting 'port'
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def load_settings(file: str | Path | None = None, env: Mapping[str, str] | None = None,
                  **overrides: Any) -> Settings:
    """Defaults ← the file ← COMPANION_* environment ← `overrides` (flags; None = not given)."""
    env = os.environ if env is None else env
    kinds = {f.name: str(f.type) for f in fields(Settings)}
    values: dict[str, Any] = {}
    path = config_file(file, env)
    if path is not None:
        for key, value in _read_file(path).items():
            if key not in kinds:
                raise InputError(f"unknown setting {key!r} in {path}",
                                 "see docs/settings.md for the settings there are")
            values[key] = _coerce(key, kinds[key], value, str(path))
    for name, kind in kinds.items():
        var = f"COMPANION_{name.upper()}"
        if var in env:
            values[name] = _coerce(name, kind, env[var], f"the environment ({var})")
    for name, value in overrides.items():
        if name not in kinds:
            raise TypeError(f"no setting {name!r}")
        if value is not None:
            values[name] = value
    return Settings(**values).validate()


_current: tuple[tuple[object, ...], Settings] | None = None


def current() -> Settings:
    """The settings of this process as the file and the environment give them (no flags):
    for the modules that only need a path. Asked for on hot paths (the consent check runs once
    a second per live stream), so it is read again only when the environment or the file
    changed."""
    global _current
    path = config_file()
    key = (tuple(sorted((k, v) for k, v in os.environ.items()
                        if k.startswith("COMPANION_") or k == "XDG_CACHE_HOME")),
           path, path.stat().st_mtime_ns if path is not None else None)
    if _current is None or _current[0] != key:
        _current = (key, load_settings(path))
    return _current[1]


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(name, value, what it is) for every setting; secrets shown as set or not."""
    rows = []
    for f in fields(Settings):
        value = getattr(settings, f.name)
        shown = ("(set)" if value else "(not set)") if f.name in ("token", "llm_api_key") \
            else repr(value)
        rows.append((f.name, shown, f.metadata.get("doc", "")))
    return rows
