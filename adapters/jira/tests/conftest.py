"""A faked Jira for the adapter's tests: canned answers from ``fixtures/``, and what was sent.

The fixtures are Atlassian's documented answers (Cloud REST v2, Data Center REST v2,
``/rest/servicedeskapi``), one file per endpoint and deployment: ``<endpoint>.<deployment>.json``.
Every test asserts the requests the adapter sent through :attr:`FakeJira.sent`, in order:
method, path, query and JSON body (multipart bodies as their parts).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses
from requests.structures import CaseInsensitiveDict
from requests_toolbelt.multipart.decoder import MultipartDecoder
from tracker_mail_plugin_jira import JiraAdapter, JiraConfig

from tracker_mail_plugin import Secret
from tracker_mail_plugin.testing.fixtures import dovecot  # noqa: F401 - the kit's, for the e2e tests
from tracker_mail_plugin.testing.openapi import ApiDescription, Exchange, Operation, SpecDrift

FIXTURES = Path(__file__).parent / "fixtures"
KEY = "tm-mfrggzdfmztwq2lknnwg"  # the idempotency key the fixtures carry
URLS = {"cloud": "https://example.atlassian.net", "datacenter": "https://jira.example.com"}
API_TOKEN = "cloud-api-token-do-not-show"  # noqa: S105 - a fake, asserted never shown
PAT = "datacenter-pat-do-not-show"


def fixture(name: str, deployment: str | None = None) -> Any:
    """The canned answer ``fixtures/<name>.<deployment>.json`` (or ``<name>.json``)."""
    path = FIXTURES / (f"{name}.{deployment}.json" if deployment else f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))


def base_config(deployment: str) -> dict[str, Any]:
    """Options that sign in to the faked Jira of ``deployment``."""
    if deployment == "cloud":
        return {
            "url": URLS["cloud"],
            "email": "automation@example.com",
            "api_token": Secret(value=API_TOKEN),
        }
    return {"url": URLS["datacenter"], "token": Secret(value=PAT)}


@dataclass
class FakeClock:
    """Time that passes only when the adapter sleeps: no test waits for real."""

    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


@dataclass(frozen=True)
class Part:
    """One part of a multipart body."""

    name: str
    filename: str | None
    content_type: str
    content: bytes


@dataclass(frozen=True)
class Sent:
    """One request the adapter made."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: CaseInsensitiveDict[str]

    @property
    def line(self) -> tuple[str, str, dict[str, str], Any]:
        """(method, path, query, body): what most assertions compare."""
        return (self.method, self.path, self.query, self.body)


class FakeJira:
    """Registers canned answers on ``responses`` and reads back the requests.

    Args:
        mock: the active ``responses`` mock.
        deployment: ``cloud`` or ``datacenter``.
    """

    def __init__(self, mock: responses.RequestsMock, deployment: str):
        self.mock = mock
        self.deployment = deployment
        self.base = URLS[deployment]
        self.clock = FakeClock()

    @property
    def cloud(self) -> bool:
        return self.deployment == "cloud"

    def fixture(self, name: str) -> Any:
        """The answer for ``name`` on this deployment (shared files when there is one)."""
        specific = FIXTURES / f"{name}.{self.deployment}.json"
        return fixture(name, self.deployment if specific.exists() else None)

    def answer(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
        exception: Exception | None = None,
    ) -> None:
        """Answer ``method path`` (any query) with ``body`` (a fixture name or JSON)."""
        data = self.fixture(body) if isinstance(body, str) else body
        url = self.base + path
        if exception is not None:
            self.mock.add(method, url, body=exception)
        elif status == 204 or data is None:
            self.mock.add(method, url, status=status, headers=headers)
        else:
            self.mock.add(method, url, json=data, status=status, headers=headers)

    @property
    def sent(self) -> list[Sent]:
        """Every request made so far, in order."""
        return [_sent(call.request) for call in self.mock.calls]

    @property
    def lines(self) -> list[tuple[str, str, dict[str, str], Any]]:
        """``sent`` as (method, path, query, body) tuples."""
        return [sent.line for sent in self.sent]

    def config(self, **options: Any) -> JiraConfig:
        """A validated config for this deployment, with ``options`` added."""
        return JiraConfig.model_validate(base_config(self.deployment) | options)

    def adapter(self, **options: Any) -> JiraAdapter:
        """An adapter signed in to this faked Jira."""
        return JiraAdapter(self.config(**options), clock=self.clock)


def _sent(request: Any) -> Sent:
    parts = urlsplit(request.url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    content_type = request.headers.get("Content-Type", "")
    raw = request.body
    body: Any
    if raw is None or raw == b"" or raw == "":
        body = None
    elif content_type.startswith("multipart/"):
        decoded = MultipartDecoder(raw, content_type)
        body = [_part(part) for part in decoded.parts]
    else:
        body = json.loads(raw)
    return Sent(request.method, parts.path, query, body, CaseInsensitiveDict(request.headers))


def _part(part: Any) -> Part:
    disposition = part.headers[b"Content-Disposition"].decode()
    fields = dict(item.strip().split("=", 1) for item in disposition.split(";")[1:] if "=" in item)
    filename = fields.get("filename")
    return Part(
        name=fields["name"].strip('"'),
        filename=filename.strip('"') if filename else None,
        content_type=part.headers.get(b"Content-Type", b"").decode(),
        content=part.content,
    )


@pytest.fixture
def mock() -> Iterator[responses.RequestsMock]:
    """``responses`` for one test; every registered answer need not be used."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as active:
        yield active


@pytest.fixture(params=["cloud", "datacenter"])
def jira(request: pytest.FixtureRequest, mock: responses.RequestsMock) -> FakeJira:
    """The faked Jira, once as Cloud and once as Data Center."""
    return FakeJira(mock, request.param)


@pytest.fixture
def cloud(mock: responses.RequestsMock) -> FakeJira:
    """The faked Jira Cloud."""
    return FakeJira(mock, "cloud")


@pytest.fixture
def datacenter(mock: responses.RequestsMock) -> FakeJira:
    """The faked Jira Data Center."""
    return FakeJira(mock, "datacenter")


@pytest.fixture
def key() -> str:
    """The idempotency key the fixtures were recorded with."""
    return KEY


# Atlassian's own descriptions. After each test passed, every request it made and every answer
# the fake gave are held to the published OpenAPI descriptions in ../shared/specs/ (its README
# says where each comes from), so a fake that drifts from the vendor fails the test itself (and
# an ``xfail`` on it works). The adapter speaks REST v2, whose paths are v3's: v2 bodies take
# wiki text where v3's take ADF, and the description leaves those properties untyped (a
# comment's ``body``, the ``fields`` map), so v2 bodies are checked against the v3 schemas
# unchanged: their shapes are checked, the markup is not.
#
# Data Center has no machine-readable description (its REST documentation is HTML only:
# https://docs.atlassian.com/software/jira/docs/api/REST/latest/ and
# https://docs.atlassian.com/jira-servicedesk/REST/latest/). Every route the adapter uses there
# is also on Cloud with the same request shape, so Data Center's requests are checked against
# the Cloud descriptions; its answers are not (its users carry ``name``/``key`` where Cloud's
# carry ``accountId``, its serverInfo ``databaseBuildNumber``...): the Data Center fixtures
# follow those HTML pages. What the Cloud description marks deprecated is accepted on Data
# Center only, where it is the documented way:
# - ``GET /rest/api/2/search`` (Cloud moved to ``/search/jql``:
#   https://developer.atlassian.com/changelog/#CHANGE-2046),
# - the ``username`` parameter of ``/user``, ``/user/search`` and ``/user/permission/search``
#   (Cloud dropped user names for account ids:
#   https://developer.atlassian.com/cloud/jira/platform/deprecation-notice-user-privacy-api-migration-guide/).
#
# Documented in prose only, so checked here by hand (see ``_prose_problems``):
# - multipart uploads (``/issue/{key}/attachments``, ``attachTemporaryFile``) need
#   ``X-Atlassian-Token: no-check`` and the part name ``file``; the descriptions name only the
#   media type: https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-attachments/#api-rest-api-3-issue-issueidorkey-attachments-post
#   and https://docs.atlassian.com/software/jira/docs/api/REST/latest/#api/2/issue/{issueIdOrKey}/attachments-addAttachment
# - Cloud's experimental Service Management routes (``x-experimental`` in the description)
#   want ``X-ExperimentalApi: opt-in``:
#   https://developer.atlassian.com/cloud/jira/service-desk/rest/intro/#experimental-methods
# Not checked at all: rate limiting (429 and ``Retry-After``,
# https://developer.atlassian.com/cloud/jira/platform/rate-limiting/) and server errors, which
# no operation describes; the fakes' 429/5xx answers follow that page.
SPECS = Path(
    os.environ.get("TRACKER_MAIL_SPECS") or Path(__file__).resolve().parents[4] / "shared/specs"
)
CLOUD_HOST = urlsplit(URLS["cloud"]).netloc


def platform() -> ApiDescription:
    """Jira Cloud platform REST (v3, Dec 2025), read once per test session."""
    return ApiDescription.load(
        SPECS / "jira-platform-v3-recent.json.gz",
        "Jira Cloud platform description",
        aliases={"/rest/api/2/": "/rest/api/3/"},
    )


def service_management() -> ApiDescription:
    """Jira Service Management Cloud REST (Aug 2023), read once per test session."""
    return ApiDescription.load(
        SPECS / "jsm-cloud.json.gz", "Jira Service Management Cloud description"
    )


def vendor_problems(call: Any) -> list[str]:
    """What Atlassian's descriptions (and the prose above) say is wrong with one ``call``."""
    exchange = Exchange.of(call.request, call.response)
    cloud = exchange.host == CLOUD_HOST
    servicedesk = exchange.path.startswith("/rest/servicedeskapi/")
    described = service_management() if servicedesk else platform()
    found = described.problems(exchange, answer=cloud, deprecated=not cloud)
    return found or _prose_problems(described, exchange, call.request, cloud)


def _prose_problems(
    described: ApiDescription, exchange: Exchange, request: Any, cloud: bool
) -> list[str]:
    found = []
    if exchange.content_type == "multipart/form-data":
        if exchange.headers.get("x-atlassian-token") != "no-check":
            found.append("a multipart upload without X-Atlassian-Token: no-check")
        names = {part.name for part in _sent(request).body}
        if names != {"file"}:
            found.append(f"multipart parts {sorted(names)}; Atlassian reads only 'file'")
    operation = described.operation(exchange.method, exchange.path)
    if cloud:
        found += _unlisted_expansions(described, operation, exchange)
    experimental = cloud and operation.spec.get("x-experimental")
    if experimental and exchange.headers.get("x-experimentalapi") != "opt-in":
        found.append("an experimental route without X-ExperimentalApi: opt-in")
    return [f"{exchange.line}: {problem}" for problem in found]


def _unlisted_expansions(
    described: ApiDescription, operation: Operation, exchange: Exchange
) -> list[str]:
    """``expand`` values the operation's prose does not list (it names each in backticks)."""
    parameter = described.parameter(operation, "query", "expand") or {}
    listed = set(re.findall(r"`([^`]+)`", parameter.get("description", "")))
    sent = {v for name, value in exchange.query if name == "expand" for v in value.split(",")}
    return [
        f"expand={value} is not an expansion this route lists" for value in sorted(sent - listed)
    ]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Once a test passed, hold what it sent and got to Atlassian's descriptions (above)."""
    result = yield
    active = getattr(item, "funcargs", {}).get("mock")
    if isinstance(active, responses.RequestsMock):
        found = [problem for call in active.calls for problem in vendor_problems(call)]
        if found:
            raise SpecDrift("drifted from Atlassian's descriptions:\n" + "\n".join(found))
    return result
