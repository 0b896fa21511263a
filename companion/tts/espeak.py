"""espeak-ng through its C library (ctypes), with phoneme events giving exact phone times.

The fallback voice: robotic, but tiny, instant, and its timings are exact.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Any

import numpy as np

from companion import models
from companion.errors import ModelError
from companion.frames import AudioFrame, Phoneme, SpeechSegment
from companion.tts.base import TTS

AUDIO_OUTPUT_SYNCHRONOUS = 2
INIT_PHONEME_EVENTS = 0x0001
INIT_PHONEME_IPA = 0x0002
INIT_DONT_EXIT = 0x8000
EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_END = 5
EVENT_PHONEME = 7
CHARS_UTF8 = 1


class _Id(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p),
                ("string", ctypes.c_char * 8)]


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", _Id)]


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))
_lib: Any = None
_rate = 0
_lock = threading.Lock()  # the library keeps global state: one synthesis at a time
_state: dict[str, Any] = {}


def _load() -> Any:
    global _lib, _rate
    if _lib is None:
        root = models.require("espeak-ng")
        lib = ctypes.CDLL(str(root / "libespeak-ng.so.1.52.0"))
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p,
                                          ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint,
                                     ctypes.c_int, ctypes.c_uint, ctypes.c_uint,
                                     ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, str(root).encode(),
                                     INIT_PHONEME_EVENTS | INIT_PHONEME_IPA | INIT_DONT_EXIT)
        if rate <= 0:
            raise ModelError("espeak-ng failed to initialise",
                             "pip install --force-reinstall espeakng-loader==0.2.4")
        if lib.espeak_SetVoiceByName(b"en-us") != 0:
            raise ModelError("espeak-ng has no en-us voice")

        @_CALLBACK
        def on_audio(wav: Any, n: int, events: Any) -> int:
            if n > 0 and wav:
                _state["audio"].append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
            i = 0
            while events[i].type != EVENT_LIST_TERMINATED:
                ev = events[i]
                if ev.type == EVENT_PHONEME:
                    sym = bytes(ev.id.string).split(b"\0")[0].decode("utf-8", "replace")
                    _state["events"].append((sym, ev.audio_position / 1000.0))
                i += 1
            return 0

        _state["callback"] = on_audio  # keep a reference: ctypes must not free it
        lib.espeak_SetSynthCallback(on_audio)
        _lib, _rate = lib, rate
    return _lib


class EspeakTTS(TTS):
    name = "espeak"

    def _synthesize(self, text: str) -> SpeechSegment:
        with _lock:
            lib = _load()
            _state["audio"], _state["events"] = [], []
            data = text.encode("utf-8") + b"\0"
            err = lib.espeak_Synth(data, len(data), 0, 0, 0, CHARS_UTF8, None, None)
            if err != 0:
                raise RuntimeError(f"espeak_Synth returned {err}")
            lib.espeak_Synchronize()
            chunks, events = _state["audio"], _state["events"]
        pcm = np.concatenate(chunks) if chunks else np.zeros(0, np.int16)
        samples = (pcm.astype(np.float32) / 32768.0)
        dur = len(samples) / _rate
        phones: list[Phoneme] = []
        for k, (sym, start) in enumerate(events):
            end = events[k + 1][1] if k + 1 < len(events) else dur
            clean = sym.replace("ˈ", "").replace("ˌ", "").replace("ː", "")
            if clean and end > start:
                phones.append(Phoneme(clean, start, end, "ˈ" in sym))
        return SpeechSegment(audio=AudioFrame(samples=samples, sample_rate=_rate),
                             phonemes=tuple(phones), text=text)
