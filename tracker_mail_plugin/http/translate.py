"""HTTP answers and ``requests`` failures in the core's error tree, with hooks for trackers."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, ClassVar

import requests
from urllib3.exceptions import InvalidHeader, NewConnectionError
from urllib3.util import Retry

from tracker_mail_plugin.errors import (
    ConfigurationError,
    NotFound,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
)

_MAX_TEXT = 500
# Only its parse_retry_after is used: one parser for both forms, capped like urllib3's own.
_RETRY = Retry(total=0)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (seconds or an HTTP date), if usable.

    At least one second: ``0`` or a date in the past still means "not right now".
    """
    if not value or not value.strip():
        return None
    try:
        return max(float(_RETRY.parse_retry_after(value)), 1.0)
    except InvalidHeader:
        return None


class Failure(StrEnum):
    """The outcomes :class:`HttpErrors` words; keys of :attr:`HttpErrors.messages`."""

    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    RATE_LIMITED = "rate_limited"
    SERVER_READ = "server_read"
    SERVER_WRITE = "server_write"
    REDIRECTED = "redirected"
    REJECTED = "rejected"
    TLS = "tls"
    UNREACHABLE = "unreachable"
    NO_ANSWER_READ = "no_answer_read"
    NO_ANSWER_WRITE = "no_answer_write"
    BAD_URL = "bad_url"
    NOT_JSON_READ = "not_json_read"
    NOT_JSON_WRITE = "not_json_write"


# Fields: {tracker}, {what} (the attempted action), and for answers {status}, {said} (the
# tracker's own error text), {wait} (seconds, rate limits only); for failures {reason}.
DEFAULT_MESSAGES: Mapping[Failure, str] = MappingProxyType(
    {
        Failure.UNAUTHORIZED: "{tracker} refused the credentials ({status} while {what}: {said})",
        Failure.FORBIDDEN: "{tracker} answered {status} while {what}: {said} "
        "(the account lacks a permission)",
        Failure.NOT_FOUND: "{tracker} answered {status} while {what}: {said}",
        Failure.RATE_LIMITED: "rate limited while {what}; retry in {wait}s",
        Failure.SERVER_READ: "{tracker} answered {status} while {what}: {said}",
        Failure.SERVER_WRITE: "{tracker} answered {status} while {what}: {said}; "
        "it may have been done anyway",
        Failure.REDIRECTED: "{tracker} answered {status} (moved) while {what}: "
        "write the url it points to",
        Failure.REJECTED: "{tracker} answered {status} while {what}: {said}",
        Failure.TLS: "TLS with {tracker} failed while {what}: {reason} "
        "(check verify_tls and ca_file)",
        Failure.UNREACHABLE: "cannot reach {tracker} while {what}: {reason}",
        Failure.NO_ANSWER_READ: "no answer from {tracker} while {what}: {reason}",
        Failure.NO_ANSWER_WRITE: "no answer from {tracker} while {what} ({reason}); "
        "it may have been done",
        Failure.BAD_URL: "the url of {tracker} is not usable: {reason}",
        Failure.NOT_JSON_READ: "{tracker} answered {status} with {kind}, not JSON, while {what}: "
        "is url the address of {tracker}? (a sign-in page or a proxy answers HTML)",
        Failure.NOT_JSON_WRITE: "{tracker} answered {status} with {kind}, not JSON, while "
        "{what}; it may have been done",
    }
)


class HttpErrors:
    """Translates one tracker's HTTP failures into the error tree; subclass for its quirks.

    Hooks, in the order an answer meets them:

    - :meth:`translate_status`: sees every non-2xx answer first; return an error to take it
      (GitHub's rate-limit 403s), ``None`` to leave it to the table in the module doc.
    - :meth:`forbidden`: the error for a 403 (default: :class:`ConfigurationError`).
    - :meth:`details`: the tracker's own error text from an answer, for messages.
    - :meth:`retry_after`: the wait an answer asks for (default: ``Retry-After``, else
      :attr:`rate_limit_wait` for a 429).
    - :attr:`messages`: the wording of each :class:`Failure`.

    Args:
        tracker: the tracker's name in messages (``Redmine``, ``Jira``).
    """

    messages: ClassVar[Mapping[Failure, str]] = DEFAULT_MESSAGES
    rate_limit_wait: ClassVar[float | None] = None

    def __init__(self, tracker: str):
        self.tracker = tracker

    # -- the translation --------------------------------------------------------------------

    def for_response(
        self, response: requests.Response, *, write: bool, what: str
    ) -> TrackerMailError:
        """The error for a non-2xx ``response`` to the request that tried to ``what``.

        Args:
            response: the tracker's answer.
            write: the request may change something (decides 5xx: unknown outcome).
            what: the attempted action, in words, for the message.
        """
        hooked = self.translate_status(response, write=write, what=what)
        if hooked is not None:
            return hooked
        status = response.status_code
        if status == 401:
            return ConfigurationError(self.say(Failure.UNAUTHORIZED, response, what))
        if status == 403:
            return self.forbidden(response, write=write, what=what)
        if status == 404:
            return NotFound(self.say(Failure.NOT_FOUND, response, what))
        if status == 429:
            wait = self.retry_after(response)
            shown = "?" if wait is None else f"{wait:.0f}"
            message = self.say(Failure.RATE_LIMITED, response, what, wait=shown)
            return RetryLater(message, retry_after=wait)
        if status == 408 or status >= 500:
            if write:
                return UnknownOutcome(self.say(Failure.SERVER_WRITE, response, what))
            message = self.say(Failure.SERVER_READ, response, what)
            return RetryLater(message, retry_after=self.retry_after(response))
        if 300 <= status < 400:
            return ConfigurationError(self.say(Failure.REDIRECTED, response, what))
        return PermanentError(self.say(Failure.REJECTED, response, what))

    def for_exception(
        self, exc: requests.RequestException, *, write: bool, what: str
    ) -> TrackerMailError:
        """The error for a request that got no answer at all.

        Args:
            exc: what ``requests`` raised.
            write: the request may change something.
            what: the attempted action, in words, for the message.
        """
        reason = describe(exc)
        if isinstance(exc, requests.exceptions.SSLError):
            return ConfigurationError(self._word(Failure.TLS, what, reason=reason))
        if never_sent(exc):
            return Unreachable(self._word(Failure.UNREACHABLE, what, reason=reason))
        if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema)):
            return ConfigurationError(self._word(Failure.BAD_URL, what, reason=reason))
        if write:
            return UnknownOutcome(self._word(Failure.NO_ANSWER_WRITE, what, reason=reason))
        return RetryLater(self._word(Failure.NO_ANSWER_READ, what, reason=reason))

    def send(
        self,
        session: requests.Session,
        method: str,
        url: str,
        *,
        timeout: float,
        what: str,
        write: bool,
        expect: Collection[int] = (),
        **kwargs: Any,
    ) -> requests.Response:
        """Send one request; a 2xx (or a status in ``expect``) comes back, the rest raises.

        Redirects are followed for GET only: ``requests`` replays a redirected POST as a GET.

        Args:
            session: from :func:`build_session`.
            method: the HTTP method.
            url: the absolute URL.
            timeout: seconds to connect and to wait for each answer.
            what: the attempted action, in words, for messages.
            write: the request may change something.
            expect: statuses handed back instead of raised (404 for "no such thing").
            kwargs: passed to ``requests.Session.request`` (``params``, ``json``, ``data``…).

        Raises:
            TrackerMailError: as :meth:`for_response` and :meth:`for_exception` decide.
        """
        kwargs.setdefault("allow_redirects", method.upper() == "GET")
        try:
            response = session.request(method, url, timeout=timeout, **kwargs)
        except requests.RequestException as exc:
            raise self.for_exception(exc, write=write, what=what) from None
        if 200 <= response.status_code < 300 or response.status_code in expect:
            return response
        raise self.for_response(response, write=write, what=what)

    def json(self, response: requests.Response, *, write: bool, what: str) -> Any:
        """The JSON body of a ``response`` that :meth:`send` returned; ``None`` when empty.

        A body that is not JSON (a sign-in page, a proxy's page, the web interface at a
        wrong ``url``) is translated like every other failure instead of escaping as
        ``ValueError``: a :class:`ConfigurationError` for a read, an
        :class:`UnknownOutcome` for a write (it may have been done).

        Args:
            response: the tracker's answer.
            write: the request may change something.
            what: the attempted action, in words, for the message.
        """
        if not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("Content-Type", "").split(";")[0].strip()
            fields = {"status": str(response.status_code), "kind": kind or "no content type"}
            if write:
                raise UnknownOutcome(self._word(Failure.NOT_JSON_WRITE, what, **fields)) from None
            raise ConfigurationError(self._word(Failure.NOT_JSON_READ, what, **fields)) from None

    # -- hooks ------------------------------------------------------------------------------

    def translate_status(
        self, response: requests.Response, *, write: bool, what: str
    ) -> TrackerMailError | None:
        """A tracker's own reading of an answer, before the shared table; ``None`` to pass."""
        return None

    def forbidden(self, response: requests.Response, *, write: bool, what: str) -> TrackerMailError:
        """The error for a 403: by default the account lacks a permission (configuration)."""
        return ConfigurationError(self.say(Failure.FORBIDDEN, response, what))

    def details(self, response: requests.Response) -> str:
        """The tracker's own error text in ``response``; by default the reason phrase."""
        return response.reason or "no message"

    def retry_after(self, response: requests.Response) -> float | None:
        """Seconds ``response`` asks us to wait: ``Retry-After``, else a 429's default."""
        wait = parse_retry_after(response.headers.get("Retry-After"))
        if wait is None and response.status_code == 429:
            return self.rate_limit_wait
        return wait

    # -- wording ----------------------------------------------------------------------------

    def say(self, failure: Failure, response: requests.Response, what: str, **extra: str) -> str:
        """The message for ``failure`` on ``response``, worded by :attr:`messages`."""
        said = shorten(self.details(response))
        return self._word(failure, what, status=str(response.status_code), said=said, **extra)

    def _word(self, failure: Failure, what: str, **fields: str) -> str:
        return self.messages[failure].format(tracker=self.tracker, what=what, **fields)


def never_sent(exc: requests.RequestException) -> bool:
    """True when the request cannot have reached the tracker (so even a write is undone).

    A connect timeout, a refused connection, a name that does not resolve, or a proxy that
    would not connect: the request was never written to the tracker's socket.
    """
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ProxyError)):
        return True
    if not isinstance(exc, requests.exceptions.ConnectionError):
        return False
    cause: Any = exc.args[0] if exc.args else None
    # requests wraps urllib3's MaxRetryError, whose reason is the connection error.
    cause = getattr(cause, "reason", cause)
    return isinstance(cause, NewConnectionError)  # NameResolutionError is one too


def describe(exc: BaseException) -> str:
    """The innermost reason of a ``requests`` exception, in words."""
    reason: Any = exc.args[0] if exc.args else exc
    return str(getattr(reason, "reason", None) or reason or type(exc).__name__)


def shorten(text: str) -> str:
    """``text`` cut to a length a log line and a quarantine reason can carry."""
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"
