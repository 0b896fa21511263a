"""User-facing errors. Each carries a plain message and, where there is one, the fix."""

from __future__ import annotations


class CompanionError(Exception):
    """Base for errors shown to the user as one clear line (never a traceback)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(CompanionError):
    """A file or argument the user gave cannot be used."""


class FaceError(InputError):
    """The portrait has no usable face, several faces, or a face that is too small or cut off."""


class ModelError(CompanionError):
    """An embedded model is missing or fails its checksum."""


class ConsentError(CompanionError):
    """Animating this face is not covered by a valid consent record."""


__all__ = ["CompanionError", "ConsentError", "FaceError", "InputError", "ModelError"]
