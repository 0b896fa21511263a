"""The consent records of the bundled avatars: each avatar's folder holds the image and a
`provenance.json` with its hash, source and licence. The gate reads the record from here
rather than trusting one handed to it."""

from __future__ import annotations

import json

from companion.config import current
from companion.consent.record import ConsentRecord


def bundled_names() -> list[str]:
    """The installed bundled avatars (folders with a provenance file)."""
    d = current().avatars_dir()
    return sorted(p.name for p in d.iterdir() if (p / "provenance.json").is_file()) \
        if d.is_dir() else []


def bundled_record(name: str) -> ConsentRecord | None:
    """The record in a bundled avatar's provenance file (None if there is no such avatar)."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    prov_path = current().avatars_dir() / name / "provenance.json"
    if not prov_path.is_file():
        return None
    prov = json.loads(prov_path.read_text())
    return ConsentRecord(f"bundled:{name}", prov["sha256"], "bundled", prov["statement"])
