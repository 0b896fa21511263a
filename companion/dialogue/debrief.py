"""The practice debrief, in the order simulation educators use: reactions (questions for the
user), what happened (the turns), analysis (figures computed from the transcript, and the
scenario's skills found in the user's own words, with quotes), and a summary with a next step.

Nothing here is guessed by a model: every figure is counted from what was said and when.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from companion.dialogue.scenario import Scenario

_SENTENCE = re.compile(r"[^.!?]+[.!?]?")
_QUESTION_START = re.compile(r"^(?:what|how|why|when|where|who|which|can|could|would|will|do|"
                             r"does|did|is|are|should|shall|may)\b")


@dataclass(frozen=True)
class TurnFacts:
    """One exchange as the debrief sees it."""

    user: str
    user_s: float | None  # seconds the user spoke (None: typed)
    partner: str  # what the user heard of the reply
    partner_s: float
    interrupted: bool  # the user cut the partner off


@dataclass(frozen=True)
class SkillFound:
    key: str
    name: str
    hint: str
    quotes: tuple[str, ...]


@dataclass
class Debrief:
    scenario: str
    title: str
    difficulty: int
    minutes: float
    turns: int
    talk_share: float | None  # the user's share of the talking time
    words_per_minute: float | None
    longest_turn_words: int
    longest_turn: str
    questions: int
    interruptions: int
    partner_gave_way: bool
    skills: list[SkillFound] = field(default_factory=list)
    missing: list[SkillFound] = field(default_factory=list)
    reactions: list[str] = field(default_factory=list)
    transcript: list[dict[str, Any]] = field(default_factory=list)
    next_step: str = ""
    safeguard: bool = False  # the crisis safeguard ended the role-play
    reflection: str = ""  # written by a language model, when one capable of it is configured
    reflection_by: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.findall(text) if s.strip()]


def is_question(sentence: str) -> bool:
    s = sentence.strip().lower()
    return s.endswith("?") or (bool(_QUESTION_START.match(s)) and not s.endswith((".", "!")))


def _quotes(scenario: Scenario, facts: list[TurnFacts]) -> tuple[list[SkillFound],
                                                                   list[SkillFound]]:
    found: list[SkillFound] = []
    missing: list[SkillFound] = []
    for skill in scenario.skills:
        quotes = tuple(dict.fromkeys(s for f in facts for s in sentences(f.user)
                                     if skill.found_in(s)))
        entry = SkillFound(skill.key, skill.name, skill.hint, quotes[:3])
        (found if quotes else missing).append(entry)
    return found, missing


def _next_step(scenario: Scenario, missing: list[SkillFound], gave_way: bool) -> str:
    if missing:
        tip = missing[0]
        return (f"Next time, try {tip.name.lower()}: {tip.hint}")
    if gave_way and scenario.difficulty < 3:
        return "You used every skill and the partner gave way: try the next difficulty."
    return "You used every skill: try it again and keep each turn a little shorter."


def compute(scenario: Scenario, facts: list[TurnFacts], seconds: float,
            gave_way: bool, safeguard: bool = False) -> Debrief:
    spoken = [f for f in facts if f.user_s is not None and f.user_s > 0]
    user_s = sum(f.user_s or 0.0 for f in spoken)
    partner_s = sum(f.partner_s for f in facts)
    words = [len(f.user.split()) for f in facts]
    longest = max(range(len(facts)), key=lambda i: words[i]) if facts else None
    found, missing = _quotes(scenario, facts)
    return Debrief(
        scenario=scenario.key, title=scenario.title, difficulty=scenario.difficulty,
        minutes=round(seconds / 60, 2), turns=len(facts),
        talk_share=round(user_s / (user_s + partner_s), 3) if user_s + partner_s > 0 and spoken
        else None,
        words_per_minute=round(sum(len(f.user.split()) for f in spoken) / user_s * 60, 1)
        if user_s > 0 else None,
        longest_turn_words=words[longest] if longest is not None else 0,
        longest_turn=facts[longest].user if longest is not None else "",
        questions=sum(is_question(s) for f in facts for s in sentences(f.user)),
        interruptions=sum(f.interrupted for f in facts),
        partner_gave_way=gave_way, skills=found, missing=missing,
        reactions=list(scenario.questions) or ["How did that feel?"],
        transcript=[{"you": f.user, scenario.partner_name: f.partner} for f in facts],
        next_step=_next_step(scenario, missing, gave_way), safeguard=safeguard)
