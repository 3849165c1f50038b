"""The adapter contract's values and defaults, and the error tree they raise into."""

import dataclasses

import pytest

from tracker_mail_plugin.adapter import (
    CAPABILITY_METHODS,
    Capability,
    CheckReport,
    IssueRef,
    NewComment,
    NewIssue,
    TrackerAdapter,
    Upload,
    UserRef,
    required_capabilities,
)
from tracker_mail_plugin.errors import (
    ConfigurationError,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
    UnsupportedAction,
    scrub,
)
from tracker_mail_plugin.mail.attachments import make_attachment
from tracker_mail_plugin.testing import RecordingAdapter

# -- values --------------------------------------------------------------------------------


def test_issue_refs_are_equal_by_tracker_and_key():
    created = IssueRef("redmine", "12", url="https://r.example/issues/12", project="support")
    parsed = IssueRef("redmine", "12")
    assert created == parsed
    assert hash(created) == hash(parsed)
    assert created != IssueRef("jira", "12")


def test_upload_from_bytes_streams_the_same_bytes_each_time():
    upload = Upload.from_bytes("a.txt", b"hello", "text/plain")
    assert (upload.size, upload.sha256[:8]) == (5, "2cf24dba")
    with upload.open() as first, upload.open() as second:
        assert first.read() == second.read() == b"hello"
    assert "hello" not in repr(upload)


def test_upload_from_path_hashes_once_and_streams_the_file(tmp_path):
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF" + bytes(3 * 1024 * 1024))
    upload = Upload.from_path(path)
    assert (upload.filename, upload.content_type, upload.size) == (
        "report.pdf",
        "application/pdf",
        3 * 1024 * 1024 + 4,
    )
    with upload.open() as stream:
        assert stream.read(4) == b"%PDF"
    renamed = Upload.from_path(path, filename="x.bin", content_type="application/octet-stream")
    assert renamed.sha256 == upload.sha256
    assert renamed.filename == "x.bin"


def test_upload_from_attachment_reuses_its_bytes_and_hash():
    attachment = make_attachment("scan.png", "image/png", b"\x89PNG data")
    upload = Upload.from_attachment(attachment)
    assert (upload.filename, upload.content_type, upload.size, upload.sha256) == (
        "scan.png",
        "image/png",
        attachment.size,
        attachment.sha256,
    )
    with upload.open() as stream:
        assert stream.read() == attachment.content


def test_new_issue_is_frozen_including_its_custom_fields():
    fields = {"Customer": "ACME"}
    issue = NewIssue("support", "t", "x", "tm-1", custom_fields=fields)
    fields["Customer"] = "changed"
    assert issue.custom_fields == {"Customer": "ACME"}
    with pytest.raises(TypeError):
        issue.custom_fields["Customer"] = "x"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        issue.title = "other"  # type: ignore[misc]
    assert hash(issue) == hash(NewIssue("support", "t", "x", "tm-1"))


def test_required_capabilities_follow_the_fields_used():
    bob = UserRef("1", "bob", "Bob", "bob@example.com")
    assert required_capabilities(NewIssue("p", "t", "x", "k")) == frozenset()
    needed = required_capabilities(
        NewIssue("p", "t", "x", "k", request=True, watchers=(bob,), private=True)
    )
    assert needed == {Capability.CREATE_REQUEST, Capability.WATCHERS, Capability.PRIVATE_ISSUES}
    assert required_capabilities(NewComment("x", "k", private=True)) == {
        Capability.PRIVATE_COMMENTS
    }


def test_every_capability_is_worded_when_refused():
    class Minimal(RecordingAdapter):
        name = "minimal"

    # "cannot watchers" was what an adapter refusing a rule's watchers used to say.
    assert {str(Minimal()._unsupported(c)) for c in Capability} >= {
        "the minimal adapter cannot add watchers",
        "the minimal adapter cannot create private issues",
        "the minimal adapter cannot add private comments",
        "the minimal adapter cannot create service-desk requests",
    }


def test_required_capabilities_is_public():
    # An adapter refuses the fields it cannot honour with it; adapters import from the
    # package itself only.
    import tracker_mail_plugin

    assert "required_capabilities" in tracker_mail_plugin.__all__
    assert tracker_mail_plugin.required_capabilities is required_capabilities


def test_check_report_is_ok_without_problems():
    assert CheckReport(facts={"version": "5.1"}).ok
    assert not CheckReport(problems=("cannot log in",)).ok


def test_base_optional_methods_refuse_with_the_capability():
    class Minimal(RecordingAdapter):
        name = "minimal"
        capabilities = frozenset()
        attach_to_project = TrackerAdapter.attach_to_project
        create_user = TrackerAdapter.create_user
        reopen_issue = TrackerAdapter.reopen_issue

    adapter = Minimal()
    attempts = {
        "attach_to_project": lambda: adapter.attach_to_project(
            "p", Upload.from_bytes("a", b""), "k"
        ),
        "create_user": lambda: adapter.create_user("a@example.com", "A", "p"),
        "reopen_issue": lambda: adapter.reopen_issue(IssueRef("minimal", "1")),
    }
    said = {
        "attach_to_project": "the minimal adapter cannot attach files to a project",
        "create_user": "the minimal adapter cannot create accounts",
        "reopen_issue": "the minimal adapter cannot reopen issues",
    }
    for capability, method in CAPABILITY_METHODS.items():
        with pytest.raises(UnsupportedAction) as caught:
            attempts[method]()
        assert caught.value.capability == capability.value
        assert str(caught.value) == said[method]
    assert not adapter.supports(Capability.CREATE_USER)
    assert repr(adapter) == "<Minimal adapter='minimal'>"


# -- errors --------------------------------------------------------------------------------


def test_the_tree_groups_errors_by_consequence():
    assert issubclass(Unreachable, RetryLater)
    assert issubclass(UnsupportedAction, PermanentError)
    assert not issubclass(UnknownOutcome, RetryLater)  # never retried blindly
    for cls in (ConfigurationError, RetryLater, PermanentError, UnknownOutcome):
        assert issubclass(cls, TrackerMailError)
    codes = {
        cls: cls.exit_code
        for cls in (ConfigurationError, RetryLater, Unreachable, PermanentError, UnknownOutcome)
    }
    assert codes == {
        ConfigurationError: 2,
        RetryLater: 1,
        Unreachable: 3,
        PermanentError: 1,
        UnknownOutcome: 1,
    }


def test_configuration_error_carries_every_problem():
    error = ConfigurationError(["trackers.main: url is required", "mailboxes.x: unknown tracker"])
    assert error.problems == ("trackers.main: url is required", "mailboxes.x: unknown tracker")
    assert str(error) == "trackers.main: url is required; mailboxes.x: unknown tracker"
    assert ConfigurationError("one").problems == ("one",)


def test_retry_later_keeps_the_wait_asked_for():
    assert RetryLater("429 Too Many Requests", retry_after=12.5).retry_after == 12.5
    assert Unreachable("connection refused").retry_after is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "GET https://bot:hunter2@redmine.example/issues.json",
            "GET https://***@redmine.example/issues.json",
        ),
        (
            "https://r.example/issues.json?key=abc123&limit=5",
            "https://r.example/issues.json?key=***&limit=5",
        ),
        ("POST /x?access_token=ghp_XYZ failed", "POST /x?access_token=*** failed"),
        ("headers {'Authorization': 'Bearer eyJhbGciOi'}", "headers {'Authorization': '***'}"),
        ("X-Redmine-API-Key: 0123abcd sent", "X-Redmine-API-Key: *** sent"),
        ("Authorization: Basic dXNlcjpwYXNz", "Authorization: ***"),
        ("issue 12 not found", "issue 12 not found"),
        ("https://bot:p@ss@r.example/x", "https://***@r.example/x"),
        ("client_secret=cs123&grant_type=x", "client_secret=***&grant_type=x"),
        ("body: refresh_token=rt123", "body: refresh_token=***"),
        (
            '{"access_token": "eyJabc", "token_type": "Bearer"}',
            '{"access_token": "***", "token_type": "Bearer"}',
        ),
        ("{'client_secret': 'cs123'}", "{'client_secret': '***'}"),
        (
            "GET https://graph.example/v1.0/users/alice@example.com/messages",
            "GET https://graph.example/v1.0/users/alice@example.com/messages",
        ),
    ],
)
def test_messages_are_scrubbed_of_credentials(text, expected):
    assert scrub(text) == expected
    assert str(PermanentError(text)) == expected
