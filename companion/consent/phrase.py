"""The consent phrase with its one-time code, and tolerant matching of what was said.

The person reads: "I, NAME, agree that my face may be animated by companion. Code 4 7 1 9."
Speech recognition writes digits as words or numbers ("four seven", "47", "4,719"), mishears a
name, drops commas, and hears "four" as "for"; the match allows all of that but needs the code
digits in order and most of the phrase's words.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from difflib import SequenceMatcher

CODE_DIGITS = 4
PHRASE_MIN = 0.75  # share of the phrase's letters heard, in order
MIN_RUN = 4
NUMBER_WORDS = {"zero": "0", "oh": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
# Homophones are only read as digits after the word "code", where no other words are expected.
HOMOPHONES = {"won": "1", "to": "2", "too": "2", "tree": "3", "for": "4", "fore": "4",
              "sex": "6", "ate": "8", "nein": "9", "o": "0"}
CODE_WORDS = {"code", "coat", "coded", "cold", "coke", "codes"}
MAX_NAME = 60


def new_code() -> str:
    """Digits 1-9, never the same twice in a row: "zero"/"oh" and repeated digits are what a
    small recogniser mishears ("zero zero two eight" came back as "02028"). 4,608 codes, each
    good for five minutes and one clip."""
    digits: list[str] = []
    while len(digits) < CODE_DIGITS:
        d = str(1 + secrets.randbelow(9))
        if not digits or d != digits[-1]:
            digits.append(d)
    return "".join(digits)


# The action announced with the code: a head turn or a double blink, random per challenge, so a
# clip prepared beforehand (or a video generated from a photo) does the wrong thing half the
# time or more. Directions are the person's own (MediaPipe's landmarks name the face's sides).
ACTIONS = {"turn-left": "turn your head to your left, then back",
           "turn-right": "turn your head to your right, then back",
           "blink-twice": "blink twice"}


def new_action() -> str:
    return secrets.choice(sorted(ACTIONS))


def clean_name(name: str) -> str:
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or not re.fullmatch(r"[\w .'\-]+", name):
        raise ValueError(f"a name of 1-{MAX_NAME} letters (spaces, . ' - allowed)")
    return name


def phrase_for(name: str, code: str) -> str:
    return (f"I, {name}, agree that my face may be animated by companion. "
            f"Code {' '.join(code)}.")


def _words(text: str) -> list[str]:
    text = text.lower().replace(",", " ").replace("-", " ")
    text = re.sub(r"(?<=\d)[ .](?=\d)", "", text)  # "4 7" or "4.7" → "47" (split again below)
    return re.findall(r"[a-z']+|\d+", text)


def _digits(words: list[str]) -> str:
    out = []
    after_code = False
    for w in words:
        if w in CODE_WORDS:
            after_code = True
            continue
        if w.isdigit():
            out.append(w)
        elif w in NUMBER_WORDS:
            out.append(NUMBER_WORDS[w])
        elif after_code and w in HOMOPHONES:
            out.append(HOMOPHONES[w])
    return "".join(out)


def _code_heard(code: str, digits: str) -> bool:
    """The code among the heard digits; or, when only one digit fewer was heard in all, the code
    with one digit dropped (tiny.en wrote "one six two four" as "164"). A different code heard
    in full (say "4 7 9 1" for 4719) is still refused."""
    if code in digits:
        return True
    return len(digits) == len(code) - 1 and any(
        code[:i] + code[i + 1:] == digits for i in range(len(code)))


@dataclass(frozen=True)
class PhraseMatch:
    ok: bool
    phrase_score: float  # 0..1, share of the phrase's letters heard in order
    code_heard: bool
    reason: str = ""


def match(transcript: str, name: str, code: str) -> PhraseMatch:
    heard = _words(transcript)
    # Compared as letters, not words: a small recogniser splits and merges words ("my face may
    # be" → "might face maybe") far more often than it loses the sounds. Runs shorter than
    # MIN_RUN letters do not count, so unrelated speech does not add up to a match.
    expected = "".join(w for w in _words(phrase_for(name, code)) if not w.isdigit())
    spoken = "".join(w for w in heard if not w.isdigit() and w not in NUMBER_WORDS)
    sm = SequenceMatcher(None, expected, spoken, autojunk=False)
    score = sum(b.size for b in sm.get_matching_blocks() if b.size >= MIN_RUN) / \
        max(1, len(expected))
    code_heard = _code_heard(code, _digits(heard))
    if not transcript.strip():
        return PhraseMatch(False, 0.0, False, "no speech was heard in the clip")
    if score < PHRASE_MIN:
        return PhraseMatch(False, score, code_heard,
                           f"the clip does not say the consent phrase ({score:.0%} of it "
                           "heard)")
    if not code_heard:
        return PhraseMatch(False, score, False, "the one-time code was not heard in the clip")
    return PhraseMatch(True, score, True)
