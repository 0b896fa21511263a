"""Bounded conversation memory: the last turns that fit a character budget."""

from __future__ import annotations

from dataclasses import dataclass, field

from companion.llm.base import Message


@dataclass
class Memory:
    max_turns: int = 12
    max_chars: int = 2400
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
        while len(self.turns) > self.max_turns or (
                sum(len(m.content) for m in self.turns) > self.max_chars and len(self.turns) > 1):
            self.turns.pop(0)

    def messages(self, system: str) -> list[Message]:
        return [Message("system", system), *self.turns]
