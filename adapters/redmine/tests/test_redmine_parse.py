"""parse_reference without a server: pure, and Redmine's forms only."""

from __future__ import annotations

import datetime as dt

import pytest
from tracker_mail_plugin_redmine import RedmineAdapter, RedmineConfig
from tracker_mail_plugin_redmine.references import pending_journal

from tracker_mail_plugin import IssueRef, ReferenceCandidate, Secret, parse_message
from tracker_mail_plugin.testing import no_network

ADAPTER = RedmineAdapter(RedmineConfig(url="http://127.0.0.1:9", api_key=Secret(value="unused")))


def candidates(
    subject: str = "Hello", in_reply_to: str | None = None
) -> tuple[ReferenceCandidate, ...]:
    lines = [f"Subject: {subject}", "From: a@example.com", "Message-ID: <m@example.com>"]
    lines += [f"In-Reply-To: {in_reply_to}"] if in_reply_to else []
    return parse_message(("\r\n".join(lines) + "\r\n\r\nHi\r\n").encode()).reference_candidates


def first(found: tuple[ReferenceCandidate, ...]) -> IssueRef | None:
    parsed = [ADAPTER.parse_reference(c) for c in found]
    return next((ref for ref in parsed if ref is not None), None)


@pytest.mark.parametrize(
    ("subject", "key"),
    [
        ("Re: [Support Desk - Bug #42] Printer on fire", "42"),
        ("Re: [#7] Printer", "7"),
        ("About #12 again", "12"),
        ("AW: [Support Desk - Feature #3] (New) Idea", "3"),
    ],
)
def test_subject_forms(monkeypatch: pytest.MonkeyPatch, subject: str, key: str) -> None:
    with no_network(monkeypatch):
        assert first(candidates(subject)) == IssueRef("redmine", key)


@pytest.mark.parametrize(
    ("message_id", "key"),
    [
        ("<redmine.issue-42.20261101120000.1@redmine.example.com>", "42"),
        ("<redmine.issue-42.20261101120000@redmine.example.com>", "42"),
        (
            "<redmine.journal-456.20261101120000.7@redmine.example.com>",
            "journal-456.20261101120000",
        ),
        ("<redmine.message-9.20261101120000@redmine.example.com>", None),  # a forum post
        ("<CAF=x1y2@mail.example.org>", None),
        ("<redmine.issue-x.2026@host>", None),
    ],
)
def test_message_id_forms(
    monkeypatch: pytest.MonkeyPatch, message_id: str, key: str | None
) -> None:
    with no_network(monkeypatch):
        found = first(candidates(in_reply_to=message_id))
    assert found == (IssueRef("redmine", key) if key else None)


def test_other_trackers_forms_are_not_redmines() -> None:
    assert first(candidates("Re: ABC-12 and owner/repo#4")) is None


def test_a_pending_note_reference_carries_the_notes_time() -> None:
    assert pending_journal(IssueRef("redmine", "journal-456.20261101120304")) == (
        456,
        dt.datetime(2026, 11, 1, 12, 3, 4, tzinfo=dt.UTC),
    )
    assert pending_journal(IssueRef("redmine", "456")) is None
