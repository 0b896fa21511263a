"""The installation's secret key, and the MACs made with it over everything the consent gate
trusts from disk: registry rows, the audit chain, cached rigs, provenance files of avatars
outside the package.

Why a MAC and not only a hash: anyone who can write a file can also recompute a plain hash
over their edit. Without the key they cannot make a MAC that verifies, so an edited row, a
copied rig or a hand-written provenance file is refused instead of trusted. The key lives in
the data folder (mode 0600); whoever can read it can forge, which the README says.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from pathlib import Path
from typing import Any

KEY_BYTES = 32
_lock = threading.Lock()
_cache: dict[Path, bytes] = {}


def key_path(root: Path | None = None) -> Path:
    """The key of the data folder `root` (default: the settings' data folder)."""
    if root is None:
        from companion.cache import data_dir

        root = data_dir()
    return root / "signing" / "install.key"


def _create(path: Path) -> None:
    """Made once, atomically: two processes starting together end up with the same key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(KEY_BYTES))
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)  # fails if another process made it first: theirs is kept
    except FileExistsError:
        pass
    finally:
        tmp.unlink()


def installation_key(root: Path | None = None) -> bytes:
    path = key_path(root)
    with _lock:
        if path in _cache:
            return _cache[path]
        if not path.is_file():
            _create(path)
        key = path.read_bytes()
        if len(key) != KEY_BYTES:
            from companion.errors import ConsentError

            raise ConsentError(f"the installation key {path} is damaged",
                               "nothing signed with it can be trusted; remove the data folder's "
                               "signing/install.key and record consent again")
        _cache[path] = key
        return key


def _canonical(kind: str, payload: Any) -> bytes:
    # the kind keeps a MAC made for one thing (a rig) from being replayed as another (a row)
    return json.dumps([kind, payload], sort_keys=True, separators=(",", ":"),
                      ensure_ascii=True).encode()


def mac(kind: str, payload: Any, root: Path | None = None) -> str:
    """HMAC-SHA256 with the installation's key over `payload` (JSON-able), as hex. `root`:
    the data folder whose key it is (a registry opened on a folder of its own passes it)."""
    return hmac.new(installation_key(root), _canonical(kind, payload),
                    hashlib.sha256).hexdigest()


def mac_bytes(kind: str, *parts: bytes) -> str:
    """The same over raw bytes (a rig's arrays), each part length-prefixed."""
    h = hmac.new(installation_key(), kind.encode() + b"\0", hashlib.sha256)
    for p in parts:
        h.update(len(p).to_bytes(8, "big"))
        h.update(p)
    return h.hexdigest()


def verify(kind: str, payload: Any, tag: object, root: Path | None = None) -> bool:
    return isinstance(tag, str) and hmac.compare_digest(mac(kind, payload, root), tag)
