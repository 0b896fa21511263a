"""An earlier transcript's wording is kept where the final one agrees with it."""

from __future__ import annotations

from companion.stt.agree import keep_agreed


def test_punctuation_and_case_of_agreeing_words_are_kept() -> None:
    earlier = "Girl by all means my dear, only put on a white"
    final = "Girl by all means, my dear, only put on a white gown, she always wears white."
    assert keep_agreed(earlier, final) == ("Girl by all means my dear, only put on a white "
                                           "gown, she always wears white.")
    # the last earlier word takes the final's punctuation: a stop the cut made is not kept
    assert keep_agreed("passed from earth.", "passed from Earth to their home.") == \
        "passed from Earth to their home."


def test_from_the_first_different_word_the_final_transcript_is_kept() -> None:
    final = "Will there be any harm in my calling on Miss Tilney today?"
    assert keep_agreed("will there be any harm, in my calling on Miss Tilly", final) == \
        "will there be any harm, in my calling on Miss Tilney today?"
    assert keep_agreed("", final) == final
    assert keep_agreed("Shall there be", final) == final
    assert keep_agreed("Will there be any harm in my calling on Miss Tilney today? I",
                       final) == final  # more words than the final: the final's words stay
