"""YAML syntax errors name the line to fix and the usual cause."""

import pytest

from tracker_mail_plugin.cli import main
from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text


def first_problem(text: str) -> str:
    with pytest.raises(ConfigFileError) as caught:
        load_config_text(text)
    assert len(caught.value.problems) == 1
    return str(caught.value.problems[0])


def test_a_key_without_its_colon_is_named_on_its_own_line_not_the_next():
    text = "version: 1\ntrackers\n  t: {adapter: x}\nmailboxes: {}\n"
    assert first_problem(text) == (
        "rules.yaml:2:1: not valid YAML: this line has no ':' after its key (write "
        "`key: value`), or the line below it is indented too far"
    )


def test_a_line_indented_less_than_its_neighbours():
    text = "version: 1\nmailboxes:\n  support:\n    protocol: maildir\n   path: mail\n"
    assert first_problem(text) == (
        "rules.yaml:5:1: not valid YAML: this line's indentation does not line up with the "
        "lines above it (the keys of one mapping start in the same column, indented with spaces)"
    )


def test_a_line_indented_under_a_key_that_already_has_a_value():
    text = "mailboxes:\n  s:\n    tracker: t\njournal: j\n    rules: []\n"
    assert first_problem(text) == (
        "rules.yaml:5:5: not valid YAML: this line is indented further than line 4, which "
        "already has a value; line up keys of the same mapping in the same column"
    )


def test_a_tab():
    assert first_problem("version: 1\nmailboxes:\n\tsupport: {}\n") == (
        "rules.yaml:3:1: not valid YAML: a tab; YAML indents with spaces only"
    )


def test_a_regular_expression_in_double_quotes():
    text = 'rules:\n  - {when: {subject_matches: "ORD-\\d+"}}\n'
    assert first_problem(text) == (
        "rules.yaml:2:36: not valid YAML: in double quotes a backslash starts an escape, so "
        "\"\\d\" is not allowed; write regular expressions in single quotes ('ORD-\\d+'), "
        "where backslashes are kept as they are"
    )


def test_a_quote_never_closed_is_named_where_it_opens():
    text = "version: 1\nrules:\n  - 'then create issue in project X\nmailboxes: {}\n"
    assert first_problem(text) == (
        "rules.yaml:3:5: not valid YAML: the quote opened here is never closed"
    )


def test_an_unquoted_colon_inside_a_value():
    text = "rules:\n  - then: create issue: in project X\n"
    assert first_problem(text) == (
        "rules.yaml:2:23: not valid YAML: a value containing ': ' must be quoted, e.g. "
        "'create issue in project X: urgent'"
    )


def test_check_prints_the_hint_and_exits_2(tmp_path, capsys):
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nmailboxes:\n\tsupport: {}\n")
    assert main(["check", "-c", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3:1: not valid YAML: a tab; YAML indents with spaces only\n" in err
