"""The REST client: one ``requests`` session, no retries, writes paced, rate limits honoured.

Every request to GitHub goes through :meth:`GitHubHttp.send`, which is also the only place
that turns failures into the core's errors (through :mod:`.errors`). Reads, searches and
token requests are asked again after a 5xx or a timeout, twice, 1 s then 3 s later
(:class:`~tracker_mail_plugin.http.retry.ReadRetry`); writes never are, and rate limits
pause the run instead. Why not PyGithub: see
the README ("Why a thin client").
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

import requests

from tracker_mail_plugin import (
    HttpOptions,
    PermanentError,
    RetryLater,
    UnknownOutcome,
    build_session,
)
from tracker_mail_plugin.http.retry import ReadRetry
from tracker_mail_plugin_github.errors import GitHubErrors, rate_limit_wait, rate_limited
from tracker_mail_plugin_github.pacing import Clock, Pacer, RateGate, WriteBudget

logger = logging.getLogger("tracker_mail.github")

API_VERSION = "2022-11-28"
USER_AGENT = "tracker-mail-plugin-github/0.1.0"
SEARCH_INTERVAL = 2.0  # the search API takes 30 requests a minute

# read: GET, repeatable. search: a GET against the search API's own budget.
# write: creates or changes content; paced; an unanswered one is an unknown outcome.
# mint: asks for an installation token; harmless to repeat, so failures are retryable.
Kind = Literal["read", "search", "write", "mint"]


class Credentials(Protocol):
    """Something that gives the ``Authorization`` header for the next request."""

    def authorization(self) -> str:
        """The header's value, e.g. ``Bearer …``; may fetch a fresh token first."""


@dataclass(frozen=True, slots=True)
class Call:
    """One request and how to treat its outcome.

    Attributes:
        method: the HTTP method.
        path: an API path (``/repos/o/r/issues``) or an absolute URL from a ``Link`` header.
        what: what it does, for messages (``creating an issue in o/r``).
        kind: see :data:`Kind`.
        params: query parameters.
        body: the JSON body, if any.
        expect: statuses handed back to the caller instead of raised (e.g. 404 for "no").
        authorization: an ``Authorization`` value for this call only (App JWT calls).
    """

    method: str
    path: str
    what: str
    kind: Kind = "read"
    params: Mapping[str, str | int] | None = None
    body: Any = None
    expect: frozenset[int] = field(default_factory=frozenset)
    authorization: str | None = None


class GitHubHttp:
    """Sends :class:`Call` s to one GitHub API root.

    Args:
        options: the shared HTTP options; ``url`` is the REST API root.
        clock: the clock used for pacing and rate-limit times.
        write_interval: minimum seconds between two writes.
        credentials: gives the ``Authorization`` header (set before the first request).
    """

    def __init__(
        self,
        options: HttpOptions,
        clock: Clock,
        write_interval: float,
        credentials: Credentials | None = None,
    ):
        self.api_url = options.url
        self.timeout = options.timeout
        self.clock = clock
        self.errors = GitHubErrors(clock)
        self.credentials = credentials
        self.pacer = Pacer(clock, {"write": write_interval, "search": SEARCH_INTERVAL})
        self.gate = RateGate(clock)
        self.budget = WriteBudget(clock)
        self.session = build_session(options)
        self.reads = ReadRetry(clock.sleep, clock.monotonic)

    def send(self, call: Call) -> requests.Response:
        """Send ``call``; a 2xx (or an expected status) comes back, anything else raises.

        Anything but a write is tried again after a passing failure (see the module doc).
        """
        if call.kind == "write":
            return self._in_turn(call)
        return self.reads.run(lambda: self._in_turn(call))

    def _in_turn(self, call: Call) -> requests.Response:
        turn = self.pacer.turn(call.kind)
        if turn is None:
            return self._send(call)
        with turn:  # writes one at a time, and searches, as GitHub asks
            return self._send(call)

    def _send(self, call: Call) -> requests.Response:
        resource = "search" if call.kind == "search" else "core"
        self.gate.check(resource)
        self.pacer.wait(call.kind)
        if call.kind == "write":
            self.budget.take()
        response = self._request(call)
        self.gate.observe(response, resource)
        status = response.status_code
        if 200 <= status < 300 or status in call.expect:
            self.gate.cleared(call.kind)
            return response
        wait = rate_limit_wait(response, self.clock.time())
        if wait is not None and response.headers.get("x-ratelimit-remaining") != "0":
            # A secondary limit (a used-up budget was noted by observe, per resource).
            raise rate_limited(call.what, self.gate.secondary(wait, call.kind))
        raise self.errors.for_response(response, write=call.kind == "write", what=call.what)

    def json(self, call: Call) -> Any:
        """Send ``call`` and decode its JSON answer."""
        return decode(self.send(call), call)

    def json_or_none(self, call: Call) -> Any:
        """Like :meth:`json`, but ``None`` when GitHub answered one of ``call.expect``."""
        response = self.send(call)
        if response.status_code in call.expect and not 200 <= response.status_code < 300:
            return None
        return decode(response, call)

    def pages(self, call: Call, most: int) -> Iterator[Any]:
        """Each item of a listing, following ``Link: rel="next"`` for at most ``most`` pages.

        GitHub's next link carries the query (page, per_page, filters) itself, so it is sent
        as it is; :meth:`_request` refuses one that leaves ``api_url``.
        """
        for _ in range(most):
            response = self.send(call)
            yield from decode(response, call)
            following = response.links.get("next", {}).get("url")
            if not following:
                return
            call = replace(call, path=following, params=None)

    def _request(self, call: Call) -> requests.Response:
        url = self.api_url + call.path if call.path.startswith("/") else call.path
        if not url.startswith(self.api_url + "/"):
            # A link from an answer (pagination) must not carry our token to another host.
            raise PermanentError(f"refusing to send the credentials outside api_url: {url}")
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "User-Agent": USER_AGENT,
            "Authorization": call.authorization or self._authorization(),
        }
        try:
            response = self.session.request(
                call.method,
                url,
                params=call.params,
                json=call.body,
                headers=headers,
                timeout=self.timeout,
                # A redirected POST is replayed as a GET by requests: never follow one.
                allow_redirects=call.method == "GET",
            )
        except requests.RequestException as exc:
            raise self.errors.for_exception(
                exc, write=call.kind == "write", what=call.what
            ) from exc
        finally:
            self.pacer.done(call.kind)
        logger.debug("%s %s -> %d", call.method, call.path, response.status_code)
        return response

    def _authorization(self) -> str:
        if self.credentials is None:  # pragma: no cover - the adapter always sets them
            raise RuntimeError("GitHubHttp used before credentials were set")
        return self.credentials.authorization()


def decode(response: requests.Response, call: Call) -> Any:
    """The JSON of ``response``; an unreadable answer is treated like a server failure."""
    try:
        return response.json()
    except ValueError:
        message = f"GitHub's answer to {call.what} is not JSON ({response.status_code})"
        if call.kind == "write":
            raise UnknownOutcome(message) from None
        raise RetryLater(message) from None
