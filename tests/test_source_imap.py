"""ImapSource against a real Dovecot (see tests/servers/dovecot.py)."""

from __future__ import annotations

import imaplib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.servers.dovecot import Account, Dovecot, free_ports
from tests.servers.helpers import logged_sizes, message, other_ca, sha
from tracker_mail_plugin.errors import ConfigurationError, RetryLater, Unreachable
from tracker_mail_plugin.sources import Delete, Envelope, FlagSeen, Leave, Move
from tracker_mail_plugin.sources import imap as imap_module
from tracker_mail_plugin.sources.imap import ImapSource

pytestmark = pytest.mark.servers

MakeSource = Callable[..., ImapSource]


@pytest.fixture
def make_source(dovecot: Dovecot, account: Account) -> MakeSource:
    """ImapSource over IMAPS with the test CA; keyword arguments override."""

    def make(**overrides: Any) -> ImapSource:
        options: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": dovecot.ports.imaps,
            "security": "ssl",
            "username": account.user,
            "password": account.password,
            "ca_file": str(dovecot.ca_file),
            "timeout": 10,
        }
        return ImapSource(**(options | overrides))

    return make


def nothing_done(_id: str) -> bool:
    return False


def flags_of(dovecot: Dovecot, account: Account, folder: str = "INBOX") -> dict[int, set[bytes]]:
    client = dovecot.imap(account)
    try:
        client.select_folder(folder, readonly=True)
        return {uid: set(flags) for uid, flags in client.get_flags(client.search("ALL")).items()}
    finally:
        client.logout()


def bodies_in(dovecot: Dovecot, account: Account, folder: str) -> list[bytes]:
    client = dovecot.imap(account)
    try:
        client.select_folder(folder, readonly=True)
        found = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
        return [found[uid][b"BODY[]"] for uid in sorted(found)]
    finally:
        client.logout()


# --- listing and downloading -------------------------------------------------------------


def test_pending_lists_uidvalidity_uid_ids_with_sizes_and_excludes_done(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    raws = [message(n) for n in range(3)]
    uids = dovecot.append(account, raws)
    with make_source() as source:
        validity = source.identity().rsplit("=", 1)[1]
        everything = source.pending(nothing_done)
        done = {everything[0].id}
        rest = source.pending(done.__contains__)
        limited = source.pending(nothing_done, limit=2)

    assert everything == [
        Envelope(f"{validity}:{uid}", len(raw)) for uid, raw in zip(uids, raws, strict=True)
    ]
    assert [e.id for e in rest] == [e.id for e in everything[1:]]
    assert [e.id for e in limited] == [e.id for e in everything[:2]]


def test_pending_ignores_seen_flags_only_the_journal_decides(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1)], flags=[b"\\Seen"])
    dovecot.append(account, [message(2)])
    with make_source() as source:
        assert len(source.pending(nothing_done)) == 2


def test_fetch_returns_the_exact_bytes_in_batches_and_never_sets_seen(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    # 250 messages: more than one fetch batch (100); one with 8-bit text and a long line.
    raws = [message(n) for n in range(249)]
    raws.append(message(249, "Grüße\r\n" + "x" * 5000 + "\r\n"))
    dovecot.append(account, raws)
    with make_source() as source:
        fetched = list(source.fetch(source.pending(nothing_done)))

    assert [sha(f.raw) for f in fetched] == [sha(raw) for raw in raws]
    assert all(b"\\Seen" not in flags for flags in flags_of(dovecot, account).values())


def test_a_fetched_message_carries_its_internaldate(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    # The arrival the latency is measured from: the server's INTERNALDATE, with its zone.
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    client = dovecot.imap(account)
    try:
        client.append("INBOX", message(1), msg_time=when)
    finally:
        client.logout()
    with make_source() as source:
        (fetched,) = source.fetch(source.pending(nothing_done))
    assert fetched.arrived == when  # aware: a naive datetime never equals an aware one


def test_a_message_expunged_by_another_client_meanwhile_is_skipped(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    uids = dovecot.append(account, [message(1), message(2)])
    with make_source() as source:
        envelopes = source.pending(nothing_done)
        other = dovecot.imap(account)
        other.select_folder("INBOX")
        other.delete_messages([uids[0]])
        other.expunge()
        other.logout()
        fetched = list(source.fetch(envelopes))
    assert [f.id for f in fetched] == [envelopes[1].id]


def test_large_folders_are_searched_in_uid_windows(
    dovecot: Dovecot, account: Account, make_source: MakeSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    # imaplib refuses response lines over 1 MB; windows keep UID SEARCH answers small.
    monkeypatch.setattr(imap_module, "SEARCH_WINDOW", 2)
    uids = dovecot.append(account, [message(n) for n in range(7)])
    with make_source() as source:
        ids = [e.id.split(":")[1] for e in source.pending(nothing_done)]
    assert ids == [str(uid) for uid in uids]


def test_oversize_message_is_reported_not_downloaded(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    small, big = message(1), message(2, "y" * 200_000 + "\r\n")
    dovecot.append(account, [small, big])
    with make_source(max_message_size=10_000) as source:
        envelopes = source.pending(nothing_done)
        with pytest.raises(ValueError, match="never downloaded"):
            list(source.fetch(envelopes))
        fetched = list(source.fetch([e for e in envelopes if not e.oversize]))

    assert [(e.size, e.oversize) for e in envelopes] == [(len(small), False), (len(big), True)]
    assert [f.raw for f in fetched] == [small]
    # Server side proof: the whole session sent far fewer bytes than the big message holds
    # (two sessions: the test's APPEND and the source's).
    sizes = logged_sizes(dovecot, account, "imap", r"out=(\d+)", sessions=2)
    assert len(sizes) == 2
    assert max(sizes) < 20_000


# --- dispositions ------------------------------------------------------------------------


def test_move_creates_the_folder_and_moves_at_once_with_move(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    raws = [message(1), message(2)]
    dovecot.append(account, raws)
    with make_source() as source:
        first, _ = source.pending(nothing_done)
        source.dispose(first.id, Move("Processed"))
        # MOVE is atomic: nothing is left behind waiting for an expunge.
        assert len(flags_of(dovecot, account)) == 1
        source.commit()
    assert bodies_in(dovecot, account, "Processed") == [raws[0]]
    assert bodies_in(dovecot, account, "INBOX") == [raws[1]]


def sent_commands(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every command line the client sends from now on, tag removed."""
    sent: list[bytes] = []
    original = imaplib.IMAP4.send

    def recording(self: imaplib.IMAP4, data: bytes) -> None:
        tag, _, command = bytes(data).partition(b" ")
        if tag.isalnum() and command:
            sent.append(command.rstrip(b"\r\n"))
        original(self, data)

    monkeypatch.setattr(imaplib.IMAP4, "send", recording)
    return sent


def test_a_batch_is_moved_with_one_uid_move_over_its_uid_set(
    dovecot: Dovecot, account: Account, make_source: MakeSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = [message(n) for n in range(1, 5)]
    uids = dovecot.append(account, raws)
    with make_source() as source:
        envelopes = source.pending(nothing_done)
        sent = sent_commands(monkeypatch)
        source.dispose_many([e.id for e in envelopes[:3]], Move("Processed"))
        source.commit()
    moves = [line for line in sent if line.startswith(b"UID MOVE")]
    assert moves == [
        b"UID MOVE " + b",".join(str(uid).encode() for uid in uids[:3]) + b' "Processed"'
    ]
    assert bodies_in(dovecot, account, "Processed") == raws[:3]
    assert bodies_in(dovecot, account, "INBOX") == raws[3:]


def test_a_batch_without_move_is_one_copy_one_store_and_one_expunge(
    dovecot: Dovecot, account: Account, make_source: MakeSource, monkeypatch: pytest.MonkeyPatch
) -> None:
    raws = [message(n) for n in range(1, 4)]
    dovecot.append(account, raws)
    with make_source(allow_move=False) as source:
        ids = [e.id for e in source.pending(nothing_done)]
        sent = sent_commands(monkeypatch)
        source.dispose_many(ids, Move("Processed"))
        source.commit()
    verbs = [b" ".join(line.split(b" ")[:2]) for line in sent]
    assert verbs.count(b"UID COPY") == 1
    assert verbs.count(b"UID STORE") == 1
    assert verbs.count(b"UID EXPUNGE") == 1
    assert bodies_in(dovecot, account, "Processed") == raws
    assert flags_of(dovecot, account) == {}


def test_move_without_move_capability_copies_flags_and_uid_expunges_only_ours(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    ours, theirs = message(1), message(2)
    uids = dovecot.append(account, [ours, theirs])
    other = dovecot.imap(account)
    other.select_folder("INBOX")
    other.add_flags([uids[1]], [b"\\Deleted"])  # another client's pending deletion
    other.logout()
    with make_source(allow_move=False) as source:
        envelope = source.pending(nothing_done)[0]
        source.dispose(envelope.id, Move("Done/2026"))
        assert b"\\Deleted" in flags_of(dovecot, account)[uids[0]]
        source.commit()
    # Our "/" became Dovecot's own separator ".".
    assert bodies_in(dovecot, account, "Done.2026") == [ours]
    assert list(flags_of(dovecot, account)) == [uids[1]]  # UID EXPUNGE left theirs alone


def test_without_uidplus_commit_falls_back_to_a_plain_expunge(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    uids = dovecot.append(account, [message(1), message(2), message(3)])
    other = dovecot.imap(account)
    other.select_folder("INBOX")
    other.add_flags([uids[1]], [b"\\Deleted"])
    other.logout()
    with make_source(allow_move=False) as source:
        # Pretend the server lacks UIDPLUS (Dovecot has it): EXPUNGE removes every \Deleted.
        source._capabilities -= {"UIDPLUS"}
        source.dispose(source.pending(nothing_done)[0].id, Move("Processed"))
        source.commit()
    assert list(flags_of(dovecot, account)) == [uids[2]]
    assert len(bodies_in(dovecot, account, "Processed")) == 1


def test_delete_is_final_only_at_commit(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    uids = dovecot.append(account, [message(1), message(2)])
    with make_source() as source:
        first = source.pending(nothing_done)[0]
        source.dispose(first.id, Delete())
    # Closed without commit: still there (flagged), a later commit or client expunges it.
    assert b"\\Deleted" in flags_of(dovecot, account)[uids[0]]
    with make_source() as source:
        source.dispose(first.id, Delete())
        source.commit()
    assert list(flags_of(dovecot, account)) == [uids[1]]


def test_flag_seen_and_leave(dovecot: Dovecot, account: Account, make_source: MakeSource) -> None:
    uids = dovecot.append(account, [message(1), message(2)])
    with make_source() as source:
        first, second = source.pending(nothing_done)
        source.dispose(first.id, FlagSeen())
        source.dispose(second.id, Leave())
        source.commit()
    flags = flags_of(dovecot, account)
    assert b"\\Seen" in flags[uids[0]]
    assert b"\\Seen" not in flags[uids[1]]


def test_an_id_from_another_uidvalidity_is_refused(make_source: MakeSource) -> None:
    with make_source() as source, pytest.raises(ValueError, match="not a message id"):
        source.dispose("1:1", Leave())


# --- identity and UIDVALIDITY ------------------------------------------------------------


def test_uidvalidity_change_shows_in_identity_and_ids(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    raw = message(1)
    dovecot.append(account, [raw], folder="Support")
    with make_source(folder="Support") as source:
        before = source.identity()
        old_ids = {e.id for e in source.pending(nothing_done)}
    client = dovecot.imap(account)
    client.delete_folder("Support")  # recreated: the server must pick a new UIDVALIDITY
    client.logout()
    dovecot.append(account, [raw], folder="Support")
    with make_source(folder="Support") as source:
        after = source.identity()
        again = source.pending(old_ids.__contains__)

    prefix = f"imap://{account.user}@127.0.0.1:{dovecot.ports.imaps}/Support;UIDVALIDITY="
    assert before.startswith(prefix)
    assert after.startswith(prefix)
    assert after != before
    assert len(again) == 1  # old ids do not hide the renumbered message
    assert again[0].id not in old_ids


def test_check_reports_folder_count_capabilities_and_tls(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1), message(2)])
    with make_source() as source:
        report = source.check()
    assert report.identity.startswith(f"imap://{account.user}@127.0.0.1:{dovecot.ports.imaps}/")
    assert (report.folder, report.messages) == ("INBOX", 2)
    assert {"IMAP4REV1", "MOVE", "UIDPLUS"} <= set(report.capabilities)
    assert report.tls is not None
    assert report.tls.startswith("TLSv1.")


# --- security ----------------------------------------------------------------------------


def test_starttls_verifies_and_rereads_capabilities_after_login(
    dovecot: Dovecot, make_source: MakeSource
) -> None:
    with make_source(port=dovecot.ports.imap, security="starttls") as source:
        report = source.check()
    assert report.tls is not None
    # MOVE and UIDPLUS are only announced after login; the pre-login list lacks them.
    assert {"MOVE", "UIDPLUS"} <= set(report.capabilities)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_certificate_from_an_untrusted_ca_is_refused(
    dovecot: Dovecot, make_source: MakeSource, tmp_path: Path, security: str
) -> None:
    port = dovecot.ports.imaps if security == "ssl" else dovecot.ports.imap
    source = make_source(port=port, security=security, ca_file=str(other_ca(tmp_path)))
    with pytest.raises(ConfigurationError) as caught:
        source.open()
    assert str(caught.value) == (
        f"IMAP server 127.0.0.1:{port}: its certificate is not trusted (unable to get local "
        "issuer certificate); set ca_file to the certificate of the CA that signed it, or "
        "have the server's certificate fixed"
    )


def test_tls_on_a_plain_port_says_to_check_the_security_mode(
    dovecot: Dovecot, make_source: MakeSource
) -> None:
    with pytest.raises(ConfigurationError, match=r"TLS negotiation failed .*security: ssl"):
        make_source(port=dovecot.ports.imap, security="ssl").open()


def test_plain_imap_is_allowed_on_loopback_only(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1)])
    with make_source(port=dovecot.ports.imap, security="none") as source:
        assert source.check().tls is None
        assert len(source.pending(nothing_done)) == 1
    with pytest.raises(ConfigurationError, match=r"only allowed for 127\.0\.0\.1/localhost"):
        make_source(host="imap.example.com", security="none")


def test_wrong_password_is_a_configuration_error_that_never_shows_the_password(
    account: Account, make_source: MakeSource
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_source(password=account.password + "-wrong").open()
    text = str(caught.value)
    assert "the IMAP server refused the login ([AUTHENTICATIONFAILED]" in text
    assert "check username and password" in text
    assert "-wrong" not in text
    assert account.password not in text
    assert account.password not in repr(make_source())


def test_missing_folder_is_a_configuration_error(make_source: MakeSource) -> None:
    with pytest.raises(ConfigurationError, match="cannot open folder 'Nope'"):
        make_source(folder="Nope").open()


def test_a_missing_folder_is_named_with_the_folders_there_are(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    client = dovecot.imap(account)
    try:
        separator = client.list_folders("", "")[0][1].decode()
        for folder in ("Archive", "Support", f"Support{separator}EMEA"):
            client.create_folder(folder)
    finally:
        client.logout()

    with pytest.raises(ConfigurationError) as caught:
        make_source(folder="Suport/EMEA").open()

    message = str(caught.value)
    assert "cannot open folder 'Suport/EMEA'" in message
    assert "did you mean 'Support/EMEA'?" in message  # written as folder: takes it, with /
    assert "the server has: INBOX, Archive, Support, Support/EMEA; set folder: to one of them" in (
        message
    )


# --- connections that fail ---------------------------------------------------------------


def test_nothing_listening_is_unreachable(make_source: MakeSource) -> None:
    (port,) = free_ports(1)
    with pytest.raises(Unreachable, match=rf"cannot reach IMAP server 127.0.0.1:{port}: "):
        make_source(port=port).open()


def test_connection_dropped_by_the_server_is_unreachable(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1)])
    with make_source() as source:
        envelopes = source.pending(nothing_done)
        dovecot.kick(account)  # the server ends the session under our feet
        with pytest.raises(Unreachable) as caught:
            list(source.fetch(envelopes))
    assert str(caught.value).startswith(
        f"connection to IMAP server 127.0.0.1:{dovecot.ports.imaps} lost while downloading "
        "messages: "
    )
    assert isinstance(caught.value, RetryLater)


def test_no_protocol_trace_holds_a_message_or_the_password_even_at_debug_level(
    dovecot: Dovecot,
    account: Account,
    make_source: MakeSource,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # imapclient switches imaplib's trace on, and imaplib formats a repr of every message
    # it reads before a logger could drop it. Whatever logging is turned on, no mail text.
    marker = "payload-" + "0123456789abcdef" * 8
    raw = message(1, body=f"{marker}\r\n")
    dovecot.append(account, [raw])
    caplog.set_level(logging.DEBUG)  # every logger, imapclient's included
    with make_source() as source:
        (fetched,) = source.fetch(source.pending(nothing_done))
    assert fetched.raw == raw
    trace = "\n".join(record.getMessage() for record in caplog.records)
    assert "LOGIN" in trace or "Logged in" in trace  # imapclient's own log lines still come
    assert account.password not in trace
    assert marker not in trace
