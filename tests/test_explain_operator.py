"""``explain -c`` answers the operator's "why did my mail go there?" in its notes."""

import json

from tests.mailfactory import multipart, part, raw_mail
from tests.trialbox import trial_mailbox
from tracker_mail_plugin.adapter import Permission
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.config.model import Policies
from tracker_mail_plugin.pipeline.act import _exclusion
from tracker_mail_plugin.testing import RecordingAdapter
from tracker_mail_plugin.testing.recording import RecordingConfig

TWO_RULES = """\
version: 1
trackers:
  trial: {adapter: recording}
mailboxes:
  sales:
    protocol: maildir
    path: ./mail
    tracker: trial
    unknown_user: as_rule_owner
    rules:
      - name: quotes
        when: "subject contains 'quote'"
        then: "create issue in project SALES"
      - name: invoices
        when: "subject contains 'invoice'"
        then: "create issue in project SALES as Billing"
      - name: everything
        then: "create issue in project SALES"
"""


def _explained(capsys, path, *options):
    assert main(["explain", "-c", "rules.yaml", "--format", "json", *options, path]) == 0
    return json.loads(capsys.readouterr().out)


def _synced(tmp_path, monkeypatch, capsys):
    """Two messages synced into the recording tracker (issues 1 and 2)."""
    new = trial_mailbox(tmp_path, monkeypatch)
    for n, subject in enumerate(("Printer on fire", "Scanner jams"), start=1):
        (new / f"{n}.eml").write_bytes(raw_mail({"Subject": subject, "Message-ID": f"<m{n}@x>"}))
    assert main(["sync", "-c", "rules.yaml"]) == 0
    capsys.readouterr()


def test_a_reply_says_which_reference_found_its_issue_and_which_lost(tmp_path, monkeypatch, capsys):
    _synced(tmp_path, monkeypatch, capsys)
    reply = {"Subject": "Re: Printer on fire (like #2?)", "In-Reply-To": "<m1@x>"}
    (tmp_path / "reply.eml").write_bytes(raw_mail(reply))
    explained = _explained(capsys, "reply.eml")
    assert explained["reply_to_issue"] == "1"
    (note,) = [n for n in explained["notes"] if n.startswith("a reply to issue")]
    assert note.startswith("a reply to issue 1, found by the journal: In-Reply-To/References")
    assert "; #2 not used: the first reference naming an issue wins" in note


def test_a_reply_by_subject_number_names_it(tmp_path, monkeypatch, capsys):
    _synced(tmp_path, monkeypatch, capsys)
    (tmp_path / "reply.eml").write_bytes(raw_mail({"Subject": "Re: [#2] Scanner jams"}))
    explained = _explained(capsys, "reply.eml")
    assert "a reply to issue 2, found by [#2] (subject)" in explained["notes"]


def test_a_reply_to_mail_nobody_filed_says_why_it_is_a_new_issue(tmp_path, monkeypatch, capsys):
    _synced(tmp_path, monkeypatch, capsys)
    reply = {"Subject": "Re: Printer on fire", "In-Reply-To": "<from-a-laptop@x>"}
    (tmp_path / "reply.eml").write_bytes(raw_mail(reply))
    explained = _explained(capsys, "reply.eml")
    assert explained["reply_to_issue"] is None
    assert [a["action"] for a in explained["actions"]] == ["create_issue"]
    assert any(
        n.startswith("In-Reply-To/References name no mail the journal has seen make or answer")
        and "not a reply to an existing issue" in n
        for n in explained["notes"]
    ), explained["notes"]


def test_a_rule_below_the_one_that_matched_is_named(tmp_path, monkeypatch, capsys):
    trial_mailbox(tmp_path, monkeypatch)
    (tmp_path / "rules.yaml").write_text(TWO_RULES)
    (tmp_path / "m.eml").write_bytes(raw_mail({"Subject": "Invoice for the quote we agreed"}))
    explained = _explained(capsys, "m.eml", "--offline")
    assert explained["matched_rule"] == "quotes"
    assert [t["rule"] for t in explained["trace"]] == ["quotes"]  # what sync tried, as before
    assert explained["notes"][-1] == (
        "rules 'invoices', 'everything' below would match too, but never see this message: "
        "rules are tried from the top and 'quotes' took it (move the one you mean above it, "
        "or give the rule above `continue: true`)"
    )
    (tmp_path / "m.eml").write_bytes(raw_mail({"Subject": "Quote, please"}))
    assert "rule 'everything' below would match too, but never sees" in " ".join(
        _explained(capsys, "m.eml", "--offline")["notes"]
    )
    (tmp_path / "m.eml").write_bytes(raw_mail({"Subject": "Hello"}))
    notes = _explained(capsys, "m.eml", "--offline")["notes"]
    assert not any("below would match" in n for n in notes)


def test_files_left_out_are_named_with_the_settings_that_drop_them(tmp_path, monkeypatch, capsys):
    trial_mailbox(tmp_path, monkeypatch)
    rules = (tmp_path / "rules.yaml").read_text()
    policies = "    max_attachment_size: 50KB\n    excluded_filenames: ['*.exe']\n    rules:\n"
    (tmp_path / "rules.yaml").write_text(rules.replace("    rules:\n", policies))
    ctype, body = multipart(
        "mixed",
        [
            part("Content-Type: text/plain", "see files"),
            part('Content-Type: application/octet-stream; name="shot.png"', b"x" * 80_000),
            part('Content-Type: application/octet-stream; name="fix.exe"', b"MZ"),
            part('Content-Type: application/octet-stream; name="log.txt"', b"fine"),
        ],
    )
    (tmp_path / "m.eml").write_bytes(raw_mail({"Content-Type": ctype}, body))
    notes = _explained(capsys, "m.eml", "--offline")["notes"]
    assert notes[-1] == (
        "not attached (excluded_filenames, max_attachment_size): shot.png (80 kB, over the "
        "50 kB limit); fix.exe (excluded by *.exe); the issue's text names them"
    )
    # The attachment list gives the same size in the same units as the note.
    assert main(["explain", "--offline", str(tmp_path / "m.eml")]) == 0
    assert "shot.png (application/octet-stream, 80.0 kB)" in capsys.readouterr().out


def test_a_size_just_over_the_limit_is_said_in_bytes_not_as_two_equal_numbers():
    policies = Policies(max_attachment_size=10**7)
    assert _exclusion("big.bin", 10**7 + 1, policies) == (
        "10000001 bytes, over the 10000000 bytes limit"
    )
    assert _exclusion("big.bin", 2 * 10**7, policies) == "20.0 MB, over the 10.0 MB limit"
    assert _exclusion("big.bin", 10**7, policies) is None


def test_mail_over_max_message_size_is_unprocessed_as_sync_leaves_it(tmp_path, monkeypatch, capsys):
    trial_mailbox(tmp_path, monkeypatch)
    rules = (tmp_path / "rules.yaml").read_text()
    (tmp_path / "rules.yaml").write_text(
        rules.replace("    rules:\n", "    max_message_size: 1KB\n    rules:\n")
    )
    raw = raw_mail({"Subject": "Full server logs"}, "x" * 2000)
    (tmp_path / "m.eml").write_bytes(raw)
    explained = _explained(capsys, "m.eml", "--offline")
    assert (explained["outcome"], explained["actions"]) == ("unprocessed", [])
    assert explained["skipped_reason"] == (
        f"{len(raw)} bytes, over max_message_size 1000: sync does not download it "
        "(on_unprocessed); the rules above say what a larger limit would make of it"
    )
    assert explained["matched_rule"] == "rule 1"  # what the rules would make of it


def test_a_sender_the_tracker_refuses_is_unprocessed_as_sync_leaves_it(
    tmp_path, monkeypatch, capsys
):
    trial_mailbox(tmp_path, monkeypatch)
    tracker = RecordingAdapter(RecordingConfig(state_file=tmp_path / "tracker.json"))
    tracker.add_project("support")  # nobody may write in it
    tracker.add_user("alice@example.com", "Alice")
    (tmp_path / "m.eml").write_bytes(raw_mail({"Subject": "Payroll question"}))
    explained = _explained(capsys, "m.eml")
    assert (explained["outcome"], explained["actions"]) == ("unprocessed", [])
    assert explained["skipped_reason"] == "the sender may not create issues in project support"
    asked = [(c.method, c.args) for c in tracker.calls() if c.method == "can"]
    assert asked == [
        ("can", {"user": "1", "action": "create_issue", "project": "support"}),
    ]
    tracker.grant(tracker.find_user("alice@example.com"), "support", Permission.CREATE_ISSUE)
    assert _explained(capsys, "m.eml")["outcome"] == "act"
