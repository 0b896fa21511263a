"""Bundled avatars (avatars/NAME/ with a provenance file) and portraits given by path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from companion.config import current
from companion.consent.bundled import bundled_names, provenance, record_of
from companion.consent.record import ConsentRecord
from companion.consent.tools import ConsentTools
from companion.errors import InputError
from companion.face.image import LoadedImage, load_image


@dataclass(frozen=True)
class Avatar:
    image: LoadedImage
    consent: ConsentRecord | None
    name: str


def avatars_dir() -> Path:
    return current().avatars_dir()


def bundled() -> list[str]:
    return bundled_names()


def resolve(spec: str, attest: str | None = None, tools: ConsentTools | None = None) -> Avatar:
    """A bundled avatar by name (consent from its provenance record), or an image path.

    A path needs `attest` — the uploader's typed statement that the image is artwork or a
    synthetic/cartoon face ("artwork: ..." or "synthetic: ..."); real people's photos need a
    recorded consent clip, which a typed statement cannot replace. `tools`: the face check
    an attestation needs (the wiring's `consent_tools()`).
    """
    d = avatars_dir() / spec
    prov = provenance(spec)  # None where `spec` names no avatar folder
    if prov is not None:
        img = load_image(d / Path(prov["file"]).name)
        if img.sha256 != prov["sha256"]:
            raise InputError(f"bundled avatar {spec} does not match its provenance record")
        return Avatar(img, record_of(spec, prov), spec)  # the provenance just checked
    if spec.startswith("c_") and not Path(spec).exists():
        # a portrait in the consent registry, by its consent id (uploads from the page)
        from companion.consent.registry import ConsentRegistry

        with ConsentRegistry() as reg:
            img = reg.portrait(spec)
            return Avatar(img, reg.get(spec), img.name)
    p = Path(spec)
    if not p.exists():
        names = ", ".join(bundled()) or "none installed"
        raise InputError(f"no avatar or image named {spec!r}", f"bundled avatars: {names}")
    img = load_image(p)
    rec: ConsentRecord | None = None
    if attest:
        kind, _, statement = attest.partition(":")
        kind = kind.strip().lower()
        if kind not in ("artwork", "synthetic") or not statement.strip():
            raise InputError("--attest must read 'artwork: <why>' or 'synthetic: <why>'",
                             "a real person's photo needs their recorded consent instead")
        from companion.consent.registry import ConsentRegistry

        if tools is None:
            raise TypeError("an attestation needs the consent tools (wiring.consent_tools)")
        with ConsentRegistry() as reg:
            rec = reg.attest(img, kind, statement.strip(), tools=tools)
    else:
        rec = _registered(img.sha256)
    return Avatar(img, rec, p.stem)


def _registered(sha256: str) -> ConsentRecord | None:
    """A valid registry record for this exact image, if one exists."""
    from companion.consent.registry import ConsentRegistry

    with ConsentRegistry() as reg:
        return reg.find(sha256)
