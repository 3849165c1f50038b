"""Secrets as references: ``{env: NAME}`` or ``{file: path}``, never the value in the file.

A :class:`Secret` holds where the value lives, not the value; it is read only when a
connection is made, and it prints as ``***`` everywhere (repr, str, logs, ``check``,
``explain``), so a config dump or a traceback cannot leak it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import GetCoreSchemaHandler
from pydantic_core import core_schema

MASK = "***"

SECRET_HOW_TO = (
    "write a reference instead, {env: VARIABLE_NAME} to read it from the environment "  # noqa: S105
    "or {file: /path/to/file} to read it from a file"
)


class SecretError(ValueError):
    """A secret reference that cannot be read (variable unset, file missing)."""


class Secret:
    """A reference to a secret value, masked in every textual form."""

    __slots__ = ("_env", "_file", "_value")

    def __init__(
        self, *, env: str | None = None, file: str | None = None, value: str | None = None
    ):
        if sum(x is not None for x in (env, file, value)) != 1:
            raise ValueError("a secret is exactly one of env, file or value")
        self._env = env
        self._file = file
        self._value = value  # only ever set by code (tests, OAuth tokens), never from YAML

    @property
    def source(self) -> str:
        """Where the value comes from, safe to print: ``env:NAME`` or ``file:path``."""
        if self._env is not None:
            return f"env:{self._env}"
        if self._file is not None:
            return f"file:{self._file}"
        return "value given in code"

    def anchored(self, folder: Path) -> Secret:
        """This reference with a relative file path made relative to ``folder`` instead.

        The configuration's folder, as for every relative path in it: cron and mail servers
        start commands in another folder than the one the file was written in.
        """
        if self._file is None or Path(self._file).expanduser().is_absolute():
            return self
        return Secret(file=str(folder / self._file))

    def reveal(self) -> str:
        """Read the value now; raises SecretError saying which reference failed."""
        if self._value is not None:
            return self._value
        if self._env is not None:
            value = os.environ.get(self._env)
            if value is None:
                raise SecretError(f"environment variable {self._env} is not set")
            return value
        assert self._file is not None  # noqa: S101 - guaranteed by __init__
        try:
            return Path(self._file).expanduser().read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SecretError(
                f"cannot read secret file {self._file}: {exc.strerror or exc}"
            ) from None

    def __repr__(self) -> str:
        return f"Secret({self.source}, {MASK})"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return (self._env, self._file, self._value) == (other._env, other._file, other._value)

    def __hash__(self) -> int:
        return hash((self._env, self._file, self._value))

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> Any:
        """Accept ``{env: NAME}`` / ``{file: path}`` (or a Secret); refuse literal strings."""
        return core_schema.no_info_plain_validator_function(
            _validate_secret,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda secret: {"env": secret._env} if secret._env else {"file": secret._file}
            ),
        )


def _validate_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        raise ValueError(f"a secret must not be written in the file; {SECRET_HOW_TO}")
    if isinstance(value, dict) and len(value) == 1:
        kind, ref = next(iter(value.items()))
        if kind in ("env", "file") and isinstance(ref, str) and ref.strip():
            return Secret(env=ref.strip()) if kind == "env" else Secret(file=ref.strip())
    raise ValueError(f"not a secret reference; {SECRET_HOW_TO}")
