"""Consent: who allowed which face to be animated, checked at the engine boundary."""

from companion.consent.gate import ConsentRecord, require_consent

__all__ = ["ConsentRecord", "require_consent"]
