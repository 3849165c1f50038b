r"""An IMAP folder as a mail source, through imapclient.

Messages are addressed by UID and identified as ``UIDVALIDITY:UID``, so an id never points
at another message: when the server renumbers a folder (a new UIDVALIDITY) every id and the
source's ``identity()`` change with it. Bodies are fetched with ``BODY.PEEK[]``, which leaves
``\Seen`` alone, and whether a message is done is asked of the journal, never read from
flags.
"""

from __future__ import annotations

import difflib
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import suppress
from datetime import datetime
from typing import Any

from imapclient import IMAPClient  # type: ignore[import-untyped]  # ships no py.typed

from tracker_mail_plugin.errors import (
    ConfigurationError,
    RetryLater,
    TrackerMailError,
)
from tracker_mail_plugin.oauth2 import sasl
from tracker_mail_plugin.sources.base import (
    Delete,
    Disposition,
    Envelope,
    Fetched,
    FlagSeen,
    Leave,
    Move,
    SourceCheck,
    batches,
    is_oversize,
    refuse_oversize,
    require_supported,
)
from tracker_mail_plugin.sources.imapconn import WatchedClient
from tracker_mail_plugin.sources.net import ServerSource, tls_version

# imaplib refuses response lines over 1 MB (a module global we leave alone); a UID SEARCH
# over this many messages stays well below that, so bigger folders are searched in windows.
SEARCH_WINDOW = 50_000
SIZE_CHUNK = 1_000  # UIDs per "UID FETCH ... RFC822.SIZE" command line
# A folder that does not exist is named with the server's folders: the first few, and the
# closest among a bounded number (a shared server can list thousands).
_FOLDERS_SHOWN = 20
_FOLDERS_COMPARED = 2_000


class ImapSource(ServerSource):
    r"""One folder of one IMAP account.

    Args:
        folder: The folder to read. Folder names here and in ``Move`` use ``/`` between
            levels (``Archive/2026``), whatever separator the server uses itself.
        allow_move: Use MOVE when the server has it; False forces COPY, ``\Deleted`` and
            expunge (for servers whose MOVE is broken).
        **account: host, username, password, port (default 993 for ``ssl``, else 143),
            security, ca_file, timeout, max_message_size: see :class:`ServerSource`.
    """

    dispositions = frozenset({Leave, Delete, Move, FlagSeen})
    protocol = "IMAP"
    ports = (993, 143)
    starttls_command = "STARTTLS"
    library_errors = (IMAPClient.Error,)
    temporary_login = ("[UNAVAILABLE]", "[INUSE]", "[LIMIT]")

    def __init__(self, *, folder: str = "INBOX", allow_move: bool = True, **account: Any) -> None:
        super().__init__(**account)
        self._folder = folder
        self._allow_move = allow_move
        self._client: Any = None
        self._capabilities: frozenset[str] = frozenset()
        self._uidvalidity: int | None = None
        self._selected: dict[bytes, Any] = {}
        self._known_folders: set[str] = set()
        self._separator: str | None = None
        self._to_expunge: list[int] = []

    def __repr__(self) -> str:
        return f"ImapSource({self._url()})"

    def identity(self) -> str:
        """``imap://user@host:port/folder;UIDVALIDITY=n`` (the source must be open)."""
        if self._uidvalidity is None:
            raise RuntimeError("identity() needs an open ImapSource (UIDVALIDITY is unknown)")
        return f"{self._url()};UIDVALIDITY={self._uidvalidity}"

    def open(self) -> None:
        """Connect, verify TLS, log in, re-read capabilities and select the folder."""
        self._client = self._connect()
        try:
            self._login()
            self._select()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Log out (LOGOUT, not CLOSE, which would expunge); a dead connection is fine."""
        client, self._client = self._client, None
        if client is not None:
            with suppress(Exception), self._deadline.running("logging out"):
                client.logout()
            with suppress(Exception):
                client.shutdown()
        self._deadline.forget()
        self._uidvalidity = None

    def pending(self, is_done: Callable[[str], bool], limit: int | None = None) -> list[Envelope]:
        """UIDs in the folder that the journal has not done, oldest first, with sizes."""
        self._renew_expiring_login()
        chosen: list[int] = []
        for uid in self._search_all():
            if limit is not None and len(chosen) >= limit:
                break
            if not is_done(self._id(uid)):
                chosen.append(uid)
        sizes = self._sizes(chosen)
        # A UID without a size was expunged by someone else in between: nothing to do.
        return [
            Envelope(self._id(uid), sizes[uid], is_oversize(sizes[uid], self._max_size))
            for uid in chosen
            if uid in sizes
        ]

    def fetch(self, envelopes: Sequence[Envelope]) -> Iterator[Fetched]:
        """``UID FETCH BODY.PEEK[]`` in batches; messages expunged meanwhile are skipped."""
        refuse_oversize(envelopes)
        for batch in batches(envelopes):
            self._renew_expiring_login()
            uids = [self._uid(envelope.id) for envelope in batch]
            with self._guard("downloading messages"):
                found = self._session().fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
            for envelope, uid in zip(batch, uids, strict=True):
                # Expunged by another client: absent, or (Dovecot) present with BODY[] NIL.
                item = found.get(uid, {})
                body = item.get(b"BODY[]")
                if body is not None:
                    yield Fetched(envelope.id, bytes(body), _arrived(item.get(b"INTERNALDATE")))

    def dispose(self, id: str, disposition: Disposition) -> None:
        """Flag, move or mark deleted now; deletions become final at ``commit``."""
        self.dispose_many([id], disposition)

    def dispose_many(self, ids: Sequence[str], disposition: Disposition) -> None:
        r"""Like ``dispose``, for many messages at once: one command per chunk of UIDs.

        ``UID MOVE`` (or ``UID COPY`` and ``STORE +FLAGS (\Deleted)``) over a UID set: one
        round trip for a whole batch instead of one per message.
        """
        require_supported(self, disposition, self._label(), "IMAP has no such disposition")
        self._renew_expiring_login()
        uids = [self._uid(id) for id in ids]
        for start in range(0, len(uids), SIZE_CHUNK):
            chunk = uids[start : start + SIZE_CHUNK]
            match disposition:
                case Move(folder=folder):
                    self._move(chunk, folder)
                case Delete():
                    self._mark_deleted(chunk)
                case FlagSeen():
                    with self._guard("flagging messages as seen"):
                        self._session().add_flags(chunk, [b"\\Seen"])
                case Leave():
                    pass

    def commit(self) -> None:
        r"""Expunge what dispose marked deleted: by UID with UIDPLUS, else the whole folder.

        Without UIDPLUS (rare today) a plain EXPUNGE also removes messages that other
        clients marked ``\Deleted``; that is what they asked for by marking them.
        """
        if not self._to_expunge:
            return
        self._renew_expiring_login()
        with self._guard("expunging disposed messages"):
            if "UIDPLUS" in self._capabilities:
                self._session().uid_expunge(self._to_expunge)
            else:
                self._session().expunge()
        self._to_expunge = []

    def check(self) -> SourceCheck:
        """Folder, its message count now, the capabilities after login, TLS version."""
        with self._guard("reading the folder status"):
            status = self._session().folder_status(self._server_name(self._folder), [b"MESSAGES"])
            sock = self._session().socket()
        return SourceCheck(
            identity=self.identity(),
            folder=self._folder,
            messages=int(status[b"MESSAGES"]),
            capabilities=tuple(sorted(self._capabilities)),
            tls=tls_version(sock),
        )

    # -- IDLE, for a long-running watch on one connection ----------------------------------

    def can_idle(self) -> bool:
        """Whether the server announced IDLE after login (the source must be open)."""
        return "IDLE" in self._capabilities

    def idle_socket(self) -> socket.socket:
        """The connection's socket, to wait on while idling."""
        return self._session().socket()  # type: ignore[no-any-return]

    def mail_announced(self) -> bool:
        """Whether the server announced new mail (EXISTS) since the folder was selected.

        A message that arrives during a run is announced in the answer to whatever command
        comes next; imaplib keeps such announcements aside, and IDLE would never repeat
        them. Asked just before IDLE, so that such mail is not left waiting for the next.
        """
        # imapclient has no public way to the announcements; imaplib's response() pops them.
        imap = self._session()._imap
        exists = imap.response("EXISTS")[1]
        recent = imap.response("RECENT")[1]
        return any(item is not None for item in (*exists, *recent))

    def start_idle(self) -> None:
        """Ask the server to tell us about changes as they happen (RFC 2177)."""
        with self._guard("starting IDLE"):
            self._session().idle()

    def idle_news(self) -> bool:
        """What the server said while idling, read without waiting: True if mail arrived.

        Also True when the socket was readable but held no whole response (the server may
        have closed it): the caller ends IDLE, which then fails if the connection is gone.
        """
        with self._guard("reading IDLE responses"):
            responses = self._session().idle_check(timeout=0)
        if not responses:
            return True
        for response in responses:
            if len(response) > 1 and response[1] in (b"EXISTS", b"RECENT"):
                return True
            if response[0] == b"BYE":
                said = b" ".join(p for p in response[1:] if isinstance(p, bytes)).decode(
                    "utf-8", "replace"
                )
                reason = f"the server said BYE {said}".strip()
                raise self._lost("idling", ConnectionError(reason[:200]))
        return False

    def end_idle(self) -> None:
        """Leave IDLE, so that commands can be sent again."""
        with self._guard("ending IDLE"):
            self._session().idle_done()

    def refresh(self) -> None:
        """NOOP and select the folder again: a new run sees what arrived since."""
        self._renew_expiring_login()
        with self._guard("keeping the connection alive"):
            self._session().noop()
        self._select_again()  # the separator is known since open()

    def _renew_expiring_login(self) -> None:
        """Log in again with a new token before the one this session used expires.

        Exchange Online ends a session whose token expired (``BYE Session invalidated -
        AccessTokenExpired``), whatever command comes next; a run or a watch that lasts
        longer than a token is logged in afresh between commands instead. Deletions marked
        before stay marked: ``commit`` expunges them in the new session.
        """
        if self._bearer is None or self._client is None or not self._bearer.expiring():
            return
        validity = self._uidvalidity
        self.close()
        self.open()
        if self._uidvalidity != validity:
            raise RetryLater(
                f"{self._label()}: UIDVALIDITY changed from {validity} to {self._uidvalidity} "
                "while logging in again with a new OAuth2 token; the next run reads the "
                "folder afresh"
            )

    def _url(self) -> str:
        endpoint = self._endpoint
        return f"imap://{self._username}@{endpoint.host}:{endpoint.port}/{self._folder}"

    def _label(self) -> str:
        return f"{super()._label()} folder {self._folder!r}"

    def _connect(self) -> Any:
        endpoint = self._endpoint
        return self._secured(
            lambda context: WatchedClient(
                endpoint.host,
                endpoint.port,
                ssl=endpoint.security == "ssl",
                ssl_context=context,
                timeout=endpoint.timeout,
                deadline=self._deadline,
            ),
            lambda client, context: client.starttls(context),
            lambda client: client.shutdown(),
        )

    def _login(self) -> None:
        client = self._session()
        self._log_in(
            lambda password: client.login(self._username, password),
            lambda token: self._token_login(client, token),
        )
        # imaplib keeps the list it got before login; imapclient answers from the CAPABILITY
        # the server sent with the login reply (or asks again), which is the list that
        # counts: MOVE, UIDPLUS and IDLE are usually only announced after login.
        with self._guard("reading capabilities"):
            caps = client.capabilities()
        self._capabilities = frozenset(bytes(c).decode("ascii").upper() for c in caps)

    def _token_login(self, client: Any, token: str) -> None:
        """AUTHENTICATE OAUTHBEARER or XOAUTH2: the configured one, else the best offered."""
        assert self._bearer is not None  # noqa: S101 - only called for token logins
        offered = [bytes(c).decode("ascii", "replace") for c in client.capabilities()]
        auth = [c.removeprefix("AUTH=") for c in offered if c.upper().startswith("AUTH=")]
        mechanism = sasl.choose(self._bearer.mechanism, auth)
        endpoint = self._endpoint
        initial = sasl.initial_response(
            mechanism, self._username, token, endpoint.host, endpoint.port
        )
        client.sasl_login(mechanism, sasl.Exchange(mechanism, initial))

    def _select(self) -> None:
        with self._guard("reading the folder separator"):
            listed = self._session().list_folders("", "")
        separator = listed[0][1] if listed else None
        self._separator = separator.decode() if isinstance(separator, bytes) else None
        self._select_again()

    def _select_again(self) -> None:
        with self._guard("selecting the folder", refused=self._no_folder):
            self._selected = self._session().select_folder(self._server_name(self._folder))
        self._uidvalidity = int(self._selected[b"UIDVALIDITY"])
        self.mail_announced()  # what SELECT itself said is known: forget it

    def _no_folder(self, text: str) -> TrackerMailError:
        message = f"{self._label()}: cannot open folder {self._folder!r}: {text}"
        names = self._folder_names()
        if names:  # a typo or a localised name ("Posteingang"): show what there is to choose
            close = difflib.get_close_matches(self._folder, names[:_FOLDERS_COMPARED], n=1)
            if close:
                message += f"; did you mean {close[0]!r}?"
            shown = ", ".join(names[:_FOLDERS_SHOWN])
            more = f" and {len(names) - _FOLDERS_SHOWN} more" if len(names) > _FOLDERS_SHOWN else ""
            message += f"; the server has: {shown}{more}; set folder: to one of them"
        return ConfigurationError(message)

    def _folder_names(self) -> list[str]:
        """The server's folders as ``folder:`` is written (``/`` between levels); [] unknown."""
        try:
            with self._guard("listing folders"):
                listed = self._session().list_folders()
        except TrackerMailError:
            return []
        names = []
        for _flags, separator, name in listed:
            text = name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
            sep = separator.decode() if isinstance(separator, bytes) else separator
            names.append(text.replace(sep, "/") if sep and sep != "/" else text)
        return sorted(names, key=lambda n: (n.upper() != "INBOX", n.casefold()))

    def _search_all(self) -> list[int]:
        exists = int(self._selected.get(b"EXISTS", 0))
        uidnext = self._selected.get(b"UIDNEXT")
        with self._guard("listing messages"):
            if exists <= SEARCH_WINDOW or uidnext is None:
                return sorted(self._session().search(["ALL"]))
            # Up to UIDNEXT as of SELECT; what arrives later is for the next run.
            found: list[int] = []
            for low in range(1, int(uidnext), SEARCH_WINDOW):
                high = min(low + SEARCH_WINDOW - 1, int(uidnext) - 1)
                found += self._session().search(["UID", f"{low}:{high}"])
        return sorted(found)

    def _sizes(self, uids: list[int]) -> dict[int, int]:
        sizes: dict[int, int] = {}
        for start in range(0, len(uids), SIZE_CHUNK):
            chunk = uids[start : start + SIZE_CHUNK]
            with self._guard("reading message sizes"):
                found = self._session().fetch(chunk, ["RFC822.SIZE"])
            sizes |= {int(uid): int(data[b"RFC822.SIZE"]) for uid, data in found.items()}
        return sizes

    def _move(self, uids: list[int], folder: str) -> None:
        folder = self._server_name(folder)
        try:
            self._move_into(uids, folder)
        except _FolderGone:
            # Deleted by someone since this connection made sure of it (watch keeps one
            # connection for days): made again, once.
            self._known_folders.discard(folder)
            self._move_into(uids, folder)

    def _move_into(self, uids: list[int], folder: str) -> None:
        self._ensure_folder(folder)
        action = f"moving messages to {folder!r}"

        def refused(text: str) -> TrackerMailError:
            # RFC 3501 and 6851: NO [TRYCREATE] when the target folder does not exist.
            error = _FolderGone if "[TRYCREATE]" in text.upper() else RetryLater
            return error(f"{self._label()}: the server refused {action}: {text}")

        with self._guard(action, refused=refused):
            if self._allow_move and "MOVE" in self._capabilities:
                self._session().move(uids, folder)
                return
            self._session().copy(uids, folder)
        self._mark_deleted(uids)

    def _mark_deleted(self, uids: list[int]) -> None:
        with self._guard("marking messages deleted"):
            self._session().add_flags(uids, [b"\\Deleted"])
        self._to_expunge += uids

    def _server_name(self, folder: str) -> str:
        """``folder`` with ``/`` between levels turned into the server's own separator."""
        if self._separator and self._separator != "/":
            return folder.replace("/", self._separator)
        return folder

    def _ensure_folder(self, folder: str) -> None:
        if folder in self._known_folders:
            return
        with self._guard(f"creating folder {folder!r}"):
            if not self._session().folder_exists(folder):
                try:
                    self._session().create_folder(folder)
                except IMAPClient.AbortError:
                    raise
                except IMAPClient.Error:
                    # Another run may have created it a moment ago; only that is fine.
                    if not self._session().folder_exists(folder):
                        raise
        self._known_folders.add(folder)

    def _id(self, uid: int) -> str:
        return f"{self._uidvalidity}:{uid}"

    def _uid(self, id: str) -> int:
        validity, _, uid = id.partition(":")
        if validity != str(self._uidvalidity) or not uid.isdigit():
            raise ValueError(f"{id!r} is not a message id of {self.identity()}")
        return int(uid)

    def _session(self) -> Any:
        if self._client is None:
            raise RuntimeError("the ImapSource is not open")
        return self._client

    def _connection_broke(self, error: Exception) -> bool:
        return isinstance(error, IMAPClient.AbortError)


class _FolderGone(RetryLater):
    """The folder to move into does not exist (any more): the server answered [TRYCREATE]."""


def _arrived(internaldate: object) -> datetime | None:
    """INTERNALDATE, which IMAPClient gives as a naive datetime in local time."""
    if not isinstance(internaldate, datetime):
        return None
    return internaldate.astimezone() if internaldate.tzinfo is None else internaldate
