"""The crisis safeguard: a detector for risk in the user's words, and what a hit does."""

from companion.safety.detector import CATEGORIES, Risk, detect, normalise
from companion.safety.guard import STILL_HERE, CrisisNotice, notice

__all__ = ["CATEGORIES", "STILL_HERE", "CrisisNotice", "Risk", "detect", "normalise", "notice"]
