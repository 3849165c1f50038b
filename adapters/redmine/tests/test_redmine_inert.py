"""A sender's text cannot make Redmine fetch remote images or notify users by mention."""

from __future__ import annotations

import pytest
from tracker_mail_plugin_redmine.inert import WORD_JOINER, inert

J = WORD_JOINER


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see !https://t.example/p.png!", f"see !{J}https://t.example/p.png!"),
        ("!>(big){width:1px}//t.example/p.png!", f"!{J}>(big){{width:1px}}//t.example/p.png!"),
        ("a !local.png! b", "a !local.png! b"),  # an attachment of the issue stays an image
        ("Wow! It works!", "Wow! It works!"),
    ],
)
def test_textile_remote_images_are_no_longer_images(text: str, expected: str) -> None:
    assert inert(text, "textile") == expected


@pytest.mark.parametrize("formatting", ["markdown", "common_mark"])
def test_markdown_images_and_img_tags_are_no_longer_images(formatting: str) -> None:
    text = 'x ![](https://t.example/p.png) ![a][r]\n\n[r]: //t.example/q.png\n<IMG src="https://t">'
    assert inert(text, formatting) == (  # type: ignore[arg-type]
        f"x !{J}[](https://t.example/p.png) !{J}[a][r]\n\n[r]: //t.example/q.png\n"
        f'<{J}IMG src="https://t">'
    )


@pytest.mark.parametrize("formatting", ["textile", "markdown", "common_mark", "plain"])
def test_mentions_no_longer_notify_but_addresses_stay(formatting: str) -> None:
    text = "cc @admin, (@jsmith) and write to bob@example.com or @ noon"
    assert inert(text, formatting) == (  # type: ignore[arg-type]
        f"cc @{J}admin, (@{J}jsmith) and write to bob@example.com or @ noon"
    )


def test_plain_text_keeps_its_exclamation_marks() -> None:
    assert inert("!https://t.example/p.png!", "plain") == "!https://t.example/p.png!"
