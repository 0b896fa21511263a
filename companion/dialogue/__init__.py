"""Dialogue: personas, bounded memory, and the clause splitter that feeds TTS."""

from companion.dialogue.memory import Memory
from companion.dialogue.persona import Persona, load_persona
from companion.dialogue.splitter import ClauseSplitter

__all__ = ["ClauseSplitter", "Memory", "Persona", "load_persona"]
