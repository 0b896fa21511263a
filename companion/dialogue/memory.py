"""Bounded conversation memory: the last turns that fit a character budget."""

from __future__ import annotations

from dataclasses import dataclass, field

from companion.frames import Message


@dataclass
class Memory:
    max_turns: int = 20
    max_chars: int = 3200
    turns: list[Message] = field(default_factory=list)

    def add(self, role: str, text: str) -> None:
        text = text.strip()
        if text:
            self.turns.append(Message(role, text))
        self._trim()

    def replace_last_assistant(self, text: str) -> None:
        """After a barge-in: keep only what the user actually heard of the last reply."""
        for i in range(len(self.turns) - 1, -1, -1):
            if self.turns[i].role == "assistant":
                if text.strip():
                    self.turns[i] = Message("assistant", text.strip())
                else:
                    del self.turns[i]
                return

    def take_last_user(self) -> str:
        """Remove and return the last user message (a turn the user went on with)."""
        for i in range(len(self.turns) - 1, -1, -1):
            if self.turns[i].role == "user":
                return self.turns.pop(i).content
        return ""

    def _trim(self) -> None:
        chars = sum(len(m.content) for m in self.turns)
        if len(self.turns) <= self.max_turns and chars <= self.max_chars:
            return
        # Over the limit: drop the oldest turns down to two thirds of it in one go. Dropping one
        # at a time would change the start of the history — the part of the prompt the model
        # keeps evaluated from the last turn — on every turn from then on.
        keep_turns, keep_chars = max(1, self.max_turns * 2 // 3), self.max_chars * 2 // 3
        while len(self.turns) > 1 and (len(self.turns) > keep_turns or chars > keep_chars
                                       or self.turns[0].role != "user"):
            chars -= len(self.turns.pop(0).content)

    def messages(self, system: str) -> list[Message]:
        return [Message("system", system), *self.turns]

    def messages_with(self, role: str, text: str, system: str) -> list[Message]:
        """The messages as they will be once `text` is added (trimmed the same way), leaving
        this memory as it is: the prompt of a turn that is not over yet."""
        ahead = Memory(self.max_turns, self.max_chars, list(self.turns))
        ahead.add(role, text)
        return ahead.messages(system)
