"""Replies by senders without an account reach only issues the policy allows."""

import pytest

from tests.mailfactory import raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.adapter import NewIssue, Permission
from tracker_mail_plugin.cli import main

CAROL = "Carol Stranger <carol@elsewhere.example>"
ALICE = "Alice Example <alice@example.com>"


def mail(subject, sender=CAROL, message_id="m", **headers):
    fields = {"From": sender, "Subject": subject, "Message-ID": f"<{message_id}@example.com>"}
    return raw_mail(fields | headers, "A reply.")


def private_issue(world, project="other"):
    """An issue this mailbox never filed: someone else's, in a project its rules do not use."""
    new = NewIssue(project, "Salaries 2027", "confidential", "tm-private00000000001", private=True)
    return world.tracker.create_issue(new).key


@pytest.fixture
def world(tmp_path):
    return World(tmp_path, policies="    unknown_user: as_rule_owner")


def comments(world, key):
    return [c.text for c in world.tracker.issues()[key].comments]


def test_an_outsider_cannot_comment_on_an_issue_outside_the_mailbox_projects(world):
    key = private_issue(world)
    world.mailbox.add(mail(f"Re: [#{key}] Salaries 2027"))
    summary = world.sync()
    assert comments(world, key) == []
    assert summary.unprocessed == 1
    reason = world.journal.status().recent[0].decision["reason"]
    assert f"reply to issue {key} (in project other) is refused" in reason
    assert "replies: {from_unknown: mailbox_projects}" in reason


def test_an_outsider_may_comment_in_a_project_the_mailbox_files_into(world):
    key = private_issue(world, project="it")
    world.mailbox.add(mail(f"Re: [#{key}] printer"))
    world.sync()
    assert len(comments(world, key)) == 1


def test_conversation_scope_allows_only_the_outsiders_own_thread(world):
    world.policies = "    unknown_user: as_rule_owner\n    replies: {from_unknown: conversation}"
    other = private_issue(world, project="it")
    world.mailbox.add(mail("Printer on fire", message_id="first"))
    world.sync()
    (own,) = [k for k, issue in world.tracker.issues().items() if issue.title == "Printer on fire"]
    world.mailbox.add(
        mail("Re: Printer on fire", message_id="second", **{"In-Reply-To": "<first@example.com>"})
    )
    world.mailbox.add(mail(f"Re: [#{other}] printer", message_id="third"))
    summary = world.sync()
    assert len(comments(world, own)) == 1
    assert comments(world, other) == []
    assert summary.unprocessed == 1


def test_any_keeps_the_old_behaviour(world):
    world.policies = "    unknown_user: as_rule_owner\n    replies: {from_unknown: any}"
    key = private_issue(world)
    world.mailbox.add(mail(f"Re: [#{key}] Salaries 2027"))
    world.sync()
    assert len(comments(world, key)) == 1


def test_the_same_limit_applies_with_create_user(world):
    world.policies = "    unknown_user: create_user"
    key = private_issue(world)
    world.mailbox.add(mail(f"Re: [#{key}] Salaries 2027"))
    summary = world.sync()
    assert (comments(world, key), summary.unprocessed) == ([], 1)


def test_a_known_sender_is_not_limited(world):
    key = private_issue(world)
    world.tracker.grant(world.alice, "other", Permission.COMMENT)  # the tracker's own check
    world.mailbox.add(mail(f"Re: [#{key}] Salaries 2027", sender=ALICE))
    world.sync()
    assert len(comments(world, key)) == 1


def test_explain_says_why_the_reply_is_refused(tmp_path, capsys):
    config = tmp_path / "rules.yaml"
    config.write_text(
        "version: 1\ntrackers:\n  rec: {adapter: recording}\nmailboxes:\n  inbox:\n"
        "    protocol: maildir\n    path: /unused\n    tracker: rec\n"
        "    unknown_user: as_rule_owner\n    rules:\n"
        "      - then: [{create_issue: {project: it}}]\n"
    )
    message = tmp_path / "reply.eml"
    message.write_bytes(mail("Re: [#7] Salaries 2027"))
    code = main(["explain", "-c", str(config), "--offline", "--sender-unknown", str(message)])
    out = capsys.readouterr().out
    assert code == 0
    assert "Decision:    unprocessed (an unknown sender's reply to issue 7" in out
