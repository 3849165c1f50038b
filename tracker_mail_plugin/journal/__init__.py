"""The journal: exactly-once bookkeeping and the reply-threading map.

``Journal`` is the store (see :mod:`tracker_mail_plugin.journal.store` for the tables and
why they are shaped so); the rows it returns are plain frozen values. It lives in a local
SQLite file, or in PostgreSQL for several hosts (:mod:`tracker_mail_plugin.journal.postgres`,
with the mailbox leases of :mod:`tracker_mail_plugin.journal.leases`).
"""

from tracker_mail_plugin.journal.database import BUSY_TIMEOUT_SECONDS
from tracker_mail_plugin.journal.rows import (
    KEY_PREFIX,
    ActionRow,
    ActionState,
    JournalStatus,
    MessageRow,
    MessageState,
    Thread,
    idempotency_key,
)
from tracker_mail_plugin.journal.schema import SCHEMA_VERSION
from tracker_mail_plugin.journal.store import Journal

__all__ = [
    "BUSY_TIMEOUT_SECONDS",
    "KEY_PREFIX",
    "SCHEMA_VERSION",
    "ActionRow",
    "ActionState",
    "Journal",
    "JournalStatus",
    "MessageRow",
    "MessageState",
    "Thread",
    "idempotency_key",
]
