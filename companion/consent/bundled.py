"""The consent records of the bundled avatars: each avatar's folder holds the image and a
`provenance.json` with its hash, source and licence. The gate reads the record from here
rather than trusting one handed to it.

The package's own avatars are trusted as shipped. A folder named by the `avatars` setting is
anyone's to write, so its provenance files count only when signed with the installation's key
(`companion consent sign-avatar DIR`, after the person in charge has checked the licence).
"""

from __future__ import annotations

import json
from typing import Any

from companion.config import current
from companion.consent import keys
from companion.consent.record import ConsentRecord
from companion.errors import ConsentError

SIGNED = ("name", "file", "sha256", "category", "statement")  # what the signature covers


def bundled_names() -> list[str]:
    """The installed bundled avatars (folders with a provenance file)."""
    d = current().avatars_dir()
    return sorted(p.name for p in d.iterdir() if (p / "provenance.json").is_file()) \
        if d.is_dir() else []


def _signed_part(prov: dict[str, Any]) -> list[Any]:
    return [prov.get(k) for k in SIGNED]


def provenance(name: str) -> dict[str, Any] | None:
    """A bundled avatar's provenance (None if there is no such avatar). ConsentError when it
    is outside the package and not signed by this installation."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        return None
    prov_path = current().avatars_dir() / name / "provenance.json"
    if not prov_path.is_file():
        return None
    try:
        prov = json.loads(prov_path.read_text())
        if not isinstance(prov, dict) or not all(isinstance(prov.get(k), str) for k in SIGNED):
            raise ValueError
    except ValueError:
        raise ConsentError(f"the provenance file of avatar {name!r} is not readable") from None
    if not current().avatars_are_packaged() and not (
            prov.get("name") == name and keys.verify("avatar", _signed_part(prov),
                                                     prov.get("signature"))):
        raise ConsentError(f"avatar {name!r} is not one of the package's and its provenance "
                           "is not signed by this installation",
                           f"check its licence, then `companion consent sign-avatar "
                           f"{prov_path.parent}`")
    return prov


def sign(prov: dict[str, Any]) -> dict[str, Any]:
    """The provenance with this installation's signature (for `consent sign-avatar`)."""
    if not all(isinstance(prov.get(k), str) for k in SIGNED):
        raise ConsentError("a provenance file needs " + ", ".join(SIGNED))
    return {**prov, "signature": keys.mac("avatar", _signed_part(prov))}


def bundled_record(name: str) -> ConsentRecord | None:
    """The record in a bundled avatar's provenance file (None if there is no such avatar or
    its provenance cannot be trusted)."""
    try:
        prov = provenance(name)
    except ConsentError:
        return None
    return None if prov is None else record_of(name, prov)


def record_of(name: str, prov: dict[str, Any]) -> ConsentRecord:
    """The consent record a bundled avatar's (already checked) provenance stands for."""
    return ConsentRecord(f"bundled:{name}", prov["sha256"], "bundled", prov["statement"])
