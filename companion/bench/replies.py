"""`companion bench replies`: the reply-quality set through the real LLM stage, scored by
automatic checks, with the transcript written for a person to read.

Each reply is what the user would hear: the LLM stage's output (persona prompt, the two-sentence
cut, the apology on failure), not the raw model text. The checks are deliberately plain so that
a failure can be read off the transcript.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from companion.bench.reply_set import CASES, ReplyCase
from companion.dialogue.memory import Memory
from companion.dialogue.persona import Persona, load_persona
from companion.frames import Frame, ReplyClause, ReplyEnd, UserTurn
from companion.llm import LLM, LLMOptions, make_llm
from companion.llm.embedded import EMBEDDED
from companion.llm.transcript import FEW_SHOT
from companion.stages.llm_stage import LLMStage

# The prompt's own example replies: repeating one is an echo too.
EXAMPLE_TEXT = tuple(a for _, a in FEW_SHOT)

# Words that congratulate or cheer: wrong after sad news, expected after happy news.
CHEERFUL = re.compile(r"\b(glad|great|awesome|congrat\w*|wonderful|fantastic|amazing|"
                      r"happy (to|for) (hear|you)|that'?s (good|nice|lovely)|exciting|yay)\b")
# Words that console: wrong after happy news.
CONSOLING = re.compile(r"\b(sorry|sad|that'?s (too bad|a shame)|shame|unfortunately|"
                       r"condolences|how awful|must be hard)\b")
# Words that show the sad news landed: one is expected after it.
EMPATHY = re.compile(r"\b(sorry|sad|hard|tough|difficult|miss|must be|sounds|awful|"
                     r"terrible|hope|here for you|oh no|painful|heavy|lonely|rough|"
                     r"understand|that'?s a lot)\b")
# A small model's favourite nonsense: correcting or forbidding what the user just said.
CONTRADICTS = re.compile(r"\byou (can'?t|cannot|don'?t have to|can only|are not|aren'?t|"
                         r"'?re not|'?re a real person|are a real person)\b|"
                         r"\bi can'?t (help|assist)( you)?( with that)?\.")
# Ways a model claims to be a person.
HUMAN_CLAIM = re.compile(
    r"\b(i am|i'm) (a |an )?(real )?(human|person|woman|man|girl|boy|student|teacher|"
    r"mother|father|mom|dad|wife|husband|nurse|doctor|lawyer|engineer)\b|"
    r"\bmy (husband|wife|kids|children|son|daughter|boyfriend|girlfriend)\b|"
    r"\b(i was born|when i was (a child|young|little))\b|"
    r"\bi live (in|on|at) (a |an |the )?(small |big |little )?(town|city|village|house|flat|"
    r"apartment|street|farm|country)\b")
AI_SAYS = re.compile(r"\b(ai|a\.i\.|artificial|not (a )?(human|real person|person)|"
                     r"computer|program|virtual|digital|language model|chatbot)\b")
JUNK = re.compile(r"(<\|?|\|>|\[/?inst\]|###|\buser:|\bassistant:|https?://|\*\*|"
                  r"[\x00-\x08\x0b-\x1f]|\\n|\{|\})", re.I)
NAME_CLAIM = re.compile(r"\b(?i:my name is|i am|i'm|call me) ([A-Z][a-z]+)\b")
NOT_NAMES = {"a", "an", "here", "so", "sorry", "glad", "happy", "not", "just", "doing", "fine",
             "good", "well", "sure", "always", "really", "very", "also", "still", "afraid",
             "excited", "thrilled", "ready", "the", "your", "curious", "delighted", "great"}


@dataclass
class Scored:
    case: ReplyCase
    reply: str
    checks: dict[str, bool] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def passed(self) -> int:
        return sum(self.checks.values())


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", text.lower())


def _echoes(reply: str, source: str, n: int = 6) -> bool:
    """The reply repeats `n` consecutive words of the source (the prompt or the persona)."""
    r, s = _words(reply), _words(source)
    grams = {tuple(s[i:i + n]) for i in range(len(s) - n + 1)}
    return any(tuple(r[i:i + n]) in grams for i in range(len(r) - n + 1))


def _repeats(reply: str) -> bool:
    """A word three times in a row, or a 4-word phrase said twice."""
    w = _words(reply)
    if any(w[i] == w[i + 1] == w[i + 2] for i in range(len(w) - 2)):
        return True
    grams = [tuple(w[i:i + 4]) for i in range(len(w) - 3)]
    return len(grams) != len(set(grams))


def _sentences(reply: str) -> int:
    return len([s for s in re.split(r"(?<=[.!?…])\s+", reply.strip()) if s])


def check(case: ReplyCase, reply: str, persona: Persona) -> dict[str, bool]:
    """Every check for one reply: True where the reply respects it."""
    low = reply.lower()
    names = {m for m in NAME_CLAIM.findall(reply) if m.lower() not in NOT_NAMES}
    checks = {
        "answered": len(_words(reply)) >= 2,
        "no_echo": not any(_echoes(reply, src) for src in (case.prompt, persona.prompt,
                                                            *EXAMPLE_TEXT)),
        "no_junk": not JUNK.search(reply) and not _repeats(reply),
        "short": _sentences(reply) <= 2 and reply.rstrip("\"')").endswith((".", "!", "?", "…")),
        "tone": _tone_ok(case.tone, low),
        "sense": not CONTRADICTS.search(low),
        "persona": names <= {persona.name},
        "not_human": not HUMAN_CLAIM.search(low) and (not case.asks_identity or
                                                      bool(AI_SAYS.search(low))),
    }
    if case.expect:
        checks["on_topic"] = any(e in low for e in case.expect)
    return checks


def _tone_ok(tone: str, low: str) -> bool:
    if tone == "sad":
        return bool(EMPATHY.search(low)) and not CHEERFUL.search(low)
    if tone == "happy":
        return bool(CHEERFUL.search(low) or re.search(r"\b(happy|proud|well done|nice|"
                                                       r"lovely|beautiful)\b", low)
                    ) and not CONSOLING.search(low)
    return True


async def answer(llm: LLM, persona: Persona, prompt: str, options: LLMOptions) -> str:
    """What the LLM stage would say to `prompt` as the first turn of a conversation."""
    memory = Memory()
    memory.add("user", prompt)
    stage = LLMStage(llm, memory, persona, options)
    parts: list[str] = []
    end = ""

    async def emit(frame: Frame) -> None:
        nonlocal end
        if isinstance(frame, ReplyClause):
            parts.append(frame.text)
        elif isinstance(frame, ReplyEnd):
            end = frame.text

    await stage.process(UserTurn(text=prompt, turn=1), emit)
    return end or " ".join(parts)


async def score(llm: LLM, persona: Persona, options: LLMOptions,
                cases: tuple[ReplyCase, ...] = CASES) -> list[Scored]:
    rows = []
    for case in cases:
        t = time.perf_counter()
        reply = " ".join((await answer(llm, persona, case.prompt, options)).split())
        rows.append(Scored(case, reply, check(case, reply, persona), time.perf_counter() - t))
    return rows


def summary(rows: list[Scored]) -> dict[str, Any]:
    total = sum(len(r.checks) for r in rows)
    passed = sum(r.passed for r in rows)
    by_check: dict[str, list[int]] = {}
    for r in rows:
        for k, ok in r.checks.items():
            by_check.setdefault(k, [0, 0])
            by_check[k][0] += ok
            by_check[k][1] += 1
    return {"checks_passed": passed, "checks_total": total,
            "share": round(passed / max(total, 1), 3),
            "replies_all_passed": sum(r.passed == len(r.checks) for r in rows),
            "replies": len(rows), "by_check": {k: f"{a}/{b}" for k, (a, b) in by_check.items()},
            "seconds_per_reply": round(sum(r.seconds for r in rows) / max(len(rows), 1), 2)}


def run(spec: str, out_dir: Path, docs: Path, persona_key: str = "companion") -> dict[str, Any]:
    persona = load_persona(persona_key)
    llm = make_llm(spec)
    llm.load()
    options = LLMOptions(max_tokens=48, temperature=0.0)
    try:
        rows = asyncio.run(score(llm, persona, options))
    finally:
        llm.close()
    result = {"model": llm.name, "persona": persona.key, **summary(rows),
              "rows": [{"category": r.case.category, "prompt": r.case.prompt, "reply": r.reply,
                        "failed": [k for k, ok in r.checks.items() if not ok],
                        "seconds": round(r.seconds, 2)} for r in rows]}
    out_dir.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9.-]+", "-", llm.name.lower()).strip("-")
    (out_dir / f"replies-{slug}.json").write_text(json.dumps(result, indent=2,
                                                             ensure_ascii=False) + "\n")
    docs.mkdir(parents=True, exist_ok=True)
    (docs / f"replies-{slug}.md").write_text(_markdown(result))
    return result


def _markdown(result: dict[str, Any]) -> str:
    lines = [f"# Reply-quality set: {result['model']}", "",
             "Written by `companion bench replies` (greedy decoding, the "
             f"{result['persona']} persona, each prompt as the first turn; what the user would "
             "hear after the two-sentence cut).", "",
             f"Checks passed: **{result['checks_passed']}/{result['checks_total']} "
             f"({result['share']:.0%})**; replies passing every check: "
             f"{result['replies_all_passed']}/{result['replies']}; "
             f"{result['seconds_per_reply']} s per reply.", "",
             "| check | passed |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in result["by_check"].items()]
    lines += ["", "| category | user | reply | failed checks |", "|---|---|---|---|"]
    for r in result["rows"]:
        reply = r["reply"].replace("|", "\\|")
        lines.append(f"| {r['category']} | {r['prompt']} | {reply} | "
                     f"{', '.join(r['failed']) or '—'} |")
    return "\n".join(lines) + "\n"


def compare(out_dir: Path, docs: Path) -> list[dict[str, Any]]:
    """Every embedded model on the set: a transcript each, a table in docs/llm-comparison.md."""
    results: list[dict[str, Any]] = []
    for key in EMBEDDED:
        try:
            results.append(run(f"embedded:{key}", out_dir, docs))
        except Exception as e:  # a model that is not installed is reported, not fatal
            results.append({"model": f"embedded:{key}", "error": str(e)})
    lines = ["# Packaged LLMs on the reply-quality set", "",
             f"Written by `companion bench llm` ({len(CASES)} prompts, greedy decoding, the "
             "companion persona; transcripts in `replies-*.md` beside this file).", "",
             "| model | checks passed | replies passing every check | s per reply |",
             "|---|---|---|---|"]
    for r in results:
        if "error" in r:
            lines.append(f"| {r['model']} | not available: {r['error']} | | |")
        else:
            lines.append(f"| {r['model']} | {r['checks_passed']}/{r['checks_total']} "
                         f"({r['share']:.0%}) | {r['replies_all_passed']}/{r['replies']} | "
                         f"{r['seconds_per_reply']} |")
    (docs / "llm-comparison.md").write_text("\n".join(lines) + "\n")
    return results
