"""The one place where GitHub's answers and ``requests``' exceptions become the core's errors.

What each becomes, and why:

- 403/429 that is a rate limit (``retry-after``, ``x-ratelimit-remaining: 0``, or GitHub's
  "secondary rate limit" message) -> :class:`RetryLater` with the wait GitHub asked for
  (``retry-after``; else until ``x-ratelimit-reset``; else the one minute GitHub's docs say).
  A rate-limited request was refused before it was processed, so even a write is safe to
  repeat.
- 401 -> :class:`ConfigurationError`: only a person can fix credentials.
- any other 403 -> :class:`ConfigurationError` (the token lacks a permission), except a locked
  issue, which is this message's problem -> :class:`PermanentError`.
- 422 and other 4xx -> :class:`PermanentError` with GitHub's own message.
- 5xx -> :class:`RetryLater` for a read, :class:`UnknownOutcome` for a write: GitHub may
  have created the issue before failing.
- no connection, or a connect timeout (nothing was sent) -> :class:`Unreachable`; a read
  timeout or a connection dropped after sending -> :class:`RetryLater` for a read,
  :class:`UnknownOutcome` for a write.
"""

from __future__ import annotations

from typing import Any

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from tracker_mail_plugin import (
    ConfigurationError,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
)

SECONDARY_WAIT = 60.0  # GitHub: "wait for at least one minute before retrying"


def rate_limit_wait(response: requests.Response, now: float) -> float | None:
    """Seconds to wait when ``response`` says we are rate limited, else ``None``.

    Args:
        response: an answer from GitHub.
        now: the current wall-clock time (epoch seconds), to read ``x-ratelimit-reset``.
    """
    if response.status_code not in (403, 429):
        return None
    retry_after = _number(response.headers.get("retry-after"))
    if retry_after is not None:
        return max(retry_after, 1.0)
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = _number(response.headers.get("x-ratelimit-reset"))
        return max((reset or now) - now, 1.0)
    if response.status_code == 429 or "rate limit" in github_message(response).lower():
        return SECONDARY_WAIT
    return None


def error_for_response(
    response: requests.Response, *, write: bool, what: str, now: float
) -> TrackerMailError:
    """The core error for an unexpected answer to the request described by ``what``."""
    status = response.status_code
    said = github_message(response)
    where = f"GitHub answered {status} to {what}: {said}"
    wait = rate_limit_wait(response, now)
    if wait is not None:
        return RetryLater(f"rate limited while {what}; retry in {wait:.0f}s", retry_after=wait)
    if status == 401:
        return ConfigurationError(f"GitHub refused the credentials ({status} {said})")
    if status == 403:
        if "locked" in said.lower():
            return PermanentError(where)
        return ConfigurationError(f"{where} (the token or App lacks this permission)")
    if status >= 500:
        if write:
            return UnknownOutcome(f"{where}; it may have been done anyway")
        return RetryLater(where)
    return PermanentError(where)


def error_for_exception(
    exc: requests.RequestException, *, write: bool, what: str
) -> TrackerMailError:
    """The core error for a request that got no usable answer."""
    if isinstance(exc, requests.ConnectTimeout) or _never_sent(exc):
        return Unreachable(f"cannot reach GitHub while {what}: {_describe(exc)}")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
        return ConfigurationError(f"api_url is not usable: {_describe(exc)}")
    if write:
        return UnknownOutcome(
            f"no answer from GitHub while {what} ({_describe(exc)}); it may have been done"
        )
    return RetryLater(f"no answer from GitHub while {what}: {_describe(exc)}")


def github_message(response: requests.Response) -> str:
    """GitHub's ``message`` with its validation ``errors``, or the reason phrase."""
    try:
        data: Any = response.json()
    except ValueError:
        return response.reason or "no message"
    if not isinstance(data, dict):
        return response.reason or "no message"
    message = str(data.get("message") or response.reason or "no message")
    details = [_detail(error) for error in data.get("errors") or [] if error]
    return f"{message} ({'; '.join(details)})" if details else message


def _detail(error: object) -> str:
    if not isinstance(error, dict):
        return str(error)
    if error.get("message"):
        return str(error["message"])
    parts = [str(error[k]) for k in ("resource", "field", "code") if error.get(k)]
    return " ".join(parts)


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


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
