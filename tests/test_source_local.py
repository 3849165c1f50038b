"""Maildir, mbox and directory sources, plus the shared pieces of the source contract."""

from __future__ import annotations

import mailbox
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.helpers import message, sha
from tracker_mail_plugin.errors import ConfigurationError, RetryLater
from tracker_mail_plugin.sources import (
    Delete,
    DirectorySource,
    Envelope,
    FlagSeen,
    Leave,
    MaildirSource,
    MboxSource,
    Move,
    read_paths,
)
from tracker_mail_plugin.sources.base import batches, describe, require_secure
from tracker_mail_plugin.sources.pipe import PipeSource


def nothing_done(_id: str) -> bool:
    return False


# --- Maildir -----------------------------------------------------------------------------


def make_maildir(path: Path, raws: list[bytes]) -> list[str]:
    box = mailbox.Maildir(path, create=True)
    try:
        return [box.add(raw) for raw in raws]
    finally:
        box.close()


def test_maildir_lists_keys_with_sizes_and_fetches_exact_bytes(tmp_path: Path) -> None:
    raws = [message(n) for n in range(3)]
    keys = make_maildir(tmp_path / "box", raws)
    with MaildirSource(tmp_path / "box") as source:
        envelopes = source.pending(nothing_done)
        fetched = {f.id: f.raw for f in source.fetch(envelopes)}
        rest = source.pending({keys[0]}.__contains__)
        limited = source.pending(nothing_done, limit=2)
    by_key = dict(zip(keys, raws, strict=True))
    assert {e.id: e.size for e in envelopes} == {k: len(r) for k, r in by_key.items()}
    assert fetched == by_key
    assert {e.id for e in rest} == set(keys[1:])
    assert [e.id for e in limited] == [e.id for e in envelopes[:2]]
    assert source.identity() == f"maildir:{(tmp_path / 'box').resolve()}"


def test_maildir_move_goes_to_a_maildirpp_subfolder(tmp_path: Path) -> None:
    root = tmp_path / "box"
    keys = make_maildir(root, [message(1), message(2)])
    with MaildirSource(root) as source:
        source.pending(nothing_done)
        source.dispose(keys[0], Move("Processed"))
        remaining = [e.id for e in source.pending(nothing_done)]
    assert remaining == [keys[1]]
    processed = mailbox.Maildir(root / ".Processed", create=False)
    assert [processed.get_bytes(k) for k in processed.iterkeys()] == [message(1)]
    assert (root / ".Processed" / "maildirfolder").exists()
    # The moved message is not in a subfolder of the source's own listing any more.
    assert not any(keys[0] in name for name in os.listdir(root / "new"))


def test_maildir_delete_and_flag_seen_keep_ids_stable(tmp_path: Path) -> None:
    root = tmp_path / "box"
    keys = make_maildir(root, [message(1), message(2)])
    with MaildirSource(root) as source:
        source.pending(nothing_done)
        source.dispose(keys[0], Delete())
        source.dispose(keys[1], FlagSeen())
        source.commit()
        after = source.pending(nothing_done)
    assert [e.id for e in after] == [keys[1]]  # same id although the file was renamed
    (name,) = os.listdir(root / "cur")
    assert name == f"{keys[1]}:2,S"
    assert os.listdir(root / "new") == []


def test_maildir_finds_a_message_a_mail_reader_moved_to_cur(tmp_path: Path) -> None:
    root = tmp_path / "box"
    (key,) = make_maildir(root, [message(1)])
    with MaildirSource(root) as source:
        envelopes = source.pending(nothing_done)
        os.rename(root / "new" / key, root / "cur" / f"{key}:2,RS")
        fetched = list(source.fetch(envelopes))
        source.dispose(key, Move("Done"))
    assert [f.raw for f in fetched] == [message(1)]
    assert os.listdir(root / ".Done" / "cur") == [f"{key}:2,RS"]


def test_maildir_refuses_a_non_maildir_and_unsafe_folder_names(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not a Maildir"):
        MaildirSource(tmp_path).open()
    (key,) = make_maildir(tmp_path / "box", [message(1)])
    with MaildirSource(tmp_path / "box") as source:
        source.pending(nothing_done)
        for bad in ("../escape", ".hidden", "a/b"):
            with pytest.raises(ConfigurationError, match="plain name"):
                source.dispose(key, Move(bad))
    assert not (tmp_path / "escape").exists()


def test_maildir_oversize_is_flagged_and_not_read(tmp_path: Path) -> None:
    keys = make_maildir(tmp_path / "box", [message(1), message(2, "b" * 5000)])
    with MaildirSource(tmp_path / "box", max_message_size=1000) as source:
        envelopes = {e.id: e.oversize for e in source.pending(nothing_done)}
        with pytest.raises(ValueError, match="never downloaded"):
            list(source.fetch(source.pending(nothing_done)))
    assert envelopes == {keys[0]: False, keys[1]: True}


# --- mbox --------------------------------------------------------------------------------


def make_mbox(path: Path, raws: list[bytes]) -> None:
    path.write_bytes(
        b"".join(b"From sender@example.com Mon Nov  2 10:00:00 2026\n" + r + b"\n" for r in raws)
    )


def test_mbox_ids_are_index_and_hash_stable_and_bytes_exact(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    raws = [message(n) for n in range(3)]
    make_mbox(path, raws)
    with MboxSource(path) as source:
        first = source.pending(nothing_done)
        fetched = [f.raw for f in source.fetch(first)]
    with MboxSource(path) as source:
        again = source.pending(nothing_done)
        rest = source.pending({first[0].id}.__contains__)
    assert first == again
    assert [e.id for e in first] == [f"{n + 1}:{sha(raw)[:16]}" for n, raw in enumerate(raws)]
    assert [sha(raw) for raw in fetched] == [sha(raw) for raw in raws]
    assert rest == first[1:]


def test_mbox_is_read_only_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    make_mbox(path, [message(1)])
    before = path.read_bytes()
    with MboxSource(path) as source:
        (envelope,) = source.pending(nothing_done)
        source.dispose(envelope.id, Leave())
        assert not source.supports(Move("Processed"))
        with pytest.raises(ConfigurationError, match="an mbox is only read; use one of: leave"):
            source.dispose(envelope.id, Delete())
        source.commit()
        assert source.check().messages == 1
    assert path.read_bytes() == before


def test_mbox_rewritten_while_reading_is_retried_later(tmp_path: Path) -> None:
    path = tmp_path / "inbox.mbox"
    # Bigger than the file buffer, so that reads really go to the rewritten file.
    big = "x" * 20_000 + "\r\n"
    make_mbox(path, [message(1, big), message(2, big)])
    with MboxSource(path) as source:
        envelopes = source.pending(nothing_done)
        make_mbox(path, [message(3, big), message(4, big)])  # same sizes, other bytes
        with pytest.raises(RetryLater, match="changed while it was being read"):
            list(source.fetch(envelopes))


def test_mbox_missing_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="no such mbox file"):
        MboxSource(tmp_path / "nope.mbox").open()


# --- directory ---------------------------------------------------------------------------


def test_directory_lists_top_level_eml_files_by_name(tmp_path: Path) -> None:
    (tmp_path / "b.eml").write_bytes(message(2))
    (tmp_path / "a.EML").write_bytes(message(1))
    (tmp_path / "notes.txt").write_text("not mail")
    (tmp_path / ".hidden.eml").write_bytes(message(3))
    (tmp_path / "Processed").mkdir()
    (tmp_path / "Processed" / "c.eml").write_bytes(message(4))
    with DirectorySource(tmp_path) as source:
        envelopes = source.pending(nothing_done)
        fetched = [f.raw for f in source.fetch(envelopes)]
        rest = source.pending({"a.EML"}.__contains__)
    assert envelopes == [Envelope("a.EML", len(message(1))), Envelope("b.eml", len(message(2)))]
    assert fetched == [message(1), message(2)]
    assert [e.id for e in rest] == ["b.eml"]


def test_directory_move_never_overwrites_and_delete_removes(tmp_path: Path) -> None:
    (tmp_path / "Processed").mkdir()
    (tmp_path / "Processed" / "a.eml").write_bytes(b"earlier")
    (tmp_path / "a.eml").write_bytes(message(1))
    (tmp_path / "b.eml").write_bytes(message(2))
    with DirectorySource(tmp_path) as source:
        source.pending(nothing_done)
        source.dispose("a.eml", Move("Processed"))
        source.dispose("b.eml", Delete())
        assert source.pending(nothing_done) == []
    assert (tmp_path / "Processed" / "a.eml").read_bytes() == b"earlier"
    assert (tmp_path / "Processed" / "a-1.eml").read_bytes() == message(1)
    assert not (tmp_path / "b.eml").exists()


def test_directory_cannot_flag_and_needs_an_existing_directory(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_bytes(message(1))
    with DirectorySource(tmp_path) as source, pytest.raises(ConfigurationError, match="no flags"):
        source.dispose("a.eml", FlagSeen())
    with pytest.raises(ConfigurationError, match="no such directory"):
        DirectorySource(tmp_path / "missing").open()


def test_read_paths_for_explain_still_reads_maildirs(tmp_path: Path) -> None:
    make_maildir(tmp_path / "box", [message(1)])
    (found,) = read_paths([tmp_path / "box"])
    assert found.raw == message(1)
    assert found.error is None


# --- the shared contract -----------------------------------------------------------------


def test_batches_are_bounded_by_count_and_bytes() -> None:
    envelopes = [Envelope(str(n), size) for n, size in enumerate([5, 5, 5, 20, 1, 1, 1])]
    sizes = [[e.size for e in batch] for batch in batches(envelopes, max_messages=3, max_bytes=12)]
    assert sizes == [[5, 5], [5], [20], [1, 1, 1]]


def test_security_none_is_only_for_loopback() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        require_secure(host, "none")
    with pytest.raises(ConfigurationError, match=r"would send the password to mail\.example\.com"):
        require_secure("mail.example.com", "none")
    with pytest.raises(ConfigurationError, match="security must be ssl, starttls or none"):
        require_secure("127.0.0.1", "tls")  # type: ignore[arg-type]


def test_dispositions_read_like_rules_yaml() -> None:
    assert [describe(d) for d in (Move("Done"), Delete(), FlagSeen(), Leave())] == [
        "move to 'Done'",
        "delete",
        "flag as seen",
        "leave",
    ]


def test_file_sources_say_when_a_message_arrived_by_its_file_time(tmp_path: Path) -> None:
    # The latency metric is measured from this, not from when tracker-mail first saw it.
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a.eml").write_bytes(message(1))
    os.utime(tmp_path / "dir" / "a.eml", (1_700_000_000, 1_700_000_000))
    with DirectorySource(tmp_path / "dir") as source:
        (fetched,) = source.fetch(source.pending(lambda _id: False))
    assert fetched.arrived == datetime.fromtimestamp(1_700_000_000, UTC)


def test_a_piped_message_arrived_when_it_was_read(tmp_path: Path) -> None:
    before = datetime.now(UTC)
    source = PipeSource(message(1), tmp_path / "spool")
    (fetched,) = source.fetch(source.pending(lambda _id: False))
    assert fetched.arrived is not None
    assert before <= fetched.arrived <= datetime.now(UTC)
