"""RE2 expressions searched in UTF-8 bytes answer as the same searches on ``str`` do."""

from __future__ import annotations

import pytest
import re2

from tracker_mail_plugin.mail.utf8_regex import Utf8Pattern

OPTIONS = re2.Options()
OPTIONS.case_sensitive = False
LINES = (
    "Von: Jürgen Müller",
    "VON:x",
    "Objet : été",
    "差出人: 山田",
    "Тема: привет",
    "",
    "plain text",
)


@pytest.mark.parametrize("line", LINES)
def test_found_and_groups_match_the_str_search(line: str) -> None:
    pattern = r"^\s*(Von|Objet|差出人|тема)\s*:\s*(.{0,3})"
    fast = Utf8Pattern(pattern, OPTIONS)
    match = re2.compile(pattern, OPTIONS).search(line)
    assert fast.found(line) == (match is not None)
    assert fast.first_group(line) == (match.group(1) if match else None)


def test_a_character_class_reads_whole_characters() -> None:
    three = Utf8Pattern(r"^(.{3})$", OPTIONS)
    assert three.first_group("Grü") == "Grü"  # three characters, four bytes
    assert not three.found("Grüß")


def test_a_lone_surrogate_raises_as_the_str_search_does() -> None:
    with pytest.raises(UnicodeEncodeError):
        re2.compile("x", OPTIONS).search("\ud800")
    with pytest.raises(UnicodeEncodeError):
        Utf8Pattern("x", OPTIONS).found("\ud800")
