"""The CPU budget: how many threads each native library may use.

On two cores, five libraries that each start one thread per core (torch, CTranslate2,
onnxruntime, OpenCV, llama.cpp) would ask for ten runnable threads at once, and onnxruntime's
and OpenMP's workers spin while they wait, stealing the cycles the others need. The figures
here are the budget for a live conversation: the LLM (the critical path to the first word)
gets every core for its prompt and all but the renderer's share for decoding, the face renders
on one thread, small ONNX models run on one thread without spinning.
"""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ThreadBudget:
    llm_prompt: int  # llama.cpp threads for prompt processing (n_threads_batch)
    llm_decode: int  # llama.cpp threads for generating tokens
    stt: int  # CTranslate2 intra-op threads
    tts: int  # piper's onnxruntime intra-op threads
    render: int  # OpenCV threads in the face renderer
    small: int  # VAD, Smart Turn
    blas: int  # numpy's and scipy's OpenBLAS


def budget(cores: int | None = None) -> ThreadBudget:
    n = max(1, cores or len(os.sched_getaffinity(0)))
    return ThreadBudget(llm_prompt=n, llm_decode=max(1, n - 1) if n > 2 else n,
                        stt=min(n, 4), tts=min(n, 4), render=1, small=1, blas=1)


def onnx_options(threads: int) -> Any:
    """onnxruntime session options: `threads` intra-op workers that sleep instead of spinning
    between runs (a spinning worker holds a core the renderer or the LLM needs)."""
    import onnxruntime

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return opts


def apply_budget(b: ThreadBudget) -> None:
    """Process-wide limits for the libraries that keep their own pools. OpenCV's would split
    each remap across every core; the renderer is one of several things running, and one
    thread is cheaper than the handoffs. OpenBLAS (numpy's and scipy's) starts a worker per
    core that spins in sched_yield after every call: the renderer's small matrix product 25
    times a second kept one of two cores busy in the kernel for the whole conversation
    (58 s of system time in a 2-minute `bench browser`, ~0.5 s more to every reply)."""
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(b.render)
    threadpool_limits(b.blas, user_api="blas")  # the libraries loaded so far
    limit_blas_at_load(b)  # and any loaded later
    fix_heap_thresholds()


# glibc mallopt parameters, and the values a long-running process is given
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
HEAP_TRIM_BYTES = 8 << 20
HEAP_MMAP_BYTES = 8 << 20


def fix_heap_thresholds() -> None:
    """Fixed malloc thresholds instead of glibc's sliding ones. Each time a large block is
    freed glibc raises the size below which blocks come from its per-thread heaps (up to 32 MB)
    and the free space a heap's top may keep (up to 64 MB), and malloc_trim never trims the top
    of a thread's heap: after a 4-session soak the server kept +149 MB resident that glibc
    counted as free, over a dozen thread heaps. With both fixed at 8 MB, RSS after the same
    soak came back within 1.5 % of its baseline (+10.4 % before; 1 MB blocks mapped on their
    own made 3x the system time in `bench latency`, 8 MB the same as before). A threshold set
    in the environment is kept. No-op off glibc."""
    libc = _libc()
    if libc is None:
        return
    with contextlib.suppress(AttributeError):
        if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
            libc.mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_BYTES)
        if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
            libc.mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_BYTES)


@functools.cache
def _libc() -> Any:
    """The C library, found once: `find_library` runs `ldconfig` in a subprocess, and the heap
    trim runs after every conversation. None where there is none to load."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def limit_blas_at_load(b: ThreadBudget) -> None:
    """OpenBLAS reads its thread count when it loads: set before numpy is imported (the CLI
    does this first), it applies to every BLAS the process loads. A count the user set in the
    environment is kept."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(b.blas))


def _cpuinfo() -> tuple[str, set[str]]:
    """The CPU's model name and feature flags (Linux; unknown elsewhere)."""
    name, flags = "unknown CPU", set()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            name = value.strip()
        elif key.strip() == "flags":
            flags = set(value.split())
            break
    return name, flags


def cpu_model() -> str:
    """The CPU's name and its widest vector units, for every published figure."""
    name, flags = _cpuinfo()
    units = [u for u, f in (("AMX", "amx_tile"), ("AVX-512", "avx512f"), ("AVX2", "avx2"))
             if f in flags]
    return f"{name}, {len(os.sched_getaffinity(0))} cores, {' + '.join(units) or 'no AVX2'}"


def has_int8_dot() -> bool:
    """Does the CPU have VNNI (AVX-512 or AVX) int8 dot products? Without them onnxruntime's
    int8 matrix kernels add pairs in saturating 16-bit lanes, and a quantised model's answers
    drift: Smart Turn said 0.74 "finished" for a sentence broken off mid-way on an AVX2-only
    EPYC, 0.29 with the same weights computed in float."""
    flags = _cpuinfo()[1]
    return bool(flags & {"avx512_vnni", "avx_vnni", "amx_int8"})


def release_memory() -> None:
    """Give freed heap back to the system (glibc keeps it in per-thread arenas otherwise, so a
    server's RSS only grows as sessions come and go). Blocking; a no-op off glibc."""
    import gc

    gc.collect()
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(AttributeError):
            libc.malloc_trim(0)
