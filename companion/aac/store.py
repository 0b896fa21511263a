"""Each user's boards, quick phrases and sentence history, in one SQLite file on this machine
(`aac.sqlite` in the data directory). Nothing leaves it; the user can delete their history.

Boards are stored as their OBF JSON (images and recordings embedded), so what is exported is
exactly what was saved. Writes are single transactions: an import of many boards lands whole or
not at all.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path
from types import TracebackType

from companion.aac.board import Asset, Board, Button, parse_obf
from companion.errors import InputError

USER = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")
MAX_HISTORY = 5000  # sentences kept per user; the oldest go first
MAX_QUICK = 12
DEFAULT_QUICK = ("Yes.", "No.", "Wait, I'm typing.", "Please repeat that.", "Thank you.",
                 "I need help, please.")
STARTER = (("Hello", "Hello!"), ("How are you?", ""), ("I'm fine", "I'm fine, thank you."),
           ("Goodbye", "Goodbye, see you soon."), ("Drink", "I would like a drink, please."),
           ("Food", "I'm hungry."), ("Tired", "I'm tired. I need to rest."),
           ("Pain", "I'm in pain. Please help me."), ("Toilet", "I need the bathroom."),
           ("Too hot", "I'm too hot."), ("Too cold", "I'm too cold."),
           ("Later", "Can we do that later?"))

SCHEMA = """
CREATE TABLE IF NOT EXISTS boards (user TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
    obf TEXT NOT NULL, updated REAL NOT NULL, PRIMARY KEY (user, id));
CREATE TABLE IF NOT EXISTS history (n INTEGER PRIMARY KEY AUTOINCREMENT, user TEXT NOT NULL,
    text TEXT NOT NULL, t REAL NOT NULL);
CREATE INDEX IF NOT EXISTS history_user ON history (user, n);
CREATE TABLE IF NOT EXISTS quick (user TEXT PRIMARY KEY, phrases TEXT NOT NULL);
"""


def check_user(user: str) -> str:
    if not USER.match(user):
        raise InputError("a user name is 1–40 letters, digits, dots, dashes or underscores")
    return user


def starter_board() -> Board:
    buttons = [Button(f"s{i}", label, vocal) for i, (label, vocal) in enumerate(STARTER)]
    cols = 4
    order: list[list[str | None]] = [[b.id for b in buttons[r:r + cols]]
                                     for r in range(0, len(buttons), cols)]
    return Board("starter", "Starter phrases", buttons, len(order), cols, order)


class AACStore:
    def __init__(self, path: Path | None = None) -> None:
        if path is None:
            from companion.cache import data_dir

            path = data_dir() / "aac.sqlite"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.db = sqlite3.connect(path, timeout=10)
        self.db.executescript(SCHEMA)

    def __enter__(self) -> AACStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ boards
    def boards(self, user: str) -> list[Board]:
        """The user's boards (the starter board until they have their own)."""
        rows = self.db.execute("SELECT obf FROM boards WHERE user = ? ORDER BY updated, id",
                               (check_user(user),)).fetchall()
        return [parse_obf(r[0]) for r in rows] or [starter_board()]

    def board(self, user: str, bid: str) -> Board:
        row = self.db.execute("SELECT obf FROM boards WHERE user = ? AND id = ?",
                              (check_user(user), bid)).fetchone()
        if row is None:
            if bid == "starter":
                return starter_board()
            raise InputError(f"no board {bid!r}")
        return parse_obf(row[0])

    def save(self, user: str, boards: list[Board]) -> list[str]:
        """Adds or replaces boards by id, all in one transaction."""
        check_user(user)
        now = time.time()
        with self.db:
            for i, b in enumerate(boards):
                self.db.execute("INSERT OR REPLACE INTO boards VALUES (?, ?, ?, ?, ?)",
                                (user, b.id, b.name, json.dumps(b.to_obf()), now + i * 1e-3))
        return [b.id for b in boards]

    def delete_board(self, user: str, bid: str) -> bool:
        with self.db:
            cur = self.db.execute("DELETE FROM boards WHERE user = ? AND id = ?",
                                  (check_user(user), bid))
        return cur.rowcount > 0

    def phrases_version(self, user: str) -> tuple[object, ...]:
        """Changes whenever the boards or the quick phrases do."""
        b = self.db.execute("SELECT max(updated), count(*) FROM boards WHERE user = ?",
                            (check_user(user),)).fetchone()
        q = self.db.execute("SELECT phrases FROM quick WHERE user = ?", (user,)).fetchone()
        return (*b, q[0] if q else "")

    # ------------------------------------------------------------------ message banking
    def bank(self, user: str, bid: str, button: str, data: bytes, content_type: str) -> Board:
        """The user's own recording on a button (checked as audio by the caller)."""
        board = self.board(user, bid)
        b = board.button(button)
        b.sound_id = f"rec-{b.id}"
        board.sounds[b.sound_id] = Asset(b.sound_id, content_type, data)
        self.save(user, [board])
        return board

    def recording(self, user: str, bid: str, button: str) -> tuple[str, Asset]:
        """What a button says and its recording."""
        board = self.board(user, bid)
        b = board.button(button)
        if not b.sound_id or b.sound_id not in board.sounds \
                or not board.sounds[b.sound_id].data:
            raise InputError(f"button {b.label!r} has no recording")
        return b.spoken, board.sounds[b.sound_id]

    # ------------------------------------------------------------------ quick phrases
    def quick(self, user: str) -> list[str]:
        row = self.db.execute("SELECT phrases FROM quick WHERE user = ?",
                              (check_user(user),)).fetchone()
        return list(json.loads(row[0])) if row else list(DEFAULT_QUICK)

    def set_quick(self, user: str, phrases: list[str]) -> list[str]:
        clean = [" ".join(p.split())[:200] for p in phrases if isinstance(p, str) and p.strip()]
        if not 1 <= len(clean) <= MAX_QUICK:
            raise InputError(f"keep 1–{MAX_QUICK} quick phrases")
        with self.db:
            self.db.execute("INSERT OR REPLACE INTO quick VALUES (?, ?)",
                            (check_user(user), json.dumps(clean)))
        return clean

    # ------------------------------------------------------------------ history
    def add_history(self, user: str, text: str) -> None:
        with self.db:
            self.db.execute("INSERT INTO history (user, text, t) VALUES (?, ?, ?)",
                            (check_user(user), text, time.time()))
            self.db.execute("DELETE FROM history WHERE user = ? AND n NOT IN (SELECT n FROM "
                            "history WHERE user = ? ORDER BY n DESC LIMIT ?)",
                            (user, user, MAX_HISTORY))

    def history_mark(self, user: str) -> tuple[int, int]:
        """(the newest sentence's number, how many are kept): says what changed since."""
        n, count = self.db.execute("SELECT coalesce(max(n), 0), count(*) FROM history WHERE "
                                   "user = ?", (check_user(user),)).fetchone()
        return int(n), int(count)

    def history_since(self, user: str, n: int) -> list[str]:
        """The sentences said after sentence number `n`, oldest first."""
        rows = self.db.execute("SELECT text FROM history WHERE user = ? AND n > ? ORDER BY n",
                               (check_user(user), n)).fetchall()
        return [str(r[0]) for r in rows]

    def history(self, user: str, limit: int = MAX_HISTORY) -> list[tuple[int, str, float]]:
        """(id, text, time) oldest first."""
        rows = self.db.execute("SELECT n, text, t FROM history WHERE user = ? ORDER BY n DESC "
                               "LIMIT ?", (check_user(user), limit)).fetchall()
        return [(int(n), str(text), float(t)) for n, text, t in reversed(rows)]

    def forget(self, user: str, n: int | None = None) -> int:
        """Deletes one sentence of the history, or all of it; returns how many went."""
        with self.db:
            if n is None:
                cur = self.db.execute("DELETE FROM history WHERE user = ?", (check_user(user),))
            else:
                cur = self.db.execute("DELETE FROM history WHERE user = ? AND n = ?",
                                      (check_user(user), n))
        return cur.rowcount

    def phrases(self, user: str) -> list[str]:
        """What the user's boards and quick phrases say (the predictor learns from them)."""
        said = [b.spoken for board in self.boards(user) for b in board.buttons]
        return [*said, *self.quick(user)]
