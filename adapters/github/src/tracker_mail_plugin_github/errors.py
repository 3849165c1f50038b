"""The one place where GitHub's answers and ``requests``' exceptions become the core's errors.

What each becomes, and why:

- 403/429 that is a rate limit (``retry-after``, ``x-ratelimit-remaining: 0``, or GitHub's
  "secondary rate limit" message) -> :class:`RetryLater` with the wait GitHub asked for
  (``retry-after``; else until ``x-ratelimit-reset``; else the one minute GitHub's docs say).
  A rate-limited request was refused before it was processed, so even a write is safe to
  repeat.
- 401 -> :class:`ConfigurationError`: only a person can fix credentials.
- any other 403 -> :class:`ConfigurationError` (the token lacks a permission), except a locked
  issue, which is this message's problem -> :class:`PermanentError`. The message names what
  GitHub says the route needs: ``x-accepted-github-permissions`` for GitHub Apps and
  fine-grained tokens (``issues=write``), ``x-accepted-oauth-scopes`` against the token's own
  ``x-oauth-scopes`` for classic tokens.
- 404 on a repository the token cannot see: GitHub hides private repositories behind a 404
  rather than a 403, so the message says both readings.
- 422 and other 4xx -> :class:`PermanentError` with GitHub's own message.
- 5xx -> :class:`RetryLater` for a read, :class:`UnknownOutcome` for a write: GitHub may
  have created the issue before failing.
- no connection, or a connect timeout (nothing was sent) -> :class:`Unreachable`; a read
  timeout or a connection dropped after sending -> :class:`RetryLater` for a read,
  :class:`UnknownOutcome` for a write; a TLS failure -> :class:`ConfigurationError`.

All but the rate limits, the locked 403 and GitHub's wording are the core's shared table
(:mod:`tracker_mail_plugin.http`); :class:`GitHubErrors` holds GitHub's hooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import requests

from tracker_mail_plugin import (
    ConfigurationError,
    Failure,
    HttpErrors,
    PermanentError,
    TrackerMailError,
    parse_retry_after,
)
from tracker_mail_plugin.http import DEFAULT_MESSAGES
from tracker_mail_plugin.http.retry import RateLimited
from tracker_mail_plugin_github.pacing import SECONDARY_WAIT, Clock


def rate_limit_wait(response: requests.Response, now: float) -> float | None:
    """Seconds to wait when ``response`` says we are rate limited, else ``None``.

    Args:
        response: an answer from GitHub.
        now: the current wall-clock time (epoch seconds), to read ``x-ratelimit-reset``.
    """
    if response.status_code not in (403, 429):
        return None
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    if response.headers.get("x-ratelimit-remaining") == "0":
        reset = _number(response.headers.get("x-ratelimit-reset"))
        return max((reset or now) - now, 1.0)
    said = github_message(response).lower()
    # "abuse detection" is the older wording of a secondary limit (GitHub Enterprise Server).
    if response.status_code == 429 or "rate limit" in said or "abuse detection" in said:
        return SECONDARY_WAIT
    return None


def rate_limited(what: str, wait: float) -> RateLimited:
    """The error for a request GitHub refused with a rate limit: retry in ``wait`` seconds.

    A :class:`RateLimited`, so reads are not retried after it: the run pauses instead.
    """
    return RateLimited(f"rate limited while {what}; retry in {wait:.0f}s", retry_after=wait)


class GitHubErrors(HttpErrors):
    """The core's translation with GitHub's rate limits, locked issues and messages.

    Args:
        clock: the clock ``x-ratelimit-reset`` is read against.
    """

    messages: ClassVar[Mapping[Failure, str]] = dict(DEFAULT_MESSAGES) | {
        Failure.UNAUTHORIZED: "GitHub refused the credentials ({status} {said}) while {what}: "
        "the token is wrong, expired or revoked, or the App's private key or id is not this "
        "App's",
        Failure.FORBIDDEN: "GitHub answered {status} to {what}: {said} ({needs})",
        Failure.NOT_FOUND: "GitHub answered {status} to {what}: {said} (it does not exist, "
        "or the credentials cannot see it: GitHub answers 404 for a private repository the "
        "token has no access to)",
        Failure.SERVER_READ: "GitHub answered {status} to {what}: {said}",
        Failure.SERVER_WRITE: "GitHub answered {status} to {what}: {said}; "
        "it may have been done anyway",
        Failure.REJECTED: "GitHub answered {status} to {what}: {said}",
        Failure.BAD_URL: "api_url is not usable: {reason}",
    }

    def __init__(self, clock: Clock):
        super().__init__("GitHub")
        self._clock = clock

    def translate_status(
        self, response: requests.Response, *, write: bool, what: str
    ) -> TrackerMailError | None:
        """Rate limits (also as 403s), and a redirect not followed (a moved repository)."""
        wait = rate_limit_wait(response, self._clock.time())
        if wait is not None:
            return rate_limited(what, wait)
        if 300 <= response.status_code < 400:
            # Only a write gets here (reads follow redirects): this message's problem.
            return PermanentError(self.say(Failure.REJECTED, response, what))
        return None

    def forbidden(self, response: requests.Response, *, write: bool, what: str) -> TrackerMailError:
        """A locked issue is this message's problem; any other 403 a missing permission."""
        if "locked" in github_message(response).lower():
            return PermanentError(self.say(Failure.REJECTED, response, what))
        return ConfigurationError(
            self.say(Failure.FORBIDDEN, response, what, needs=missing_permission(response))
        )

    def details(self, response: requests.Response) -> str:
        """GitHub's ``message`` with its validation ``errors``."""
        return github_message(response)


def missing_permission(response: requests.Response) -> str:
    """What a 403 says the route needs, from GitHub's own headers, as advice to the reader.

    GitHub sends ``x-accepted-github-permissions`` to GitHub Apps and fine-grained tokens
    (sets separated by ``;``, any one set suffices) and ``x-accepted-oauth-scopes`` with the
    token's ``x-oauth-scopes`` to classic tokens.
    """
    permissions = response.headers.get("x-accepted-github-permissions", "").strip()
    if permissions:
        sets = [
            " and ".join(part.strip() for part in one.split(",") if part.strip())
            for one in permissions.split(";")
            if one.strip()
        ]
        return f"the token or App lacks a permission: this needs {' or '.join(sets)}"
    accepted = response.headers.get("x-accepted-oauth-scopes", "").strip()
    if accepted:
        held = response.headers.get("x-oauth-scopes", "").strip() or "none"
        return f"the token lacks a scope: this needs {accepted}; it has {held}"
    return "the token or App lacks this permission"


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


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
