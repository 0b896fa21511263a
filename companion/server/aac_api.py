"""HTTP endpoints of the communication aid (the words themselves go over the websocket).

    GET    /api/aac/state?user=U              boards, quick phrases, history
    GET    /api/aac/suggest?user=U&text=T     completions, next words, expansions
    PUT    /api/aac/board?user=U              one board as OBF JSON (edited in the page)
    DELETE /api/aac/board/{id}?user=U
    POST   /api/aac/import?user=U&name=F      raw .obf or .obz bytes → {imported: [ids]}
    GET    /api/aac/export/{id}.obf?user=U    one board; /api/aac/export.obz: all of them
    PUT    /api/aac/quick?user=U              {phrases: [...]}
    POST   /api/aac/bank/{board}/{button}?user=U   raw audio: the user's own recording
    DELETE /api/aac/history?user=U[&n=ID]     forget one sentence, or all

Every request passes the same guard as the consent endpoints (the server's Origin, the token).
A bad board or recording is refused with its reason and changes nothing.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from companion.aac.board import (
    MAX_ASSET,
    MAX_OBF_BYTES,
    MAX_OBZ_BYTES,
    Board,
    parse_obf,
    read_board_file,
    write_obz,
)
from companion.aac.predict import Predictor
from companion.aac.store import AACStore, check_user
from companion.errors import InputError
from companion.server.consent_api import guarded, read_body, read_json

MAX_RECORDING_S = 30.0


@dataclass
class _Learned:
    phrases: tuple[object, ...]  # the boards' and quick phrases' version it was built from
    mark: tuple[int, int]  # the history it has learned (newest number, count)
    predictor: Predictor


class Predictors:
    """One predictor per user. Sentences said since it was built are learned as they come
    (the typing path); it is rebuilt only when the boards or quick phrases change or history
    was deleted, since building reads every board."""

    def __init__(self) -> None:
        self._by_user: dict[str, _Learned] = {}

    def get(self, store: AACStore, user: str) -> Predictor:
        phrases, mark = store.phrases_version(user), store.history_mark(user)
        hit = self._by_user.get(user)
        if hit is not None and hit.phrases == phrases and mark != hit.mark:
            new = store.history_since(user, hit.mark[0])
            if mark[1] - hit.mark[1] == len(new):  # only added, nothing deleted
                for text in new:
                    hit.predictor.learn(text)
                hit.mark = mark
        if hit is None or hit.phrases != phrases or hit.mark != mark:
            p = Predictor((t for _, t, _ in store.history(user)), store.phrases(user))
            hit = self._by_user[user] = _Learned(phrases, mark, p)
        return hit.predictor


def _user(request: Request) -> str:
    return check_user(request.query_params.get("user", "me"))


def board_view(b: Board) -> dict[str, Any]:
    """A board for the page: OBF without the recordings (buttons still name theirs)."""
    doc = b.to_obf()
    doc["sounds"] = []
    return doc


def keep_recordings(edited: Board, stored: Board | None) -> Board:
    """The page edits boards without their recordings: each button keeps the one it had."""
    for b in edited.buttons:
        if b.sound_id and b.sound_id not in edited.sounds:
            had = stored.sounds.get(b.sound_id) if stored is not None else None
            if had is not None:
                edited.sounds[b.sound_id] = had
            else:
                b.sound_id = ""
    return edited


def state(user: str) -> dict[str, Any]:
    with AACStore() as store:
        return {"user": user, "boards": [board_view(b) for b in store.boards(user)],
                "quick": store.quick(user),
                "history": [{"n": n, "text": t, "t": round(at, 1)}
                            for n, t, at in store.history(user, 200)]}


def aac_routes(guard: Callable[[Request], str | None]) -> list[Route]:
    predictors = Predictors()

    def with_store(fn: Callable[[AACStore], Any]) -> Any:
        with AACStore() as store:
            return fn(store)

    async def get_state(request: Request) -> Response:
        return JSONResponse(await asyncio.to_thread(state, _user(request)))

    async def suggest(request: Request) -> Response:
        user, text = _user(request), request.query_params.get("text", "")[:2000]
        found = await asyncio.to_thread(
            with_store, lambda s: predictors.get(s, user).suggest(text))
        return JSONResponse({"suggestions": [x.as_dict() for x in found]})

    async def put_board(request: Request) -> Response:
        user = _user(request)
        board = parse_obf(await read_body(request, MAX_OBF_BYTES, "board"))

        def save(s: AACStore) -> None:
            try:
                stored: Board | None = s.board(user, board.id)
            except InputError:  # a new board
                stored = None
            s.save(user, [keep_recordings(board, stored)])

        await asyncio.to_thread(with_store, save)
        return JSONResponse({"saved": board.id})

    async def delete_board(request: Request) -> Response:
        user, bid = _user(request), request.path_params["bid"]
        gone = await asyncio.to_thread(with_store, lambda s: s.delete_board(user, bid))
        return JSONResponse({"deleted": gone})

    async def import_boards(request: Request) -> Response:
        user = _user(request)
        name = request.query_params.get("name", "board.obf")[:200]
        raw = await read_body(request, MAX_OBZ_BYTES, "board file")
        boards = await asyncio.to_thread(read_board_file, name, raw)
        ids = await asyncio.to_thread(with_store, lambda s: s.save(user, boards))
        return JSONResponse({"imported": ids})

    async def export_one(request: Request) -> Response:
        user, bid = _user(request), request.path_params["bid"]
        board = await asyncio.to_thread(with_store, lambda s: s.board(user, bid))
        return Response(json.dumps(board.to_obf(), indent=1), media_type="application/json",
                        headers={"content-disposition": f'attachment; filename="{bid}.obf"'})

    async def export_all(request: Request) -> Response:
        user = _user(request)
        boards = await asyncio.to_thread(with_store, lambda s: s.boards(user))
        return Response(await asyncio.to_thread(write_obz, boards), media_type="application/zip",
                        headers={"content-disposition": 'attachment; filename="boards.obz"'})

    async def put_quick(request: Request) -> Response:
        user, doc = _user(request), await read_json(request)
        if not isinstance(doc.get("phrases"), list):
            raise InputError("send {\"phrases\": [...]}")
        saved = await asyncio.to_thread(with_store, lambda s: s.set_quick(user, doc["phrases"]))
        return JSONResponse({"quick": saved})

    async def bank(request: Request) -> Response:
        from companion.audio.io import decode_audio_bytes

        user = _user(request)
        bid, button = request.path_params["bid"], request.path_params["button"]
        data = await read_body(request, MAX_ASSET, "recording")
        ctype = request.headers.get("content-type", "audio/webm").split(";")[0].strip()
        if not ctype.startswith(("audio/", "video/webm", "video/mp4")):
            raise InputError(f"a recording must be audio, not {ctype!r}")
        clip = await asyncio.to_thread(decode_audio_bytes, data, "recording", 16000,
                                       MAX_RECORDING_S)
        await asyncio.to_thread(with_store, lambda s: s.bank(user, bid, button, data, ctype))
        return JSONResponse({"banked": button, "seconds": round(clip.duration, 2)})

    async def forget(request: Request) -> Response:
        user, n = _user(request), request.query_params.get("n")
        if n is not None and not n.isdigit():
            raise InputError("n must be a sentence number")
        count = await asyncio.to_thread(
            with_store, lambda s: s.forget(user, int(n) if n is not None else None))
        return JSONResponse({"forgotten": count})

    def route(path: str, fn: Any, method: str) -> Route:
        return Route(path, guarded(guard, fn), methods=[method])

    return [route("/api/aac/state", get_state, "GET"),
            route("/api/aac/suggest", suggest, "GET"),
            route("/api/aac/board", put_board, "PUT"),
            route("/api/aac/board/{bid}", delete_board, "DELETE"),
            route("/api/aac/import", import_boards, "POST"),
            route("/api/aac/export.obz", export_all, "GET"),
            route("/api/aac/export/{bid}.obf", export_one, "GET"),
            route("/api/aac/quick", put_quick, "PUT"),
            route("/api/aac/bank/{bid}/{button}", bank, "POST"),
            route("/api/aac/history", forget, "DELETE")]
