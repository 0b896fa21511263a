"""Local front ends: the microphone and speaker of this computer, and file-fed chat."""
