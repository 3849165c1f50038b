"""The journal's tables, created and upgraded under ``PRAGMA user_version``.

A new schema version adds a step to ``_UPGRADES``; a journal written by a newer version is
refused rather than misread.
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

from tracker_mail_plugin.journal.rows import ActionState, MessageState


def _states(enum: type[StrEnum]) -> str:
    return ", ".join(f"'{member.value}'" for member in enum)


_SCHEMA = f"""
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    mailbox     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    size        INTEGER NOT NULL,
    first_seen  REAL NOT NULL,
    updated_at  REAL NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ({_states(MessageState)})),
    decision    TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    UNIQUE (mailbox, message_id, sha256)
);
CREATE INDEX messages_by_state ON messages (state, updated_at);
CREATE TABLE locations (
    mailbox         TEXT NOT NULL,
    source_identity TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    message         INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    seen_at         REAL NOT NULL,
    disposed_at     REAL,
    disposition     TEXT,
    removed         INTEGER NOT NULL DEFAULT 0,
    UNIQUE (mailbox, source_identity, source_id)
);
CREATE INDEX locations_by_message ON locations (message);
CREATE TABLE actions (
    id              INTEGER PRIMARY KEY,
    message         INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    idx             INTEGER NOT NULL,
    idempotency_key TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ({_states(ActionState)})),
    result          TEXT,
    error           TEXT,
    started_at      REAL NOT NULL,
    finished_at     REAL
);
CREATE INDEX actions_by_message ON actions (message, idx);
CREATE TABLE threads (
    message_id TEXT NOT NULL,
    tracker    TEXT NOT NULL,
    issue_key  TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (message_id, tracker)
);
"""

# A message read through one of its locations: the newest one unless a location is named.
SELECT_MESSAGE = """
SELECT m.id, m.mailbox, l.source_identity, l.source_id, m.message_id, m.sha256, m.size,
       m.first_seen, m.updated_at, m.state, m.decision, m.attempts, m.last_error,
       l.disposed_at, m.sender, m.subject
FROM messages m JOIN locations l ON l.message = m.id
"""
NEWEST_LOCATION = """
l.rowid = (SELECT rowid FROM locations WHERE message = m.id ORDER BY seen_at DESC, rowid DESC
           LIMIT 1)
"""

# States that say why a message was disposed of; disposal does not overwrite them.
SAYS_WHY_DISPOSED = (MessageState.UNPROCESSED.value, MessageState.QUARANTINED.value)

# Version 2: messages journalled before they are parsed (a parse that hangs or kills the
# process is an attempt like any other), and when the journal began (a new journal looks
# each write up in the tracker first: see Journal.is_new).
_ARRIVALS = """
CREATE TABLE arrivals (
    mailbox         TEXT NOT NULL,
    source_identity TEXT NOT NULL,
    source_id       TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    seen_at         REAL NOT NULL,
    PRIMARY KEY (mailbox, source_identity, source_id)
);
CREATE TABLE meta (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO meta (name, value)
    SELECT 'created_at', COALESCE(MIN(first_seen), (julianday('now') - 2440587.5) * 86400.0)
    FROM messages;
"""

# Version 3: who sent a message and its subject, so that ``status`` can show people which
# mail each row is without their looking the Message-ID up in the mailbox.
_SENDER_AND_SUBJECT = """
ALTER TABLE messages ADD COLUMN sender TEXT;
ALTER TABLE messages ADD COLUMN subject TEXT
"""

# Version 4: the mailbox runs under way, and the boot of the machine each began in. A run
# left behind from another boot may have lost its writes that were never fsynced (see
# Journal.begin_run). ``inherited``: this run looked every write up because of such a one,
# and did not get through the whole mailbox; the next run must look up again.
_RUNS = """
CREATE TABLE IF NOT EXISTS runs (
    mailbox    TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    boot_id    TEXT NOT NULL,
    inherited  INTEGER NOT NULL DEFAULT 0,
    started_at REAL NOT NULL,
    PRIMARY KEY (mailbox, pid, boot_id)
);
"""

# Step n turns schema version n into n + 1; version 0 is an empty file.
_UPGRADES: tuple[str, ...] = (_SCHEMA, _ARRIVALS, _SENDER_AND_SUBJECT, _RUNS)


# One step per version: the newest version is the number of steps.
SCHEMA_VERSION = len(_UPGRADES)


def migrate(db: sqlite3.Connection) -> None:
    """Bring the schema to ``SCHEMA_VERSION``; call inside a write transaction.

    Raises:
        sqlite3.DatabaseError: a newer tracker-mail wrote this journal.
    """
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"schema version {version} was written by a newer tracker-mail "
            f"(this one knows {SCHEMA_VERSION}); upgrade tracker-mail"
        )
    for step in _UPGRADES[version:]:
        for statement in step.split(";"):
            if statement.strip():
                db.execute(statement)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
