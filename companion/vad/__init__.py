"""Voice activity detection and turn taking."""

from companion.vad.silero import SileroVAD
from companion.vad.turns import TurnConfig, TurnDetector, TurnEvent

__all__ = ["SileroVAD", "TurnConfig", "TurnDetector", "TurnEvent"]
