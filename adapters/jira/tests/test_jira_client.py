"""The session: built on first use, no request made, no retries, the right credentials."""

from __future__ import annotations

import base64
import socket

import pytest
from tracker_mail_plugin_jira import JiraAdapter, JiraConfig
from tracker_mail_plugin_jira.http import JiraHttp, build_session_for

from tracker_mail_plugin import ConfigurationError, Secret


def refuse_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("touched the network")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


def test_adapter_and_client_are_built_without_any_request(monkeypatch, cloud):
    refuse_network(monkeypatch)
    adapter = cloud.adapter()
    session = build_session_for(cloud.config())
    assert cloud.sent == []  # no serverInfo, no session call
    assert session.get_adapter(cloud.base).max_retries.total == 0  # a retried create is a duplicate
    assert "adapter='jira'" in repr(adapter)


def test_every_request_carries_the_timeout(monkeypatch, datacenter):
    datacenter.answer("GET", "/rest/api/2/myself", "myself")
    http = JiraHttp(datacenter.config())
    seen = []
    real = http.session.request
    monkeypatch.setattr(
        http.session, "request", lambda *a, **k: seen.append(k["timeout"]) or real(*a, **k)
    )
    http.get("/rest/api/2/myself", what="signing in")
    assert seen == [30.0]


def test_cloud_signs_in_with_email_and_api_token(cloud):
    cloud.answer("GET", "/rest/api/2/serverInfo", "serverInfo")
    JiraHttp(cloud.config()).get("/rest/api/2/serverInfo", what="reading")
    expected = base64.b64encode(b"automation@example.com:cloud-api-token-do-not-show").decode()
    [sent] = cloud.sent
    assert sent.line == ("GET", "/rest/api/2/serverInfo", {}, None)
    assert sent.headers["Authorization"] == f"Basic {expected}"
    assert sent.headers["Accept"] == "application/json,*/*;q=0.9"


def test_datacenter_signs_in_with_a_personal_access_token(datacenter):
    datacenter.answer("GET", "/rest/api/2/myself", "myself")
    JiraHttp(datacenter.config()).get("/rest/api/2/myself", what="signing in")
    [sent] = datacenter.sent
    assert sent.line == ("GET", "/rest/api/2/myself", {}, None)
    assert sent.headers["Authorization"] == "Bearer datacenter-pat-do-not-show"


def test_datacenter_basic_sign_in(datacenter):
    config = JiraConfig.model_validate(
        {"url": datacenter.base, "username": "bot", "password": Secret(value="pw")}
    )
    datacenter.answer("GET", "/rest/api/2/myself", "myself")
    JiraHttp(config).get("/rest/api/2/myself", what="signing in")
    [sent] = datacenter.sent
    assert sent.line == ("GET", "/rest/api/2/myself", {}, None)
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(b"bot:pw").decode()


@pytest.mark.parametrize(
    ("options", "verify"),
    [
        ({}, True),
        ({"verify_tls": False}, False),
        ({"ca_file": "corp.pem"}, "corp.pem"),
    ],
)
def test_tls_verification_and_private_ca(datacenter, options, verify, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):  # requests prefers these to True
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "corp.pem").write_text("x")
    assert build_session_for(datacenter.config(**options)).verify == verify


def test_an_unreadable_secret_is_a_configuration_error_at_first_use(monkeypatch, datacenter):
    monkeypatch.delenv("JIRA_PAT_UNSET", raising=False)
    config = JiraConfig.model_validate({"url": datacenter.base, "token": {"env": "JIRA_PAT_UNSET"}})
    adapter = JiraAdapter(config)  # nothing is read yet
    with pytest.raises(ConfigurationError, match="environment variable JIRA_PAT_UNSET is not set"):
        adapter.find_user("mia@example.com")
    assert datacenter.sent == []


def test_adapter_refuses_a_foreign_config():
    with pytest.raises(TypeError, match="needs a JiraConfig"):
        JiraAdapter(Secret.__new__(Secret))  # type: ignore[arg-type]
