"""The ``jira`` tracker options: sign-in combinations, URLs, maps, and the example file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from tracker_mail_plugin_jira import Deployment, JiraConfig

from tracker_mail_plugin import Secret

REPO = Path(__file__).resolve().parents[3]
CLOUD = {
    "url": "https://example.atlassian.net",
    "email": "bot@example.com",
    "api_token": {"env": "T"},
}
DC_PAT = {"url": "https://jira.example.com", "token": {"env": "PAT"}}
DC_BASIC = {"url": "https://jira.example.com", "username": "bot", "password": {"file": "/run/pw"}}


def errors(options: dict[str, object]) -> list[tuple[tuple[object, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        JiraConfig.model_validate(options)
    return [(error["loc"], error["msg"]) for error in caught.value.errors()]


@pytest.mark.parametrize(
    ("options", "deployment"),
    [(CLOUD, Deployment.CLOUD), (DC_PAT, Deployment.DATACENTER), (DC_BASIC, Deployment.DATACENTER)],
)
def test_credentials_imply_the_deployment(options, deployment):
    config = JiraConfig.model_validate(options)
    assert config.effective_deployment == deployment
    assert config.deployment is None


def test_a_stated_deployment_must_match_the_credentials():
    assert JiraConfig.model_validate(CLOUD | {"deployment": "cloud"}).deployment == Deployment.CLOUD
    [(loc, message)] = errors(DC_PAT | {"deployment": "cloud"})
    assert loc == ()
    assert "deployment cloud does not match the credentials" in message


@pytest.mark.parametrize(
    "options",
    [
        {"url": "https://jira.example.com"},
        CLOUD | {"token": {"env": "PAT"}},
        DC_PAT | {"username": "bot", "password": {"env": "P"}},
    ],
)
def test_exactly_one_way_to_sign_in(options):
    [(_, message)] = errors(options)
    assert "exactly one way to sign in" in message


def test_half_a_credential_is_named():
    [(_, cloud)] = errors({"url": "https://x.atlassian.net", "email": "bot@example.com"})
    [(_, basic)] = errors({"url": "https://jira.example.com", "username": "bot"})
    assert "needs both email and api_token" in cloud
    assert "needs both username and password" in basic


def test_secrets_must_be_references_and_are_never_shown():
    [(loc, message)] = errors(CLOUD | {"api_token": "literal-token-value"})
    assert loc == ("api_token",)
    assert "must not be written in the file" in message
    with pytest.raises(ValidationError) as caught:
        JiraConfig.model_validate(CLOUD | {"api_token": "literal-token-value"})
    assert "literal-token-value" not in str(caught.value)
    shown = JiraConfig.model_validate(CLOUD | {"api_token": Secret(value="sekrit")})
    assert "sekrit" not in repr(shown)
    assert "sekrit" not in shown.model_dump_json()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://jira.example.com", "http sends credentials in clear"),
        ("ftp://jira.example.com", "not a URL"),
        ("https://jira.example.com/?os_authType=basic", "without ?query"),
    ],
)
def test_url_must_be_an_https_base_url(url, problem):
    [(loc, message)] = errors(DC_PAT | {"url": url})
    assert loc == ("url",)
    assert problem in message


def test_url_keeps_its_context_path_without_trailing_slash():
    config = JiraConfig.model_validate(DC_PAT | {"url": "https://example.com/jira/"})
    assert config.url == "https://example.com/jira"
    local = JiraConfig.model_validate(DC_PAT | {"url": "http://127.0.0.1:8080"})
    assert local.url == "http://127.0.0.1:8080"


def test_maps_are_checked_and_addresses_lowercased():
    config = JiraConfig.model_validate(
        CLOUD
        | {
            "users": {"Mia@Example.COM": "5b10a2844c20165700ede21g"},
            "service_desks": {"SD": 10},
            "inbox_issues": {"OPS": "OPS-1"},
            "reply_projects": ["SD", "OPS"],
        }
    )
    assert config.users == {"mia@example.com": "5b10a2844c20165700ede21g"}
    assert errors(CLOUD | {"users": {"not-an-address": "x"}})[0][0] == ("users",)
    assert errors(CLOUD | {"service_desks": {"sd": 10}})[0][0] == ("service_desks",)
    assert errors(CLOUD | {"inbox_issues": {"OPS": "ops-1"}})[0][0] == ("inbox_issues",)
    assert errors(CLOUD | {"reply_projects": ["UTF 8"]})[0][0] == ("reply_projects",)


def test_issue_and_request_types_map_rule_words_to_jira_names():
    config = JiraConfig.model_validate(
        CLOUD
        | {
            "issue_types": {"bug": "Bug"},
            "default_issue_type": "Support",
            "request_types": {"hardware": "Request new hardware"},
            "default_request_type": "Get IT help",
        }
    )
    assert (config.issue_type("bug"), config.issue_type("Story"), config.issue_type(None)) == (
        "Bug",
        "Story",
        "Support",
    )
    assert config.request_type("hardware") == "Request new hardware"
    assert config.request_type(None) == "Get IT help"
    assert JiraConfig.model_validate(CLOUD).request_type(None) is None


def test_unknown_keys_are_refused():
    [(loc, _)] = errors(CLOUD | {"project": "SD"})
    assert loc == ("project",)


def test_recovery_options_are_bounded():
    assert JiraConfig.model_validate(CLOUD).recovery.lookback_days == 7
    [(loc, _)] = errors(CLOUD | {"recovery": {"lookback_days": 0}})
    assert loc == ("recovery", "lookback_days")


def test_the_example_rules_file_jira_block_is_valid():
    example = yaml.safe_load((REPO / "rules.yaml.example").read_text(encoding="utf-8"))
    options = {k: v for k, v in example["trackers"]["jira-cloud"].items() if k != "adapter"}
    config = JiraConfig.model_validate(options)
    assert config.effective_deployment == Deployment.CLOUD
    requests = [
        rule["then"]
        for rule in example["mailboxes"]["servicedesk"]["rules"]
        if isinstance(rule.get("then"), list)
    ]
    named = {step["create_request"]["request_type"] for then in requests for step in then}
    assert named == {"Request new hardware", "Get IT help"}
    assert config.request_type("Get IT help") == "Get IT help"
