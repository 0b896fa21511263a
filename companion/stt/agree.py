"""Keep an earlier transcript's wording where a later one of the same speech agrees with it.

Whisper run on a turn as it grows writes the same words with different punctuation and case
("Girl by all means my dear" then "Girl by all means, my dear"). The reply's prompt was already
evaluated with the earlier words; if the final transcript changed a comma, the model would
evaluate the whole turn again. The leading words on which both agree (ignoring case and
punctuation) keep their earlier form; from the first word that really differs, the final
transcript is taken as it is.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[^\w']+")


def _norm(word: str) -> str:
    return _NOT_WORD.sub("", word.lower())


def keep_agreed(earlier: str, final: str) -> str:
    """`final`, with the words it shares with the start of `earlier` (case and punctuation
    aside) written as `earlier` wrote them."""
    before, after = earlier.split(), final.split()
    k = 0
    while k < min(len(before), len(after)) and _norm(before[k]) == _norm(after[k]):
        k += 1
    if k == 0:
        return final
    # the last shared word keeps the final's punctuation (a cut may have made it a stop)
    return " ".join([*before[: k - 1], *after[k - 1:]])


__all__ = ["keep_agreed"]
