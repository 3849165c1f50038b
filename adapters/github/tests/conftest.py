"""A faked GitHub for the adapter's tests: ``responses`` plus canned REST v3 answers.

Every answer registered here is one of the JSON files in ``fixtures/``, shaped like the
examples of GitHub's REST documentation; every test asserts the requests the adapter sent
(method, path, query, JSON body) through :meth:`GitHubFake.sent`.
"""

from __future__ import annotations

import copy
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from tracker_mail_plugin_github import GitHubAdapter, GitHubConfig

from tracker_mail_plugin import Secret
from tracker_mail_plugin.testing.fixtures import dovecot  # noqa: F401 - the kit's, for the e2e tests
from tracker_mail_plugin.testing.openapi import ApiDescription, Exchange, SpecDrift

API = "https://api.github.com"
TOKEN = "ghp_test0000000000000000000000000000000001"  # noqa: S105 - a fake, for the fake
FIXTURES = Path(__file__).parent / "fixtures"
RULES = """\
version: 1
trackers:
  github-web: {{adapter: github, repository: example-org/webshop, token: {{env: GITHUB_TOKEN}}}}
mailboxes:
  inbox:
    protocol: maildir
    path: /unused
    tracker: github-web
    workers: {workers}
    on_success: {{move: Processed}}
    unknown_user: as_rule_owner
    rules: ["then create issue in project example-org/webshop"]
"""


def load(fixture: str, /, **changes: Any) -> Any:
    """A fixture file's JSON, with top-level keys replaced by ``changes``."""
    data = json.loads((FIXTURES / f"{fixture}.json").read_text(encoding="utf-8"))
    if changes:
        data = copy.deepcopy(data) | changes
    return data


@dataclass
class FakeClock:
    """Time that passes only when someone sleeps (or a test moves it)."""

    now: float = 1_777_890_000.0  # 2026-05-04 10:20 UTC
    mono: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.mono

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.now += seconds
        self.mono += seconds


@dataclass(frozen=True)
class Sent:
    """One request as GitHub received it."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]

    @property
    def line(self) -> tuple[str, str]:
        return self.method, self.path


class GitHubFake:
    """Registers canned answers and reports what the adapter sent."""

    token = TOKEN
    load = staticmethod(load)

    def __init__(self, mock: responses.RequestsMock, clock: FakeClock, api: str = API):
        self.mock = mock
        self.clock = clock
        self.api = api

    def reply(
        self,
        method: str,
        path: str,
        body: Any = None,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``method path`` (in registration order) with ``body``."""
        self.mock.add(method, self.api + path, json=body, status=status, headers=headers)

    def fail(self, method: str, path: str, exception: Exception) -> None:
        """Make ``method path`` raise ``exception`` instead of answering."""
        self.mock.add(method, self.api + path, body=exception)

    def sent(self) -> list[Sent]:
        """Every request made so far, in order."""
        found = []
        for call in self.mock.calls:
            request = call.request
            url = urlsplit(str(request.url))
            body = json.loads(request.body) if request.body else None
            found.append(
                Sent(
                    str(request.method),
                    url.path,
                    dict(parse_qsl(url.query)),
                    body,
                    dict(request.headers),
                )
            )
        return found

    def lines(self) -> list[tuple[str, str]]:
        """``(method, path)`` of every request so far."""
        return [sent.line for sent in self.sent()]

    @staticmethod
    def rules(workers: int = 1) -> str:
        """A ``rules.yaml`` whose mailbox ``inbox`` files every mail in this repository."""
        return RULES.format(workers=workers)

    def adapter(self, **options: Any) -> GitHubAdapter:
        """An adapter on this fake, a token and ``example-org/webshop`` unless overridden."""
        config = {"repository": "example-org/webshop", "token": Secret(value=TOKEN)} | options
        if "app" in options:
            config.pop("token")
        return GitHubAdapter(GitHubConfig.model_validate(config), clock=self.clock)


@pytest.fixture
def clock() -> FakeClock:
    """A clock the adapter sleeps on without sleeping."""
    return FakeClock()


@pytest.fixture
def github(clock: FakeClock) -> Iterator[GitHubFake]:
    """The faked api.github.com; any request it was not told about fails the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield GitHubFake(mock, clock)


@pytest.fixture(autouse=True)
def _tracker_mail_logs_reach_caplog() -> Iterator[None]:
    """``tracker-mail sync`` (run in-process here) stops propagation; undo that per test."""
    root = logging.getLogger("tracker_mail")
    saved = (root.handlers[:], root.level, root.propagate)
    root.propagate = True
    yield
    root.handlers[:], root.level, root.propagate = saved


# GitHub's own description. After each test passed, every request it made and every answer the
# fake gave are held to GitHub's REST description for api.github.com (../shared/specs/, from
# @octokit/openapi 23.0.2; its README says more), so a fake that drifts from GitHub fails the
# test itself (and an ``xfail`` on it works). Requests to a GitHub Enterprise ``api_url`` are
# checked against the same description, below its ``/api/v3`` root: the Enterprise Server
# variants differ by version, and the adapter asks only what both document.
#
# Documented in prose only, so checked here by hand or not at all:
# - ``Accept: application/vnd.github+json`` and ``X-GitHub-Api-Version`` (checked below):
#   https://docs.github.com/en/rest/about-the-rest-api/api-versions
# - rate limits: 80 content-creating requests a minute and 500 an hour, ``Retry-After`` and
#   ``x-ratelimit-*``, back-off on secondary limits; the 403/429 answers no operation
#   describes: https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api
#   and https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api
# - an issue ``type`` GitHub drops without saying (no push access, unknown type):
#   https://docs.github.com/en/rest/issues/issues#create-an-issue
# - server errors (5xx), which no operation describes.
# A test whose fake answers what GitHub never would (a proxy's HTML page) says so with
# ``@pytest.mark.off_spec_answers(reason)``; its requests are checked all the same.
SPECS = Path(
    os.environ.get("TRACKER_MAIL_SPECS") or Path(__file__).resolve().parents[4] / "shared/specs"
)
# The description is that of API version 2022-11-28, GitHub's default; later versions ride
# along as octokit "changesets" (e.g. 2026-03-10), not applied here: an adapter asking for
# another version would be checked against the wrong shapes.
API_VERSION = "2022-11-28"


def described() -> ApiDescription:
    """GitHub's REST description for api.github.com, read once per test session."""
    return ApiDescription.load(
        SPECS / "github-api.github.com.json.gz", "GitHub REST description (api.github.com)"
    )


def vendor_problems(call: Any, api: str, answers: bool) -> list[str]:
    """What GitHub's description (and the prose above) says is wrong with one ``call``."""
    exchange = Exchange.of(call.request, call.response, root=urlsplit(api).path.rstrip("/"))
    found = described().problems(exchange, answer=answers)
    if exchange.headers.get("accept") != "application/vnd.github+json":
        found.append(f"{exchange.line}: not Accept: application/vnd.github+json")
    if exchange.headers.get("x-github-api-version") != API_VERSION:
        found.append(f"{exchange.line}: not X-GitHub-Api-Version: {API_VERSION}")
    return found


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "off_spec_answers(reason): the fake answers what GitHub never would, on purpose; "
        "only the requests are held to GitHub's description",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Once a test passed, hold what it sent and got to GitHub's description (above)."""
    result = yield
    fake = getattr(item, "funcargs", {}).get("github")
    if isinstance(fake, GitHubFake):
        answers = item.get_closest_marker("off_spec_answers") is None
        found = [p for call in fake.mock.calls for p in vendor_problems(call, fake.api, answers)]
        if found:
            raise SpecDrift("drifted from GitHub's description:\n" + "\n".join(found))
    return result
