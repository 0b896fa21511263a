"""A practice session: the avatar plays a scenario's partner; the user can take a time out and
end it; the end brings the debrief.

Difficulty works through the partner's prompt: once the user has used the scenario's skills
often enough (1, 3 or 5 times, by level), the partner is told to begin to give way. The crisis
safeguard works here exactly as in every other mode (it lives in VoiceSession)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from companion.dialogue.debrief import Debrief, TurnFacts, compute
from companion.dialogue.scenario import Scenario
from companion.session import VoiceSession

PRACTICE_NOTICE = "This is practice, not therapy."


def disclosure(scenario: Scenario) -> str:
    return (f"{PRACTICE_NOTICE} I'm an AI, playing {scenario.partner_name}. "
            f"Take a time out or end whenever you like.")


class PracticeSession(VoiceSession):
    def __init__(self, *args: Any, scenario: Scenario,
                 reflect: Callable[[Debrief], Awaitable[tuple[str, str]]] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scenario = scenario
        self.skill_uses = 0
        self.gave_way = False
        self.paused = False
        self._paused_s = 0.0
        self._pause_t = 0.0
        self.debrief: Debrief | None = None
        self._reflect = reflect  # only when a capable model is configured (see the wiring)

    def open(self) -> None:
        """The disclosure, then the partner's opening line (which the LLM sees as said)."""
        text = f"{self.cfg.disclosure} {self.scenario.opening}".strip()
        self._tell("disclosure", text=self.cfg.disclosure)
        self.say(text, turn=0, remember=False)
        self.memory.add("assistant", self.scenario.opening)

    def on_user_turn(self, text: str) -> None:
        used = sum(skill.found_in(text) for skill in self.scenario.skills)
        self.skill_uses += used
        if not self.gave_way and self.skill_uses >= self.scenario.yield_after:
            self.gave_way = True
            self.persona = self.scenario.persona(yielding=True)
            self._llm_stage.persona = self.persona
            self.events.append({"event": "partner_gives_way", "t": round(self.now(), 3)})

    def pause(self, on: bool) -> None:
        """Time out: the partner stops talking and the microphone is not listened to (the
        connection drops its audio); the clock of the practice stops too."""
        if on == self.paused or self.debrief is not None:
            return
        if on:
            if self.busy:
                self.barge_in("time out")
            self._pause_t = self.now()
        else:
            self._paused_s += self.now() - self._pause_t
        self.paused = on
        self._tell("paused", on=on)

    def practised_s(self) -> float:
        now = self._pause_t if self.paused else self.now()
        return max(0.0, now - self._paused_s)

    async def finish(self) -> Debrief:
        """End the role-play and compute the debrief from what was said."""
        if self.debrief is not None:
            return self.debrief
        if self.busy:
            self.barge_in("end")
        seconds = self.practised_s()
        facts = [TurnFacts(r.user_text, r.user_s,
                           r.heard_text if r.interrupted else r.reply_text, r.partner_s,
                           r.interrupted) for r in self.records if not r.crisis]
        d = compute(self.scenario, facts, seconds, self.gave_way,
                    safeguard=any(r.crisis for r in self.records))
        if self._reflect is not None and facts and not d.safeguard:
            d.reflection, d.reflection_by = await self._reflect(d)
        self.debrief = d
        self._tell("debrief", **d.as_dict())
        return d
