"""Phrase boards in the Open Board Format (OBF): `.obf` is one board as JSON, `.obz` a zip of
boards with their images and sounds and a `manifest.json`.

Boards come from other AAC tools (Cboard, CoughDrop, AsTeRICS Grid export OBF), so everything
read here is untrusted: sizes are capped before anything is decoded, ids are coerced to strings
(real exports use integers), `null` grid cells are empty, archive paths may not leave the
archive, images must be images of a sane size, and a bad file is refused as a whole with a
reason — nothing of it is kept. Remote image URLs are kept for export but never fetched:
companion runs offline and a board must not make the page call out.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from companion.errors import InputError

FORMAT = "open-board-0.1"
MAX_OBF_BYTES = 8 * 1024 * 1024  # one board's JSON, images embedded
MAX_OBZ_BYTES = 40 * 1024 * 1024  # the archive as uploaded
MAX_UNPACKED = 80 * 1024 * 1024  # all members read out of an archive together
MAX_MEMBERS = 2000
MAX_RATIO = 200  # a member that inflates more than this is a zip bomb
MAX_BOARDS = 200
MAX_BUTTONS = 500  # per board
MAX_GRID = 30  # rows or columns
MAX_TEXT = 500  # a label or a vocalization
MAX_ASSET = 4 * 1024 * 1024  # one image or sound
MAX_PIXELS = 4096 * 4096
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml")
SOUND_TYPES = ("audio/", "video/webm", "video/mp4", "application/ogg")
_COLOR = re.compile(r"^(rgba?\([\d\s.,%]+\)|#[0-9a-fA-F]{3,8}|[a-z]{3,20})$")


class BoardError(InputError):
    """A board file that cannot be used, with the reason."""


@dataclass
class Asset:
    """An image or a sound: its bytes when the board carries them, else only a remote URL."""

    id: str
    content_type: str
    data: bytes = b""
    url: str = ""
    width: int = 0
    height: int = 0

    def data_uri(self) -> str:
        return f"data:{self.content_type};base64," + base64.b64encode(self.data).decode()


@dataclass
class Button:
    id: str
    label: str
    vocalization: str = ""  # what is said when it differs from the label
    image_id: str = ""
    sound_id: str = ""  # a recording: the user's own voice ("message banking")
    background_color: str = ""
    border_color: str = ""
    load_board: str = ""  # the id of the board this button opens

    @property
    def spoken(self) -> str:
        return self.vocalization or self.label


@dataclass
class Board:
    id: str
    name: str
    buttons: list[Button]
    rows: int
    columns: int
    order: list[list[str | None]]  # button ids by row and column; None: an empty cell
    locale: str = "en"
    images: dict[str, Asset] = field(default_factory=dict)
    sounds: dict[str, Asset] = field(default_factory=dict)

    def button(self, bid: str) -> Button:
        for b in self.buttons:
            if b.id == bid:
                return b
        raise BoardError(f"board {self.name!r} has no button {bid!r}")

    def to_obf(self) -> dict[str, Any]:
        """The board as OBF JSON, images and sounds embedded as data URIs."""
        def asset(a: Asset) -> dict[str, Any]:
            out: dict[str, Any] = {"id": a.id, "content_type": a.content_type}
            if a.data:
                out["data"] = a.data_uri()
            if a.url:
                out["url"] = a.url
            if a.width:
                out["width"], out["height"] = a.width, a.height
            return out

        buttons = []
        for b in self.buttons:
            d: dict[str, Any] = {"id": b.id, "label": b.label}
            for key in ("vocalization", "image_id", "sound_id", "background_color",
                        "border_color"):
                if getattr(b, key):
                    d[key] = getattr(b, key)
            if b.load_board:
                d["load_board"] = {"id": b.load_board}
            buttons.append(d)
        return {"format": FORMAT, "id": self.id, "locale": self.locale, "name": self.name,
                "buttons": buttons,
                "grid": {"rows": self.rows, "columns": self.columns, "order": self.order},
                "images": [asset(a) for a in self.images.values()],
                "sounds": [asset(a) for a in self.sounds.values()]}


# ---------------------------------------------------------------------- reading
def _text(v: Any, what: str, limit: int = MAX_TEXT) -> str:
    if v is None:
        return ""
    if not isinstance(v, (str, int, float)) or isinstance(v, bool):
        raise BoardError(f"{what} must be text")
    s = " ".join(str(v).split())
    if len(s) > limit:
        raise BoardError(f"{what} is longer than {limit} characters")
    return s


def _id(v: Any, what: str) -> str:
    s = _text(v, what, 100)
    if not s:
        raise BoardError(f"{what} is missing")
    return s


def _color(v: Any) -> str:
    s = _text(v, "a colour", 40)
    return s if _COLOR.match(s) else ""


def _data_uri(uri: str, what: str) -> tuple[str, bytes]:
    head, sep, payload = uri.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        raise BoardError(f"{what}: only base64 data URIs are read")
    if len(payload) > MAX_ASSET * 4 // 3 + 4:
        raise BoardError(f"{what} is larger than {MAX_ASSET // (1024 * 1024)} MB")
    try:
        return head[5:-7].lower(), base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise BoardError(f"{what}: the data URI is not valid base64") from None


def _image_size(data: bytes, content_type: str, what: str) -> tuple[int, int]:
    """Checks that the bytes are an image of a sane size (from its header: nothing is
    decoded in full, so a 'pixel bomb' costs nothing)."""
    if content_type == "image/svg+xml":
        if b"<svg" not in data[:4096].lower():
            raise BoardError(f"{what} is not an SVG image")
        return 0, 0  # shown only through <img>, where an SVG runs no script
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except Image.DecompressionBombError:
        raise BoardError(f"{what} is too large (more pixels than any board needs)") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise BoardError(f"{what} is not a readable image") from None
    if w * h > MAX_PIXELS:
        raise BoardError(f"{what} is too large ({w}×{h} pixels; at most {MAX_PIXELS} pixels)")
    return w, h


def _asset(d: Any, kind: str, fetch: Any) -> Asset:
    if not isinstance(d, dict):
        raise BoardError(f"an entry of {kind}s is not an object")
    aid = _id(d.get("id"), f"an {kind}'s id")
    what = f"{kind} {aid!r}"
    ctype = _text(d.get("content_type"), f"{what}'s content type", 100).lower()
    data = b""
    if isinstance(d.get("data"), str):
        ctype2, data = _data_uri(d["data"], what)
        ctype = ctype or ctype2
    elif isinstance(d.get("path"), str) and fetch is not None:
        data = fetch(d["path"], what)
    url = _text(d.get("url"), f"{what}'s url", 2000)
    if not data and not url:
        raise BoardError(f"{what} has neither data nor a path in the archive")
    if len(data) > MAX_ASSET:
        raise BoardError(f"{what} is larger than {MAX_ASSET // (1024 * 1024)} MB")
    allowed = IMAGE_TYPES if kind == "image" else SOUND_TYPES
    if data and not ctype.startswith(allowed):
        raise BoardError(f"{what} has an unsupported type {ctype!r}")
    w = h = 0
    if data and kind == "image":
        w, h = _image_size(data, ctype, what)
    return Asset(aid, ctype, data, url if url.startswith(("http://", "https://")) else "", w, h)


def _button(d: Any) -> Button:
    if not isinstance(d, dict):
        raise BoardError("a button is not an object")
    bid = _id(d.get("id"), "a button's id")
    load = d.get("load_board")
    return Button(bid, _text(d.get("label"), f"button {bid}'s label"),
                  _text(d.get("vocalization"), f"button {bid}'s vocalization"),
                  _text(d.get("image_id"), "an image id", 100),
                  _text(d.get("sound_id"), "a sound id", 100),
                  _color(d.get("background_color")), _color(d.get("border_color")),
                  _text(load.get("id"), "a linked board's id", 100)
                  if isinstance(load, dict) else "")


def _grid(d: Any, ids: list[str]) -> tuple[int, int, list[list[str | None]]]:
    """The grid, or a near-square one filled in button order when the board has none."""
    if not isinstance(d, dict) or not isinstance(d.get("order"), list):
        cols = max(1, min(MAX_GRID, round(len(ids) ** 0.5 + 0.49)))
        rows = max(1, -(-len(ids) // cols))
        flat: list[str | None] = [*ids, *([None] * (rows * cols - len(ids)))]
        return rows, cols, [flat[r * cols:(r + 1) * cols] for r in range(rows)]
    order = d["order"]
    rows = len(order)
    cols = max((len(r) for r in order if isinstance(r, list)), default=0)
    if not 1 <= rows <= MAX_GRID or not 1 <= cols <= MAX_GRID:
        raise BoardError(f"the grid is {rows}×{cols}; at most {MAX_GRID}×{MAX_GRID} is read")
    known = set(ids)
    out: list[list[str | None]] = []
    for row in order:
        if not isinstance(row, list):
            raise BoardError("a grid row is not a list")
        cells = [None if c is None else _text(c, "a grid cell", 100) for c in row]
        out.append([c if c in known else None for c in cells] + [None] * (cols - len(row)))
    return rows, cols, out


def parse_obf(raw: bytes | str, fetch: Any = None) -> Board:
    """One board from OBF JSON. `fetch(path, what)`: an archive member's bytes (in an .obz)."""
    if len(raw) > MAX_OBF_BYTES:
        raise BoardError(f"the board file is larger than {MAX_OBF_BYTES // (1024 * 1024)} MB")
    try:
        doc = json.loads(raw)
    except (ValueError, RecursionError):
        raise BoardError("the board file is not valid JSON") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("buttons"), list):
        raise BoardError("not an Open Board Format board (no list of buttons)")
    fmt = doc.get("format", FORMAT)
    if not isinstance(fmt, str) or not fmt.startswith("open-board-"):
        raise BoardError(f"unknown board format {fmt!r}")
    if len(doc["buttons"]) > MAX_BUTTONS:
        raise BoardError(f"the board has {len(doc['buttons'])} buttons; at most {MAX_BUTTONS}")
    buttons = [_button(b) for b in doc["buttons"]]
    ids = [b.id for b in buttons]
    if len(set(ids)) != len(ids):
        raise BoardError("two buttons share an id")
    rows, cols, order = _grid(doc.get("grid"), ids)
    lists = {k: doc.get(k) or [] for k in ("images", "sounds")}
    if not all(isinstance(v, list) for v in lists.values()):
        raise BoardError("images and sounds must be lists")
    images = {a.id: a for a in (_asset(d, "image", fetch) for d in lists["images"])}
    sounds = {a.id: a for a in (_asset(d, "sound", fetch) for d in lists["sounds"])}
    name = _text(doc.get("name"), "the board's name", 200) or "Imported board"
    return Board(_id(doc.get("id", "board"), "the board's id"), name, buttons, rows, cols,
                 order, _text(doc.get("locale"), "the locale", 20) or "en", images, sounds)


# ---------------------------------------------------------------------- archives
def _safe_member(name: str) -> str:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or not p.parts or ":" in p.parts[0]:
        raise BoardError(f"the archive names a path outside itself: {name!r}")
    return str(p)


class _Archive:
    """Reads members of an untrusted zip with every size checked as the bytes come out."""

    def __init__(self, raw: bytes) -> None:
        if len(raw) > MAX_OBZ_BYTES:
            raise BoardError(f"the archive is larger than {MAX_OBZ_BYTES // (1024 * 1024)} MB")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(raw))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, ValueError, OSError):
            raise BoardError("the .obz is not a readable zip archive") from None
        if len(infos) > MAX_MEMBERS:
            raise BoardError(f"the archive holds {len(infos)} files; at most {MAX_MEMBERS}")
        self.members = {_safe_member(i.filename): i for i in infos if not i.is_dir()}
        self.read_total = 0

    def read(self, path: str, what: str, limit: int = MAX_ASSET) -> bytes:
        info = self.members.get(_safe_member(path))
        if info is None:
            raise BoardError(f"{what}: {path!r} is not in the archive")
        if info.file_size > limit or info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise BoardError(f"{what}: {path!r} unpacks too large (a zip bomb?)")
        try:
            with self.zip.open(info) as f:
                data = f.read(limit + 1)  # never trust the declared size alone
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
            raise BoardError(f"{what}: {path!r} is damaged or encrypted") from None
        self.read_total += len(data)
        if len(data) > limit or self.read_total > MAX_UNPACKED:
            raise BoardError(f"{what}: the archive unpacks too large (a zip bomb?)")
        return data


def parse_obz(raw: bytes) -> list[Board]:
    """Every board of an .obz, the root board first."""
    arc = _Archive(raw)
    try:
        manifest = json.loads(arc.read("manifest.json", "the manifest", 1024 * 1024))
    except ValueError:
        raise BoardError("the archive's manifest.json is not valid JSON") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("root"), str):
        raise BoardError("the archive's manifest.json names no root board")
    paths = manifest.get("paths")
    listed = paths.get("boards") if isinstance(paths, dict) else None
    listed = listed if isinstance(listed, dict) else {}
    order = [manifest["root"], *(p for p in listed.values()
                                 if isinstance(p, str) and p != manifest["root"])]
    if len(order) > MAX_BOARDS:
        raise BoardError(f"the archive holds {len(order)} boards; at most {MAX_BOARDS}")
    boards = []
    for path in order:
        try:
            boards.append(parse_obf(arc.read(path, "a board", MAX_OBF_BYTES), arc.read))
        except BoardError as e:
            raise BoardError(f"{path}: {e}") from None
    return boards


def write_obz(boards: list[Board]) -> bytes:
    """An .obz of `boards` (the first is the root), images and sounds as archive files."""
    out = io.BytesIO()
    ext = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp",
           "image/svg+xml": "svg", "audio/wav": "wav", "audio/mpeg": "mp3",
           "audio/ogg": "ogg", "audio/webm": "webm"}
    manifest: dict[str, Any] = {"format": FORMAT, "root": f"boards/{boards[0].id}.obf",
                                "paths": {"boards": {}, "images": {}, "sounds": {}}}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for b in boards:
            doc = b.to_obf()
            for kind in ("images", "sounds"):
                for a in doc[kind]:
                    if "data" in a:
                        name = f"{kind}/{b.id}-{a['id']}.{ext.get(a['content_type'], 'bin')}"
                        z.writestr(name, (b.images if kind == "images" else b.sounds)
                                   [a["id"]].data)
                        a["path"] = name
                        manifest["paths"][kind][f"{b.id}-{a['id']}"] = name
                        del a["data"]
            path = f"boards/{b.id}.obf"
            z.writestr(path, json.dumps(doc, indent=1))
            manifest["paths"]["boards"][b.id] = path
        z.writestr("manifest.json", json.dumps(manifest, indent=1))
    return out.getvalue()


def read_board_file(name: str, raw: bytes) -> list[Board]:
    """An uploaded or named file: .obz by its zip signature, else .obf JSON."""
    if raw[:4] == b"PK\x03\x04" or name.lower().endswith(".obz"):
        return parse_obz(raw)
    return [parse_obf(raw)]
