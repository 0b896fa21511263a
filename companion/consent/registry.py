"""The consent registry (SQLite): who allowed which portrait to be animated, and an append-only,
hash-chained audit log of everything that happened to those records.

Each audit row's hash covers the previous row's hash, so editing, deleting or reordering any row
breaks the chain from that row on (`verify_audit`). SQLite triggers refuse UPDATE and DELETE on
the log; the hash chain catches changes made behind SQLite's back. The chain's hashes and each
record row carry a MAC with the installation's key (consent/keys.py), so whoever edits the file
cannot recompute them: an edited, inserted or un-revoked row is unusable, and `consent audit`
names it. A face whose consent was revoked or whose clip was refused is kept on a block list (its
128-number descriptor, never the image) so it cannot come back as a typed attestation.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from companion import atomic
from companion.cache import data_dir
from companion.consent import keys
from companion.consent.record import BASIS, ConsentRecord
from companion.consent.tools import ConsentTools
from companion.errors import ConsentError
from companion.frames import LoadedImage

GENESIS = "0" * 64
CHALLENGE_TTL_S = 300.0  # the one-time code is valid for five minutes
SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, created REAL NOT NULL, category TEXT NOT NULL, subject TEXT NOT NULL,
    statement TEXT NOT NULL, image_sha256 TEXT NOT NULL, portrait TEXT NOT NULL,
    clip_sha256 TEXT, checks TEXT NOT NULL DEFAULT '{}', revoked REAL, mac TEXT
);
CREATE TABLE IF NOT EXISTS blocked (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, reason TEXT NOT NULL,
    image_sha256 TEXT NOT NULL, vector BLOB
);
CREATE TABLE IF NOT EXISTS challenges (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, code TEXT NOT NULL, phrase TEXT NOT NULL,
    issued REAL NOT NULL, expires REAL NOT NULL, used REAL, action TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, action TEXT NOT NULL,
    record_id TEXT NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass(frozen=True)
class Challenge:
    """A consent phrase with its one-time code, issued to one person for one clip."""

    challenge_id: str
    name: str
    code: str
    phrase: str
    expires: float
    action: str = "blink-twice"  # a key of phrase.ACTIONS, done on camera after the phrase

    @property
    def action_text(self) -> str:
        from companion.consent.phrase import ACTIONS

        return ACTIONS[self.action]


@dataclass(frozen=True)
class AuditCheck:
    ok: bool
    rows: int
    first_bad: int | None = None
    reason: str = ""
    bad_records: tuple[str, ...] = ()


RECORD_FIELDS = ("id", "created", "category", "subject", "statement", "image_sha256",
                 "portrait", "clip_sha256", "checks", "revoked")
CREATED_BY = ("attest", "consent-clip")


def _row_hash(root: Path, prev: str, ts: float, action: str, record_id: str,
              detail: str) -> str:
    return keys.mac("audit", [prev, ts, action, record_id, detail], root)


def _record_mac(root: Path, row: dict[str, Any]) -> str:
    return keys.mac("record", [row[k] for k in RECORD_FIELDS], root)


class ConsentRegistry:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or data_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        for sub in ("portraits", "clips"):
            (self.root / sub).mkdir(exist_ok=True)
            atomic.sweep(self.root / sub)  # what a killed write left half-done
        self.db = sqlite3.connect(self.root / "consent.sqlite", isolation_level=None)
        self.db.executescript(SCHEMA)
        # registries from before rows were signed (their rows stay unusable) and before
        # challenges asked for an action
        self._add_column("records", "mac")
        self._add_column("challenges", "action")
        self.db.execute("CREATE INDEX IF NOT EXISTS audit_record ON audit (record_id)")

    def _add_column(self, table: str, column: str) -> None:
        if column not in [c[1] for c in self.db.execute(f"PRAGMA table_info({table})")]:
            self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> ConsentRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ audit
    def _audit(self, action: str, record_id: str, detail: dict[str, Any],
               before: Callable[[], None] | None = None) -> None:
        """Append to the chain; `before` runs in the same transaction (a record's row goes in
        with its audit entry, or neither does)."""
        text = json.dumps(detail, sort_keys=True)
        self.db.execute("BEGIN IMMEDIATE")
        try:
            if before is not None:
                before()
            row = self.db.execute("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            prev = row[0] if row else GENESIS
            ts = time.time()
            self.db.execute(
                "INSERT INTO audit (ts, action, record_id, detail, prev_hash, hash) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (ts, action, record_id, text, prev,
                 _row_hash(self.root, prev, ts, action, record_id, text)))
            self.db.execute("COMMIT")
        except Exception:
            self.db.execute("ROLLBACK")
            raise

    def log_event(self, action: str, detail: dict[str, Any]) -> None:
        """An event that concerns no record (the crisis safeguard: its time and category, never
        the words), in the same tamper-evident chain."""
        self._audit(action, "-", detail)

    def audit_log(self) -> list[dict[str, Any]]:
        rows = self.db.execute("SELECT seq, ts, action, record_id, detail, prev_hash, hash "
                               "FROM audit ORDER BY seq").fetchall()
        return [dict(zip(("seq", "ts", "action", "record_id", "detail", "prev_hash", "hash"), r,
                         strict=True)) for r in rows]

    def verify_audit(self) -> AuditCheck:
        prev = GENESIS
        rows = self.audit_log()
        for r in rows:
            if r["prev_hash"] != prev:
                return AuditCheck(False, len(rows), r["seq"], "a row is missing or out of order")
            mac = _row_hash(self.root, prev, r["ts"], r["action"], r["record_id"], r["detail"])
            if not hmac.compare_digest(mac, r["hash"]):
                return AuditCheck(False, len(rows), r["seq"], "a row was altered")
            prev = r["hash"]
        bad = tuple(row["id"] for row in self._rows() if self._problem(row) is not None)
        if bad:
            return AuditCheck(False, len(rows), None, "a record was altered, inserted or "
                              "un-revoked outside companion: " + ", ".join(bad), bad)
        return AuditCheck(True, len(rows))

    def _problem(self, row: dict[str, Any]) -> str | None:
        """Why a stored record cannot be trusted (None: it can). The row must carry a MAC made
        with this installation's key, and the audit log must have seen it made."""
        if not keys.verify("record", [row[k] for k in RECORD_FIELDS], row["mac"], self.root):
            return "its row was changed outside companion"
        made = self.db.execute("SELECT detail FROM audit WHERE record_id = ? AND action IN "
                               "(?, ?)", (row["id"], *CREATED_BY)).fetchone()
        if made is None or json.loads(made[0]).get("image_sha256") != row["image_sha256"]:
            return "the audit log never saw it made"
        return None

    def _rows(self, where: str = "", *args: object) -> list[dict[str, Any]]:
        cur = self.db.execute(f"SELECT * FROM records {where} ORDER BY created", args)
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]

    def _row(self, rid: str) -> dict[str, Any] | None:
        rows = self._rows("WHERE id = ?", rid)
        return rows[0] if rows else None

    # ------------------------------------------------------------------ records
    def attest(self, image: LoadedImage, category: str, statement: str, subject: str = "",
               who: str = "local user", *, tools: ConsentTools,
               allowed: bool | None = None) -> ConsentRecord:
        """A typed attestation that the image is artwork or a synthetic/cartoon face. A real
        person's photo cannot be attested this way: it needs a recorded consent clip.
        `allowed`: the deployment's attestation policy (None: the settings' own); off, as it is
        by default, every typed claim is refused here, whatever the caller checked."""
        from companion.config import current

        if not (current().attestation_allowed if allowed is None else allowed):
            raise ConsentError("typed attestations are off in this installation",
                               "record the person's consent clip; for artwork or a synthetic "
                               "face the deployment may set attestation = \"allowed\" "
                               "(COMPANION_ATTESTATION=allowed)")
        if category not in ("artwork", "synthetic"):
            raise ConsentError("only artwork or synthetic faces can be attested in writing",
                               "a real person's photo needs their recorded consent clip")
        tools.check_portrait(image)  # one usable face, or nothing is stored
        if len(statement.strip()) < 8:
            raise ConsentError("the attestation needs a statement (why this image may be "
                               "animated)")
        existing = self.find(image.sha256)
        if existing is not None:
            return existing  # the same image already has a valid record
        self._refuse_blocked(image)
        # Who claimed what, and when: a typed claim is not checked by anyone, and says so.
        return self._store(image, category, subject or image.name, statement.strip(),
                           {"attested_by": who, "attested_at": time.time(),
                            "claim": f"{category}: {statement.strip()}",
                            "verification": "attested, not verified"}, who)

    def _store(self, image: LoadedImage, category: str, subject: str, statement: str,
               checks: dict[str, Any], who: str, clip: Path | None = None,
               embedding: np.ndarray | None = None) -> ConsentRecord:
        rid = "c_" + secrets.token_hex(8)
        # Every file is written whole before the row that names it is committed; a failed
        # write (a full disk) removes what was written and commits nothing.
        written: list[Path] = []
        try:
            clip_sha = self._write_files(rid, image, clip, embedding, written)
            row = dict(zip(RECORD_FIELDS, (rid, time.time(), category, subject, statement,
                                           image.sha256, str(written[0]), clip_sha,
                                           json.dumps(checks), None), strict=True))

            def insert() -> None:
                self.db.execute(f"INSERT INTO records ({', '.join(RECORD_FIELDS)}, mac) "
                                f"VALUES ({', '.join('?' * (len(RECORD_FIELDS) + 1))})",
                                (*row.values(), _record_mac(self.root, row)))

            self._audit("attest" if clip is None else "consent-clip", rid,
                        {"category": category, "image_sha256": image.sha256,
                         "clip_sha256": clip_sha, "by": who}, before=insert)
        except (OSError, sqlite3.Error) as e:
            for w in written:
                w.unlink(missing_ok=True)
            why = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            raise ConsentError(f"the consent record could not be saved: {why}",
                               "nothing was recorded; free some disk space and try again") \
                from None
        return self.get(rid)

    def _write_files(self, rid: str, image: LoadedImage, clip: Path | None,
                     embedding: np.ndarray | None, written: list[Path]) -> str | None:
        """The record's files, each atomically, appended to `written` as they land (the
        portrait first); returns the clip's hash. The portrait is a clean copy: decoded
        pixels only, metadata gone."""
        ok, png = cv2.imencode(".png", cv2.cvtColor(image.rgb, cv2.COLOR_RGB2BGR))
        if not ok:
            raise OSError("the portrait could not be encoded")
        written.append(atomic.write_bytes(self.root / "portraits" / f"{rid}.png", png.tobytes()))
        clip_sha = None
        if clip is not None:
            with clip.open("rb") as f:  # streamed: a clip may be 60 MB
                clip_sha = hashlib.file_digest(f, "sha256").hexdigest()
            written.append(atomic.copy_file(
                clip, self.root / "clips" / f"{rid}{clip.suffix or '.video'}"))
        if embedding is not None:
            buf = io.BytesIO()
            np.save(buf, embedding)
            written.append(atomic.write_bytes(self.root / "portraits" / f"{rid}.face.npy",
                                              buf.getvalue()))
        return clip_sha

    # ------------------------------------------------------------------ consent clips
    def issue_challenge(self, name: str, now: float | None = None,
                        ttl: float = CHALLENGE_TTL_S) -> Challenge:
        """A phrase with a fresh one-time code for `name` to say on camera."""
        from companion.consent import phrase

        try:
            name = phrase.clean_name(name)
        except ValueError as e:
            raise ConsentError(f"the consent phrase needs {e}") from None
        now = time.time() if now is None else now
        code = phrase.new_code()
        ch = Challenge("k_" + secrets.token_hex(8), name, code, phrase.phrase_for(name, code),
                       now + ttl, phrase.new_action())
        self.db.execute("INSERT INTO challenges (id, name, code, phrase, issued, expires, "
                        "action) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (ch.challenge_id, name, code, ch.phrase, now, ch.expires, ch.action))
        return ch

    def _open_challenge(self, challenge_id: str, now: float) -> Challenge:
        """The challenge if it can still be answered. An expired one is closed for good."""
        row = self.db.execute("SELECT id, name, code, phrase, expires, used, action FROM "
                              "challenges WHERE id = ?", (challenge_id,)).fetchone()
        if row is None:
            raise ConsentError("unknown consent phrase", "ask for a new phrase and code")
        if row[5] is not None:
            raise ConsentError("this consent code has already been used",
                               "ask for a new phrase and code")
        if now > row[4]:
            self._close_challenge(challenge_id, now)
            raise ConsentError(f"this consent code expired {now - row[4]:.0f} s ago",
                               "ask for a new phrase and record the clip within "
                               f"{CHALLENGE_TTL_S / 60:.0f} minutes")
        from companion.consent.phrase import ACTIONS

        if row[6] not in ACTIONS:  # issued before actions were asked for: not answerable now
            self._close_challenge(challenge_id, now)
            raise ConsentError("this consent code is from an older version",
                               "ask for a new phrase and code")
        return Challenge(row[0], row[1], row[2], row[3], row[4], row[6])

    def _close_challenge(self, challenge_id: str, now: float) -> None:
        self.db.execute("UPDATE challenges SET used = ? WHERE id = ?", (now, challenge_id))

    def consent_from_clip(self, image: LoadedImage, challenge_id: str, clip_path: Path,
                          who: str = "local user", now: float | None = None,
                          *, tools: ConsentTools, stt: Any = None) -> ConsentRecord:
        """Record a real person's consent from their clip, or raise ConsentError with every
        reason it was refused. Refusals are audited; nothing else is stored for them."""
        from companion.consent import clip as clips
        from companion.consent.identity import identity

        now = time.time() if now is None else now
        ch = self._open_challenge(challenge_id, now)
        # Unusable inputs (no face, an unreadable clip) are refused before the code is spent.
        tools.check_portrait(image)
        portrait_face = identity().describe_one(image.rgb)
        evidence = clips.read_clip(clip_path, list(self.mark_ids()))
        # A code is good for one checked clip, whatever the outcome: no retrying a borrowed clip
        # against the same code until something passes.
        self._close_challenge(ch.challenge_id, now)
        checks = clips.check_clip(evidence, portrait_face, ch.name, ch.code,
                                  stt if stt is not None else tools.stt(), tools.track_faces,
                                  ch.action)
        if not checks.ok:
            self._audit("consent-refused", ch.challenge_id,
                        {"image_sha256": image.sha256, "checks": checks.as_dict(), "by": who})
            self._block(image.sha256, "consent clip refused", portrait_face.vector)
            raise ConsentError("consent clip refused: " + "; ".join(checks.reasons))
        return self._store(image, "real-person", ch.name, ch.phrase,
                           {"clip": checks.as_dict(), "challenge": ch.challenge_id}, who,
                           clip=clip_path, embedding=portrait_face.vector)

    def get(self, rid: str) -> ConsentRecord:
        """The record, checked: a row that does not verify raises; one the audit log saw
        revoked is revoked whatever its row says."""
        row = self._row(rid)
        if row is None:
            raise ConsentError(f"no consent record {rid!r}")
        return self._record(row)

    def _record(self, row: dict[str, Any]) -> ConsentRecord:
        rid = row["id"]
        problem = self._problem(row)
        if problem is not None:
            raise ConsentError(f"consent record {rid} cannot be trusted: {problem}",
                               "`companion consent audit` lists what was changed; record the "
                               "consent again")
        revoked = row["revoked"] is not None or self.db.execute(
            "SELECT 1 FROM audit WHERE record_id = ? AND action = 'revoke'", (rid,)).fetchone()
        return ConsentRecord(rid, row["image_sha256"], row["category"], row["statement"],
                             revoked=bool(revoked))

    def lookup(self, rid: str) -> ConsentRecord | None:
        """The record, or None if there is none; one that does not verify raises."""
        row = self._row(rid)
        return None if row is None else self._record(row)

    def portrait(self, rid: str) -> LoadedImage:
        """The stored portrait of an active record. Its hash is the record's (that of the image
        as uploaded), so the gate matches it; the pixels are the upload's, decoded and upright."""
        rec = self.get(rid)
        if rec.revoked:
            raise ConsentError(f"consent {rid} has been revoked")
        d = self.details(rid)
        bgr = cv2.imread(str(d["portrait"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ConsentError(f"the portrait of consent {rid} is missing")
        return LoadedImage(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), rec.image_sha256,
                           str(d["subject"]))

    def details(self, rid: str) -> dict[str, Any]:
        row = self._row(rid)
        if row is None:
            raise ConsentError(f"no consent record {rid!r}")
        self._record(row)  # only a record that verifies has details worth showing
        row.pop("mac")
        return row

    def find(self, image_sha256: str) -> ConsentRecord | None:
        """The valid (unrevoked) record for this exact image, if any."""
        rows = self._rows("WHERE image_sha256 = ? AND revoked IS NULL", image_sha256)
        return self._record(rows[0]) if rows else None

    def records(self) -> list[ConsentRecord]:
        """Every record that verifies (`verify_audit` names the ones that do not)."""
        out = []
        for row in self._rows():
            try:
                out.append(self._record(row))
            except ConsentError:
                continue  # a row that does not verify
        return out

    def mark_ids(self) -> dict[str, str]:
        """Every consent id a watermark made on this installation can name, with its status:
        the bundled avatars' and every record's, revoked ones included."""
        from companion.consent.bundled import bundled_names

        ids = {f"bundled:{name}": "active" for name in bundled_names()}
        for rec in self.records():
            ids[rec.consent_id] = "revoked" if rec.revoked else "active"
        return ids

    def revoke(self, rid: str, who: str = "local user", *, tools: ConsentTools) -> list[Path]:
        """Revoke a record: the stored portrait, its face embedding and consent clip, and every
        rig built from it are deleted.
        Returns the files removed. Renderers check the record and stop (gate.is_active)."""
        rec = self.get(rid)
        if rec.revoked:
            return []
        self._block(rec.image_sha256, "consent revoked", self._descriptor(rid))
        removed: list[Path] = []
        # the portrait and its face embedding, the consent clip, and every rig built from it
        candidates = [*(self.root / "portraits").glob(f"{rid}.*"),
                      *(self.root / "clips").glob(f"{rid}.*"),
                      *tools.derived_files(rec.image_sha256)]
        for path in candidates:
            if path.exists():
                path.unlink()
                removed.append(path)
        row = self._row(rid)
        assert row is not None
        row["revoked"] = time.time()
        self.db.execute("UPDATE records SET revoked = ?, mac = ? WHERE id = ?",
                        (row["revoked"], _record_mac(self.root, row), rid))
        self._audit("revoke", rid, {"removed": [p.name for p in removed], "by": who})
        return removed

    # ------------------------------------------------------------------ the block list
    def _descriptor(self, rid: str) -> np.ndarray | None:
        """The face descriptor of a record's portrait: the one stored with a consent clip, else
        computed from the stored portrait (None where no face is clear enough for one)."""
        from companion.consent.identity import identity

        saved = self.root / "portraits" / f"{rid}.face.npy"
        if saved.is_file():
            return np.asarray(np.load(saved), np.float64)
        try:
            faces = identity().describe(self.portrait(rid).rgb)
        except ConsentError:
            return None
        return faces[0].vector if faces else None

    def _block(self, image_sha256: str, reason: str, vector: np.ndarray | None) -> None:
        blob = None if vector is None else np.asarray(vector, "<f8").tobytes()
        self.db.execute("INSERT INTO blocked (created, reason, image_sha256, vector) "
                        "VALUES (?, ?, ?, ?)", (time.time(), reason, image_sha256, blob))

    def _refuse_blocked(self, image: LoadedImage) -> None:
        """A typed attestation cannot bring back a face whose consent was revoked or refused:
        not the same file, and not another photo of the same face."""
        from companion.consent.identity import THRESHOLD, distance, identity

        rows = self.db.execute("SELECT reason, image_sha256, vector FROM blocked").fetchall()
        hit = next((r[0] for r in rows if r[1] == image.sha256), None)
        vectors = [(r[0], np.frombuffer(r[2], "<f8")) for r in rows if r[2] is not None]
        if hit is None and vectors:
            for face in identity().describe(image.rgb):
                hit = next((why for why, v in vectors if distance(face, v) < THRESHOLD), None)
                if hit:
                    break
        if hit is not None:
            raise ConsentError(f"this face cannot be attested in writing ({hit} for it "
                               "before)", "only the person's recorded consent clip can make a "
                               "record for it now")


def consent_basis(consent_id: str) -> str:
    """What the consent behind `consent_id` rests on, in words a viewer of an export's manifest
    can weigh (`record.BASIS`)."""
    if consent_id.startswith("bundled:"):
        return BASIS["bundled"]
    with ConsentRegistry() as reg:
        return BASIS.get(reg.get(consent_id).category, "unknown")
