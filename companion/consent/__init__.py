"""Consent: who allowed which face to be animated, checked at the engine boundary.

The record type is in `record`, the engine's check in `gate`, the store in `registry`; what the
checks need from the face engine and the recogniser is handed in (`tools`)."""
