"""The crisis detector: is the user at risk, or telling us someone is, right now?

Rules over normalised text (companion/safety/rules.py), with what a keyword list lacks: idioms
taken out ("this traffic is killing me"), negation before the phrase ("i would never hurt
myself"), whose words they are (the speaker, someone they know, a character), lines performed
or quoted from a work ("my character says …"), history ("i used to …, but …") and jokes about
others. It runs on every user turn before the LLM, in microseconds, with no model to load.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Literal

from companion.safety import semantic
from companion.safety.rules import (
    CONTEXT_WORDS,
    HISTORY,
    IDIOMS,
    JOKING,
    LAUGHING,
    NEGATED_RISK,
    NOW,
    PERFORMED,
    PLACE_AFTER_PERSON,
    QUOTE_FRAME,
    RULES,
    THIRD_INTENT,
    Rule,
)
from companion.safety.semantic import SemanticOpinion

log = logging.getLogger(__name__)

CATEGORIES = ("suicide", "self_harm", "harm_to_others", "abuse", "medical")

_CONTRACTIONS = [
    (r"\bcan'?t\b", "cannot"), (r"\bwon'?t\b", "will not"), (r"\bain'?t\b", "is not"),
    (r"\bim\b", "i am"), (r"\bive\b", "i have"), (r"\bid\b", "i would"),
    (r"\bdont\b", "do not"), (r"\bdoesnt\b", "does not"), (r"\bdidnt\b", "did not"),
    (r"\bisnt\b", "is not"), (r"\bwasnt\b", "was not"), (r"\bcouldnt\b", "could not"),
    (r"n't\b", " not"), (r"'m\b", " am"), (r"'re\b", " are"), (r"'ll\b", " will"),
    (r"'d\b", " would"), (r"'ve\b", " have"), (r"\b(he|she|it|that|what|there|who)'s\b", r"\1 is"),
    (r"\bwanna\b", "want to"), (r"\bgonna\b", "going to"), (r"\bgotta\b", "got to"),
    (r"\bany more\b", "anymore"), (r"\bno-one\b", "no one"),
]
_CONTRACTIONS_RE = [(re.compile(a), b) for a, b in _CONTRACTIONS]
_HEDGES = re.compile(r"\b(?:not sure|do not know|not know|not certain|no idea)\b")
_NEGATION = re.compile(r"\b(?:not|never|no|nobody|no one|neither|nor)\b")
_QUOTE = re.compile(r'"([^"]*)"')
_CLAUSES = re.compile(r"[.!?;,:]+|\bbut\b|\bhowever\b")

FIRST = "first"
THIRD = "third"
SECOND = "second"
THING = "thing"


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# words skipped when looking back for a verb's subject
_SKIP = _words("""
will would might could should can is are was were am has have had been be do does did
always often sometimes still again really just also even keeps kept ever usually
constantly then going to gonna not never so actually
""")
_PEOPLE = _words("""
husband wife partner boyfriend girlfriend ex dad father stepdad stepfather mum mom
mother stepmum stepmom stepmother parents parent brother sister uncle aunt cousin
grandad grandpa grandfather grandma grandmother son daughter child kid kids baby friend
roommate flatmate neighbour neighbor boss manager coworker colleague teacher coach carer
caregiver nurse doctor priest man woman guy boy girl people family landlord classmate
student carers teachers friends brothers sisters
""")


@dataclass(frozen=True)
class Risk:
    """What the detector found: a category (never the words themselves beyond the rule)."""

    category: str
    rule: str
    about: str  # "first" (the speaker) or "third" (someone they speak of)


def normalise(text: str) -> str:
    t = text.lower().replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    for pattern, repl in _CONTRACTIONS_RE:
        t = pattern.sub(repl, t)
    return " ".join(t.split())


def _strip_quotes(text: str) -> str:
    """Quoted words count as someone's real words ("she texted me 'I want to die'") unless the
    sentence frames them as a line from a work or a joke, which are taken out."""
    outside = _QUOTE.sub(" ", text)
    if QUOTE_FRAME.search(outside):
        return _QUOTE.sub(" , ", text)
    return _QUOTE.sub(lambda m: f", {m.group(1)} ,", text)


def _strip_performed(clause_text: str) -> str:
    m = PERFORMED.search(clause_text)
    return clause_text[: m.start()] if m else clause_text


def subject(clause: str, pos: int, nearest: bool = True) -> str:
    """Who does the verb at `pos`. With `nearest`, the word just before it, skipping
    auxiliaries ("the tumour could kill me": a thing); after "and" or "then", the clause's
    first subject ("my carer takes my money and hits me"). Without, the nearest person or
    pronoun before it ("i have started giving my things away": the speaker)."""
    words = clause[:pos].split()
    for i in range(len(words) - 1, -1, -1):
        w = words[i]
        if w in _SKIP:
            continue
        if w in ("and", "then"):
            return _first_subject(words[:i])
        kind = _kind(w)
        if nearest or kind != THING:
            return kind
    return FIRST  # no subject said ("wanna die"): the speaker


def _first_subject(words: list[str]) -> str:
    for w in words:
        kind = _kind(w)
        if kind != THING:
            return kind
    return FIRST


def _kind(word: str) -> str:
    if word in ("i", "me", "myself"):
        return FIRST
    if word in ("you", "yourself"):
        return SECOND
    if word in ("he", "she", "they", "someone", "somebody", "everyone", "everybody"):
        return THIRD
    if word.rstrip("s") in _PEOPLE or word in _PEOPLE:
        return THIRD
    return THING


def _who(rule: Rule, clause: str, m: re.Match[str]) -> str | None:
    """Whom the phrase is about, or None when it does not count for this rule."""
    if rule.who == "any":
        return FIRST
    if rule.who == "reflexive":
        found = m.group(0)
        return FIRST if re.search(r"\b(?:myself|my)\b", found) else THIRD
    if rule.who == "other":
        return THIRD if subject(clause, m.start()) == THIRD else None
    kind = subject(clause, m.start(), nearest=False)
    return kind if kind in (FIRST, THIRD) else None


def _negated(clause: str, start: int) -> bool:
    before = _HEDGES.sub(" ", clause[:start]).split()[-6:]
    return bool(_NEGATION.search(" ".join(before)))


def rules(text: str) -> tuple[Risk | None, bool]:
    """The first risk the rules find in `text`, and whether they set a risk phrase aside
    (negated, an idiom, a story, a performed or quoted line, the past, a joke): the second
    opinion must not overrule that, since an embedding cannot see a "not"."""
    n = normalise(text)
    t = _strip_quotes(n)
    whole = t
    # a quoted line from a work, an idiom, or a negated risk word: set aside before any rule
    set_aside = ((bool(_QUOTE.search(n)) and bool(QUOTE_FRAME.search(_QUOTE.sub(" ", n))))
                 or bool(IDIOMS.search(t)) or bool(NEGATED_RISK.search(t)))
    t = IDIOMS.sub(" , ", t)
    t = PLACE_AFTER_PERSON.sub(" ", t)
    history = bool(HISTORY.search(whole)) and not NOW.search(whole)
    context = bool(CONTEXT_WORDS.search(whole))
    joking = bool(JOKING.search(whole))
    laughing = bool(LAUGHING.search(whole))
    for raw in _CLAUSES.split(t):
        clause = _strip_performed(raw.strip())
        set_aside = set_aside or clause != raw.strip()
        if not clause:
            continue
        for rule in RULES:
            for m in rule.pattern.finditer(clause):
                if _negated(clause, m.start()) or history:
                    set_aside = True
                    continue
                about = _who(rule, clause, m)
                if about is None:
                    continue
                if about == THIRD and rule.category != "abuse" and (
                        context or not THIRD_INTENT.search(clause[: m.start()] + " " + m.group(0))):
                    set_aside = True
                    continue  # a story, a topic, or a death in the past: not a person at risk now
                if (joking and rule.category == "harm_to_others") or (
                        laughing and rule.name == "no-breath"):  # "i cannot breathe, hilarious"
                    set_aside = True
                    continue
                return Risk(rule.category, rule.name, about), set_aside
    return None, set_aside or history or context or joking


# A sentence embedding of a word or two is the word's associations, not a meaning: a turn cut
# after "Honestly," (the user went on "...I want to kill myself") was judged suicidal on its
# own, and so was "Goodbye". Every risk sentence of three words or fewer in the written sets is
# found by the rules ("I overdosed.", "i wanna die", "He raped me."), so shorter texts get the
# rules alone.
SEMANTIC_MIN_WORDS = 4
_WORD = re.compile(r"[A-Za-z']+")


def detect(text: str, opinion: SemanticOpinion | Literal["shared"] | None = "shared"
           ) -> Risk | None:
    """The risk in `text`, or None: the rules first, then (where they found nothing and set
    nothing aside) the semantic second opinion — the process's shared one unless given."""
    risk, set_aside = rules(text)
    if risk is not None or set_aside or len(_WORD.findall(text)) < SEMANTIC_MIN_WORDS:
        return risk
    judge = semantic.shared() if opinion == "shared" else opinion
    if judge is None:
        return None
    try:
        found = judge.judge(text)
    except Exception:  # a model that fails leaves the rules' answer, never a failed turn
        log.exception("crisis detector: the second opinion failed; the rules' answer stands")
        return None
    return Risk(found.category, "semantic", FIRST) if found else None
