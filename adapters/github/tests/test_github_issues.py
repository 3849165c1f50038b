"""Creating issues and requests, commenting, reopening, reading an issue's state."""

from __future__ import annotations

import logging

import pytest

from tracker_mail_plugin import (
    IssueRef,
    NewComment,
    NewIssue,
    PermanentError,
    UnsupportedAction,
    UserRef,
)

REPO = "/repos/example-org/webshop"
KEY = "tm-abcdefghijklmnopqrst"
MARKER = f"<!-- tracker-mail:{KEY} -->"
ALICE = UserRef("1001", "alice", "Alice Example", "alice@example.com")


def new_issue(**fields):
    values = {
        "project": "example-org/webshop",
        "title": "Checkout crashes",
        "text": "The checkout crashes when I pay.",
        "idempotency_key": KEY,
    }
    return NewIssue(**(values | fields))


def test_issue_from_a_known_sender_names_them_first(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    adapter = github.adapter()

    ref = adapter.create_issue(new_issue(reporter=ALICE, labels=("bug",), assignee="alice"))

    assert ref == IssueRef("github", "example-org/webshop#42")
    assert ref.url == "https://github.com/example-org/webshop/issues/42"
    assert ref.project == "example-org/webshop"
    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues")
    assert sent.body == {
        "title": "Checkout crashes",
        "labels": ["bug"],
        "assignees": ["alice"],
        "body": f"From: Alice Example (@alice)\n\nThe checkout crashes when I pay.\n\n{MARKER}",
    }
    assert sent.headers["Authorization"] == f"Bearer {github.token}"
    assert sent.headers["X-GitHub-Api-Version"] == "2022-11-28"
    assert sent.headers["Accept"] == "application/vnd.github+json"


@pytest.mark.parametrize(
    ("sender", "publish", "line"),
    [
        ("Bob Sender <bob@example.net>", False, "From: Bob Sender"),
        ("Bob Sender <bob@example.net>", True, "From: Bob Sender <bob@example.net>"),
        ("Doe, John <jd@example.net>", False, "From: Doe, John"),
        ("Mail *Admin* <a@example.net>", True, "From: Mail \\*Admin\\* <a@example.net>"),
        # A name from mail references nothing either (a backslash alone does not stop it).
        (
            "Acme #12 GH-3 @ops <a@example.net>",
            False,
            "From: Acme \\#\u206012 GH-\u20603 @\u2060ops",
        ),
    ],
)
def test_the_cores_from_line_shows_the_address_only_when_allowed(github, sender, publish, line):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    core_text = f"From: {sender}\n\nPlease help."

    github.adapter(publish_addresses=publish).create_issue(new_issue(text=core_text))

    assert github.sent()[0].body["body"] == f"{line}\n\nPlease help.\n\n{MARKER}"


def test_a_sender_without_a_name_is_shown_by_domain(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter().create_issue(new_issue(text="From: bob@example.net\n\nHi"))

    assert github.sent()[0].body["body"] == f"From: a sender at example.net\n\nHi\n\n{MARKER}"


def test_mentions_in_mail_do_not_notify_strangers_unless_allowed(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    text = "cc @octocat and @example-org/devs; mail me at bob@example.net"

    github.adapter().create_issue(new_issue(text=text))
    github.adapter(allow_mentions=True).create_issue(new_issue(text=text))

    first, second = (sent.body["body"] for sent in github.sent())
    assert first.startswith(
        "cc @\u2060octocat and @\u2060example-org/devs; mail me at bob@example.net"
    )
    assert second.startswith(text)


MAIL_WITH_REFERENCES = (
    "Re: our ticket #4521 (GH-12, example-org/api#7), see "
    "https://github.com/example-org/api/issues/9 and a5c3785ed; run `git show a5c3785ed`."
)
J = "\u2060"
INERT = (
    f"Re: our ticket #{J}4521 (GH-{J}12, example-org/api#{J}7), see "
    f"https:{J}//github.com/example-org/api/issues/{J}9 and a5c3785ed; "
    "run `git show a5c3785ed`."
)


@pytest.mark.parametrize(("allow", "shown"), [(False, INERT), (True, MAIL_WITH_REFERENCES)])
def test_references_in_mail_are_inert_in_a_new_issue_unless_allowed(github, allow, shown):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    text = f"From: Bob <bob@example.net>\n\n{MAIL_WITH_REFERENCES}"

    github.adapter(allow_references=allow).create_issue(
        new_issue(title="Re: ticket #4521", text=text)
    )

    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues")
    assert sent.body == {
        "title": "Re: ticket #4521",
        "body": f"From: Bob\n\n{shown}\n\n{MARKER}",
    }


@pytest.mark.parametrize(("allow", "shown"), [(False, INERT), (True, MAIL_WITH_REFERENCES)])
def test_references_in_mail_are_inert_in_a_comment_unless_allowed(github, allow, shown):
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)
    issue = IssueRef("github", "example-org/webshop#42", project="example-org/webshop")

    github.adapter(allow_references=allow).add_comment(
        issue, NewComment(MAIL_WITH_REFERENCES, KEY, author=ALICE)
    )

    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues/42/comments")
    assert sent.body == {"body": f"From: Alice Example (@alice)\n\n{shown}\n\n{MARKER}"}


def test_an_issue_with_inert_references_is_found_again_by_its_marker(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    adapter = github.adapter()
    adapter.create_issue(new_issue(text=MAIL_WITH_REFERENCES))
    created = github.sent()[0].body["body"]
    github.reply("GET", "/user", github.load("user"))
    github.reply("GET", f"{REPO}/issues", [github.load("issue", body=created)])

    found = adapter.find_by_key(KEY)

    assert created.endswith(f"\n\n{MARKER}")
    assert found == IssueRef("github", "example-org/webshop#42")
    assert github.lines()[1:] == [("GET", "/user"), ("GET", f"{REPO}/issues")]


def test_request_is_an_issue_with_the_request_labels(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    adapter = github.adapter(request_labels=["request", "from-email"])

    adapter.create_issue(new_issue(request=True, request_type="Get IT help", labels=("email",)))

    assert github.sent()[0].body["labels"] == ["email", "request", "from-email", "Get IT help"]


def test_milestone_by_title_type_and_long_title(github):
    github.reply("GET", f"{REPO}/milestones", github.load("milestones"))
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter().create_issue(
        new_issue(title="x" * 300, issue_type="Bug", custom_fields={"milestone": "V2.1"})
    )

    listing, create = github.sent()
    assert listing.line == ("GET", f"{REPO}/milestones")
    assert listing.query == {"state": "open", "per_page": "100"}
    assert create.body["milestone"] == 3
    assert create.body["type"] == "Bug"
    assert create.body["title"] == "x" * 255 + "…"


def test_a_milestone_past_the_first_hundred_is_found_on_the_next_page(github):
    [sample] = github.load("milestones")
    first = [sample | {"number": n, "title": f"sprint {n}"} for n in range(1, 101)]
    # GitHub's Link headers may name the repository by id (/repositories/1296269/…), a
    # path its description leaves out; the documented form is used here.
    later = f"{github.api}{REPO}/milestones?state=open&per_page=100&page=2"
    link = f'<{later}>; rel="next", <{later}>; rel="last"'
    github.reply("GET", f"{REPO}/milestones", first, headers={"Link": link})
    github.reply("GET", f"{REPO}/milestones", [sample | {"number": 140}])
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter().create_issue(new_issue(custom_fields={"milestone": "v2.1"}))

    listing, following, create = github.sent()
    assert listing.line == ("GET", f"{REPO}/milestones")
    assert listing.query == {"state": "open", "per_page": "100"}
    assert following.line == ("GET", f"{REPO}/milestones")
    assert following.query == {"state": "open", "per_page": "100", "page": "2"}
    assert create.line == ("POST", f"{REPO}/issues")
    assert create.body["milestone"] == 140


def test_milestone_by_number_needs_no_lookup(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter().create_issue(new_issue(custom_fields={"milestone": "7"}))

    assert github.lines() == [("POST", f"{REPO}/issues")]
    assert github.sent()[0].body["milestone"] == 7


def test_a_project_mapped_by_name(github):
    github.reply("POST", "/repos/example-org/api/issues", github.load("issue"), status=201)
    adapter = github.adapter(repository={"web": "example-org/webshop", "api": "example-org/api"})

    ref = adapter.create_issue(new_issue(project="api"))

    assert github.lines() == [("POST", "/repos/example-org/api/issues")]
    assert ref.key == "example-org/api#42"
    assert ref.project == "api"


@pytest.mark.parametrize(
    ("fields", "error", "said"),
    [
        ({"project": "example-org/other"}, PermanentError, "not configured"),
        ({"priority": "High"}, PermanentError, "no priority"),
        ({"custom_fields": {"Order": "ORD-1"}}, PermanentError, "no field Order"),
        ({"custom_fields": {"milestone": "v9"}}, PermanentError, "not an open milestone"),
        ({"assignee": "carol@example.com"}, PermanentError, "not in the users map"),
        ({"private": True}, UnsupportedAction, "private issues"),
        ({"watchers": (ALICE,)}, UnsupportedAction, "watchers"),
    ],
)
def test_what_github_cannot_do_is_refused_before_writing(github, fields, error, said):
    if "milestone" in fields.get("custom_fields", {}):
        github.reply("GET", f"{REPO}/milestones", github.load("milestones"))

    with pytest.raises(error, match=said):
        github.adapter().create_issue(new_issue(**fields))

    assert all(sent.method == "GET" for sent in github.sent())


def test_labels_github_dropped_are_logged(github, caplog):
    github.reply("POST", f"{REPO}/issues", github.load("issue", labels=[]), status=201)

    with caplog.at_level(logging.WARNING, logger="tracker_mail.github"):
        github.adapter().create_issue(new_issue(labels=("bug",), assignee="alice"))

    assert github.sent()[0].body["labels"] == ["bug"]
    assert "dropped bug, assignee alice from example-org/webshop#42" in caplog.text


def invalid(*fields):
    """GitHub's 422 for fields it refuses, as its validation errors read."""
    return {
        "message": "Validation Failed",
        "errors": [
            {"value": "x", "resource": "Issue", "field": field, "code": "invalid"}
            for field in fields
        ],
        "documentation_url": "https://docs.github.com/rest/issues/issues#create-an-issue",
        "status": "422",
    }


def test_an_assignee_github_refuses_is_left_out_and_the_issue_created(github, caplog):
    github.reply("POST", f"{REPO}/issues", invalid("assignees"), status=422)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    with caplog.at_level(logging.WARNING, logger="tracker_mail.github"):
        ref = github.adapter().create_issue(new_issue(labels=("bug",), assignee="mallory"))

    assert ref == IssueRef("github", "example-org/webshop#42")
    first, second = github.sent()
    assert first.line == second.line == ("POST", f"{REPO}/issues")
    assert first.body["assignees"] == ["mallory"]
    assert second.body == {key: value for key, value in first.body.items() if key != "assignees"}
    assert "GitHub refused the assignees of a new issue in example-org/webshop" in caplog.text


def test_a_milestone_and_type_github_refuse_are_left_out_together(github):
    github.reply("POST", f"{REPO}/issues", invalid("milestone", "type"), status=422)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter().create_issue(new_issue(custom_fields={"milestone": "99"}, issue_type="Bug"))

    first, second = github.sent()
    assert (first.body["milestone"], first.body["type"]) == (99, "Bug")
    assert "milestone" not in second.body
    assert "type" not in second.body
    assert second.body["title"] == first.body["title"]
    assert second.body["body"] == first.body["body"]


@pytest.mark.parametrize(
    ("refusal", "fields"),
    [
        (invalid("body"), {}),  # the text itself: nothing to leave out
        (invalid("assignees", "title"), {"assignee": "alice"}),  # one of them not droppable
        (invalid("assignees"), {}),  # names a field that was not sent
    ],
)
def test_other_refusals_fail_the_message_without_a_second_post(github, refusal, fields):
    github.reply("POST", f"{REPO}/issues", refusal, status=422)

    with pytest.raises(PermanentError, match="GitHub answered 422 to creating an issue"):
        github.adapter().create_issue(new_issue(**fields))

    assert github.lines() == [("POST", f"{REPO}/issues")]


def test_an_issue_type_github_dropped_is_logged(github, caplog):
    github.reply("POST", f"{REPO}/issues", github.load("issue", type=None), status=201)
    bug = github.load("issue_types")[1]
    github.reply("POST", f"{REPO}/issues", github.load("issue", type=bug), status=201)
    adapter = github.adapter()

    with caplog.at_level(logging.WARNING, logger="tracker_mail.github"):
        adapter.create_issue(new_issue(issue_type="Bug"))
        dropped = caplog.text
        caplog.clear()
        adapter.create_issue(new_issue(issue_type="bug"))

    assert [s.body["type"] for s in github.sent()] == ["Bug", "bug"]
    assert "GitHub dropped type Bug from example-org/webshop#42" in dropped
    assert "a type the repository has" in dropped
    assert caplog.text == ""  # kept: nothing to say


def test_comment_names_its_author_and_carries_the_marker(github):
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)
    issue = IssueRef("github", "example-org/webshop#42", project="example-org/webshop")

    ref = github.adapter().add_comment(issue, NewComment("Still broken.", KEY, author=ALICE))

    assert ref.issue == issue
    assert ref.id == "1146825476"
    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues/42/comments")
    assert sent.body == {"body": f"From: Alice Example (@alice)\n\nStill broken.\n\n{MARKER}"}


def test_comment_on_an_issue_of_another_repository_is_refused(github):
    with pytest.raises(PermanentError, match="not an issue"):
        github.adapter().add_comment(IssueRef("github", "someone/else#1"), NewComment("Hi", KEY))
    with pytest.raises(UnsupportedAction):
        github.adapter().add_comment(
            IssueRef("github", "example-org/webshop#1"), NewComment("Hi", KEY, private=True)
        )
    assert github.sent() == []


def test_reopen(github):
    github.reply("PATCH", f"{REPO}/issues/42", github.load("issue"))

    github.adapter().reopen_issue(IssueRef("github", "example-org/webshop#42"))

    [sent] = github.sent()
    assert (sent.method, sent.path, sent.body) == ("PATCH", f"{REPO}/issues/42", {"state": "open"})


@pytest.mark.parametrize(("state", "closed"), [("open", False), ("closed", True)])
def test_get_issue_reports_project_and_state(github, state, closed):
    github.reply("GET", f"{REPO}/issues/42", github.load("issue", state=state))

    found = github.adapter().get_issue(IssueRef("github", "example-org/WebShop#42"))

    assert github.lines() == [("GET", f"{REPO}/issues/42")]
    assert found is not None
    assert found.ref == IssueRef("github", "example-org/webshop#42")
    assert (found.project, found.closed) == ("example-org/webshop", closed)


@pytest.mark.parametrize("status", [404, 410])
def test_get_issue_of_a_missing_or_deleted_issue(github, status):
    github.reply("GET", f"{REPO}/issues/9", github.load("error_not_found"), status=status)

    assert github.adapter().get_issue(IssueRef("github", "example-org/webshop#9")) is None
    assert github.lines() == [("GET", f"{REPO}/issues/9")]


def test_get_issue_transferred_out_of_our_repositories(github):
    moved = github.load("issue", repository_url="https://api.github.com/repos/elsewhere/x")
    github.reply("GET", f"{REPO}/issues/42", moved)

    assert github.adapter().get_issue(IssueRef("github", "example-org/webshop#42")) is None
    assert github.lines() == [("GET", f"{REPO}/issues/42")]


def test_get_issue_of_a_foreign_key_asks_nothing(github):
    assert github.adapter().get_issue(IssueRef("github", "ABC-12")) is None
    assert github.sent() == []


def test_a_sender_line_with_a_long_run_of_spaces_is_read_as_written(github):
    """Spaces between name and address, or in a name with no address, are taken in one pass.

    An expression with a lazy name and optional spaces before ``<`` tried every start of
    the run: 20,000 spaces took seconds, a header-sized run minutes.
    """
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    spaces = " " * 20_000

    github.adapter(publish_addresses=True).create_issue(
        new_issue(text=f"From: Bob{spaces}Sender{spaces}<bob@example.net>\n\nHi")
    )
    github.adapter(publish_addresses=True).create_issue(new_issue(text=f"From: a{spaces}b\n\nHi"))

    first, second = (sent.body["body"] for sent in github.sent())
    assert first == f"From: Bob{spaces}Sender <bob@example.net>\n\nHi\n\n{MARKER}"
    assert second == f"From: <a{spaces}b>\n\nHi\n\n{MARKER}"
