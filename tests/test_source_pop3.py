"""Pop3Source against a real Dovecot (see tests/servers/dovecot.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.servers.dovecot import Account, Dovecot, free_ports
from tests.servers.helpers import logged_sizes, message, other_ca, sha
from tracker_mail_plugin.errors import ConfigurationError, Unreachable
from tracker_mail_plugin.sources import Delete, FlagSeen, Leave, Move
from tracker_mail_plugin.sources.pop3 import Pop3Source

pytestmark = pytest.mark.servers

MakeSource = Callable[..., Pop3Source]


@pytest.fixture
def make_source(dovecot: Dovecot, account: Account) -> MakeSource:
    """Pop3Source over POP3S with the test CA; keyword arguments override."""

    def make(**overrides: Any) -> Pop3Source:
        options: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": dovecot.ports.pop3s,
            "security": "ssl",
            "username": account.user,
            "password": account.password,
            "ca_file": str(dovecot.ca_file),
            "timeout": 10,
        }
        return Pop3Source(**(options | overrides))

    return make


def nothing_done(_id: str) -> bool:
    return False


def inbox_count(dovecot: Dovecot, account: Account) -> int:
    client = dovecot.imap(account)
    try:
        return int(client.select_folder("INBOX", readonly=True)[b"EXISTS"])
    finally:
        client.logout()


def test_uidl_ids_are_stable_across_sessions_and_done_ones_are_excluded(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    raws = [message(n) for n in range(3)]
    dovecot.append(account, raws)
    with make_source() as source:
        first = source.pending(nothing_done)
    with make_source() as source:
        second = source.pending(nothing_done)
        rest = source.pending({first[0].id}.__contains__)
        limited = source.pending(nothing_done, limit=1)

    assert first == second
    assert [e.size for e in first] == [len(raw) for raw in raws]
    assert len({e.id for e in first}) == 3
    assert [e.id for e in rest] == [e.id for e in first[1:]]
    assert limited == first[:1]


def test_fetch_returns_the_exact_bytes_including_long_and_dot_lines(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    # A 10 000-byte line (poplib alone stops at 2048) and lines that POP3 dot-stuffs.
    raws = [
        message(1, "a" * 10_000 + "\r\n"),
        message(2, ".\r\n..two dots\r\n.leading dot\r\n"),
        message(3, "Grüße\r\n"),
    ]
    dovecot.append(account, raws)
    with make_source() as source:
        fetched = list(source.fetch(source.pending(nothing_done)))
    assert [sha(f.raw) for f in fetched] == [sha(raw) for raw in raws]


def test_dele_and_quit_delete_the_message(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1), message(2)])
    with make_source() as source:
        first, second = source.pending(nothing_done)
        source.dispose(first.id, Delete())
        source.dispose(second.id, Leave())
        source.commit()
    with make_source() as source:
        assert source.pending(nothing_done) == [second]
    assert inbox_count(dovecot, account) == 1


def test_dele_without_quit_leaves_the_message_on_the_server(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1)])
    with make_source() as source:
        (envelope,) = source.pending(nothing_done)
        source.dispose(envelope.id, Delete())
        # close() drops the socket without QUIT: the server undoes the DELE.
    with make_source() as source:
        assert source.pending(nothing_done) == [envelope]


def test_a_session_that_dies_before_quit_keeps_its_deletions_undone(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1)])
    with make_source() as source:
        (envelope,) = source.pending(nothing_done)
        source.dispose(envelope.id, Delete())
        dovecot.kick(account)
        with pytest.raises(Unreachable, match="lost while committing deletions"):
            source.commit()
    with make_source() as source:
        assert source.pending(nothing_done) == [envelope]


@pytest.mark.parametrize("disposition", [Move("Processed"), FlagSeen()])
def test_pop3_cannot_move_or_flag_and_says_so(
    dovecot: Dovecot, account: Account, make_source: MakeSource, disposition: Any
) -> None:
    dovecot.append(account, [message(1)])
    with make_source() as source:
        assert not source.supports(disposition)
        assert source.supports(Delete())
        assert source.supports(Leave())
        (envelope,) = source.pending(nothing_done)
        with pytest.raises(ConfigurationError) as caught:
            source.dispose(envelope.id, disposition)
    assert "POP3 can only leave or delete messages; use one of: delete, leave" in str(caught.value)


def test_oversize_message_is_reported_not_downloaded(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    small, big = message(1), message(2, "z" * 200_000 + "\r\n")
    dovecot.append(account, [small, big])
    with make_source(max_message_size=10_000) as source:
        envelopes = source.pending(nothing_done)
        with pytest.raises(ValueError, match="never downloaded"):
            list(source.fetch(envelopes))
        fetched = [f.raw for f in source.fetch([e for e in envelopes if not e.oversize])]
        source.commit()
    assert [e.oversize for e in envelopes] == [False, True]
    assert fetched == [small]
    # Server side proof: the session's log line says one RETR, of a few hundred bytes.
    (retr_bytes,) = logged_sizes(dovecot, account, "pop3", r"retr=1/(\d+)")
    assert len(small) <= retr_bytes < 1_000


def test_check_reports_count_capabilities_and_tls(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1), message(2)])
    with make_source() as source:
        report = source.check()
    assert report.identity == f"pop3://{account.user}@127.0.0.1:{dovecot.ports.pop3s}"
    assert report.messages == 2
    assert {"UIDL", "TOP", "PIPELINING"} <= set(report.capabilities)
    assert report.tls is not None
    assert report.tls.startswith("TLSv1.")


def test_stls_verifies_against_the_test_ca(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1)])
    with make_source(port=dovecot.ports.pop3, security="starttls") as source:
        assert source.check().tls is not None
        assert len(source.pending(nothing_done)) == 1


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_a_certificate_from_an_untrusted_ca_is_refused(
    dovecot: Dovecot, make_source: MakeSource, tmp_path: Path, security: str
) -> None:
    port = dovecot.ports.pop3s if security == "ssl" else dovecot.ports.pop3
    source = make_source(port=port, security=security, ca_file=str(other_ca(tmp_path)))
    with pytest.raises(ConfigurationError) as caught:
        source.open()
    assert str(caught.value).startswith(
        f"POP3 server 127.0.0.1:{port}: its certificate is not trusted (unable to get local "
        "issuer certificate); set ca_file"
    )


def test_wrong_password_is_a_configuration_error(account: Account, make_source: MakeSource) -> None:
    with pytest.raises(ConfigurationError) as caught:
        make_source(password=account.password + "-wrong").open()
    text = str(caught.value)
    assert "the POP3 server refused the login (-ERR [AUTH] Authentication failed.)" in text
    assert "-wrong" not in text
    assert account.password not in text


def test_nothing_listening_is_unreachable(make_source: MakeSource) -> None:
    (port,) = free_ports(1)
    with pytest.raises(Unreachable, match=rf"cannot reach POP3 server 127.0.0.1:{port}: "):
        make_source(port=port).open()


def test_connection_dropped_by_the_server_is_unreachable(
    dovecot: Dovecot, account: Account, make_source: MakeSource
) -> None:
    dovecot.append(account, [message(1)])
    with make_source() as source:
        envelopes = source.pending(nothing_done)
        dovecot.kick(account)
        with pytest.raises(Unreachable) as caught:
            list(source.fetch(envelopes))
    assert str(caught.value).startswith(
        f"connection to POP3 server 127.0.0.1:{dovecot.ports.pop3s} lost while downloading"
    )
