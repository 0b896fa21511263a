"""Cut streamed LLM text into speakable pieces: sentences, and early clauses so the first words
can be spoken while the rest is still being generated."""

from __future__ import annotations

import re

_END = re.compile(r"[.!?…]+[\"')\]]*\s")
_CLAUSE = re.compile(r"[,;:—–]\s")
# A sentence that ends the text so far: "!" or "?", or "." after a word (not a number or an
# abbreviation). Waiting for the next token to show the whitespace costs a token's time on the
# first words of every reply.
_END_NOW = re.compile(r"(?:[!?]|(?<=[A-Za-z]{2})\.)[\"')\]]*$")
_ABBREV = re.compile(r"\b(?:Mr|Mrs|Ms|Dr|St|Jr|Sr|vs|etc|e\.g|i\.e)\.$", re.I)
# Words that begin a phrase: before one of them a speaker can pause without breaking a unit
# ("I won't be easy | until I have explained everything", "I'll do my best | to help").
PHRASE_START = frozenset((
    "a", "an", "the", "to", "of", "in", "on", "at", "for", "with", "from", "by", "about", "into",
    "over", "after", "before", "until", "because", "but", "and", "or", "so", "that", "which",
    "who", "when", "while", "if", "as", "than"))


class ClauseSplitter:
    def __init__(self, first_clause_words: int = 1, first_chunk_words: int = 7,
                 max_chars: int = 160, first_phrase_words: int = 3) -> None:
        # "Oh," "Sorry," "Well," alone: the pause after an interjection is a natural one
        self.first_clause_words = first_clause_words
        # Without a comma, the first words go out where the next phrase begins, once there
        # are this many: every word waited for is ~50 ms of the model on a slow CPU.
        self.first_phrase_words = first_phrase_words
        # With no punctuation in sight, the first words go out anyway: a slightly odd pause
        # in the voice costs less than a second of silence before it.
        self.first_chunk_words = first_chunk_words
        self.max_chars = max_chars
        self._buf = ""
        self._emitted = 0

    def push(self, text: str) -> list[str]:
        self._buf += text
        out: list[str] = []
        while True:
            piece = self._next()
            if piece is None:
                break
            out.append(piece)
        return out

    def flush(self) -> list[str]:
        rest = self._buf.strip()
        self._buf = ""
        return [rest] if _speakable(rest) else []

    def _next(self) -> str | None:
        cut = next((m.end() for m in _END.finditer(self._buf)
                    if not _ABBREV.search(self._buf[: m.end()].rstrip())), None)
        if cut is None and _END_NOW.search(self._buf) and not _ABBREV.search(self._buf):
            cut = len(self._buf)
        if cut is None and self._emitted == 0:
            # The very first clause goes out early: latency matters most there.
            for c in _CLAUSE.finditer(self._buf):
                if len(self._buf[: c.start()].split()) >= self.first_clause_words:
                    cut = c.end()
                    break
            lead = len(self._buf) - len(self._buf.lstrip(" "))
            words = self._buf[lead:].split(" ")
            # complete words only: the last one may still be growing ("the" into "there")
            phrase = next((n for n in range(self.first_phrase_words,
                                            min(len(words) - 1, self.first_chunk_words + 1))
                           if words[n].lower() in PHRASE_START), None)
            if cut is None and phrase is not None:
                cut = lead + len(" ".join(words[:phrase])) + 1
            if cut is None and len(words) > self.first_chunk_words:
                # cut after N complete words
                cut = lead + len(" ".join(words[: self.first_chunk_words])) + 1
        if cut is None and len(self._buf) > self.max_chars:
            # a long run goes out at its last clause break, else its last space, that fits
            fits = [m.end() for m in _CLAUSE.finditer(self._buf) if m.end() <= self.max_chars]
            cut = fits[-1] if fits else (self._buf.rfind(" ", 0, self.max_chars + 1) + 1
                                         or len(self._buf))
        if cut is None:
            return None
        piece, self._buf = self._buf[:cut].strip(), self._buf[cut:]
        if not _speakable(piece):
            return None if not self._buf else self._next()
        self._emitted += 1
        return piece


def _speakable(text: str) -> bool:
    return any(ch.isalnum() for ch in text)
