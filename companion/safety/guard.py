"""What the safeguard says and shows when the detector finds a risk. Fixed words, never a
model's: the persona, the scenario and the LLM have no say in them."""

from __future__ import annotations

from dataclasses import dataclass

from companion.safety.detector import Risk

LEAVE_ROLE = ("I need to stop here. I'm an AI, not a person, and I can't help in a crisis. "
              "Please reach out to someone who can, right now: the contacts are on your screen. "
              "If anyone is in danger, call your local emergency number.")
MEDICAL = ("I need to stop here. This may be a medical emergency. I'm an AI and I can't help: "
           "please call your local emergency number now. The numbers are on your screen.")
STILL_HERE = ("I'm an AI, and I can't help with this. Please use the contacts on your screen, "
              "or call your local emergency number.")


@dataclass(frozen=True)
class CrisisNotice:
    category: str
    message: str  # what the avatar says, and the page shows
    resources: tuple[str, ...]
    hold_s: int  # the page's notice cannot be closed before this

    def event(self) -> dict[str, object]:
        return {"category": self.category, "message": self.message,
                "resources": list(self.resources), "hold_s": self.hold_s}


def notice(risk: Risk, resources: tuple[str, ...], hold_s: int) -> CrisisNotice:
    message = MEDICAL if risk.category == "medical" else LEAVE_ROLE
    return CrisisNotice(risk.category, message, resources, max(3, hold_s))
