"""Files written whole or not at all: a temp file beside the target, fsync, rename, fsync of
the folder. A kill or a full disk mid-write leaves the old file (or none), never a truncated
one; the caller commits nothing that names a file until the file is safely there."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

TMP_MARK = ".partial-"  # temp files carry this; leftovers of a killed write can be swept


def _tmp(path: Path) -> Path:
    return path.with_name(f"{TMP_MARK}{secrets.token_hex(4)}-{path.name}")


def _sync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, fill: Callable[[BinaryIO], object]) -> Path:
    """`fill` writes the content into a temp file, which then replaces `path` whole."""
    tmp = _tmp(path)
    try:
        with tmp.open("wb") as f:
            fill(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _sync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_bytes(path: Path, data: bytes) -> Path:
    return _write(path, lambda f: f.write(data))


def copy_file(src: Path, path: Path) -> Path:
    def fill(f: BinaryIO) -> None:
        with src.open("rb") as i:
            shutil.copyfileobj(i, f, 1 << 20)

    return _write(path, fill)


def sweep(folder: Path) -> list[Path]:
    """Delete what killed writes left in `folder`; returns what was removed."""
    gone = [p for p in folder.glob(f"{TMP_MARK}*") if p.is_file()]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone
