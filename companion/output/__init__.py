"""Outputs: mp4 files (more sinks join in the voice-loop and server work)."""

from companion.output.mp4 import Mp4Writer

__all__ = ["Mp4Writer"]
