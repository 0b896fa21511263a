from __future__ import annotations

import pytest

from companion.dialogue import ClauseSplitter, Memory, load_persona
from companion.errors import InputError


def test_splitter_sends_the_first_clause_early_then_sentences() -> None:
    s = ClauseSplitter()
    out: list[str] = []
    for piece in ["Oh, ", "that sounds ", "really hard, I'm sorry", " to hear it. How ",
                  "are you feeling", " now? Tell me", " more."]:
        out += s.push(piece)
    out += s.flush()
    assert out == ["Oh,", "that sounds really hard, I'm sorry to hear it.",
                   "How are you feeling now?", "Tell me more."]


def test_splitter_ignores_bare_punctuation_and_cuts_long_runs() -> None:
    s = ClauseSplitter(max_chars=40, first_chunk_words=100)
    assert s.push("... ") == []
    long = ("and then we walked along the river and the sun was low over the water and the "
            "birds were singing in the trees by the old mill ")
    parts = [p for word in long.split() for p in s.push(word + " ")] + s.flush()  # streamed
    assert len(parts) >= 3 and all(len(p) <= 40 for p in parts), parts
    assert " ".join(parts).split() == long.split()  # nothing lost, nothing repeated


def test_memory_is_bounded_and_truncates_after_barge_in() -> None:
    m = Memory(max_turns=6)
    starts = []
    for i in range(8):
        m.add("user", f"question {i}")
        m.add("assistant", f"a long answer number {i}")
        starts.append(m.turns[0].content)
        assert len(m.turns) <= 6 and m.turns[0].role == "user"
    assert m.turns[-1].content == "a long answer number 7"
    # trimmed in steps, so the start of the history (the cached prompt prefix) rarely changes
    assert len(set(starts)) <= 4, starts
    m.replace_last_assistant("a long")
    assert m.turns[-1].content == "a long"
    m.replace_last_assistant("")
    assert m.turns[-1].role == "user"
    msgs = m.messages("be kind")
    assert msgs[0].role == "system" and msgs[0].content == "be kind"


def test_personas() -> None:
    p = load_persona()
    assert p.key == "companion" and p.name == "Mona" and "AI" in p.prompt
    with pytest.raises(InputError, match="unknown persona"):
        load_persona("../etc/passwd")


def test_splitter_does_not_wait_forever_for_punctuation() -> None:
    s = ClauseSplitter()
    assert s.push("I think that we should go down to the") == ["I think that we should go down"]
    assert s.push(" river today. ") == ["to the river today."]


def test_a_finished_sentence_goes_without_waiting_for_the_next_token() -> None:
    s = ClauseSplitter()
    assert s.push("That sounds great!") == ["That sounds great!"]
    assert s.push(" See you, Mr.") == []  # an abbreviation is not an end
    assert s.push(" Smith. It costs 3.") == ["See you, Mr. Smith."]
    assert s.push("5 pounds.") == ["It costs 3.5 pounds."]


def test_the_first_words_go_out_where_the_next_phrase_begins() -> None:
    def split(text: str) -> list[str]:
        s = ClauseSplitter()
        out = [p for word in text.split(" ") for p in s.push(word + " ")]  # streamed
        return out + s.flush()

    assert split("I won't be easy until I have explained everything.") == [
        "I won't be easy", "until I have explained everything."]
    assert split("The Norsemen considered the rainbow a bridge.") == [
        "The Norsemen considered", "the rainbow a bridge."]
    # not before three words, and not on a word that may still grow ("the" → "there")
    assert split("I want to go home now.") == ["I want to go home now."]
    s = ClauseSplitter()
    assert s.push("She said it was the") == []
    assert s.push("re all along. ") == ["She said it was there all along."]
