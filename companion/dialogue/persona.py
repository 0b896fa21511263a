"""Personas are plain text files in prompts/personas/ (the system prompt, first line names)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from companion.config import current
from companion.errors import InputError


@dataclass(frozen=True)
class Persona:
    key: str
    name: str  # the name the avatar answers to
    prompt: str


def prompts_dir() -> Path:
    env = current().prompts
    return Path(env) if env else Path(__file__).resolve().parents[2] / "prompts"


def available() -> list[str]:
    d = prompts_dir() / "personas"
    return sorted(p.stem for p in d.glob("*.txt")) if d.is_dir() else []


def load_persona(key: str = "companion") -> Persona:
    path = prompts_dir() / "personas" / f"{key}.txt"
    if not re.fullmatch(r"[a-z0-9_-]+", key) or not path.is_file():
        raise InputError(f"unknown persona {key!r}", "available: " + ", ".join(available()))
    text = " ".join(path.read_text(encoding="utf-8").split())
    m = re.search(r"You are (\w+)", text)
    return Persona(key=key, name=m.group(1) if m else "Companion", prompt=text)
