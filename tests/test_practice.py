"""Practice scenarios as files, the debrief's computed figures, and a practice session (with
scripted STT/LLM/TTS: the protocol, not the quality of the model's role-play)."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from companion.dialogue.debrief import TurnFacts, compute, is_question
from companion.dialogue.persona import prompts_dir
from companion.dialogue.scenario import load_scenarios
from companion.errors import InputError
from companion.face.engine import RenderOptions
from companion.face.live import LiveFace
from companion.face.rig import Rig
from companion.practice import PRACTICE_NOTICE, PracticeSession, disclosure
from companion.session import SessionConfig
from tests.fakes import ScriptedLLM, ScriptedSTT, ToneTTS


def test_six_scenarios_ship_and_each_skill_finds_its_own_example() -> None:
    found = load_scenarios()
    assert found.problems == []
    assert len(found.found) >= 6
    for sc in found.found.values():
        assert sc.opening and sc.goal and sc.partner_name and sc.skills
        for skill in sc.skills:
            assert skill.example and skill.found_in(skill.example), (sc.key, skill.key)
        assert sc.partner_name in sc.persona().prompt and "AI" in sc.persona().prompt


def test_a_broken_scenario_is_named_with_its_line_and_the_others_load(tmp_path: Path) -> None:
    for f in (prompts_dir() / "scenarios").glob("*.yaml"):
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / "broken.yaml").write_text("title: Broken\npartner:\n  name: [unclosed\n")
    (tmp_path / "bad-skill.yaml").write_text(
        "title: T\npartner: {name: A, role: b, temperament: c}\ngoal: g\nopening: o\n"
        "difficulty: 2\nskills:\n  - no-such-skill\n")
    (tmp_path / "bad-level.yaml").write_text(
        "title: T\npartner: {name: A, role: b, temperament: c}\ngoal: g\nopening: o\n"
        "difficulty: 7\nskills: [clear-ask]\n")
    found = load_scenarios(tmp_path)
    assert len(found.found) == len(load_scenarios().found)
    problems = sorted(found.problems)
    assert problems[0].startswith("bad-level.yaml, line 5: difficulty")
    assert problems[1].startswith("bad-skill.yaml, line 6: skills: unknown skill 'no-such-skill'")
    assert problems[2].startswith("broken.yaml, line 4: not valid YAML")
    with pytest.raises(InputError, match="unknown scenario"):
        found.get("broken")


def test_the_debrief_figures_are_counted_from_the_transcript() -> None:
    sc = load_scenarios().get("ask-for-a-raise")
    facts = [
        TurnFacts("Hi Dana. I'd like to talk about my pay.", 3.0, "Sure, go ahead.", 2.0, False),
        TurnFacts("Since March I led 3 projects. I understand the budget is tight. "
                  "What would you need to see from me?", 9.0, "Hmm, let me think.", 1.0, True),
        TurnFacts("ok", None, "Fine.", 1.0, False),  # typed: no speaking time
    ]
    d = compute(sc, facts, seconds=150.0, gave_way=False)
    assert d.turns == 3 and d.minutes == 2.5
    assert d.talk_share == round(12.0 / 16.0, 3)
    assert d.words_per_minute == round((9 + 20) / 12.0 * 60, 1)
    assert d.longest_turn_words == 20 and d.longest_turn.startswith("Since March")
    assert d.questions == 1 and d.interruptions == 1
    found = {s.key: s.quotes for s in d.skills}
    assert found["evidence"] == ("Since March I led 3 projects.",)
    assert found["acknowledge"] == ("I understand the budget is tight.",)
    assert "clear-ask" in found and "proposal" in {s.key for s in d.missing}
    assert d.next_step.startswith("Next time, try a concrete next step")
    assert d.reflection == ""  # only a capable model writes one, and it is labelled
    assert is_question("how do you see it") and not is_question("I see.")


def _practice(rig: Rig, llm: ScriptedLLM, level: int) -> PracticeSession:
    sc = load_scenarios().get("boundary-with-a-parent").at(level)
    live = LiveFace(rig, RenderOptions(label=False))
    t = {"now": 0.0}
    s = PracticeSession(live, ScriptedSTT([]), llm, ToneTTS(), sc.persona(),
                        SessionConfig(disclosure=disclosure(sc)), scenario=sc,
                        clock=lambda: t["now"])
    s.test_clock = t  # type: ignore[attr-defined]
    return s


def test_the_partner_gives_way_after_the_levels_number_of_skills(mona: Rig) -> None:
    llm = ScriptedLLM(["Oh.", "Well.", "I suppose so."])
    s = _practice(mona, llm, level=2)  # medium: three skills
    told: list[dict[str, object]] = []
    s.listener = told.append

    async def run() -> None:
        await s.start()
        await s.settle()
        s.type_text("Mum, I feel overwhelmed by the calls.")  # i-statement + naming the feeling
        await s.settle()
        assert not s.gave_way
        s.type_text("I understand you worry.")  # acknowledging: the third
        await s.settle()
        assert s.gave_way
        s.type_text("How about one call in the evening?")
        await s.settle()
        s.pause(True)
        s.test_clock["now"] += 100.0
        s.pause(False)
        d = await s.finish()
        assert d.partner_gave_way and d.turns == 3
        assert d.minutes < 1.0  # the time out does not count
        await s.stop()

    asyncio.run(run())
    assert "begin to give way" in llm.seen[-1][0].content
    assert "begin to give way" not in llm.seen[0][0].content
    first = next(e for e in told if e["type"] == "disclosure")
    assert str(first["text"]).startswith(PRACTICE_NOTICE) and "AI" in str(first["text"])
    assert any(e["type"] == "debrief" for e in told)
    # the opening line is in the partner's memory; the disclosure is not
    assert llm.seen[0][1].content == s.scenario.opening


def test_practice_can_be_turned_off() -> None:
    from companion.config import load_settings
    from companion.wiring import Models, new_session

    settings = load_settings(None, {}, practice=False)
    models = Models(ScriptedSTT([]), ScriptedLLM([]), ToneTTS(), None)
    with pytest.raises(InputError, match="practice mode is turned off"):
        new_session(models, settings, mode="practice", scenario="job-interview")
