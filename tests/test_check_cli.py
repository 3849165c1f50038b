import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.mailfactory import raw_mail
from tracker_mail_plugin.cli import main

ROOT = Path(__file__).parent.parent

CONFIG = """\
version: 1
trackers:
  tp: {adapter: recording}
companies:
  TargetProcess: {domains: [targetprocess.com], projects: [2]}
mailboxes:
  inbox:
    protocol: directory
    path: /tmp/mail
    tracker: tp
    rules:
      - when subject contains 'Targetprocess, tp' and company matched to project 2 then attach to project 2 and create request in project 2
      - when company matched to project 2 then attach to project 2
      - then attach to project 1 and create request in project 1
"""


def write(tmp_path, text=CONFIG):
    path = tmp_path / "rules.yaml"
    (tmp_path / "mail").mkdir(exist_ok=True)
    path.write_text(text.replace("/tmp/mail", str(tmp_path / "mail")))
    return path


def test_check_valid_file_prints_a_summary(tmp_path, capsys):
    path = write(tmp_path)
    assert main(["check", "--offline", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"{path}: valid" in out
    assert (
        f"inbox: directory {tmp_path / 'mail'} -> tp; 3 own rule(s); unknown senders: reject" in out
    )
    assert out.endswith(
        f"{path}: valid (offline: nothing was connected to; projects, issue types and log-ins "
        "are checked without --offline)\n"
    )


def test_check_show_prints_the_normalised_rules(tmp_path, capsys):
    assert main(["check", "--offline", "-c", str(write(tmp_path)), "--show"]) == 0
    out = capsys.readouterr().out
    assert (
        "  - when:\n      subject_contains:\n      - Targetprocess\n      - tp\n      company_matches_project: '2'"
        in out
    )


def test_check_invalid_file_exits_2_with_every_error(tmp_path, capsys):
    path = write(
        tmp_path,
        CONFIG.replace("tracker: tp", "tracker: tq").replace(
            "subject contains", "subject contians"
        ),
    )
    assert main(["check", "-c", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"{path}:10:14: unknown tracker 'tq'; trackers defined: tp"
    assert err[1].startswith(f"{path}:12:22: mailboxes.inbox.rules[0]: expected 'contains'")
    assert err[-1] == f"{path}: 2 errors; nothing was touched"


def test_check_uses_the_environment_variable(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("TRACKER_MAIL_CONFIG", str(write(tmp_path)))
    assert main(["check", "--offline"]) == 0


def test_explain_with_rules_fills_the_decision(tmp_path, capsys):
    config = write(tmp_path)
    mail = tmp_path / "m.eml"
    mail.write_bytes(raw_mail({"From": "lena@targetprocess.com", "Subject": "tp export broken"}))
    assert (
        main(["explain", "--format", "json", "-c", str(config), "--sender-known", str(mail)]) == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["matched_rule"] == "rule 1"
    assert [(a["action"], a["project"]) for a in result["actions"]] == [
        ("attach_to_project", "2"),
        ("create_request", "2"),
    ]
    assert result["skipped_reason"] is None
    assert result["outcome"] == "act"
    assert result["trace"][0]["checks"][0] == {
        "condition": "subject contains 'Targetprocess, tp'",
        "held": True,
        "reason": "'tp' found as a word",
    }


def test_explain_text_shows_the_trace(tmp_path, capsys):
    config = write(tmp_path)
    mail = tmp_path / "m.eml"
    mail.write_bytes(raw_mail({"From": "ann@elsewhere.example", "Subject": "Invoice for March"}))
    assert main(["explain", "-c", str(config), "--sender-known", str(mail)]) == 0
    out = capsys.readouterr().out
    assert (
        "  rule 1: no\n    - subject contains 'Targetprocess, tp': no (none found as a word in \"Invoice for March\")"
        in out
    )
    assert "  rule 3: MATCHED\n    - no conditions: always holds" in out
    assert (
        "Decision:    act\n  - attach_to_project in project 1\n  - create_request in project 1"
        in out
    )


def test_explain_with_a_broken_config_exits_2(tmp_path, capsys):
    mail = tmp_path / "m.eml"
    mail.write_bytes(raw_mail({}))
    assert main(["explain", "-c", str(write(tmp_path, "version: 1\n")), str(mail)]) == 2
    assert "trackers: required, but missing" in capsys.readouterr().err


def test_explain_unknown_mailbox(tmp_path, capsys):
    mail = tmp_path / "m.eml"
    mail.write_bytes(raw_mail({}))
    assert main(["explain", "-c", str(write(tmp_path)), "--mailbox", "nope", str(mail)]) == 2
    assert "no mailbox 'nope'; the file has: inbox" in capsys.readouterr().err


def test_example_configuration_is_valid(tmp_path):
    # Where it will run: its secrets in the environment, its Maildir in place.
    text = (ROOT / "rules.yaml.example").read_text()
    example = tmp_path / "rules.yaml"
    example.write_text(text.replace("/var/mail/webshop/Maildir", str(tmp_path / "Maildir")))
    (tmp_path / "Maildir").mkdir()
    names = re.findall(r"\{env: (\w+)\}", text)
    assert len(names) >= 5
    environment = dict(os.environ) | dict.fromkeys(names, "x")
    result = subprocess.run(
        [sys.executable, "-m", "tracker_mail_plugin.cli", "check", "--offline", "-c", str(example)],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # not even a warning


def test_example_configuration_explains_the_examples(tmp_path):
    copy = tmp_path / "rules.yaml"
    shutil.copy(ROOT / "rules.yaml.example", copy)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tracker_mail_plugin.cli",
            "explain",
            "--format",
            "json",
            "-c",
            str(copy),
            "--mailbox",
            "helpdesk",
            str(ROOT / "examples"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    outcomes = {
        json.loads(line)["file"].rsplit("/", 1)[-1]: json.loads(line)["outcome"]
        for line in result.stdout.splitlines()
    }
    assert outcomes["15-auto-reply.eml"] == "drop"
    assert outcomes["16-bounce-dsn.eml"] == "drop"


def test_live_check_tests_the_tracker_and_the_mailbox(tmp_path, capsys):
    from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig

    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "a.eml").write_bytes(raw_mail({}))
    state = tmp_path / "tracker.json"
    tracker = RecordingAdapter(RecordingConfig(state_file=state))
    tracker.add_project("1")
    text = CONFIG.replace("/tmp/mail", str(tmp_path / "mail"))
    path = write(
        tmp_path,
        text.replace(
            "tp: {adapter: recording}", f"tp: {{adapter: recording, state_file: {state}}}"
        ),
    )
    assert main(["check", "-c", str(path)]) == 2  # the rules need project 2, which is missing
    captured = capsys.readouterr()
    assert (
        "tracker tp (recording): PROBLEMS; version recording-1, identity tracker-mail, issues 0"
        in captured.out
    )
    assert "tracker tp: there is no project '2'" in captured.err
    assert f"mailbox inbox: ok; {tmp_path / 'mail'}: 1 message(s)" in captured.out
    assert "valid" not in captured.out
    assert captured.err.endswith(
        f"{path}: not ready: fix the problems above; nothing was touched\n"
    )
    tracker.add_project("2")
    assert main(["check", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert "tracker tp (recording): ok;" in out
    assert out.endswith(f"{path}: valid; every tracker and mailbox answered\n")


def test_check_reports_a_missing_mailbox_folder_even_offline(tmp_path, capsys):
    path = write(tmp_path, CONFIG.replace("/tmp/mail", str(tmp_path / "nowhere")))
    for offline in ([], ["--offline"]):
        assert main(["check", *offline, "-c", str(path)]) == 2
        captured = capsys.readouterr()
        assert "valid" not in captured.out
        assert captured.err.splitlines()[-2:] == [
            f"{path}:9:11: mailbox 'inbox': {tmp_path / 'nowhere'} does not exist; a directory "
            "mailbox reads a folder",
            f"{path}: 1 error; nothing was touched",
        ]


def test_live_check_names_an_adapter_that_is_not_installed(tmp_path, capsys):
    path = write(tmp_path, CONFIG.replace("adapter: recording", "adapter: youtrack"))
    assert main(["check", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:17: no tracker adapter named 'youtrack' is installed" in err
    assert "tracker-mail-plugin-youtrack" not in err


def test_live_check_refuses_an_action_the_adapter_cannot_do(tmp_path, capsys):
    from tracker_mail_plugin.adapter import Capability
    from tracker_mail_plugin.registry import registered_adapter
    from tracker_mail_plugin.testing import RecordingAdapter

    class NoRequests(RecordingAdapter):
        name = "norequests"
        capabilities = frozenset(Capability) - {Capability.CREATE_REQUEST}

    path = write(tmp_path, CONFIG.replace("adapter: recording", "adapter: norequests"))
    with registered_adapter("norequests", NoRequests):
        assert main(["check", "-c", str(path)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "warning:" not in line]
    assert err == [
        f"{path}:12:9: rule 1: create_request is not supported by the norequests adapter of tracker 'tp'",
        f"{path}:14:9: rule 3: create_request is not supported by the norequests adapter of tracker 'tp'",
        f"{path}: 2 errors; nothing was touched",
    ]


def test_live_check_validates_the_adapter_options(tmp_path, capsys):
    path = write(
        tmp_path, CONFIG.replace("tp: {adapter: recording}", "tp: {adapter: recording, identiy: x}")
    )
    assert main(["check", "-c", str(path)]) == 2
    assert "identiy" in capsys.readouterr().err


def test_explain_asks_the_tracker_about_the_sender_and_replies(tmp_path, capsys):
    from tracker_mail_plugin.adapter import Permission
    from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig

    state = tmp_path / "tracker.json"
    tracker = RecordingAdapter(RecordingConfig(state_file=state))
    user = tracker.add_user("lena@targetprocess.com", "Lena")
    tracker.grant(user, "2", Permission.CREATE_REQUEST)  # what rule 1 asks: sync checks it
    config = write(
        tmp_path,
        CONFIG.replace(
            "tp: {adapter: recording}", f"tp: {{adapter: recording, state_file: {state}}}"
        ),
    )
    known = tmp_path / "known.eml"
    known.write_bytes(raw_mail({"From": "lena@targetprocess.com", "Subject": "tp export broken"}))
    stranger = tmp_path / "stranger.eml"
    stranger.write_bytes(raw_mail({"From": "ann@elsewhere.example", "Subject": "hello"}))
    assert main(["explain", "--format", "json", "-c", str(config), str(known), str(stranger)]) == 0
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (first["outcome"], first["matched_rule"]) == ("act", "rule 1")
    assert "tracker tp: the sender has an account" in first["notes"]
    assert (second["outcome"], second["skipped_reason"]) == (
        "unprocessed",
        "unknown sender; policy unknown_user: reject",
    )
    # Reads only: the accounts, and whether the known one may do what rule 1 asks.
    assert [c.method for c in tracker.calls()] == ["find_user", "can", "find_user"]


def test_explain_offline_does_not_ask_the_tracker(tmp_path, capsys):
    mail = tmp_path / "m.eml"
    mail.write_bytes(raw_mail({"From": "ann@elsewhere.example", "Subject": "hello"}))
    assert (
        main(["explain", "--format", "json", "--offline", "-c", str(write(tmp_path)), str(mail)])
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["notes"] == ["whether the sender has a tracker account is not known here"]


def test_requirements_gathered_from_the_rules_for_check():
    from tracker_mail_plugin.config.loader import load_config
    from tracker_mail_plugin.needs import requirements

    loaded = load_config(ROOT / "rules.yaml.example")
    redmine = requirements(loaded, "redmine-main")
    assert ("it-support", "Bug") in redmine.issues
    assert ("accounting", "Refund") in redmine.issues
    assert redmine.requests == {("1", None), ("2", None)}
    assert redmine.attach_to_project == {"1", "2"}
    assert redmine.fields == {"Order"}
    assert redmine.labels == {"accounting": frozenset({"email"})}
    jira = requirements(loaded, "jira-cloud")
    assert jira.requests == {
        ("SD", "Request new hardware"),
        ("SD", "Get access"),
        ("SD", "Get IT help"),
    }
    assert jira.create_users_in == {"SD"}
    github = requirements(loaded, "github-web")
    assert github.labels == {"example-org/webshop": frozenset({"bug", "from-email"})}


def test_requirements_say_what_each_request_rule_sets_beyond_summary_and_description():
    from tests.synchelpers import RULES
    from tracker_mail_plugin.config.loader import load_config_text
    from tracker_mail_plugin.needs import requirements

    rules = """
      - when: {subject_contains: laptop}
        then: [{create_request: {project: SD, request_type: Hardware, priority: High,
                                 custom_fields: {Order: "1"}}}]
      - when: {subject_contains: access}
        then: [{create_request: {project: SD, fields_from_body: [labels]}}]
      - then: [{create_request: {project: SD, request_type: Help}}]
    """
    text = RULES.format(
        policies="", rules=textwrap.indent(textwrap.dedent(rules).strip(), "      ")
    )
    needs = requirements(load_config_text(text, "rules.yaml"), "rec")
    assert needs.request_fields == {
        ("SD", "Hardware"): frozenset({"priority", "Order"}),
        ("SD", None): frozenset({"labels"}),
    }


TYPES = """\
version: 1
trackers:
  tp: TRACKER
mailboxes:
  inbox:
    protocol: directory
    path: /tmp/mail
    tracker: tp
    unknown_user: as_rule_owner
    rules:
      - when subject contains 'down' then create issue in project OPS as Incident
      - then create bug in project OPS
"""


def test_online_check_verifies_issue_types_with_an_adapter_that_lists_them(tmp_path, capsys):
    from tracker_mail_plugin.testing import RecordingAdapter, RecordingConfig

    state = tmp_path / "tracker.json"
    RecordingAdapter(RecordingConfig(state_file=state)).add_project("OPS", issue_types=["Bug"])
    tracker = f"{{adapter: recording, state_file: {state}}}"
    path = write(tmp_path, TYPES.replace("TRACKER", tracker))
    assert main(["check", "-c", str(path)]) == 2
    captured = capsys.readouterr()
    assert "tracker tp: project 'OPS' has no issue type 'Incident' (it has: Bug)\n" in captured.err
    assert "not checked" not in captured.out
    assert captured.err.endswith(
        f"{path}: not ready: fix the problems above; nothing was touched\n"
    )


def test_online_check_says_when_issue_types_were_not_checked(tmp_path, capsys):
    store = tmp_path / "template.json"
    tracker = f"{{adapter: template, path: {store}, projects: [OPS]}}"
    path = write(tmp_path, TYPES.replace("TRACKER", tracker))
    assert main(["check", "-c", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "tracker tp: issue types Bug, Incident not checked: the template adapter cannot list "
        "the tracker's types\n" in out
    )
    assert out.endswith(f"{path}: valid; every tracker and mailbox answered\n")


def test_live_check_names_the_adapter_whose_check_raised_outside_the_error_tree(tmp_path, capsys):
    from tracker_mail_plugin.registry import registered_adapter
    from tracker_mail_plugin.testing import RecordingAdapter

    class Buggy(RecordingAdapter):
        name = "buggy"

        def check(self, requirements=None):
            raise ValueError("Expecting value: line 1 column 1 (char 0)")  # response.json()

    (tmp_path / "mail").mkdir()
    path = write(tmp_path, CONFIG.replace("adapter: recording", "adapter: buggy"))
    with registered_adapter("buggy", Buggy):
        assert main(["check", "-c", str(path)]) == 1
    captured = capsys.readouterr()
    # Not "tracker-mail check: unexpected error (a bug: please report it …)", and the
    # mailbox is still checked.
    assert "unexpected error" not in captured.err
    assert "tracker tp: the buggy adapter's check failed" in captured.err
    assert "ValueError: Expecting value" in captured.err  # the traceback, for its authors
    assert (
        "tracker tp: the buggy adapter failed with ValueError, which is not one of "
        "tracker-mail's errors: a bug in the adapter; report it to its authors with the "
        "traceback above\n" in captured.err
    )
    assert "mailbox inbox: ok" in captured.out
    assert captured.err.endswith(
        f"{path}: not ready: an adapter failed (above); nothing was touched\n"
    )


def test_explain_names_the_adapter_that_failed_and_explains_from_the_options(tmp_path, capsys):
    from tracker_mail_plugin.registry import registered_adapter
    from tracker_mail_plugin.testing import RecordingAdapter

    class Buggy(RecordingAdapter):
        name = "buggy"

        def find_user(self, address):
            raise ValueError("Expecting value: line 1 column 1 (char 0)")  # response.json()

    path = write(tmp_path, CONFIG.replace("adapter: recording", "adapter: buggy"))
    mail = tmp_path / "m.eml"
    mail.write_bytes(raw_mail({"From": "ann@targetprocess.com", "Subject": "hello"}))
    with registered_adapter("buggy", Buggy):
        assert main(["explain", "--format", "json", "-c", str(path), str(mail)]) == 0
    captured = capsys.readouterr()
    assert "unexpected error" not in captured.err
    assert "ValueError: Expecting value" in captured.err  # the traceback, for its authors
    [explained] = [json.loads(line) for line in captured.out.splitlines()]
    assert (
        "tracker tp not consulted (the buggy adapter failed with ValueError, which is not one "
        "of tracker-mail's errors: a bug in the adapter; report it to its authors with the "
        "traceback above); facts from the options" in explained["notes"]
    )
