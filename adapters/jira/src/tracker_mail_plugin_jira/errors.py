"""Jira's readings of HTTP answers, as hooks on the core's one translation.

The shared table of :mod:`tracker_mail_plugin.http` does the rest (5xx: :class:`RetryLater`
for a read, :class:`UnknownOutcome` for a write; nothing sent: :class:`Unreachable`; TLS:
:class:`ConfigurationError`; 404: :class:`NotFound`). What is Jira's own:

- 429 -> :class:`~tracker_mail_plugin.http.retry.RateLimited` (a :class:`RetryLater`) with
  Jira's ``Retry-After``, else until Cloud's ``X-RateLimit-Reset`` (an ISO 8601 time), else
  the minute Atlassian says to wait: the request was refused before it was processed, so
  even a write is safe to repeat; the run pauses for the wait.
- 401 and 403 -> :class:`ConfigurationError`: bad credentials, a CAPTCHA after failed
  logins (``X-Authentication-Denied-Reason``), or an account without a permission the
  configuration relies on; only a person can fix them, and retrying would lock the account.
  A 401 says which options to check; a 403 names the permission Atlassian documents for the
  route that was refused (see :data:`PERMISSIONS`).
- 409 -> :class:`Conflict`, a :class:`PermanentError` some callers expect (a customer's
  account that exists already).
- 413 -> :class:`TooLarge`, a :class:`PermanentError` the inbox catches (an issue that takes
  no more attachments, or a file over Jira's size limit).
- messages carry Atlassian's ``errorMessages`` and field ``errors``, so the quarantine reason
  says which field was refused; never the request or response headers, never credentials.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests

from tracker_mail_plugin import (
    ConfigurationError,
    Failure,
    HttpErrors,
    NotFound,
    PermanentError,
    TrackerMailError,
)
from tracker_mail_plugin.http import DEFAULT_MESSAGES, shorten
from tracker_mail_plugin.http.retry import RateLimited

__all__ = [
    "DEFAULT_RATE_LIMIT_WAIT",
    "Conflict",
    "JiraErrors",
    "NotFound",
    "TooLarge",
    "jira_messages",
]

DEFAULT_RATE_LIMIT_WAIT = 60.0  # Atlassian: back off when a 429 carries no Retry-After

_ISSUE = r"/rest/api/2/issue/[^/]+"
_DESK = r"/rest/servicedeskapi"
# What each route the adapter calls needs of the API user, in the words of the "Permissions
# required" of Atlassian's REST descriptions (platform v3 = v2, Service Management Cloud; Data
# Center documents the same permissions): (method, path pattern, what is needed). The first
# match wins; a route not listed gets the general wording.
PERMISSIONS: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern + "$"), needed)
    for method, pattern, needed in (
        ("POST", r"/rest/api/2/issue", "the Browse projects and Create issues project permissions"),
        ("POST", _ISSUE + "/comment", "the Add comments project permission"),
        ("POST", _ISSUE + "/attachments",
         "the Create attachments project permission, with attachments turned on"),
        ("POST", _ISSUE + "/watchers", "the Manage watcher list project permission"),
        ("POST", _ISSUE + "/transitions", "the Transition issues project permission"),
        ("PUT", _ISSUE + "/properties/[^/]+", "the Edit issues project permission"),
        ("PUT", r"/rest/api/2/comment/[^/]+/properties/[^/]+",
         "the Edit all comments (or Edit own comments) project permission"),
        ("GET", r"/rest/api/2/(?:user|user/search|groupuserpicker)",
         "the Browse users and groups global permission"),
        ("GET", r"/rest/api/2/user/permission/search",
         "the Administer Jira global permission or the Administer projects project permission"),
        ("GET", r"/rest/api/2/(?:issue/.*|search|search/jql)",
         "the Browse projects project permission"),
        ("POST", _DESK + "/customer", "the Administer Jira global permission"),
        ("POST", _DESK + "/servicedesk/[^/]+/customer",
         "to be an administrator of the service desk"),
        ("GET", _DESK + "/servicedesk/[^/]+/customer",
         "permission to view the service desk's customers (an agent of it)"),
        ("POST", _DESK + "/request", "permission to create requests in the service desk (an "
         "agent of it, to raise them on behalf of customers)"),
        ("POST", _DESK + "/request/[^/]+/participant",
         "permission to manage the request's participants"),
        ("POST", _DESK + r"/(?:servicedesk/[^/]+/attachTemporaryFile|request/[^/]+/attachment)",
         "permission to add attachments in the service desk"),
        ("POST", _DESK + "/request/[^/]+/comment",
         "the Add comments permission (an agent of the desk, for internal comments)"),
    )
)  # fmt: skip


class Conflict(PermanentError):
    """Jira answered 409: the thing to create exists already (a customer's account)."""


class TooLarge(PermanentError):
    """Jira answered 413: it takes no more of this upload (per file or per issue)."""


class JiraErrors(HttpErrors):
    """The core's translation with Jira's 409, its error texts and its rate-limit default.

    Args:
        tracker: the tracker's name in messages.
        sign_in: the options a refused sign-in (401) tells the reader to check.
    """

    rate_limit_wait: ClassVar[float | None] = DEFAULT_RATE_LIMIT_WAIT
    messages: ClassVar[Mapping[Failure, str]] = dict(DEFAULT_MESSAGES) | {
        Failure.UNAUTHORIZED: "{tracker} refused the credentials ({status} while {what}: "
        "{said}); check {sign_in}",
        Failure.FORBIDDEN: "{tracker} answered {status} while {what}: {said} ({needs})",
    }

    def __init__(self, tracker: str, sign_in: str = "the credentials"):
        super().__init__(tracker)
        self.sign_in = sign_in

    def translate_status(
        self, response: requests.Response, *, write: bool, what: str
    ) -> TrackerMailError | None:
        """401 says what to check; 409 is a :class:`Conflict`, 413 :class:`TooLarge`.

        429 is :class:`RateLimited`, which reads are not retried after: the run pauses.
        """
        if response.status_code == 429:
            wait = self.retry_after(response)
            shown = "?" if wait is None else f"{wait:.0f}"
            message = self.say(Failure.RATE_LIMITED, response, what, wait=shown)
            return RateLimited(message, retry_after=wait)
        if response.status_code == 401:
            message = self.say(Failure.UNAUTHORIZED, response, what, sign_in=self.sign_in)
            return ConfigurationError(message)
        if response.status_code == 409:
            return Conflict(self.say(Failure.REJECTED, response, what))
        if response.status_code == 413:
            return TooLarge(self.say(Failure.REJECTED, response, what))
        return None

    def forbidden(self, response: requests.Response, *, write: bool, what: str) -> TrackerMailError:
        """A 403 names what the refused route needs (a CAPTCHA: how to clear it)."""
        return ConfigurationError(
            self.say(Failure.FORBIDDEN, response, what, needs=needed_for(response))
        )

    def details(self, response: requests.Response) -> str:
        """Atlassian's error texts (see :func:`jira_messages`)."""
        return jira_messages(response)

    def retry_after(self, response: requests.Response) -> float | None:
        """``Retry-After``, else the time left until ``X-RateLimit-Reset``, else the default.

        Atlassian: 429 answers "may be accompanied by Retry-After and X-RateLimit-Reset", the
        latter an ISO 8601 time (``2025-05-12T14:30Z``) when the limit resets.
        """
        if response.headers.get("Retry-After") is None:
            reset = _reset_time(response.headers.get("X-RateLimit-Reset"))
            if reset is not None:
                return max(reset - time.time(), 1.0)
        return super().retry_after(response)


def needed_for(response: requests.Response) -> str:
    """What the API user needs for the request ``response`` refused, as advice."""
    if response.headers.get("X-Authentication-Denied-Reason"):
        return "sign in to Jira once in a browser as the API user to answer the CAPTCHA"
    request = response.request
    path = urlsplit(str(request.url)).path if request is not None else ""
    method = str(request.method).upper() if request is not None else ""
    for wanted, pattern, needed in PERMISSIONS:
        if wanted == method and pattern.search(path):
            return f"the API user needs {needed}"
    return "the API user lacks a permission"


def _reset_time(value: str | None) -> float | None:
    """Epoch seconds of an ``X-RateLimit-Reset`` time, or ``None`` when absent or unreadable."""
    if not value:
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()


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
