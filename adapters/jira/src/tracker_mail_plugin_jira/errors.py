"""The one place where Jira's answers and ``requests``' exceptions become the core's errors.

What each becomes, and why:

- 429 -> :class:`RetryLater` with Jira's ``Retry-After``: the request was refused before it
  was processed, so even a write is safe to repeat.
- 401 and 403 -> :class:`ConfigurationError`: bad credentials, a CAPTCHA after failed
  logins (``X-Authentication-Denied-Reason``), or an account without a permission the
  configuration relies on; only a person can fix them, and retrying would lock the account.
- 400, 404, 409 and other 4xx -> :class:`PermanentError` with Jira's ``errorMessages`` and
  field ``errors``, so the quarantine reason says which field was refused (404 and 409 as
  the subclasses :class:`NotFound` and :class:`Conflict`, which some callers expect).
- 5xx -> :class:`RetryLater` for a read; :class:`UnknownOutcome` for a write, since Jira
  may have created the issue before failing.
- no connection or a connect timeout (nothing was sent) -> :class:`Unreachable`; a read
  timeout or a connection lost after sending -> :class:`RetryLater` for a read,
  :class:`UnknownOutcome` for a write.

Messages carry the status and Atlassian's own error texts, never the request or response
headers (``str(JIRAError)`` includes both) and never credentials.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from jira.exceptions import JIRAError
from urllib3.exceptions import MaxRetryError, NewConnectionError

from tracker_mail_plugin import (
    ConfigurationError,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
)

DEFAULT_RATE_LIMIT_WAIT = 60.0  # Atlassian: back off when a 429 carries no Retry-After
_MAX_TEXT = 500


class NotFound(PermanentError):
    """Jira answered 404: the issue, project or user does not exist (or is not visible).

    A :class:`PermanentError` to the core; callers that expect a missing object (looking up
    an issue named in a subject) catch it and answer ``None``.
    """


class Conflict(PermanentError):
    """Jira answered 409: the thing to create exists already (a customer's account)."""


@contextmanager
def translated(what: str, *, write: bool) -> Iterator[None]:
    """Run a Jira call, turning whatever it raises into the core's error tree.

    Args:
        what: what the call does, for the message (``"creating an issue in SD"``).
        write: whether the call changes something in Jira (decides 5xx and timeouts).
    """
    try:
        yield
    except JIRAError as exc:
        raise error_for_response(exc.response, exc.status_code, write=write, what=what) from None
    except requests.RequestException as exc:
        raise error_for_exception(exc, write=write, what=what) from None


def error_for_response(
    response: requests.Response | None, status: int | None, *, write: bool, what: str
) -> TrackerMailError:
    """The core error for Jira's non-2xx answer (``status``) to the call ``what``."""
    if response is None or status is None:
        # The library raises statusless errors for answers it cannot read.
        said = "Jira gave no usable answer"
        return UnknownOutcome(f"{said} while {what}") if write else RetryLater(f"{said}: {what}")
    said = jira_messages(response)
    where = f"Jira answered {status} while {what}: {said}"
    if status == 429:
        wait = retry_after(response.headers.get("Retry-After"), time.time())
        wait = DEFAULT_RATE_LIMIT_WAIT if wait is None else wait
        return RetryLater(f"rate limited while {what}; retry in {wait:.0f}s", retry_after=wait)
    if status == 401:
        return ConfigurationError(f"Jira refused the credentials (401 while {what}: {said})")
    if status == 403:
        return ConfigurationError(f"{where} (the account lacks a permission, or needs a CAPTCHA)")
    if status == 404:
        return NotFound(where)
    if status == 409:
        return Conflict(where)
    if status >= 500:
        if write:
            return UnknownOutcome(f"{where}; it may have been done anyway")
        wait = retry_after(response.headers.get("Retry-After"), time.time())
        return RetryLater(where, retry_after=wait)
    return PermanentError(where)


def error_for_exception(
    exc: requests.RequestException, *, write: bool, what: str
) -> TrackerMailError:
    """The core error for a call that got no answer at all."""
    if isinstance(exc, requests.ConnectTimeout) or _never_sent(exc):
        return Unreachable(f"cannot reach Jira while {what}: {_describe(exc)}")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
        return ConfigurationError(f"url is not usable: {_describe(exc)}")
    if write:
        return UnknownOutcome(
            f"no answer from Jira while {what} ({_describe(exc)}); it may be done"
        )
    return RetryLater(f"no answer from Jira while {what}: {_describe(exc)}")


def jira_messages(response: requests.Response) -> str:
    """Atlassian's error texts: ``errorMessages``, field ``errors`` as ``field: text``."""
    denied = response.headers.get("X-Authentication-Denied-Reason")
    if denied:
        return f"authentication denied: {denied}"
    try:
        data: Any = response.json()
    except ValueError:
        return _short(response.reason or "no message")
    if not isinstance(data, dict):
        return _short(response.reason or "no message")
    texts = [str(text) for text in data.get("errorMessages") or [] if text]
    errors = data.get("errors")
    if isinstance(errors, dict):
        texts += [f"{field}: {text}" for field, text in errors.items()]
    for key in ("errorMessage", "message"):  # JSM and gateway answers
        if not texts and data.get(key):
            texts.append(str(data[key]))
    return _short("; ".join(texts) or response.reason or "no message")


def retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), if usable."""
    if not value:
        return None
    try:
        return max(float(value), 1.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 1.0)


def _never_sent(exc: requests.RequestException) -> bool:
    """True when the connection was never made, so the request cannot have arrived."""
    if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.ProxyError)):
        return True
    cause = exc.args[0] if exc.args else None
    if isinstance(cause, MaxRetryError):
        return isinstance(cause.reason, NewConnectionError)
    return isinstance(cause, NewConnectionError)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _short(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"
