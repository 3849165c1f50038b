"""docs/defaults.md lists every policy's built-in default, and each value is the model's."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tracker_mail_plugin.config import model

DOC = Path(__file__).resolve().parents[1] / "docs" / "defaults.md"
ROW = re.compile(r"^\| `(?P<key>[a-z_.]+)` \| (?P<value>[^|]+) \|", re.M)


def _documented() -> dict[str, str]:
    return {m["key"]: m["value"].strip() for m in ROW.finditer(DOC.read_text(encoding="utf-8"))}


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and key not in ("on_success", "on_unprocessed", "on_failure"):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _spelled(value: Any) -> str:
    """How the document writes a value."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, dict):
        inner = ", ".join(f"{k}: {v}" for k, v in value.items())
        return f"`{{{inner}}}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    if isinstance(value, list):
        return "`[]`" if not value else f"`{value}`"
    return f"`{value}`"


def _sizes(key: str, value: Any) -> Any:
    if key in ("max_message_size", "max_attachment_size"):
        return f"{value // 10**6}MB"
    return value


POLICIES = _flatten(model.Policies().model_dump(mode="json"))


@pytest.mark.parametrize("key", sorted(POLICIES))
def test_every_policy_default_is_documented_as_the_model_has_it(key: str) -> None:
    documented = _documented()
    assert key in documented, f"docs/defaults.md does not list {key}"
    value = POLICIES[key]
    if key == "allowed_domains":
        assert documented[key].startswith("none")
    else:
        assert documented[key] == _spelled(_sizes(key, value))


def test_the_rest_of_the_file_and_connection_defaults_match_the_model() -> None:
    documented = _documented()
    config_fields = model.Config.model_fields
    assert documented["journal"] == f"`{config_fields['journal'].default}`"
    assert documented["journal_keep_days"] == _spelled(config_fields["journal_keep_days"].default)
    mailbox = model.Mailbox.model_fields
    for key in ("security", "folder", "timeout", "command_timeout"):
        assert documented[key] == _spelled(mailbox[key].default), key
    smtp = model.Smtp.model_fields
    for key in ("port", "security", "timeout", "command_timeout"):
        assert documented[f"smtp.{key}"] == _spelled(smtp[key].default), key


def test_the_per_protocol_table_matches_the_model() -> None:
    text = DOC.read_text(encoding="utf-8")
    for protocol, chosen in model._PROTOCOL_DEFAULTS.items():
        row = re.search(rf"^\| `{protocol}` \|(.+)\|$", text, re.M)
        assert row, protocol
        cells = [c.strip() for c in row.group(1).split("|")]
        expected = model.Policies().model_dump(mode="json") | chosen
        for cell, key in zip(cells, ("on_success", "on_unprocessed", "on_failure"), strict=True):
            assert cell == _spelled(expected[key]), (protocol, key)
