"""Typical mistakes in rules.yaml: each reported with its line, column and a plain sentence."""

import textwrap

import pytest

from tracker_mail_plugin.config.loader import ConfigFileError, load_config, load_config_text

GOOD = """\
version: 1
trackers:
  redmine-main:
    adapter: redmine
    url: https://redmine.example.com
    api_key: {env: REDMINE_API_KEY}
mailboxes:
  support:
    protocol: imap
    host: imap.example.com
    username: support@example.com
    password: {env: SUPPORT_IMAP_PASSWORD}
    tracker: redmine-main
    rules:
      - name: billing
        when: {subject_contains: [invoice, billing]}
        then: [{create_issue: {project: billing, type: Bug}}]
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigFileError) as exc:
        load_config_text(textwrap.dedent(text), "rules.yaml")
    return [str(p) for p in exc.value.problems]


def broken(old: str, new: str) -> list[str]:
    assert old in GOOD
    return problems(GOOD.replace(old, new))


def test_the_good_file_loads():
    loaded = load_config_text(GOOD, "rules.yaml")
    assert list(loaded.config.mailboxes) == ["support"]
    assert loaded.config.mailboxes["support"].effective_port == 993


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        # 1. a misspelt condition
        (
            "{subject_contains:",
            "{subjcet_contains:",
            "rules.yaml:16:16: subjcet_contains: unknown condition; did you mean 'subject_contains'?",
        ),
        # 2. a misspelt action
        (
            "{create_issue:",
            "{create_isue:",
            "rules.yaml:17:16: mailboxes.support.rules[0].then[0]: unknown action 'create_isue'; did you mean 'create_issue'?",
        ),
        # 3. a password written into the file
        (
            "password: {env: SUPPORT_IMAP_PASSWORD}",
            "password: hunter2",
            "rules.yaml:12:15: password: a secret must not be written in the file; write a reference instead, {env: VARIABLE_NAME} to read it from the environment or {file: /path/to/file} to read it from a file",
        ),
        # 4. an API key written into a tracker's options
        (
            "api_key: {env: REDMINE_API_KEY}",
            "api_key: 0123456789abcdef",
            "rules.yaml:6:14: api_key: a secret must not be written in the file",
        ),
        # 5. a mailbox naming a tracker that does not exist
        (
            "tracker: redmine-main",
            "tracker: redmine-mian",
            "rules.yaml:13:14: unknown tracker 'redmine-mian'; did you mean 'redmine-main'?",
        ),
        # 6. a wrong type: port as text
        (
            "host: imap.example.com",
            "host: imap.example.com\n    port: nine-nine-three",
            "rules.yaml:11:11: mailboxes.support.port: input should be a valid integer",
        ),
        # 7. an unknown protocol
        (
            "protocol: imap",
            "protocol: imap4",
            "rules.yaml:9:15: mailboxes.support.protocol: should be 'imap', 'pop3', 'graph', 'maildir', 'mbox', 'directory' or 'pipe'",
        ),
        # 8. a policy with a value it does not know
        (
            "tracker: redmine-main",
            "tracker: redmine-main\n    unknown_user: as_owner",
            "rules.yaml:14:19: mailboxes.support.unknown_user: should be 'reject', 'as_rule_owner' or 'create_user'",
        ),
        # 9. an action the rule language does not know
        (
            "then: [{create_issue: {project: billing, type: Bug}}]",
            'then: "escalate to project billing"',
            "rules.yaml:17:16: mailboxes.support.rules[0].then: expected 'attach', 'create', 'comment', 'add', 'forward' or 'ignore', found 'escalate'",
        ),
        # 10. an unknown option of an action
        (
            "type: Bug}",
            "type: Bug, colour: red}",
            "rules.yaml:17:61: colour: unknown option of create_issue; expected one of:",
        ),
        # 11. a broken regular expression
        (
            "{subject_contains: [invoice, billing]}",
            "{subject_matches: 'INV-(\\d+'}",
            "rules.yaml:16:33: mailboxes.support.rules[0].when.subject_matches: not a valid regular expression: missing ), unterminated subpattern at position 4",
        ),
        # 12. a placeholder that no condition provides
        (
            "type: Bug}",
            'type: Bug, title: "{match.ticket}: {subject}"}',
            "rules.yaml:15:9: mailboxes.support.rules[0]: {match.ticket} is not a named group of this rule's regular expressions",
        ),
        # 13. security none to a remote host
        (
            "username: support@example.com",
            "username: support@example.com\n    security: none",
            "rules.yaml:9:5: mailboxes.support: security: none sends the password in clear",
        ),
        # 14. an unknown top-level key
        (
            "version: 1",
            "version: 1\nmailbox: {}",
            "rules.yaml:2:1: mailbox: unknown top-level key; did you mean 'mailboxes'?",
        ),
        # 15. a version this program does not know
        ("version: 1", "version: 2", "rules.yaml:1:10: version: should be 1"),
        # 16. a forward with no smtp server
        (
            "then: [{create_issue: {project: billing, type: Bug}}]",
            "then: [{forward: boss@example.com}]",
            "rules.yaml:8:3: mailbox 'support' forwards mail (a forward action) but no smtp server is configured",
        ),
        # 17. a size that is not a size
        (
            "tracker: redmine-main",
            "tracker: redmine-main\n    max_message_size: huge",
            "rules.yaml:14:23: mailboxes.support.max_message_size: not a size; write a number of bytes or e.g. 25MB, 512KiB",
        ),
        # 18. a rule without actions
        (
            "then: [{create_issue: {project: billing, type: Bug}}]",
            "then: []",
            "rules.yaml:17:15: mailboxes.support.rules[0].then: list should have at least 1 item after validation, not 0",
        ),
    ],
)
def test_mistake_is_reported_with_position_and_sentence(old, new, expected):
    found = broken(old, new)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_at_once():
    text = GOOD.replace("{subject_contains:", "{subjcet_contains:").replace(
        "tracker: redmine-main", "tracker: nope"
    )
    text = text.replace("password: {env: SUPPORT_IMAP_PASSWORD}", "password: hunter2")
    found = problems(text)
    assert [p.split(":")[1] for p in found] == ["12", "13", "16"]


def test_syntax_error_in_yaml_has_its_position():
    assert problems("version: 1\ntrackers: [unclosed\n") == [
        "rules.yaml:3:1: not valid YAML: expected ',' or ']', but got '<stream end>'"
    ]


def test_duplicate_key_is_an_error():
    found = problems(
        GOOD.replace(
            "    tracker: redmine-main\n", "    tracker: redmine-main\n    tracker: redmine-main\n"
        )
    )
    assert (
        "rules.yaml:14:5: mailboxes.support.tracker: written twice; the second would win" in found
    )


def test_rule_language_error_points_at_the_word_inside_the_string():
    text = GOOD.replace(
        "      - name: billing\n        when: {subject_contains: [invoice, billing]}\n        then: [{create_issue: {project: billing, type: Bug}}]\n",
        "      - when subject contians 'x' then ignore\n",
    )
    assert problems(text) == [
        "rules.yaml:15:22: mailboxes.support.rules[0]: expected 'contains', 'contain', 'matches' or 'match', found 'contians'; did you mean 'contains'?"
    ]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigFileError) as exc:
        load_config(tmp_path / "nope.yaml")
    assert str(exc.value.problems[0]).endswith("cannot read the file: No such file or directory")


def test_company_rule_for_a_project_no_company_owns_is_a_warning():
    text = GOOD.replace("{subject_contains: [invoice, billing]}", "{company_matches_project: 7}")
    loaded = load_config_text(text, "rules.yaml")
    assert [str(w) for w in loaded.warnings if "trust" not in str(w)] == [
        "rules.yaml:15:9: warning: no company in `companies` owns project 7; unless the tracker knows organisations, 'company matched to project 7' never holds"
    ]


def test_pop3_mailbox_gets_folderless_defaults():
    text = GOOD.replace("protocol: imap", "protocol: pop3")
    policies = load_config_text(text, "rules.yaml").policies("support")
    assert (policies.on_success, policies.on_failure) == ("leave", "leave")
    imap = load_config_text(GOOD, "rules.yaml").policies("support")
    assert (imap.on_success, imap.on_failure.move) == ("flag_seen", "Quarantine")


def test_pop3_mailbox_refuses_an_explicit_move():
    found = problems(
        GOOD.replace("protocol: imap", "protocol: pop3").replace(
            "tracker: redmine-main", "tracker: redmine-main\n    on_success: {move: Done}"
        )
    )
    assert found == [
        "rules.yaml:14:17: on_success: a pop3 mailbox has no folders to move to; use delete or leave"
    ]


@pytest.mark.parametrize(
    ("written", "size"),
    [
        ("25MB", 25_000_000),
        ("512 KiB", 524_288),
        ("1.5mb", 1_500_000),
        ("2GiB", 2 * 2**30),
        ("4096", 4096),
    ],
)
def test_sizes_are_read_in_decimal_and_binary_units(written, size):
    text = GOOD.replace(
        "tracker: redmine-main", f"tracker: redmine-main\n    max_message_size: {written}"
    )
    assert load_config_text(text, "rules.yaml").policies("support").max_message_size == size


def test_a_size_of_zero_is_refused_at_its_line():
    assert broken("tracker: redmine-main", "tracker: redmine-main\n    max_attachment_size: 0") == [
        "rules.yaml:14:26: mailboxes.support.max_attachment_size: input should be greater than 0"
    ]
