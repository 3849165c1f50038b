"""The shared HTTP boundary: options, the session, and the one error translation."""

from __future__ import annotations

import email.utils
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from pydantic import ValidationError
from urllib3.exceptions import MaxRetryError, NameResolutionError, NewConnectionError

from tests.servers.dovecot import free_ports
from tracker_mail_plugin import (
    ConfigurationError,
    Failure,
    HttpErrors,
    HttpOptions,
    NotFound,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
    build_session,
    is_loopback,
    parse_retry_after,
)

URL = "https://tracker.example.com"
ERRORS = HttpErrors("Tracker")


def answer(status: int, headers: dict[str, str] | None = None, *, write: bool = False) -> Any:
    with responses.RequestsMock() as mock:
        mock.add("GET", f"{URL}/x", status=status, headers=headers or {})
        session = build_session(HttpOptions(url=URL))
        with pytest.raises(TrackerMailError) as caught:
            ERRORS.send(session, "GET", f"{URL}/x", timeout=1, what="reading x", write=write)
    return caught.value


# -- status → error --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "read", "write"),
    [
        (401, ConfigurationError, ConfigurationError),
        (403, ConfigurationError, ConfigurationError),
        (404, NotFound, NotFound),
        (400, PermanentError, PermanentError),
        (422, PermanentError, PermanentError),
        (429, RetryLater, RetryLater),  # refused before anything was done
        (408, RetryLater, UnknownOutcome),
        (500, RetryLater, UnknownOutcome),
        (503, RetryLater, UnknownOutcome),
        (301, ConfigurationError, ConfigurationError),  # a redirect not followed: wrong url
    ],
)
def test_every_status_class(status: int, read: type, write: type) -> None:
    assert type(answer(status)) is read
    assert type(answer(status, write=True)) is write


def test_not_found_is_a_permanent_error_adapters_can_catch() -> None:
    assert issubclass(NotFound, PermanentError)
    assert "Tracker answered 404 while reading x" in str(answer(404))


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert answer(429, {"Retry-After": "17"}).retry_after == 17.0
    assert answer(503, {"Retry-After": "30"}).retry_after == 30.0
    later = email.utils.formatdate(time.time() + 120, usegmt=True)
    dated = answer(429, {"Retry-After": later}).retry_after
    assert 100 < dated <= 120
    assert answer(429).retry_after is None  # nothing said, no default here


@pytest.mark.parametrize(
    ("value", "expected"), [(None, None), ("", None), ("5", 5.0), ("0", 1.0), ("soon", None)]
)
def test_retry_after_values(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_a_date_in_the_past_still_waits_a_second() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 1.0


# -- hooks -----------------------------------------------------------------------------------


class Quirky(HttpErrors):
    rate_limit_wait = 60.0

    def translate_status(
        self, response: requests.Response, *, write: bool, what: str
    ) -> TrackerMailError | None:
        if response.status_code == 418:
            return RetryLater("a teapot")
        return None

    def forbidden(self, response: requests.Response, *, write: bool, what: str) -> TrackerMailError:
        return PermanentError(self.say(Failure.FORBIDDEN, response, what))

    def details(self, response: requests.Response) -> str:
        return str(response.json()["message"]) if response.content else "no message"


@responses.activate
def test_hooks_take_an_answer_first_and_word_it() -> None:
    responses.add("GET", f"{URL}/teapot", status=418)
    responses.add("GET", f"{URL}/locked", status=403, json={"message": "issue is locked"})
    responses.add("GET", f"{URL}/slow", status=429)
    quirky, session = Quirky("Tracker"), build_session(HttpOptions(url=URL))

    def fail(path: str) -> TrackerMailError:
        with pytest.raises(TrackerMailError) as caught:
            quirky.send(session, "GET", URL + path, timeout=1, what="reading", write=False)
        return caught.value

    assert str(fail("/teapot")) == "a teapot"
    locked = fail("/locked")
    assert type(locked) is PermanentError
    assert "issue is locked" in str(locked)
    assert fail("/slow").retry_after == 60.0


# -- never sent, unknown outcome, TLS --------------------------------------------------------


def connection_error(cause: BaseException) -> requests.ConnectionError:
    return requests.ConnectionError(MaxRetryError(None, "/x", cause))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectTimeout("connect timed out"),
        connection_error(NewConnectionError(None, "refused")),  # type: ignore[arg-type]
        connection_error(NameResolutionError("tracker.invalid", None, OSError())),  # type: ignore[arg-type]
        requests.exceptions.ProxyError("proxy refused"),
    ],
)
def test_never_sent_is_unreachable_even_for_a_write(exc: requests.RequestException) -> None:
    assert type(ERRORS.for_exception(exc, write=True, what="creating")) is Unreachable


@pytest.mark.parametrize(
    "exc",
    [
        requests.ReadTimeout("read timed out"),
        requests.ConnectionError("Connection aborted: RemoteDisconnected"),
        requests.exceptions.ChunkedEncodingError("cut"),
    ],
)
def test_a_sent_request_without_answer_is_unknown_for_a_write(
    exc: requests.RequestException,
) -> None:
    assert type(ERRORS.for_exception(exc, write=True, what="creating")) is UnknownOutcome
    assert type(ERRORS.for_exception(exc, write=False, what="reading")) is RetryLater


def test_tls_failures_are_configuration_errors() -> None:
    error = ERRORS.for_exception(
        requests.exceptions.SSLError("certificate verify failed"), write=True, what="creating"
    )
    assert type(error) is ConfigurationError
    assert error.exit_code == 2
    assert "TLS with Tracker failed" in str(error)


def test_nothing_listening_on_loopback_is_unreachable() -> None:
    port = free_ports(1)[0]
    options = HttpOptions(url=f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(Unreachable, match="cannot reach Tracker while creating"):
        ERRORS.send(
            build_session(options), "POST", options.url, timeout=2, what="creating", write=True
        )


# -- options and session ---------------------------------------------------------------------


def problems(**options: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        HttpOptions.model_validate(options)
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors()]


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.1.2.3", "[::1]", "LOCALHOST"])
def test_plain_http_is_fine_on_loopback(host: str) -> None:
    assert HttpOptions(url=f"http://{host}:3000/").url.startswith("http://")
    assert is_loopback(host.strip("[]"))


@pytest.mark.parametrize("url", ["http://10.0.0.5", "http://tracker.example.com", "http://[::2]"])
def test_plain_http_to_a_remote_host_is_refused_and_says_why(url: str) -> None:
    [problem] = problems(url=url)
    assert "http sends credentials in clear" in problem


def test_url_is_a_pydantic_url_kept_as_a_string_without_trailing_slash() -> None:
    assert HttpOptions(url="https://Tracker.Example.com/jira/").url == (
        "https://tracker.example.com/jira"
    )
    assert "must be the base URL" in problems(url=f"{URL}/?key=1")[0]
    assert "must not carry credentials" in problems(url="https://u:p@tracker.example.com")[0]
    assert "not a URL" in problems(url="ftp://tracker.example.com")[0]


def test_ca_file_must_exist_and_needs_verification(tmp_path: Path) -> None:
    assert "no such file" in problems(url=URL, ca_file="/nonexistent/ca.pem")[0]
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert "makes no sense" in problems(url=URL, ca_file=str(ca), verify_tls=False)[0]


def test_the_session_never_retries_and_reads_the_environment_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    session = build_session(HttpOptions(url=URL, ca_file=str(ca)), {"Accept": "application/json"})
    assert session.trust_env is False
    assert session.proxies["https"] == "http://proxy.example:3128"
    assert session.verify == str(ca)
    assert session.headers["Accept"] == "application/json"
    assert session.get_adapter(URL).max_retries.total == 0  # type: ignore[attr-defined]
    own = build_session(HttpOptions(url=URL, proxy="http://own-proxy:8080"))
    assert own.proxies["https"] == "http://own-proxy:8080"
    assert "must not carry credentials" in problems(url=URL, proxy="http://u:p@proxy:1")[0]
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    assert "http" not in build_session(HttpOptions(url="http://127.0.0.1:3000")).proxies


# -- the body of a 2xx answer ----------------------------------------------------------------


def json_of(body: bytes, content_type: str, *, write: bool, status: int = 200) -> Any:
    with responses.RequestsMock() as mock:
        mock.add("POST", f"{URL}/x", status=status, body=body, content_type=content_type)
        session = build_session(HttpOptions(url=URL))
        response = ERRORS.send(session, "POST", f"{URL}/x", timeout=1, what="making x", write=write)
        return ERRORS.json(response, write=write, what="making x")


def test_json_reads_the_body_and_an_empty_one_is_none() -> None:
    assert json_of(b'{"id": 7}', "application/json", write=True) == {"id": 7}
    assert json_of(b"", "text/plain", write=True, status=204) is None


def test_a_page_instead_of_json_says_to_check_the_url_on_a_read() -> None:
    with pytest.raises(ConfigurationError) as caught:
        json_of(b"<html>Sign in</html>", "text/html; charset=utf-8", write=False)
    assert str(caught.value) == (
        "Tracker answered 200 with text/html, not JSON, while making x: is url the address "
        "of Tracker? (a sign-in page or a proxy answers HTML)"
    )


def test_a_page_instead_of_json_after_a_write_may_have_been_done() -> None:
    with pytest.raises(
        UnknownOutcome, match="200 with text/html, not JSON, while making x; it may"
    ):
        json_of(b"<html>Saved</html>", "text/html", write=True)
