"""The error boundary: timeouts that are real, 5xx, refused connections, TLS, 4xx from Redmine."""

from __future__ import annotations

import http.server
import json
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tracker_mail_plugin_redmine import RedmineAdapter, RedmineConfig
from tracker_mail_plugin_redmine.client import Forbidden, NotFound, RedmineClient
from urllib3.exceptions import InsecureRequestWarning

from tests.servers.redmine import Redmine
from tracker_mail_plugin import (
    ConfigurationError,
    IssueRef,
    NewComment,
    NewIssue,
    PermanentError,
    RetryLater,
    Secret,
    UnknownOutcome,
    Unreachable,
)
from tracker_mail_plugin.testing import TrackerFailure, failing_server
from tracker_mail_plugin.testing.dovecot import free_ports, make_certificates


def adapter_at(url: str, **options: Any) -> RedmineAdapter:
    values = {"url": url, "api_key": Secret(value="k" * 40), "timeout": 0.5} | options
    return RedmineAdapter(RedmineConfig.model_validate(values))


NEW = NewIssue("support", "t", "x", "tm-errs000000000000001")


# -- the timeout is real (python-redmine 2.5 dropped it; the adapter sends it with each request)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda a: a.find_user("a@example.com"), RetryLater),
        (lambda a: a.get_issue(IssueRef("redmine", "1")), RetryLater),
        (lambda a: a.find_by_key("tm-x"), RetryLater),
        (lambda a: a.create_issue(NEW), UnknownOutcome),
        (
            lambda a: a.add_comment(IssueRef("redmine", "1"), NewComment("x", "tm-y")),
            UnknownOutcome,
        ),
    ],
)
def test_the_adapter_gives_up_after_its_timeout(call: Any, expected: type[Exception]) -> None:
    with failing_server(TrackerFailure.TIMEOUT) as url:
        started = time.monotonic()
        with pytest.raises(expected, match="timed out"):
            call(adapter_at(url, timeout=0.4))
        # The server never answers: without the timeout the call would wait for ever. The
        # bound is loose because a loaded machine can stall the test for seconds.
        assert time.monotonic() - started < 30
    assert not issubclass(expected, Unreachable)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda a: a.find_user("a@example.com"), RetryLater),
        (lambda a: a.create_issue(NEW), UnknownOutcome),
    ],
)
def test_server_errors(call: Any, expected: type[Exception]) -> None:
    with failing_server(TrackerFailure.SERVER_ERROR) as url, pytest.raises(expected, match="500"):
        call(adapter_at(url))


@pytest.mark.parametrize(
    "call", [lambda a: a.find_user("a@example.com"), lambda a: a.create_issue(NEW)]
)
def test_nothing_listening_is_unreachable_even_for_a_write(call: Any) -> None:
    # Nothing was sent, so even a create is certainly not done: Unreachable, not unknown.
    with pytest.raises(Unreachable, match="cannot connect"):
        call(adapter_at(f"http://127.0.0.1:{free_ports(1)[0]}"))


# -- TLS: verify_tls and ca_file ------------------------------------------------------------


@pytest.fixture(scope="module")
def https_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server for 127.0.0.1 (own CA) answering /users/current.json like Redmine."""
    root = tmp_path_factory.mktemp("tls")
    make_certificates(root)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"user": {"id": 5, "login": "bot", "admin": False}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(root / "server.pem", root / "server.key")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", root / "ca.pem"
    server.shutdown()
    server.server_close()


def test_tls_is_verified_against_the_ca_file(
    https_url: tuple[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, ca = https_url
    mapped = {"users": {"a@example.com": "alice"}}
    with pytest.raises(ConfigurationError, match="TLS with Redmine failed"):
        adapter_at(url, **mapped).find_user("a@example.com")
    assert adapter_at(url, ca_file=str(ca), **mapped).find_user("a@example.com").login == "alice"
    # an environment CA bundle (REQUESTS_CA_BUNDLE) does not override the configured one
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    assert adapter_at(url, ca_file=str(ca), **mapped).find_user("a@example.com").login == "alice"
    with pytest.warns(InsecureRequestWarning):  # urllib3 says so on each request
        assert (
            adapter_at(url, verify_tls=False, **mapped).find_user("a@example.com").login == "alice"
        )


# -- Redmine's own 4xx answers, through the real server -----------------------------------


@pytest.mark.servers
def test_client_answers_from_the_real_redmine(redmine: Redmine) -> None:
    config = RedmineConfig(url=redmine.url, api_key=Secret(value=redmine.admin_key))
    client = RedmineClient(config)
    with pytest.raises(NotFound, match="404"):
        client.get("/issues/999.json", what="read issue #999")
    with pytest.raises(PermanentError, match=r"no active account 'lou' to act as \(412\)"):
        client.get("/users/current.json", what="authenticate", as_user="lou")
    limited = RedmineClient(RedmineConfig(url=redmine.url, api_key=Secret(value=redmine.nora_key)))
    with pytest.raises(Forbidden, match=r"the API key's account may not look up users \(403\)"):
        limited.get("/users.json", what="look up users")
    with pytest.raises(ConfigurationError):
        limited.get("/users.json", what="look up users")
    with pytest.raises(PermanentError, match="Subject cannot be blank"):
        client.post("/issues.json", {"issue": {"project_id": "support"}}, what="create an issue")
