"""Practice scenarios: plain YAML files in prompts/scenarios/ (the skills they practise are
defined once, in prompts/scenarios/skills.yaml).

A scenario sets the partner the avatar plays (name, role, temperament), the user's goal, the
difficulty (the partner gives way after 1, 3 or 5 well-used skills), the opening line, the skills
practised and the debrief's questions. A broken file is reported by name and line; the others
still load.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from companion.dialogue.persona import Persona, prompts_dir
from companion.errors import InputError

DIFFICULTY = {1: ("easy", 1), 2: ("medium", 3), 3: ("hard", 5)}  # level → (name, skills to yield)


@dataclass(frozen=True)
class Skill:
    key: str
    name: str
    hint: str  # what good looks like, said to the user in the briefing and the debrief
    patterns: tuple[re.Pattern[str], ...]
    example: str = ""

    def found_in(self, text: str) -> bool:
        t = _plain(text)
        return any(p.search(t) for p in self.patterns)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    partner_name: str
    partner_role: str
    temperament: str
    goal: str
    difficulty: int
    opening: str
    skills: tuple[Skill, ...]
    briefing: str = ""
    questions: tuple[str, ...] = ()

    @property
    def yield_after(self) -> int:
        return DIFFICULTY[self.difficulty][1]

    def at(self, difficulty: int) -> Scenario:
        if difficulty not in DIFFICULTY:
            raise InputError(f"difficulty {difficulty} is not a level", "use 1, 2 or 3")
        return replace(self, difficulty=difficulty)

    def persona(self, yielding: bool = False) -> Persona:
        """The partner the avatar plays. `yielding`: the user has made their case well."""
        stance = ("The person has now made their case well: begin to give way — agree to part "
                  "of what they ask, and say so warmly and briefly." if yielding else
                  "Do not give in easily: push back as this person really would, politely.")
        prompt = (f"You are {self.partner_name}. To the person you talk with, you are "
                  f"{self.partner_role}. {self.temperament} "
                  f"You are in a role-play: the other person is practising a hard conversation "
                  f"(their goal: {self.goal}). Stay in your role. {stance} Answer in one or two "
                  f"short spoken sentences. Never give advice, coaching or feedback during the "
                  f"role-play. If asked, say plainly that you are an AI playing a role.")
        return Persona(key=f"scenario:{self.key}", name=self.partner_name, prompt=prompt)

    def brief(self) -> dict[str, Any]:
        """What the page shows before the conversation starts."""
        return {"key": self.key, "title": self.title, "partner": self.partner_name,
                "role": self.partner_role, "goal": self.goal, "difficulty": self.difficulty,
                "difficulty_name": DIFFICULTY[self.difficulty][0], "briefing": self.briefing,
                "yield_after": self.yield_after,
                "skills": [{"key": s.key, "name": s.name, "hint": s.hint} for s in self.skills]}


@dataclass
class Scenarios:
    found: dict[str, Scenario] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # "file.yaml, line 4: …"

    def get(self, key: str) -> Scenario:
        if key not in self.found:
            raise InputError(f"unknown scenario {key!r}",
                             "available: " + (", ".join(sorted(self.found)) or "none"))
        return self.found[key]


def _plain(text: str) -> str:
    return " ".join(text.lower().replace("’", "'").split())


class ScenarioError(ValueError):
    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(rf"\s*-?\s*{re.escape(key)}\s*:", line):
            return i
    return None


def _read_yaml(path: Path) -> tuple[str, Any]:
    text = path.read_text(encoding="utf-8")
    try:
        return text, yaml.safe_load(text)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise ScenarioError(f"not valid YAML ({e.problem or e.context})",
                            mark.line + 1 if mark else None) from None
    except yaml.YAMLError as e:
        raise ScenarioError(f"not valid YAML ({e})") from None


def _text(doc: dict[str, Any], key: str, src: str, required: bool = True) -> str:
    value = doc.get(key, "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ScenarioError(f"{key}: needs some text", _line_of(src, key))
    return " ".join(value.split())


def load_skills(path: Path) -> dict[str, Skill]:
    src, doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise ScenarioError("expected a mapping of skill keys to skills", 1)
    skills = {}
    for key, body in doc.items():
        if not isinstance(body, dict) or not isinstance(body.get("patterns"), list):
            raise ScenarioError(f"{key}: needs name, hint and a list of patterns",
                                _line_of(src, str(key)))
        try:
            patterns = tuple(re.compile(str(p)) for p in body["patterns"])
        except re.error as e:
            raise ScenarioError(f"{key}: a pattern is not a valid regular expression ({e})",
                                _line_of(src, str(key))) from None
        skills[str(key)] = Skill(str(key), _text(body, "name", src), _text(body, "hint", src),
                                 patterns, _text(body, "example", src, required=False))
    return skills


def parse_scenario(path: Path, skills: dict[str, Skill]) -> Scenario:
    src, doc = _read_yaml(path)
    if not isinstance(doc, dict):
        raise ScenarioError("expected a mapping (title:, partner:, goal: …)", 1)
    partner = doc.get("partner")
    if not isinstance(partner, dict):
        raise ScenarioError("partner: needs name, role and temperament", _line_of(src, "partner"))
    level = doc.get("difficulty", 2)
    if level not in DIFFICULTY:
        raise ScenarioError("difficulty: must be 1, 2 or 3", _line_of(src, "difficulty"))
    chosen = []
    for item in doc.get("skills") or []:
        key = item if isinstance(item, str) else (item or {}).get("skill")
        if key not in skills:
            raise ScenarioError(f"skills: unknown skill {key!r} (known: "
                                f"{', '.join(sorted(skills))})", _line_of(src, "skills"))
        skill = skills[key]
        if isinstance(item, dict) and item.get("hint"):
            skill = replace(skill, hint=" ".join(str(item["hint"]).split()))
        chosen.append(skill)
    if not chosen:
        raise ScenarioError("skills: list at least one skill", _line_of(src, "skills"))
    questions = doc.get("debrief_questions") or []
    if not isinstance(questions, list):
        raise ScenarioError("debrief_questions: must be a list", _line_of(src, "debrief_questions"))
    return Scenario(path.stem, _text(doc, "title", src), _text(partner, "name", src),
                    _text(partner, "role", src), _text(partner, "temperament", src),
                    _text(doc, "goal", src), int(level), _text(doc, "opening", src),
                    tuple(chosen), _text(doc, "briefing", src, required=False),
                    tuple(" ".join(str(q).split()) for q in questions))


def load_scenarios(folder: Path | None = None) -> Scenarios:
    """Every scenario in the folder that parses; the rest named in `problems`."""
    d = folder or prompts_dir() / "scenarios"
    out = Scenarios()
    try:
        skills = load_skills(d / "skills.yaml")
    except (OSError, ScenarioError) as e:
        line = f", line {e.line}" if isinstance(e, ScenarioError) and e.line else ""
        out.problems.append(f"skills.yaml{line}: {e}")
        return out
    for path in sorted(d.glob("*.yaml")):
        if path.name == "skills.yaml":
            continue
        try:
            out.found[path.stem] = parse_scenario(path, skills)
        except (OSError, UnicodeDecodeError, ScenarioError) as e:
            line = f", line {e.line}" if isinstance(e, ScenarioError) and e.line else ""
            out.problems.append(f"{path.name}{line}: {e}")
    return out
