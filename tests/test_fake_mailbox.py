"""The fake mail source: commits like a server, renumbers, fails on demand."""

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.errors import Unreachable
from tracker_mail_plugin.sources.base import Delete, FlagSeen, Leave, MailSource, Move
from tracker_mail_plugin.testing import Disposed, FakeMailbox

ONE = raw_mail({"Message-ID": "<one@example.com>"})
TWO = raw_mail({"Message-ID": "<two@example.com>"}, "a longer body " * 20)
THREE = raw_mail({"Message-ID": "<three@example.com>"})


def test_pending_skips_what_is_done_and_respects_the_limit():
    with FakeMailbox([ONE, TWO, THREE]) as box:
        assert box.identity() == "fake:fake@example.com/INBOX;uidvalidity=1"
        assert [e.id for e in box.pending(lambda id: id == "1:2")] == ["1:1", "1:3"]
        assert [(e.id, e.size) for e in box.pending(lambda id: False, limit=1)] == [
            ("1:1", len(ONE))
        ]


def test_fetch_returns_the_exact_bytes_in_the_order_asked():
    with FakeMailbox([ONE, TWO]) as box:
        envelopes = box.pending(lambda id: False)
        fetched = list(box.fetch(list(reversed(envelopes))))
    assert [(f.id, f.raw) for f in fetched] == [("1:2", TWO), ("1:1", ONE)]
    assert box.fetched == ["1:2", "1:1"]


def test_oversize_messages_are_marked_and_never_fetched():
    with FakeMailbox([ONE, TWO], max_message_size=len(ONE)) as box:
        envelopes = box.pending(lambda id: False)
        assert [e.oversize for e in envelopes] == [False, True]
        with pytest.raises(ValueError, match="oversize messages are never downloaded: 1:2"):
            list(box.fetch(envelopes))


def test_dispositions_happen_only_at_commit():
    box = FakeMailbox([ONE, TWO, THREE])
    with box:
        box.dispose("1:1", Move("Processed"))
        box.dispose("1:2", Delete())
        box.dispose("1:3", FlagSeen())
        assert box.ids() == ["1:1", "1:2", "1:3"]
        box.commit()
    assert box.ids() == ["1:3"]
    assert box.seen() == ["1:3"]
    assert box.folders == {"Processed": [ONE]}
    assert box.log == [
        Disposed("1:1", Move("Processed"), committed=True),
        Disposed("1:2", Delete(), committed=True),
        Disposed("1:3", FlagSeen(), committed=True),
    ]


def test_a_session_closed_before_commit_changes_nothing():
    box = FakeMailbox([ONE])
    with box:
        box.dispose("1:1", Delete())
    assert box.ids() == ["1:1"]
    assert box.log == [Disposed("1:1", Delete(), committed=False)]
    with box:
        box.dispose("1:1", Leave())
        box.commit()
    assert box.ids() == ["1:1"]


def test_renumbering_changes_every_id_and_the_identity():
    box = FakeMailbox([ONE, TWO])
    box.renumber()
    assert box.identity().endswith(";uidvalidity=2")
    assert box.ids() == ["2:1", "2:2"]
    assert box.add(THREE) == "2:3"


def test_injected_failures_interrupt_the_step_named():
    box = FakeMailbox([ONE, TWO])
    box.fail_next("open", Unreachable("cannot connect to imap.example.com:993"))
    with pytest.raises(Unreachable):
        box.open()
    box.fail_next("fetch", Unreachable("connection lost while fetching"))
    with box:
        stream = box.fetch(box.pending(lambda id: False))
        assert next(stream).id == "1:1"  # the first message arrives, then the line drops
        with pytest.raises(Unreachable):
            next(stream)
        assert [f.id for f in box.fetch(box.pending(lambda id: False))] == ["1:1", "1:2"]


def test_using_a_closed_mailbox_is_a_bug_and_unknown_ids_are_refused():
    box = FakeMailbox([ONE])
    with pytest.raises(RuntimeError, match="not open"):
        box.pending(lambda id: False)
    with box, pytest.raises(KeyError, match="no message 9:9"):
        box.dispose("9:9", Delete())


def test_it_is_a_mail_source_supporting_every_disposition():
    box = FakeMailbox()
    assert MailSource in type(box).__mro__  # inherits the context manager and supports()
    for disposition in (Leave(), Delete(), Move("X"), FlagSeen()):
        assert box.supports(disposition)
    with box:
        assert box.check().messages == 0
