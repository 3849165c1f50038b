import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.mail import RefKind, parse_message
from tracker_mail_plugin.mail.references import subject_references


def refs(subject):
    return [(r.kind, r.number, r.project, r.tracker) for r in subject_references(subject)]


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: printer #123 again", [(RefKind.NUMBER, 123, None, None)]),
        ("Re: [#77] printer", [(RefKind.NUMBER, 77, None, None)]),
        ("Re: [Support - Bug #42] Printer on fire", [(RefKind.TRACKER_TAG, 42, "Support", "Bug")]),
        (
            "AW: [Internal IT - Feature request #9] VPN",
            [(RefKind.TRACKER_TAG, 9, "Internal IT", "Feature request")],
        ),
        ("Re: [ACME-14] Login fails", [(RefKind.JIRA_KEY, 14, "ACME", None)]),
        ("Re: ops/infra#12 disk full", [(RefKind.GITHUB, 12, "ops/infra", None)]),
        (
            "Fwd: PROJ-7 and #8 and octo/cat#9",
            [
                (RefKind.JIRA_KEY, 7, "PROJ", None),
                (RefKind.NUMBER, 8, None, None),
                (RefKind.GITHUB, 9, "octo/cat", None),
            ],
        ),
        ("Price list 2026, see http://example.com/#12", []),
        ("Issue&#123; html entity", []),
        ("no references here", []),
        ("lower-case key abc-12 is not a Jira key", []),
    ],
)
def test_subject_references(subject, expected):
    assert refs(subject) == expected


def test_message_id_candidates_come_after_subject_ones_nearest_first():
    raw = raw_mail(
        {
            "Subject": "Re: #5",
            "In-Reply-To": "<redmine.journal-456.20261101@redmine.example.com>",
            "References": "<root@example.com> <redmine.journal-456.20261101@redmine.example.com> <mid@example.com>",
        }
    )
    candidates = parse_message(raw).reference_candidates
    assert [(c.kind, c.source, c.text) for c in candidates] == [
        (RefKind.NUMBER, "subject", "#5"),
        (RefKind.MESSAGE_ID, "in_reply_to", "redmine.journal-456.20261101@redmine.example.com"),
        (RefKind.MESSAGE_ID, "references", "mid@example.com"),
        (RefKind.MESSAGE_ID, "references", "root@example.com"),
    ]
