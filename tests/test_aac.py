"""The communication aid's boards (Open Board Format), store, predictor and HTTP endpoints."""

from __future__ import annotations

import base64
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from companion.aac.board import BoardError, parse_obf, parse_obz, read_board_file, write_obz
from companion.aac.predict import Predictor
from companion.aac.store import DEFAULT_QUICK, AACStore


def _png(w: int = 8, h: int = 8) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 40, 40)).save(buf, "PNG")
    return buf.getvalue()


def _huge_png_header(w: int, h: int) -> bytes:
    """A valid PNG whose header claims w×h pixels (a 'pixel bomb'; nothing behind it)."""
    png = bytearray(_png())
    ihdr = png[12:29]  # type + 13 data bytes
    new = b"IHDR" + struct.pack(">II", w, h) + bytes(ihdr[12:17])
    png[12:29] = new
    png[29:33] = struct.pack(">I", zlib.crc32(new) & 0xFFFFFFFF)
    return bytes(png)


def _wav(seconds: float = 0.5) -> bytes:
    import wave

    buf = io.BytesIO()
    t = np.arange(int(16000 * seconds)) / 16000
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes((0.3 * np.sin(2 * np.pi * 180 * t) * 32767).astype("<i2").tobytes())
    return buf.getvalue()


def _board(**extra: Any) -> dict[str, Any]:
    """A board as other tools export it: integer ids, a null cell, an embedded image."""
    doc = {"format": "open-board-0.1", "id": 7, "name": "Feelings", "locale": "en",
           "buttons": [{"id": 1, "label": "happy", "vocalization": "I am happy",
                        "image_id": 10, "background_color": "rgb(255, 255, 200)"},
                       {"id": 2, "label": "sad"},
                       {"id": 3, "label": "more", "load_board": {"id": "8", "path": "x.obf"}}],
           "grid": {"rows": 2, "columns": 2, "order": [[1, 2], [None, 3]]},
           "images": [{"id": 10, "content_type": "image/png", "width": 8, "height": 8,
                       "data": "data:image/png;base64," + base64.b64encode(_png()).decode()}]}
    doc.update(extra)
    return doc


def test_an_obf_board_is_read_as_other_tools_write_it() -> None:
    b = parse_obf(json.dumps(_board()))
    assert (b.id, b.name, b.rows, b.columns) == ("7", "Feelings", 2, 2)
    assert b.order == [["1", "2"], [None, "3"]]
    assert b.button("1").spoken == "I am happy" and b.button("2").spoken == "sad"
    assert b.button("3").load_board == "8"
    assert b.images["10"].data == _png() and (b.images["10"].width, b.images["10"].height) == (8, 8)
    assert b.button("1").background_color == "rgb(255, 255, 200)"


def test_obf_and_obz_round_trip() -> None:
    b = parse_obf(json.dumps(_board()))
    again = parse_obf(json.dumps(b.to_obf()))
    assert again == b
    second = parse_obf(json.dumps(_board(id="8", name="More")))
    second.sounds["s1"] = type(b.images["10"])("s1", "audio/wav", _wav())
    second.buttons[1].sound_id = "s1"
    raw = write_obz([b, second])
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
    assert manifest["root"] == "boards/7.obf" and "boards/8.obf" in names
    assert any(n.startswith("images/") for n in names) and any(n.startswith("sounds/")
                                                              for n in names)
    boards = parse_obz(raw)
    assert [x.id for x in boards] == ["7", "8"]
    assert boards[0] == b and boards[1] == second
    assert read_board_file("whatever.bin", raw) == boards  # found by its zip signature


def _obz(members: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


MANIFEST = json.dumps({"format": "open-board-0.1", "root": "boards/1.obf"}).encode()


@pytest.mark.parametrize("raw, reason", [
    (b"{not json", "not valid JSON"),
    (b'{"buttons": 3}', "no list of buttons"),
    (json.dumps(_board(format="something-else")).encode(), "unknown board format"),
    (json.dumps(_board(buttons=[{"id": 1, "label": "a"}, {"id": 1, "label": "b"}])).encode(),
     "share an id"),
    (json.dumps(_board(buttons=[{"id": i, "label": "x"} for i in range(600)])).encode(),
     "at most 500"),
    (json.dumps(_board(grid={"order": [[1]] * 40})).encode(), "at most 30×30"),
    (json.dumps(_board(images=[{"id": 10, "content_type": "image/png", "data":
                                "data:image/png;base64,"
                                + base64.b64encode(_huge_png_header(30000, 30000)).decode()}]
                       )).encode(), "too large"),
    (json.dumps(_board(images=[{"id": 10, "content_type": "image/png",
                                "data": "data:image/png;base64,"
                                + base64.b64encode(b"not a picture").decode()}])).encode(),
     "not a readable image"),
    (json.dumps(_board(images=[{"id": 10, "content_type": "text/html",
                                "data": "data:text/html;base64,"
                                + base64.b64encode(b"<script>").decode()}])).encode(),
     "unsupported type"),
    (json.dumps(_board(buttons=[{"id": 1, "label": "x" * 900}])).encode(), "longer than"),
    (b"PK\x03\x04 truncated", "not a readable zip"),
    (_obz({"boards/1.obf": json.dumps(_board()).encode()}), "manifest.json"),
    (_obz({"manifest.json": MANIFEST, "../../etc/evil.obf": b"{}"}), "outside itself"),
    (_obz({"manifest.json": MANIFEST, "/abs.obf": b"{}"}), "outside itself"),
    (_obz({"manifest.json": MANIFEST, "boards/1.obf": b" " * (30 * 1024 * 1024)}),
     "zip bomb"),
    (_obz({"manifest.json": json.dumps({"root": "boards/1.obf"}).encode(),
           "boards/1.obf": json.dumps(_board(images=[{"id": 10, "content_type": "image/png",
                                                       "path": "images/gone.png"}])).encode()}),
     "not in the archive"),
])
def test_hostile_or_broken_board_files_are_refused_with_a_reason(raw: bytes,
                                                                  reason: str) -> None:
    with pytest.raises(BoardError, match=reason):
        read_board_file("upload.obz" if raw[:2] == b"PK" else "upload.obf", raw)


def test_remote_image_urls_are_kept_but_never_fetched() -> None:
    b = parse_obf(json.dumps(_board(images=[{"id": 10, "url": "https://example.org/x.png",
                                             "content_type": "image/png"}])))
    assert b.images["10"].url == "https://example.org/x.png" and b.images["10"].data == b""
    assert parse_obf(json.dumps(b.to_obf())).images["10"].url == "https://example.org/x.png"


def test_the_store_keeps_each_users_boards_history_and_phrases_apart(tmp_path: Path) -> None:
    with AACStore(tmp_path / "aac.sqlite") as s:
        assert [b.id for b in s.boards("ann")] == ["starter"]  # before they have their own
        assert s.quick("ann") == list(DEFAULT_QUICK)
        s.save("ann", [parse_obf(json.dumps(_board()))])
        s.set_quick("ann", ["Yes.", "  No  thanks. ", ""])
        s.add_history("ann", "I am happy")
        s.add_history("ann", "I am tired")
        s.add_history("bob", "Hello there")
        assert [b.id for b in s.boards("ann")] == ["7"]
        assert [b.id for b in s.boards("bob")] == ["starter"]
        assert s.quick("ann") == ["Yes.", "No thanks."]
        assert [t for _, t, _ in s.history("ann")] == ["I am happy", "I am tired"]
        first = s.history("ann")[0][0]
        assert s.forget("ann", first) == 1
        assert [t for _, t, _ in s.history("ann")] == ["I am tired"]
        assert s.forget("ann") == 1 and s.history("ann") == []
        assert [t for _, t, _ in s.history("bob")] == ["Hello there"]
        with pytest.raises(Exception, match="user name"):
            s.boards("../etc")


def test_the_predictor_learns_the_users_own_words() -> None:
    p = Predictor(history=["Could you feed the cat?", "Could you feed the cat?",
                           "How are you doing, Marjorie?"])
    # abbreviation expansion: the initials of their own sentence first
    first = p.suggest("hay")[0]
    assert (first.text, first.kind) == ("How are you doing, Marjorie?", "phrase")
    assert [s.text for s in p.suggest("cyftc")] == ["Could you feed the cat?"]
    # completion, ranked by what follows the previous word in their history
    assert p.suggest("the c")[0].text == "cat"
    assert p.suggest("Marj")[0] == p.suggest("marj")[0]
    assert p.suggest("Marj")[0].text == "marjorie"
    # next word after a space
    assert p.suggest("could you ")[0].text == "feed"
    before = [s.text for s in p.suggest("I want to ")]
    p.learn("I want to paint the fence")
    p.learn("I want to paint the fence")
    assert p.suggest("I want to ")[0].text == "paint" and "paint" not in before[:1]


def test_the_aac_endpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from starlette.testclient import TestClient

    from companion.server.app import Hub, create_app

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path))
    client = TestClient(create_app(Hub(make=lambda hello: (None, None))),  # type: ignore
                        base_url="http://127.0.0.1:8000")
    st = client.get("/api/aac/state?user=ann").json()
    assert [b["id"] for b in st["boards"]] == ["starter"] and st["history"] == []
    # an import lands, and a hostile one is refused with its reason and changes nothing
    raw = write_obz([parse_obf(json.dumps(_board()))])
    r = client.post("/api/aac/import?user=ann&name=mine.obz", content=raw)
    assert r.status_code == 200 and r.json() == {"imported": ["7"]}
    bad = _obz({"manifest.json": MANIFEST, "../escape.obf": b"{}"})
    r = client.post("/api/aac/import?user=ann&name=bad.obz", content=bad)
    assert r.status_code == 400 and "outside itself" in r.json()["error"]
    assert [b["id"] for b in client.get("/api/aac/state?user=ann").json()["boards"]] == ["7"]
    # export: the .obf and the .obz read back to the same board
    obf = client.get("/api/aac/export/7.obf?user=ann")
    assert obf.status_code == 200 and parse_obf(obf.content) == parse_obf(json.dumps(_board()))
    assert parse_obz(client.get("/api/aac/export.obz?user=ann").content)[0].id == "7"
    # message banking: a recording on a button; a non-audio file is refused
    r = client.post("/api/aac/bank/7/2?user=ann", content=_wav(0.6),
                    headers={"content-type": "audio/wav"})
    assert r.status_code == 200 and r.json()["seconds"] == pytest.approx(0.6, abs=0.05)
    board = client.get("/api/aac/state?user=ann").json()["boards"][0]
    assert next(b for b in board["buttons"] if b["id"] == "2")["sound_id"] == "rec-2"
    # the page saves the board as it got it (no recordings in it): the recording stays
    board["buttons"][0]["label"] = "glad"
    r = client.put("/api/aac/board?user=ann", content=json.dumps(board))
    assert r.status_code == 200
    with AACStore() as s:
        kept = s.board("ann", "7")
        assert kept.button("1").label == "glad" and kept.sounds["rec-2"].data == _wav(0.6)
    r = client.post("/api/aac/bank/7/1?user=ann", content=b"garbage bytes",
                    headers={"content-type": "audio/wav"})
    assert r.status_code == 400 and "audio" in r.json()["error"]
    # a page elsewhere cannot read or change anything
    r = client.get("/api/aac/state?user=ann", headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    # suggestions come from what the user said; history can be deleted
    with AACStore() as s:
        s.add_history("ann", "Please phone Gwendolyn tonight.")
    sug = client.get("/api/aac/suggest?user=ann&text=ppgt").json()["suggestions"]
    assert sug[0] == {"text": "Please phone Gwendolyn tonight.", "kind": "phrase"}
    assert client.delete("/api/aac/history?user=ann").json() == {"forgotten": 1}
    assert client.get("/api/aac/state?user=ann").json()["history"] == []
    assert client.get("/api/aac/suggest?user=ann&text=ppgt").json()["suggestions"] == []


def test_the_aids_messages_parse_and_malformed_ones_are_refused() -> None:
    from companion.server import protocol as P

    assert P.parse_text('{"type": "speak", "text": "  Hello there "}') == P.Speak("Hello there")
    assert P.parse_text('{"type": "stop"}') == P.Hush()
    assert P.parse_text('{"type": "play", "board": "b1", "button": 3}') == P.Play("b1", "3")
    assert P.parse_text('{"type": "prepare", "texts": ["Yes.", "No."]}') == \
        P.Prepare(("Yes.", "No."))
    hello = P.parse_text('{"type": "hello", "mode": "aac", "user": "ann"}')
    assert isinstance(hello, P.Hello) and (hello.mode, hello.user) == ("aac", "ann")
    for bad in ('{"type": "speak", "text": ""}', '{"type": "speak"}',
                '{"type": "speak", "text": "' + "x" * 3000 + '"}',
                '{"type": "prepare", "texts": "Yes."}',
                '{"type": "prepare", "texts": [' + ", ".join(['"a"'] * 61) + ']}',
                '{"type": "play", "board": "b1"}'):
        with pytest.raises(P.ProtocolError):
            P.parse_text(bad)


def test_the_command_line_imports_and_exports_boards(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from companion.cli import main

    monkeypatch.setenv("COMPANION_DATA", str(tmp_path / "data"))
    (tmp_path / "mine.obf").write_text(json.dumps(_board()), encoding="utf-8")
    assert main(["aac", "import", str(tmp_path / "mine.obf"), "--user", "ann"]) == 0
    assert main(["aac", "export", str(tmp_path / "out.obz"), "--user", "ann"]) == 0
    assert main(["aac", "export", str(tmp_path / "out.obf"), "--user", "ann",
                 "--board", "7"]) == 0
    assert parse_obz((tmp_path / "out.obz").read_bytes())[0] == parse_obf(json.dumps(_board()))
    assert parse_obf((tmp_path / "out.obf").read_bytes()) == parse_obf(json.dumps(_board()))
    (tmp_path / "bad.obz").write_bytes(b"PK\x03\x04 nothing")
    assert main(["aac", "import", str(tmp_path / "bad.obz"), "--user", "ann"]) != 0
    assert "not a readable zip" in capsys.readouterr().err
    with AACStore() as s:  # the bad file changed nothing
        assert [b.id for b in s.boards("ann")] == ["7"]


def test_typed_lines_of_the_local_aid() -> None:
    from companion.local.aac_local import command

    quick = ["Yes.", "No."]
    assert command("I am here\n", quick) == ("say", "I am here")
    assert command("/2\n", quick) == ("say", "No.")
    assert command("/7\n", quick) == ("none", "")
    assert command("/stop\n", quick) == command("\n", quick) == ("stop", "")
