"""Fields named in rules (``custom_fields: {Order: ORD-12, Components: Mail}``) as Jira input.

Rules name a field by its name as Jira shows it (``Order``, ``Component/s``) or by its id
(``customfield_10050``, ``components``); ``GET /rest/api/2/field`` says which id and which
``schema`` each has, and the schema decides the input format Jira's field documentation
gives: a string as is, a number as a number, an option as ``{"value": …}``, a component or
version as ``{"name": …}``, a list as a list of those (the rule's value split on commas).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tracker_mail_plugin import PermanentError
from tracker_mail_plugin_jira.http import API, JiraHttp
from tracker_mail_plugin_jira.memo import Memo

_NAMED = {"component", "version", "priority", "securitylevel", "issuetype", "resolution"}
_PLAIN = {"string", "date", "datetime", "any"}


@dataclass(frozen=True, slots=True)
class Field:
    """One Jira field: its id and the input shape its schema asks for."""

    id: str
    name: str
    type: str
    items: str | None = None

    def value(self, text: str) -> object:
        """``text`` (from a rule) in the JSON shape this field accepts.

        Raises:
            PermanentError: the field's type cannot be set from text (a user picker, a
                cascading select), or the text is not a number for a number field.
        """
        if self.type == "array":
            parts = [part.strip() for part in text.split(",") if part.strip()]
            return [_single(self, self.items or "string", part) for part in parts]
        return _single(self, self.type, text)


class FieldCatalog:
    """Jira's fields by id and by name, read once per adapter.

    Args:
        http: the connection.
    """

    def __init__(self, http: JiraHttp):
        self._http = http
        self._fields: Memo[str, dict[str, Field]] = Memo()

    def find(self, name: str) -> Field | None:
        """The field with this id, or else with this name (case-insensitive)."""
        fields = self._load()
        if name in fields:
            return fields[name]
        wanted = name.casefold()
        named = [f for f in fields.values() if f.name.casefold() == wanted]
        return named[0] if len(named) == 1 else None

    def inputs(self, values: Mapping[str, str]) -> dict[str, object]:
        """Rule values as ``fields`` entries of a create body.

        Raises:
            PermanentError: a field does not exist, is ambiguous, or cannot be set from text.
        """
        result: dict[str, object] = {}
        for name, text in values.items():
            field = self.find(name)
            if field is None:
                raise PermanentError(f"Jira has no single field called {name!r}")
            result[field.id] = field.value(text)
        return result

    def _load(self) -> dict[str, Field]:
        return self._fields.get("all", self._read)

    def _read(self) -> dict[str, Field]:
        listed = self._http.get(f"{API}/field", what="reading the list of fields") or []
        fields: dict[str, Field] = {}
        for data in listed:
            schema: dict[str, Any] = data.get("schema") or {}
            fields[str(data["id"])] = Field(
                id=str(data["id"]),
                name=str(data.get("name") or data["id"]),
                type=str(schema.get("type") or "any"),
                items=schema.get("items"),
            )
        return fields


def _single(field: Field, kind: str, text: str) -> object:
    if kind in _PLAIN:
        return text
    if kind == "number":
        try:
            return float(text) if "." in text else int(text)
        except ValueError:
            raise PermanentError(f"field {field.name}: {text!r} is not a number") from None
    if kind == "option":
        return {"value": text}
    if kind in _NAMED:
        return {"name": text}
    raise PermanentError(f"field {field.name} ({kind}) cannot be set from mail text")
