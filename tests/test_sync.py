"""The sync run in-process: FakeMailbox -> journal -> rules -> RecordingAdapter.

The same flows against a real Dovecot, in separate processes killed with SIGKILL, are in
test_sync_dovecot.py; these cover every branch quickly.
"""

import hashlib
import logging

import pytest

from tests.mailfactory import multipart, part, raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.adapter import Capability, Permission
from tracker_mail_plugin.errors import Unreachable
from tracker_mail_plugin.journal.rows import MessageState
from tracker_mail_plugin.sources.base import Move
from tracker_mail_plugin.testing import FaultKind, RecordingAdapter

ALICE = "Alice Example <alice@example.com>"


def mail(subject, body="Hello", sender=ALICE, message_id=None, **headers):
    fields = {
        "From": sender,
        "Subject": subject,
        "Message-ID": f"<{message_id or subject.replace(' ', '-')}@example.com>",
    }
    return raw_mail(fields | headers, body)


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def only_issue(world):
    (issue,) = world.tracker.issues().values()
    return issue


def test_new_issue_then_the_message_is_moved(world):
    world.mailbox.add(mail("Printer on fire", "It smokes.\n\nRegards,\nAlice"))
    summary = world.sync()
    issue = only_issue(world)
    assert (issue.project, issue.issue_type, issue.title) == ("it", "Bug", "Printer on fire")
    assert issue.text.startswith("It smokes.")
    assert issue.reporter == world.alice.id
    assert (summary.fetched, summary.created, summary.exit_code) == (1, 1, 0)
    assert [d.disposition for d in world.mailbox.log if d.committed] == [Move("Processed")]
    assert world.mailbox.ids() == []


def test_a_second_run_does_nothing(world):
    world.mailbox.add(mail("Printer on fire"))
    world.sync()
    world.policies = "    on_success: leave"
    world.mailbox.add(mail("Printer again"))
    world.sync()
    summary = world.sync()
    assert len(world.tracker.issues()) == 2
    assert summary.fetched == 0


def test_reply_threads_by_in_reply_to(world):
    world.mailbox.add(mail("Printer on fire", message_id="first"))
    world.sync()
    reply = mail(
        "Re: Printer on fire",
        "Fixed now.\n\nOn Mon, 2 Nov 2026, Alice <alice@example.com> wrote:\n> It smokes.",
        message_id="second",
        **{"In-Reply-To": "<first@example.com>"},
    )
    world.mailbox.add(reply)
    summary = world.sync()
    issue = only_issue(world)
    assert [c.text for c in issue.comments] == ["Fixed now."]
    assert summary.commented == 1
    # a reply to the reply threads too, through the journal
    world.mailbox.add(
        mail(
            "Re: Re: Printer on fire",
            "Thanks",
            message_id="third",
            **{"In-Reply-To": "<second@example.com>"},
        )
    )
    world.sync()
    assert [c.text for c in only_issue(world).comments] == ["Fixed now.", "Thanks"]


def test_reply_by_subject_number(world):
    world.mailbox.add(mail("Printer on fire"))
    world.sync()
    key = only_issue(world).key
    world.mailbox.add(mail(f"Re: [#{key}] printer", "Any news?"))
    world.sync()
    assert [c.text for c in only_issue(world).comments] == ["Any news?"]


def test_subject_number_of_an_issue_that_does_not_exist_is_not_a_reply(world):
    world.mailbox.add(mail("printer #999 broke"))
    world.sync()
    assert only_issue(world).title == "printer #999 broke"


def test_reply_to_a_closed_issue_under_each_policy(world):
    world.mailbox.add(mail("Printer on fire", message_id="first"))
    world.sync()
    key = only_issue(world).key
    world.tracker.close_issue(key)
    world.policies = "    replies: {closed_issue: reopen}"
    world.mailbox.add(
        mail("Re: printer", "again", message_id="r1", **{"In-Reply-To": "<first@example.com>"})
    )
    world.sync()
    assert not world.tracker.issues()[key].closed
    world.tracker.close_issue(key)
    world.policies = "    replies: {closed_issue: new_issue}"
    world.mailbox.add(
        mail("Re: printer", "and again", message_id="r2", **{"In-Reply-To": "<first@example.com>"})
    )
    world.sync()
    assert len(world.tracker.issues()) == 2


def test_no_rule_matches_goes_to_on_unprocessed(world):
    world.policies = "    on_unprocessed: {forward: admin@example.com}"
    world.mailbox.add(mail("Lunch on Friday?"))
    summary = world.sync()
    assert world.forwarded == [("admin@example.com", "no rule matched")]
    assert (summary.unprocessed, summary.forwarded) == (1, 1)
    assert world.tracker.issues() == {}
    (row,) = world.journal.status().recent
    assert (row.state, row.decision) == (MessageState.UNPROCESSED, {"reason": "no rule matched"})


def test_sender_without_permission_is_unprocessed(world):
    world.tracker.add_user("bob@example.com", "Bob")
    world.mailbox.add(mail("Printer on fire", sender="bob@example.com"))
    summary = world.sync()
    assert world.tracker.issues() == {}
    assert summary.unprocessed == 1
    assert world.journal.status().recent[0].decision == {
        "matched_rule": "printers",  # status says which rule sent it there
        "reason": "the sender may not create issues of type Bug in project it",
    }


def test_unknown_sender_as_rule_owner_names_the_sender(world):
    world.policies = "    unknown_user: as_rule_owner"
    world.mailbox.add(
        mail("Printer on fire", "It smokes.", sender="Carol Stranger <carol@elsewhere.example>")
    )
    world.sync()
    issue = only_issue(world)
    assert issue.reporter is None
    assert issue.text == "From: Carol Stranger <carol@elsewhere.example>\n\nIt smokes."


def test_unknown_sender_create_user_makes_the_account_first(world):
    world.policies = "    unknown_user: create_user"
    world.mailbox.add(mail("Printer on fire", sender="Carol Stranger <carol@elsewhere.example>"))
    world.sync()
    carol = world.tracker.find_user("carol@elsewhere.example")
    assert carol is not None
    assert only_issue(world).reporter == carol.id


def test_unknown_sender_rejected_by_default(world):
    world.mailbox.add(mail("Printer on fire", sender="carol@elsewhere.example"))
    summary = world.sync()
    assert (summary.unprocessed, world.tracker.issues()) == (1, {})


def test_attachments_limits_and_original(world):
    world.policies = (
        "    excluded_filenames: ['*.exe']\n    max_attachment_size: 1KB\n    keep_original: true"
    )
    small, large = b"log line\n" * 10, b"x" * 5000
    ctype, body = multipart(
        "mixed",
        [
            part("Content-Type: text/plain", "see files"),
            part(
                'Content-Type: text/plain; name="log.txt"\nContent-Disposition: attachment; filename="log.txt"',
                small,
            ),
            part('Content-Type: application/octet-stream; name="setup.exe"', b"MZ"),
            part('Content-Type: application/octet-stream; name="big.bin"', large),
        ],
    )
    raw = raw_mail({"From": ALICE, "Subject": "Printer logs", "Content-Type": ctype}, body)
    world.mailbox.add(raw)
    world.sync()
    issue = only_issue(world)
    assert [(f.filename, f.size, f.sha256) for f in issue.attachments] == [
        ("log.txt", len(small), hashlib.sha256(small).hexdigest()),
        ("Printer logs.eml", len(raw), hashlib.sha256(raw).hexdigest()),
    ]
    assert issue.text.endswith(
        "Not attached: setup.exe (excluded by *.exe); big.bin (5 kB, over the 1 kB limit)"
    )


def test_attach_to_project_and_forward_actions(world):
    world.rules = """
      - when: {subject_contains: contract}
        then: [{attach_to_project: other}, {forward: legal@example.com}]
    """
    world.mailbox.add(mail("New contract"))
    world.sync()
    (stored,) = world.tracker.project_files("other")
    assert stored.filename == "New contract.eml"
    assert world.forwarded == [("legal@example.com", "rule 'rule 1' forwards it")]


def test_create_request(world):
    world.rules = """
      - then: "create request in project general as 'Get IT help'"
    """
    world.mailbox.add(mail("Need a laptop"))
    world.sync()
    assert world.tracker.issues() == {}  # Alice may create issues there, not requests
    world.tracker.grant(world.alice, "general", Permission.CREATE_REQUEST)
    world.journal.requeue(world.journal.status().recent[0])
    world.mailbox.add(mail("Need a laptop"))
    world.sync()
    issue = only_issue(world)
    assert (issue.request, issue.request_type, issue.issue_type) == (True, "Get IT help", None)


def test_automated_mail_is_dropped_and_disposed(world):
    world.mailbox.add(mail("Out of office: printer", **{"Auto-Submitted": "auto-replied"}))
    summary = world.sync()
    assert (summary.dropped, world.tracker.issues()) == (1, {})
    assert world.mailbox.ids() == []


def test_retry_later_leaves_the_message_and_the_next_run_succeeds(world):
    world.tracker.fail("create_issue", FaultKind.SERVER_ERROR)
    world.mailbox.add(mail("Printer on fire"))
    first = world.sync()
    assert (first.failed, first.exit_code, world.tracker.issues()) == (1, 0, {})
    assert len(world.mailbox.ids()) == 1
    second = world.sync()
    assert (second.created, len(world.tracker.issues())) == (1, 1)
    assert world.mailbox.ids() == []


def test_waiting_for_the_tracker_counts_no_attempt_toward_quarantine(world):
    # A tracker busy for many runs must not leave the message one failure from quarantine.
    world.policies = "    max_attempts: 2\n    on_failure: {move: Quarantine}"
    world.mailbox.add(mail("Printer on fire"))
    for _ in range(3):
        world.tracker.fail("create_issue", FaultKind.RETRY_LATER)
        assert world.sync().failed == 1
    (row,) = world.journal.listing((), (), None)
    assert (row.state, row.attempts) == (MessageState.FAILED, 0)
    assert (row.last_error or "").startswith("RetryLater")
    world.tracker.fail("create_issue", FaultKind.PERMANENT)
    real = world.sync()
    assert (real.failed, real.quarantined, world.journal.listing((), (), None)[0].attempts) == (
        1,
        0,
        1,
    )
    assert world.sync().created == 1


def test_a_second_copy_of_handled_mail_says_it_wrote_nothing_and_names_the_issue(world, caplog):
    world.mailbox.add(mail("Printer on fire"))
    world.mailbox.add(mail("Printer on fire"))  # the same Message-ID, delivered twice
    with caplog.at_level(logging.INFO, logger="tracker_mail"):
        world.sync()
    assert len(world.tracker.issues()) == 1
    assert [r.getMessage() for r in caplog.records if "Printer" in r.getMessage()] == [
        'inbox #1 alice@example.com "Printer on fire": created 2 recording://issues/2',
        'inbox #1 alice@example.com "Printer on fire": done 2 recording://issues/2 (nothing '
        "written: the tracker already has this mail's writes (a copy with the same "
        "Message-ID, or a run that stopped after them))",
    ]


def test_quarantined_mail_moved_back_without_retry_says_why_it_goes_back(world, caplog):
    world.policies = "    max_attempts: 1\n    on_failure: {move: Quarantine}"
    world.mailbox.add(mail("Printer on fire"))
    world.tracker.fail("create_issue", FaultKind.PERMANENT)
    assert world.sync().quarantined == 1
    (raw,) = world.mailbox.folders.pop("Quarantine")
    world.mailbox.add(raw)  # moved back by hand, but `retry` was forgotten
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tracker_mail"):
        world.sync()
    assert [r.getMessage() for r in caplog.records] == [
        'inbox #1 alice@example.com "Printer on fire": quarantined (handled before (the same '
        "Message-ID): nothing written again; `tracker-mail retry 1` has the next sync process "
        "it again)"
    ]
    assert world.mailbox.folders["Quarantine"] == [raw]  # where on_failure puts it, as before
    assert world.tracker.calls("create_issue")[1:] == []


def test_mail_too_large_to_download_is_logged_as_such_with_what_to_do(world, caplog):
    world.mailbox.max_message_size = 100
    world.mailbox.add(mail("Printer on fire", body="x" * 200))
    with caplog.at_level(logging.INFO, logger="tracker_mail"):
        assert world.sync().unprocessed == 1
    (line,) = [r.getMessage() for r in caplog.records if "max_message_size" in r.getMessage()]
    assert line.startswith("inbox - (not downloaded): unprocessed (1:1 is ")
    assert line.endswith(
        "bytes, over max_message_size 25000000: not downloaded, so not in the journal or "
        "status; raise max_message_size, or take it out of the mailbox by hand)"
    )


def test_lost_answer_is_found_by_key_not_created_again(world):
    world.tracker.fail("create_issue", FaultKind.SUCCEED_THEN_UNKNOWN)
    world.mailbox.add(mail("Printer on fire"))
    world.sync()
    assert len(world.tracker.issues()) == 1
    world.sync()
    assert len(world.tracker.issues()) == 1
    assert len(world.tracker.calls("find_by_key")) == 1
    assert world.mailbox.ids() == []


@pytest.mark.parametrize("point", ["after_fetch", "after_write", "after_record", "before_commit"])
def test_crash_at_any_point_never_duplicates_and_never_loses(world, point):
    world.mailbox.add(mail("Printer on fire", message_id="one"))
    world.mailbox.add(mail("Help with VPN", message_id="two"))
    world.crash(point)
    world.sync()
    issues = world.tracker.issues().values()
    assert sorted(i.title for i in issues) == ["Help with VPN", "Printer on fire"]
    assert world.mailbox.ids() == []
    assert len(world.tracker.calls("create_issue")) == 2


def test_poison_message_is_quarantined_and_the_rest_flows(world):
    world.policies = "    max_attempts: 2\n    on_failure: {move: Quarantine}"
    world.rules = """
      - then: [{create_issue: {project: general}}]
    """
    world.mailbox.add(mail("broken one"))
    world.mailbox.add(mail("fine one"))
    world.tracker.fail("create_issue", FaultKind.PERMANENT)  # the first message's create fails
    first = world.sync()
    assert (first.created, first.failed, first.quarantined) == (1, 1, 0)
    world.tracker.fail("create_issue", FaultKind.PERMANENT)
    second = world.sync()
    assert (second.failed, second.quarantined) == (0, 1)
    assert world.mailbox.folders["Quarantine"]
    assert [r.message_id for r in world.journal.quarantined()] == ["broken-one@example.com"]


def test_unreachable_tracker_stops_the_mailbox_and_loses_nothing(world):
    world.tracker.fail("find_user", FaultKind.UNREACHABLE)
    world.mailbox.add(mail("Printer on fire"))
    with pytest.raises(Unreachable):
        world.sync()
    assert len(world.mailbox.ids()) == 1
    world.sync()
    assert len(world.tracker.issues()) == 1


def test_new_uidvalidity_does_not_import_again(world):
    world.policies = "    on_success: leave"
    world.mailbox.add(mail("Printer on fire"))
    world.sync()
    world.mailbox.renumber()
    summary = world.sync()
    assert summary.fetched == 1  # fetched again under the new ids…
    assert summary.created == 0  # …but known by Message-ID and hash
    assert len(world.tracker.issues()) == 1


def test_dry_run_writes_nothing(world):
    world.mailbox.add(mail("Printer on fire"))
    summary = world.sync(dry_run=True)
    assert [str(line) for line in summary.planned] == [
        "'Printer on fire' from Alice Example <alice@example.com>: act: create_issue in project it (type: Bug)"
    ]
    (line,) = summary.planned  # the same, as fields for JSON logs
    assert line.fields == {
        "subject": "Printer on fire",
        "from": "alice@example.com",
        "outcome": "act",
        "what": "create_issue in project it (type: Bug)",
    }
    assert world.tracker.issues() == {}
    assert world.journal.status().counts == {}
    assert world.mailbox.log == []


def test_limit(world):
    for n in range(3):
        world.mailbox.add(mail(f"Printer {n}"))
    assert world.sync(limit=2).created == 2
    assert world.sync().created == 1


def test_watchers_from_cc_when_the_tracker_has_them(world):
    bob = world.tracker.add_user("bob@example.com", "Bob")
    world.mailbox.add(mail("Printer on fire", Cc="Bob <bob@example.com>, nobody@example.com"))
    world.sync()
    assert only_issue(world).watchers == [bob.id]


def test_without_the_watchers_capability_nobody_is_looked_up(tmp_path):
    tracker = RecordingAdapter.with_capabilities(*(set(Capability) - {Capability.WATCHERS}))()
    world = World(tmp_path, tracker=tracker)
    world.mailbox.add(mail("Printer on fire", Cc="bob@example.com"))
    world.sync()
    assert only_issue(world).watchers == []


def test_a_refused_write_is_not_looked_up_before_the_next_attempt(world):
    world.tracker.fail("create_issue", FaultKind.RETRY_LATER)
    world.mailbox.add(mail("Printer on fire"))
    world.sync()
    world.sync()
    assert len(world.tracker.issues()) == 1
    assert world.tracker.calls("find_by_key") == []  # it never happened: nothing to find


class RateLimited(RecordingAdapter):
    """Answers the first create with a rate limit of one minute."""

    limited = True

    def create_issue(self, new):
        if RateLimited.limited:
            RateLimited.limited = False
            from tracker_mail_plugin.errors import RetryLater

            raise RetryLater("secondary rate limit", retry_after=60)
        return super().create_issue(new)


def test_a_rate_limit_stops_the_run_and_the_rest_waits(tmp_path):
    world = World(tmp_path, tracker=RateLimited())
    for n in range(3):
        world.mailbox.add(mail(f"Printer {n}"))
    first = world.sync()
    assert (first.fetched, first.failed, first.created) == (1, 1, 0)
    assert first.waiting is not None
    assert 55 < first.waiting <= 60
    assert "the tracker asked to wait 60s" in first.line()
    second = world.sync()
    assert (second.created, len(world.tracker.issues())) == (3, 3)


def test_a_notification_message_id_wins_over_a_subject_number(world):
    world.mailbox.add(mail("Printer on fire", message_id="first"))
    world.mailbox.add(mail("Help with VPN", message_id="second"))
    world.sync()
    keys = {i.title: i.key for i in world.tracker.issues().values()}
    subject = f"Re: [#{keys['Help with VPN']}] other tracker's subject"
    world.mailbox.add(
        mail(
            subject,
            "reply",
            message_id="third",
            **{"In-Reply-To": f"<recording.issue-{keys['Printer on fire']}@example.com>"},
        )
    )
    world.sync()
    comments = {i.title: [c.text for c in i.comments] for i in world.tracker.issues().values()}
    assert comments == {"Printer on fire": ["reply"], "Help with VPN": []}


def test_a_reference_to_no_issue_is_skipped_for_the_next_one(world):
    world.mailbox.add(mail("Printer on fire"))
    world.sync()
    key = only_issue(world).key
    world.mailbox.add(mail(f"Re: #999 and #{key}", "more"))
    world.sync()
    assert [c.text for c in only_issue(world).comments] == ["more"]


class RefusesReplies(RecordingAdapter):
    """A tracker that only finds out at the write that the sender may not answer."""

    def add_comment(self, issue, new):
        from tracker_mail_plugin.errors import NotPermitted

        raise NotPermitted(f"the sender cannot see issue #{issue.key}, so may not answer it")


def test_a_refusal_found_at_the_write_makes_the_message_unprocessed_not_failed(tmp_path):
    world = World(tmp_path, tracker=RefusesReplies())
    world.policies = "    on_unprocessed: {forward: admin@example.com}"
    world.mailbox.add(mail("Printer on fire", message_id="first"))
    world.sync()
    world.mailbox.add(
        mail("Re: printer", "me too", message_id="second", **{"In-Reply-To": "<first@example.com>"})
    )
    summary = world.sync()
    assert (summary.unprocessed, summary.failed, summary.quarantined) == (1, 0, 0)
    key = only_issue(world).key
    assert world.forwarded == [
        ("admin@example.com", f"the sender cannot see issue #{key}, so may not answer it")
    ]
