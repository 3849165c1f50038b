"""The options model, the entry point, and the example configuration's Redmine block."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from tracker_mail_plugin_redmine import RedmineAdapter, RedmineConfig

from tracker_mail_plugin import Secret
from tracker_mail_plugin.assemble import build_adapter
from tracker_mail_plugin.config.loader import load_config
from tracker_mail_plugin.registry import load_adapter

EXAMPLE = Path(__file__).resolve().parents[3] / "rules.yaml.example"
VALID: dict[str, Any] = {
    "url": "https://redmine.example.com/",
    "api_key": {"env": "REDMINE_API_KEY"},
}


def errors(**options: Any) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        RedmineConfig.model_validate(VALID | options)
    return [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in caught.value.errors()]


def test_defaults() -> None:
    config = RedmineConfig.model_validate(VALID)
    assert config.url == "https://redmine.example.com"
    assert (config.timeout, config.verify_tls, config.ca_file) == (30.0, True, None)
    assert (config.request_tracker, config.created_user_role) == ("Support", "Reporter")
    assert (config.text_formatting, config.idempotency_field, config.notify_created_users) == (
        "textile",
        None,
        False,
    )
    assert config.api_key == Secret(env="REDMINE_API_KEY")


def test_the_key_is_never_written_in_the_file() -> None:
    [problem] = errors(api_key="d3b07384d113edec49eaa6238ad5ff00")
    assert problem.startswith("api_key: Value error, a secret must not be written in the file")
    assert "d3b07384" not in problem


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"url": "redmine.example.com"}, "url: Value error, must be an http:// or https:// URL"),
        ({"url": "https://redmine.example.com/?key=1"}, "url: Value error, must be the base URL"),
        (
            {"url": "https://bot:pw@redmine.example.com"},
            "url: Value error, must not carry credentials",
        ),
        ({"timeout": 0}, "timeout: Input should be greater than 0"),
        (
            {"ca_file": "/nonexistent/ca.pem"},
            "ca_file: Value error, no such file: /nonexistent/ca.pem",
        ),
        (
            {"text_formatting": "html"},
            "text_formatting: Input should be 'textile', 'markdown', 'common_mark' or 'plain'",
        ),
        ({"projects": ["a"]}, "projects: Extra inputs are not permitted"),
    ],
)
def test_mistakes_are_named(options: dict[str, Any], expected: str) -> None:
    assert any(p.startswith(expected) for p in errors(**options)), errors(**options)


def test_ca_file_with_verification_off_is_a_mistake(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    [problem] = errors(ca_file=str(ca), verify_tls=False)
    assert "makes no sense with verify_tls: false" in problem


def test_users_map_addresses_are_compared_in_lower_case() -> None:
    config = RedmineConfig.model_validate(VALID | {"users": {" Alice@Example.COM ": "alice "}})
    assert config.users == {"alice@example.com": "alice"}


def test_tracker_names_map_rule_types() -> None:
    config = RedmineConfig.model_validate(VALID | {"tracker_names": {"Task": "Feature"}})
    assert (config.tracker_for("Task"), config.tracker_for("Bug")) == ("Feature", "Bug")


def test_the_entry_point_names_the_adapter() -> None:
    [point] = entry_points(group="tracker_mail_plugin.adapters", name="redmine")
    assert point.value == "tracker_mail_plugin_redmine:RedmineAdapter"
    assert load_adapter("redmine") is RedmineAdapter


def test_the_example_configurations_redmine_block_is_valid() -> None:
    adapter = build_adapter(load_config(EXAMPLE), "redmine-main")
    assert isinstance(adapter, RedmineAdapter)
    assert adapter.config.tracker_for("Refund") == "Support"
    assert "REDMINE_API_KEY" in repr(adapter.config)


@pytest.mark.parametrize("url", ["http://redmine.example.com", "http://10.0.0.5:3000"])
def test_plain_http_to_a_remote_redmine_is_refused_because_the_key_would_travel_in_clear(
    url: str,
) -> None:
    [problem] = errors(url=url)
    assert problem.startswith("url: Value error, http sends credentials in clear")
    assert "API key" in problem


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:3000", "http://localhost/redmine", "http://[::1]"]
)
def test_plain_http_on_loopback_is_accepted(url: str) -> None:
    assert RedmineConfig.model_validate(VALID | {"url": url}).url == url.rstrip("/")


def test_check_says_whether_the_text_formatting_was_configured_or_assumed():
    from tracker_mail_plugin_redmine.config import RedmineConfig
    from tracker_mail_plugin_redmine.health import _formatting

    from tracker_mail_plugin import Secret

    assumed = RedmineConfig(url="http://127.0.0.1:9", api_key=Secret(value="k"))
    assert _formatting(assumed) == (
        "textile (the default; set text_formatting if your Redmine uses another)"
    )
    chosen = RedmineConfig(
        url="http://127.0.0.1:9", api_key=Secret(value="k"), text_formatting="markdown"
    )
    assert _formatting(chosen) == "markdown (as configured)"
