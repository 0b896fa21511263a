"""HTTP endpoints behind the page's upload + consent flow.

    POST /api/uploads              raw image bytes → {upload, width, height}
    POST /api/consent/attest       {upload, category, statement} → {consent_id} (when the
                                   deployment's attestation policy allows it)
    POST /api/consent/challenge    {name} → {challenge, phrase, code, expires_in}
    POST /api/consent/clip?upload=U&challenge=C   raw video bytes → {consent_id, checks}
    POST /api/consent/revoke       {consent_id} → {revoked, removed}
    GET  /api/portraits            active consent records usable as avatars

An upload is checked (type by content, limits, exactly one usable face) and held in memory only
until a consent decision; nothing reaches the disk unless consent is recorded. Every POST needs
the server's Origin (a page elsewhere cannot drive it) and the access token when one is set.
Every refusal is a JSON {"error": "..."} with a plain reason; nothing is kept for it.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import tempfile
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from companion.consent import clip as clips
from companion.consent.registry import ConsentRegistry
from companion.errors import CompanionError, InputError
from companion.face.image import MAX_BYTES as MAX_IMAGE_BYTES
from companion.face.image import LoadedImage, load_image_bytes

UPLOAD_TTL_S = 1800.0
MAX_UPLOADS = 8
MAX_JSON = 16 * 1024

Handler = Callable[[Request], Awaitable[Response]]


class TooLarge(InputError):
    pass


class Uploads:
    """Checked portraits waiting for a consent decision, in memory, oldest dropped first."""

    def __init__(self) -> None:
        self._items: OrderedDict[str, tuple[float, LoadedImage]] = OrderedDict()

    def add(self, img: LoadedImage) -> str:
        self._expire()
        uid = "u_" + secrets.token_hex(8)
        self._items[uid] = (time.monotonic(), img)
        while len(self._items) > MAX_UPLOADS:
            self._items.popitem(last=False)
        return uid

    def get(self, uid: str) -> LoadedImage:
        self._expire()
        if uid not in self._items:
            raise InputError("that upload is gone (uploads are kept 30 minutes)",
                             "upload the portrait again")
        return self._items[uid][1]

    def drop(self, uid: str) -> None:
        self._items.pop(uid, None)

    def _expire(self) -> None:
        now = time.monotonic()
        for k in [k for k, (t, _) in self._items.items() if now - t > UPLOAD_TTL_S]:
            del self._items[k]


async def read_body(request: Request, limit: int, what: str) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"the {what} is larger than {limit // (1024 * 1024) or 1} MB")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"the {what} is larger than {limit // (1024 * 1024) or 1} MB")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request) -> dict[str, Any]:
    import json

    raw = await read_body(request, MAX_JSON, "request")
    try:
        doc = json.loads(raw or b"{}")
    except ValueError:
        raise InputError("the request is not JSON") from None
    if not isinstance(doc, dict):
        raise InputError("the request must be a JSON object")
    return doc


def _field(doc: dict[str, Any], key: str, limit: int = 2000) -> str:
    v = doc.get(key)
    if not isinstance(v, str) or not v.strip():
        raise InputError(f"missing {key!r}")
    if len(v) > limit:
        raise InputError(f"{key!r} is too long")
    return v.strip()


def guarded(guard: Callable[[Request], str | None], fn: Handler) -> Handler:
    """`fn` behind the guard; a refusal or a bad request becomes a JSON error with its
    reason (413 for too large, 400 for the rest), never a traceback."""
    async def wrapped(request: Request) -> Response:
        why = guard(request)
        if why:
            return JSONResponse({"error": why}, status_code=403)
        try:
            return await fn(request)
        except TooLarge as e:
            return JSONResponse({"error": str(e)}, status_code=413)
        except CompanionError as e:
            return JSONResponse({"error": str(e)}, status_code=400)
    return wrapped


def active_portraits() -> list[dict[str, str]]:
    """Portraits with a valid consent record: avatars the page may offer by consent id."""
    with ConsentRegistry() as reg:
        return [{"consent_id": r.consent_id, "category": r.category,
                 "subject": str(reg.details(r.consent_id)["subject"])}
                for r in reg.records() if not r.revoked]


def consent_routes(guard: Callable[[Request], str | None],
                   attestation_allowed: bool = True) -> list[Route]:
    """`guard(request)` returns why a request is refused (origin, token), or None. Without
    `attestation_allowed` (the deployment's policy) only consent clips make a record."""
    from companion.wiring import consent_tools

    uploads = Uploads()
    tools = consent_tools()

    def endpoint(fn: Handler) -> Handler:
        return guarded(guard, fn)

    @endpoint
    async def upload(request: Request) -> JSONResponse:
        data = await read_body(request, MAX_IMAGE_BYTES, "image")
        name = request.query_params.get("name", "portrait")[:100]

        def check() -> LoadedImage:
            img = load_image_bytes(data, name)
            tools.check_portrait(img)
            return img

        img = await asyncio.to_thread(check)
        h, w = img.rgb.shape[:2]
        return JSONResponse({"upload": uploads.add(img), "width": w, "height": h})

    @endpoint
    async def attest(request: Request) -> JSONResponse:
        if not attestation_allowed:
            raise InputError("this server accepts recorded consent clips only",
                             "record the person saying the consent phrase instead")
        doc = await read_json(request)
        uid = _field(doc, "upload", 40)
        img = uploads.get(uid)
        category, statement = _field(doc, "category", 20), _field(doc, "statement")

        def run() -> str:
            with ConsentRegistry() as reg:
                return str(reg.attest(img, category, statement, who="web page",
                                      tools=tools, allowed=attestation_allowed).consent_id)

        rid = await asyncio.to_thread(run)
        uploads.drop(uid)
        return JSONResponse({"consent_id": rid})

    @endpoint
    async def challenge(request: Request) -> JSONResponse:
        doc = await read_json(request)
        name = _field(doc, "name", 100)
        with ConsentRegistry() as reg:
            ch = reg.issue_challenge(name)
        return JSONResponse({"challenge": ch.challenge_id, "phrase": ch.phrase, "code": ch.code,
                             "action": ch.action, "action_text": ch.action_text,
                             "expires_in": round(ch.expires - time.time())})

    @endpoint
    async def clip(request: Request) -> JSONResponse:
        uid = request.query_params.get("upload", "")
        cid = request.query_params.get("challenge", "")
        img = uploads.get(uid)
        data = await read_body(request, clips.MAX_BYTES, "consent clip")
        with tempfile.TemporaryDirectory(prefix="companion-clip-") as d:
            path = Path(d) / "clip.video"
            path.write_bytes(data)

            def run() -> tuple[str, dict[str, Any]]:
                import json

                with ConsentRegistry() as reg:
                    rec = reg.consent_from_clip(img, cid, path, who="web page", tools=tools)
                    return rec.consent_id, json.loads(reg.details(rec.consent_id)["checks"])

            rid, checks = await asyncio.to_thread(run)
        uploads.drop(uid)
        return JSONResponse({"consent_id": rid, "checks": checks["clip"]})

    @endpoint
    async def revoke(request: Request) -> JSONResponse:
        doc = await read_json(request)
        rid = _field(doc, "consent_id", 40)
        if not rid.startswith("c_"):
            raise InputError("only consent records made here can be revoked")

        def run() -> int:
            with ConsentRegistry() as reg:
                return len(reg.revoke(rid, who="web page", tools=tools))

        return JSONResponse({"revoked": rid, "removed": await asyncio.to_thread(run)})

    @endpoint
    async def portraits(request: Request) -> JSONResponse:
        return JSONResponse({"portraits": active_portraits()})

    return [Route("/api/uploads", upload, methods=["POST"]),
            Route("/api/consent/attest", attest, methods=["POST"]),
            Route("/api/consent/challenge", challenge, methods=["POST"]),
            Route("/api/consent/clip", clip, methods=["POST"]),
            Route("/api/consent/revoke", revoke, methods=["POST"]),
            Route("/api/portraits", portraits, methods=["GET"])]


def request_token(request: Request) -> str:
    """The token a request carries: a bearer header, or ?token= (what the page sends)."""
    return request.headers.get("authorization", "").removeprefix("Bearer ").strip() \
        or request.query_params.get("token", "")


def token_ok(given: str, token: str | None) -> bool:
    """Compared as bytes in constant time (a non-ASCII token is just a wrong one)."""
    return not token or hmac.compare_digest(given.encode(), token.encode())


def make_guard(token: str | None, origin_ok: Callable[[str | None, str | None], bool]
               ) -> Callable[[Request], str | None]:
    def guard(request: Request) -> str | None:
        if not origin_ok(request.headers.get("origin"), request.headers.get("host")):
            return "origin not allowed"
        if not token_ok(request_token(request), token):
            return "access token required"
        return None
    return guard
