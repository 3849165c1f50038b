"""Jira's readings of HTTP answers, as hooks on the core's one translation.

The shared table of :mod:`tracker_mail_plugin.http` does the rest (5xx: :class:`RetryLater`
for a read, :class:`UnknownOutcome` for a write; nothing sent: :class:`Unreachable`; TLS:
:class:`ConfigurationError`; 404: :class:`NotFound`). What is Jira's own:

- 429 -> :class:`RetryLater` with Jira's ``Retry-After``, else the minute Atlassian says to
  wait: the request was refused before it was processed, so even a write is safe to repeat.
- 401 and 403 -> :class:`ConfigurationError`: bad credentials, a CAPTCHA after failed
  logins (``X-Authentication-Denied-Reason``), or an account without a permission the
  configuration relies on; only a person can fix them, and retrying would lock the account.
- 409 -> :class:`Conflict`, a :class:`PermanentError` some callers expect (a customer's
  account that exists already).
- 413 -> :class:`TooLarge`, a :class:`PermanentError` the inbox catches (an issue that takes
  no more attachments, or a file over Jira's size limit).
- messages carry Atlassian's ``errorMessages`` and field ``errors``, so the quarantine reason
  says which field was refused; never the request or response headers, never credentials.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import requests

from tracker_mail_plugin import (
    Failure,
    HttpErrors,
    NotFound,
    PermanentError,
    TrackerMailError,
)
from tracker_mail_plugin.http import DEFAULT_MESSAGES, shorten

__all__ = [
    "DEFAULT_RATE_LIMIT_WAIT",
    "Conflict",
    "JiraErrors",
    "NotFound",
    "TooLarge",
    "jira_messages",
]

DEFAULT_RATE_LIMIT_WAIT = 60.0  # Atlassian: back off when a 429 carries no Retry-After


class Conflict(PermanentError):
    """Jira answered 409: the thing to create exists already (a customer's account)."""


class TooLarge(PermanentError):
    """Jira answered 413: it takes no more of this upload (per file or per issue)."""


class JiraErrors(HttpErrors):
    """The core's translation with Jira's 409, its error texts and its rate-limit default."""

    rate_limit_wait: ClassVar[float | None] = DEFAULT_RATE_LIMIT_WAIT
    messages: ClassVar[Mapping[Failure, str]] = dict(DEFAULT_MESSAGES) | {
        Failure.FORBIDDEN: "{tracker} answered {status} while {what}: {said} "
        "(the account lacks a permission, or needs a CAPTCHA)",
    }

    def translate_status(
        self, response: requests.Response, *, write: bool, what: str
    ) -> TrackerMailError | None:
        """409 is a :class:`Conflict` and 413 :class:`TooLarge`, which callers catch."""
        if response.status_code == 409:
            return Conflict(self.say(Failure.REJECTED, response, what))
        if response.status_code == 413:
            return TooLarge(self.say(Failure.REJECTED, response, what))
        return None

    def details(self, response: requests.Response) -> str:
        """Atlassian's error texts (see :func:`jira_messages`)."""
        return jira_messages(response)


def jira_messages(response: requests.Response) -> str:
    """Atlassian's error texts: ``errorMessages``, field ``errors`` as ``field: text``."""
    denied = response.headers.get("X-Authentication-Denied-Reason")
    if denied:
        return f"authentication denied: {denied}"
    try:
        data: Any = response.json()
    except ValueError:
        return shorten(response.reason or "no message")
    if not isinstance(data, dict):
        return shorten(response.reason or "no message")
    texts = [str(text) for text in data.get("errorMessages") or [] if text]
    errors = data.get("errors")
    if isinstance(errors, dict):
        texts += [f"{field}: {text}" for field, text in errors.items()]
    for key in ("errorMessage", "message"):  # JSM and gateway answers
        if not texts and data.get(key):
            texts.append(str(data[key]))
    return shorten("; ".join(texts) or response.reason or "no message")
