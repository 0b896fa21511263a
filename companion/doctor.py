"""`companion doctor`: what works on this machine, and the command that fixes what does not."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable

from companion import models


def _check(label: str, fn: Callable[[], str]) -> bool:
    try:
        detail = fn()
        print(f"  ok    {label}{': ' + detail if detail else ''}")
        return True
    except Exception as e:  # every failure becomes a line with its fix
        print(f"  FAIL  {label}: {e}")
        return False


def _numpy() -> str:
    import numpy

    if int(numpy.__version__.split(".")[0]) >= 2:
        raise RuntimeError(f"numpy {numpy.__version__}; mediapipe 0.10.21 needs numpy<2 — "
                           "fix: pip install 'numpy==1.26.4'")
    return numpy.__version__


def _opencv() -> str:
    import cv2

    return cv2.__version__


def _raster() -> str:
    import numba

    from companion.face import raster

    raster.warm()  # compiles the renderer's loop, or loads it from numba's cache
    return f"numba {numba.__version__}"


def _h264() -> str:
    import av

    missing = [c for c in ("libx264", "aac") if c not in av.codecs_available]
    if missing:
        raise RuntimeError(f"PyAV lacks {missing} — fix: pip install --force-reinstall av")
    return f"PyAV {av.__version__} with libx264 + aac"


def _face() -> str:
    import numpy as np

    from companion.face.landmarks import FaceAnalyzer

    fa = FaceAnalyzer()
    fa.landmarks(np.zeros((64, 64, 3), np.uint8))
    fa.close()
    return "MediaPipe face mesh loads"


def _tts() -> str:
    from companion.tts import make_tts

    seg = make_tts("piper").synthesize("Hi.")
    return f"piper voice speaks ({len(seg.phonemes)} phones timed)"


def _espeak() -> str:
    from companion.tts import make_tts

    seg = make_tts("espeak").synthesize("Hi.")
    return f"espeak-ng speaks ({len(seg.phonemes)} phones timed)"


def _torch() -> str:
    if importlib.util.find_spec("torch") is None:
        raise RuntimeError("not installed (optional: GPU render path) — fix: "
                           "pip install 'torch==2.13.0'")
    import torch

    return f"torch {torch.__version__}, CUDA {'yes' if torch.cuda.is_available() else 'no'}"


def _model(spec: models.ModelSpec) -> Callable[[], str]:
    def check() -> str:
        st = models.status(spec)
        if not st.verified:
            raise RuntimeError(st.problem)
        return f"verified, {st.size_bytes / 1e6:.1f} MB"

    return check


def _identity() -> str:
    import numpy as np

    from companion.consent.identity import FaceIdentity

    FaceIdentity().describe(np.zeros((64, 64, 3), np.uint8))
    import dlib

    return f"dlib {dlib.__version__} + 5-point aligner and ResNet descriptor load"


def _llama() -> str:
    import llama_cpp

    return f"llama-cpp-python {llama_cpp.__version__}"


def _llm_choice() -> str:
    from companion.llm.auto import probe

    choice = probe()
    if choice.base_url:
        return f"--llm auto answers with {choice.model}: {choice.reason}"
    return ("--llm auto answers with the embedded model: " + choice.reason +
            " (start Ollama or set COMPANION_LLM_BASE_URL for a bigger model; docs/llm.md)")


def _crisis_detector() -> str:
    from companion.safety import semantic
    from companion.safety.semantic import SentenceEncoder, Weights

    # built here, not through semantic.shared(), so the reason a part is missing is shown
    opinion = semantic.SemanticOpinion(SentenceEncoder(), Weights.load())
    found = opinion.judge("I've stockpiled enough medication to not wake up.")
    if found is None:
        raise RuntimeError("the second opinion did not flag a test sentence")
    return f"rules + MiniLM second opinion ({found.category}, p {found.p_risk:.2f} on a test line)"


def _c2pa() -> str:
    import c2pa

    return f"c2pa-rs {c2pa.sdk_version()}"


def run_checks() -> bool:
    print("models:")
    ok = True
    for s in models.REGISTRY:
        ok &= _check(s.name, _model(s))
    print("libraries:")
    ok &= _check("numpy", _numpy)
    ok &= _check("opencv", _opencv)
    ok &= _check("face renderer (compiled)", _raster)
    ok &= _check("video encoding", _h264)
    ok &= _check("face landmarks", _face)
    ok &= _check("speech synthesis", _tts)
    ok &= _check("fallback speech synthesis", _espeak)
    ok &= _check("face identity (consent clips)", _identity)
    ok &= _check("crisis detector", _crisis_detector)
    ok &= _check("C2PA signing", _c2pa)
    ok &= _check("llama.cpp (embedded LLMs)", _llama)
    _check("which model answers", _llm_choice)
    _check("torch (optional)", _torch)
    ff = shutil.which("ffprobe")
    print(f"  info  ffprobe {'found' if ff else 'not installed (not needed: PyAV is used)'}")
    print("everything needed works" if ok else "some checks failed: run the fix shown above")
    return ok
