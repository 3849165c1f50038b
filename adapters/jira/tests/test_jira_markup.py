"""Mail text shown as written in Jira's wiki markup."""

from __future__ import annotations

from tracker_mail_plugin_jira.markup import attributed, from_line, wiki_text

from tracker_mail_plugin import UserRef


def test_macros_links_mentions_and_images_are_escaped():
    assert wiki_text("{code}x{code} [~admin] [a|http://x] !img.png! C:\\tmp") == (
        "\\{code\\}x\\{code\\} \\[~admin\\] \\[a|http://x\\] \\!img.png\\! C:\\\\tmp"
    )


def test_ordinary_text_is_unchanged():
    assert wiki_text("Hello *team*, see https://example.com/a_b - thanks") == (
        "Hello *team*, see https://example.com/a_b - thanks"
    )


def test_the_sender_line():
    assert from_line(UserRef("1", None, "Mia", "mia@example.com")) == "From: Mia <mia@example.com>"
    assert (
        from_line(UserRef("1", None, "mia@example.com", "mia@example.com"))
        == "From: mia@example.com"
    )
    assert from_line(UserRef("acc-1", None, "", None)) == "From: acc-1"
    assert attributed("Body", None) == "Body"
