"""The trust gate end to end: sync into the recording tracker, explain, check."""

import json

import pytest

from tests.mailfactory import raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.adapter import Permission
from tracker_mail_plugin.cli import main

TRUST = "    trust: {authserv_id: [mx.example.com], require: dmarc, unauthenticated: %s}"
FORGED = "mx.example.com; spf=fail smtp.mailfrom=evil.test; dkim=fail header.d=evil.test; dmarc=fail header.from=example.com"
PASSED = "mx.example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"
# What the attacker wrote into the mail itself, before it reached our server.
SELF_STAMPED = "mx.example.com; dmarc=pass header.from=example.com"


def admin_mail(*results, message_id="reset"):
    headers = [("Authentication-Results", r) for r in results]
    return raw_mail(
        [
            *headers,
            ("From", "The Admin <admin@example.com>"),
            ("Subject", "Printer: please make me an administrator"),
            ("Message-ID", f"<{message_id}@example.com>"),
        ],
        "Grant carol@evil.test admin rights.",
    )


@pytest.fixture
def world(tmp_path):
    world = World(tmp_path)
    world.admin = world.tracker.add_user("admin@example.com", "The Admin")
    world.tracker.grant(world.admin, "it", Permission.CREATE_ISSUE, Permission.COMMENT)
    return world


def issues_by(world):
    return [(i.reporter, i.text.splitlines()[0]) for i in world.tracker.issues().values()]


def test_without_the_gate_a_forged_admin_writes_as_the_admin(world):
    # Today's behaviour, kept by require: none (and `check` warns about it).
    world.mailbox.add(admin_mail(FORGED))
    world.sync()
    assert issues_by(world) == [(world.admin.id, "Grant carol@evil.test admin rights.")]


def test_a_forged_admin_is_written_as_the_configured_account(world):
    world.policies = TRUST % "as_unknown" + "\n    unknown_user: as_rule_owner"
    world.mailbox.add(admin_mail(FORGED, SELF_STAMPED))
    world.sync()
    assert issues_by(world) == [(None, "From: The Admin <admin@example.com>")]


def test_a_forged_admin_is_refused_with_the_reason(world):
    world.policies = TRUST % "reject"
    world.mailbox.add(admin_mail(FORGED))
    summary = world.sync()
    assert (world.tracker.issues(), summary.unprocessed) == ({}, 1)
    reason = world.journal.status().recent[0].decision["reason"]
    assert reason == (
        "sender not authenticated (mx.example.com: no dmarc=pass "
        "(dmarc=fail header.from=example.com)); trust: unauthenticated: reject"
    )


def test_results_stamped_by_someone_else_are_ignored(world):
    world.policies = TRUST % "reject"
    world.mailbox.add(admin_mail(PASSED.replace("mx.example.com", "mx.evil.test")))
    world.sync()
    assert world.tracker.issues() == {}


def test_the_real_admin_passes_and_writes_as_themselves(world):
    world.policies = TRUST % "reject"
    world.mailbox.add(admin_mail(PASSED, FORGED))
    world.sync()
    assert issues_by(world) == [(world.admin.id, "Grant carol@evil.test admin rights.")]


def test_create_user_does_not_hand_out_the_admin_account(world):
    world.policies = TRUST % "as_unknown" + "\n    unknown_user: create_user"
    world.mailbox.add(admin_mail(FORGED))
    world.sync()
    assert issues_by(world) == [(None, "From: The Admin <admin@example.com>")]


# -- explain ---------------------------------------------------------------------------------

CONFIG = """\
version: 1
trackers:
  rec: {adapter: recording}
mailboxes:
  inbox:
    protocol: directory
    path: /unused
    tracker: rec
    unknown_user: as_rule_owner
%s
    rules:
      - then: [{create_issue: {project: it}}]
"""


def files(tmp_path, trust, *results):
    config = tmp_path / "rules.yaml"
    # check looks at a directory mailbox's folder: the test's own folder will do.
    config.write_text((CONFIG % trust).replace("/unused", str(tmp_path)))
    mail = tmp_path / "m.eml"
    mail.write_bytes(admin_mail(*results))
    return config, mail


def test_explain_shows_the_verdict_and_its_effect(tmp_path, capsys):
    config, mail = files(tmp_path, TRUST % "as_unknown", FORGED)
    args = ["explain", "--offline", "--sender-known", "-c", str(config), str(mail)]
    assert main(args) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        "Sender:      NOT authenticated (require: dmarc); mx.example.com: no dmarc=pass "
        "(dmarc=fail header.from=example.com)"
    ) in out
    assert "  effect:    handled as unknown: unknown_user applies (created as rule owner)" in out
    assert "Created as:  rule owner" in out

    assert main(["explain", "--format", "json", *args[1:]]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["authentication"] == {
        "required": "dmarc",
        "authenticated": False,
        "method": None,
        "source": "mx.example.com",
        "reason": "mx.example.com: no dmarc=pass (dmarc=fail header.from=example.com)",
        "effect": "handled as unknown: unknown_user applies (created as rule owner)",
    }
    assert found["author"] == "rule_owner"


def test_explain_json_of_a_passing_sender(tmp_path, capsys):
    config, mail = files(tmp_path, TRUST % "reject", PASSED)
    args = ["explain", "--format", "json", "--offline", "--sender-known", "-c", str(config)]
    assert main([*args, str(mail)]) == 0
    found = json.loads(capsys.readouterr().out)
    assert (found["authentication"]["authenticated"], found["authentication"]["method"]) == (
        True,
        "dmarc",
    )
    assert (found["outcome"], found["author"]) == ("act", "sender")


def test_explain_without_a_configuration_has_no_verdict(tmp_path, capsys):
    _, mail = files(tmp_path, "", FORGED)
    assert main(["explain", "--format", "json", str(mail)]) == 0
    assert json.loads(capsys.readouterr().out)["authentication"] is None


# -- check -----------------------------------------------------------------------------------


def test_check_warns_with_the_place_where_from_alone_decides(tmp_path, capsys):
    config, _ = files(tmp_path, "    trust: {require: none}")
    assert main(["check", "--offline", "-c", str(config)]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"{config}:10:5: warning: mailbox 'inbox' writes issues and comments as the account of "
        "the address in From, which anyone can forge; with trust: require: none nothing checks "
        "it. Set e.g. trust: {authserv_id: [your.mx.host], require: dmarc}"
    ]


def test_check_warns_at_the_mailbox_when_trust_is_not_written(tmp_path, capsys):
    config, _ = files(tmp_path, "")
    assert main(["check", "--offline", "-c", str(config)]) == 0
    assert capsys.readouterr().err.startswith(f"{config}:5:3: warning: mailbox 'inbox' writes")


def test_check_is_quiet_with_the_gate_or_when_nobody_is_written_as(tmp_path, capsys):
    config, _ = files(tmp_path, TRUST % "reject")
    assert main(["check", "--offline", "-c", str(config)]) == 0
    assert capsys.readouterr().err == ""
    forward_only = (CONFIG % "    replies: {action: rules}").replace(
        "[{create_issue: {project: it}}]", "[{ignore: nothing is imported}]"
    )
    config.write_text(forward_only.replace("/unused", str(tmp_path)))
    assert main(["check", "--offline", "-c", str(config)]) == 0
    assert capsys.readouterr().err == ""


def test_check_says_what_each_mailbox_requires(tmp_path, capsys):
    config, _ = files(tmp_path, TRUST % "reject")
    assert main(["check", "--offline", "-c", str(config)]) == 0
    assert "senders need dmarc (mx.example.com), else reject" in capsys.readouterr().out


def test_verify_without_dkimpy_installed_is_a_configuration_error(tmp_path, capsys, monkeypatch):
    from tracker_mail_plugin.config import loader

    monkeypatch.setattr(loader, "_can_verify", lambda: False)
    config, _ = files(tmp_path, "    trust: {require: dkim, verify: [dkim]}")
    assert main(["check", "--offline", "-c", str(config)]) == 2
    assert capsys.readouterr().err.startswith(
        f"{config}:10:5: mailbox 'inbox': trust: verify needs dkimpy and dnspython: "
        "pip install 'tracker-mail-plugin[dkim]'"
    )
