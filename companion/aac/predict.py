"""Fewer keystrokes: word completion, next-word prediction and abbreviation expansion, learned
from the user's own sentences on this machine.

A counted bigram model over what the user has said (each use weighs USER_WEIGHT), backed off to
unigrams, over a small built-in set of everyday sentences (data/core.txt) that only matters
until the user's history outweighs it. Abbreviations follow SpeakFaster's idea: the initials of
a sentence the user has said ("hay") expand to it ("how are you?"), their own phrases first.
Everything here is counting; a suggestion costs well under a millisecond.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources

WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
USER_WEIGHT = 5  # one sentence the user said counts like five of the built-in ones
START = "<s>"


@dataclass(frozen=True)
class Suggestion:
    text: str  # the word or the whole phrase
    kind: str  # "phrase" (replaces the typed abbreviation), "word" (completes), "next"

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "kind": self.kind}


@cache
def core_sentences() -> tuple[str, ...]:
    raw = resources.files("companion.aac").joinpath("data/core.txt").read_text("utf-8")
    return tuple(line.strip() for line in raw.splitlines()
                 if line.strip() and not line.startswith("#"))


def words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("’", "'"))


def initials(text: str) -> str:
    return "".join(w[0] for w in words(text))


class Predictor:
    def __init__(self, history: Iterable[str] = (), phrases: Iterable[str] = ()) -> None:
        """`history`: the user's sentences, one item per time said (newest last); `phrases`:
        the user's own board and quick phrases."""
        self.unigrams: Counter[str] = Counter()
        self.bigrams: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.expansions: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self._recent: dict[str, int] = {}  # sentence → when it was last said (a counter)
        self._said = 0
        for s in core_sentences():
            self._learn(s, 1)
        for s in phrases:
            self._learn(s, USER_WEIGHT)
        for s in history:
            self.learn(s)

    def _learn(self, sentence: str, weight: int) -> None:
        ws = words(sentence)
        if not ws:
            return
        for prev, w in zip([START, *ws], ws, strict=False):
            self.unigrams[w] += weight
            self.bigrams[prev][w] += weight
        if len(ws) >= 2:
            self.expansions[initials(sentence)][sentence.strip()] += weight

    def learn(self, sentence: str) -> None:
        """The user just said this: it counts from the next suggestion on."""
        self._learn(sentence, USER_WEIGHT)
        self._recent[sentence] = self._said
        self._said += 1

    def suggest(self, text: str, k: int = 5) -> list[Suggestion]:
        """For the text as typed so far: after a space the likely next words; inside a word
        the phrases its letters abbreviate, then the words it begins."""
        ws = words(text)
        typing = bool(text) and not text[-1].isspace() and bool(ws) and text[-1].isalnum()
        if not typing:
            return [Suggestion(w, "next") for w in self._next(ws[-1] if ws else START, k)]
        prefix = ws[-1]
        prev = ws[-2] if len(ws) >= 2 else START
        out = [Suggestion(p, "phrase") for p in self._expand(prefix, k)] if len(prefix) >= 2 \
            else []
        seen = {s.text for s in out}
        for w in self._complete(prefix, prev, k):
            if w not in seen and len(out) < k:
                out.append(Suggestion(w, "word"))
        return out[:k]

    def _next(self, prev: str, k: int) -> list[str]:
        ranked = [w for w, _ in self.bigrams.get(prev, Counter()).most_common(k)]
        for w, _ in self.unigrams.most_common(k * 2):
            if len(ranked) >= k:
                break
            if w not in ranked:
                ranked.append(w)
        return ranked

    def _complete(self, prefix: str, prev: str, k: int) -> list[str]:
        after = self.bigrams.get(prev, Counter())
        found = [w for w in self.unigrams if w.startswith(prefix) and w != prefix]
        # what follows the previous word counts most; then how common the word is
        found.sort(key=lambda w: (-after.get(w, 0), -self.unigrams[w], w))
        return found[:k]

    def _expand(self, abbrev: str, k: int) -> list[str]:
        """Sentences whose initials are the abbreviation (then those they begin), the user's
        most used and most recent first."""
        if not abbrev.isalpha():
            return []
        exact = self.expansions.get(abbrev, Counter())
        longer: Counter[str] = Counter()
        if len(abbrev) >= 3:
            for key, c in self.expansions.items():
                if key.startswith(abbrev) and key != abbrev:
                    longer.update(c)

        def rank(c: Counter[str]) -> list[str]:
            return sorted(c, key=lambda s: (-c[s], -self._recent.get(s, -1), s))

        return [*rank(exact), *rank(longer)][:k]
