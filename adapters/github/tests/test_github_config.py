"""The ``github`` tracker options: what is accepted, what is refused and how it is said."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from tracker_mail_plugin_github import GitHubAdapter, GitHubConfig

from tracker_mail_plugin import Secret
from tracker_mail_plugin.assemble import adapter_option_problems, build_adapter
from tracker_mail_plugin.config.loader import load_config
from tracker_mail_plugin.registry import load_adapter

EXAMPLE = Path(__file__).resolve().parents[3] / "rules.yaml.example"
TOKEN = {"env": "GITHUB_TOKEN"}


def errors_of(**options):
    with pytest.raises(ValidationError) as caught:
        GitHubConfig.model_validate(options)
    return [(error["loc"], error["msg"]) for error in caught.value.errors()]


def test_the_entry_point_loads_the_adapter():
    assert load_adapter("github") is GitHubAdapter


def test_the_example_rules_file_configures_a_valid_github_tracker():
    loaded = load_config(str(EXAMPLE))
    assert adapter_option_problems(loaded, "github-web") == []
    adapter = build_adapter(loaded, "github-web")
    assert isinstance(adapter, GitHubAdapter)
    assert adapter.config.projects == {"example-org/webshop": "example-org/webshop"}
    rules = loaded.config.rules_for("webshop-bugs")
    projects = {a.project for rule in rules for a in rule.then if hasattr(a, "project")}
    assert projects == {"example-org/webshop"}


def test_defaults():
    config = GitHubConfig.model_validate({"repository": "o/r", "token": TOKEN})
    assert (config.api_url, config.timeout, config.attachments) == (
        "https://api.github.com",
        30.0,
        "list",
    )
    assert (config.publish_addresses, config.allow_mentions, config.write_interval) == (
        False,
        False,
        1.0,
    )
    assert config.allow_references is False


def test_a_map_of_projects_and_an_enterprise_server():
    config = GitHubConfig.model_validate(
        {
            "repository": {"web": "example-org/webshop", "api": "example-org/api"},
            "token": TOKEN,
            "api_url": "https://github.example.com/api/v3/",
            "users": {"Alice@Example.COM": "alice"},
        }
    )
    assert config.projects == {"web": "example-org/webshop", "api": "example-org/api"}
    assert config.api_url == "https://github.example.com/api/v3"
    assert config.users == {"alice@example.com": "alice"}


@pytest.mark.parametrize(
    ("options", "where", "said"),
    [
        ({"repository": "webshop"}, ("repository",), "write owner/repo"),
        ({"repository": {}}, ("repository",), "at least one project"),
        ({"repository": {"web": "a/b/c"}}, ("repository",), "write owner/repo"),
        ({"api_url": "http://github.example.com/api/v3"}, ("api_url",), "use https"),
        ({"api_url": "github.example.com"}, ("api_url",), "not a URL"),
        ({"users": {"alice": "alice"}}, ("users",), "not a mail address"),
        ({"users": {"a@example.com": "not a login"}}, ("users",), "not a GitHub login"),
        ({"attachments": "upload"}, ("attachments",), "'list', 'commit' or 'drop'"),
        ({"attachments_path": "../etc"}, ("attachments_path",), "inside the repository"),
        ({"timeout": 0}, ("timeout",), "greater than 0"),
        ({"token": "ghp_literal"}, ("token",), "must not be written in the file"),
        ({"colour": "blue"}, ("colour",), "Extra inputs are not permitted"),
    ],
)
def test_each_mistake_is_named(options, where, said):
    found = errors_of(**({"repository": "o/r", "token": TOKEN} | options))
    assert any(loc[: len(where)] == where and said in msg for loc, msg in found), found


def test_exactly_one_way_to_authenticate():
    app = {"app_id": 1, "private_key": {"file": "/run/secrets/app.pem"}, "installation_id": 2}
    assert "exactly one of token or app" in str(errors_of(repository="o/r"))
    assert "exactly one of token or app" in str(errors_of(repository="o/r", token=TOKEN, app=app))
    config = GitHubConfig.model_validate({"repository": "o/r", "app": app})
    assert isinstance(config.app.private_key, Secret)
    assert "private_key" in str(errors_of(repository="o/r", app=app | {"private_key": "PEM"}))


def test_commit_needs_a_branch():
    assert "needs attachments_branch" in str(
        errors_of(repository="o/r", token=TOKEN, attachments="commit")
    )


def test_plain_http_is_allowed_to_the_loopback_only():
    config = GitHubConfig.model_validate(
        {"repository": "o/r", "token": TOKEN, "api_url": "http://127.0.0.1:8080/api/v3"}
    )
    assert config.api_url == "http://127.0.0.1:8080/api/v3"


def test_errors_never_echo_what_was_typed():
    with pytest.raises(ValidationError) as caught:
        GitHubConfig.model_validate({"repository": "o/r", "app": {"private_key": "-----BEGIN x"}})
    assert "BEGIN" not in str(caught.value)
    assert "private_key" in str(caught.value)
