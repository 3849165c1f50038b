"""check (T9) against the real Redmine: identity, admin status, and every name verified."""

from __future__ import annotations

from typing import Any

import pytest
from tracker_mail_plugin_redmine import RedmineAdapter

from tests.servers.redmine import Redmine
from tracker_mail_plugin import ConfigurationError, Requirements, Secret, Unreachable
from tracker_mail_plugin.testing.dovecot import free_ports

pytestmark = pytest.mark.servers


def test_a_working_setup(redmine: Redmine, adapter: RedmineAdapter) -> None:
    nofiles = str(redmine.setup["projects"]["nofiles"])
    needs = Requirements(
        issues=frozenset({("support", "Bug"), (nofiles, None)}),
        requests=frozenset({("support", None), ("contract", "Feature")}),
        attach_to_project=frozenset({"contract"}),
        fields=frozenset({"Order", "Category"}),
        labels={"support": frozenset({"Hardware"})},
        create_users_in=frozenset({"support"}),
    )
    report = adapter.check(needs)
    assert report.ok, report.problems
    assert report.facts["url"] == redmine.url
    assert report.facts["version"].startswith("5.0 or later")
    assert (report.facts["identity"], report.facts["admin"]) == ("admin", "yes")
    assert "looked up by address" in report.facts["senders"]
    assert report.facts["idempotency"] == "hidden marker in the text (textile)"
    assert "labels" not in report.facts


def test_every_missing_name_is_a_problem(make_adapter: Any) -> None:
    adapter = make_adapter(
        request_tracker="Service",
        tracker_names={"Task": "Chore", "Defect": "Bug"},
        created_user_role="Customer",
        reopen_status="Reopened",
        idempotency_field="Message key",
    )
    needs = Requirements(
        issues=frozenset(
            {("nowhere", None), ("closed", "Bug"), ("nofiles", "Feature"), ("support", "Defect")}
        ),
        requests=frozenset({("support", "Incident")}),
        attach_to_project=frozenset({"nofiles"}),
        fields=frozenset({"Colour", "Order"}),
        labels={"support": frozenset({"email", "Software"})},
    )
    report = adapter.check(needs)
    assert sorted(report.problems) == sorted(
        [
            "Redmine has no tracker 'Service' (named in the options)",
            "Redmine has no tracker 'Chore' (named in the options)",
            "Redmine has no role 'Customer' (created_user_role)",
            "Redmine has no issue status 'Reopened' (there is: New, In Progress, Resolved, Feedback, Closed, Rejected)",
            "Redmine has no issue custom field 'Message key' (idempotency_field), or the API key is not an administrator's and may not list custom fields",
            "Redmine has no project 'nowhere' (or the API key cannot see it)",
            "project 'closed' is closed or archived",
            "project 'nofiles' has the files module turned off",
            "project 'nofiles' has no tracker 'Feature' (it has: Bug, Support)",
            "project 'support' has no tracker 'Incident' (it has: Bug, Feature, Support)",
            "Redmine has no issue custom field 'Colour'",
        ]
    )
    assert (
        report.facts["labels"]
        == "ignored (Redmine has no labels, no such category): email (support)"
    )


def test_idempotency_field_is_reported(make_adapter: Any) -> None:
    report = make_adapter(idempotency_field="Mail key").check()
    assert report.ok, report.problems
    assert report.facts["idempotency"].startswith("custom field Mail key (#")


def test_a_key_that_is_not_an_administrators(redmine: Redmine, make_adapter: Any) -> None:
    report = make_adapter(
        api_key=Secret(value=redmine.nora_key), users={"a@x.org": "alice"}
    ).check()
    assert report.ok, report.problems
    assert (report.facts["identity"], report.facts["admin"]) == ("nora", "no")
    assert "users map (1 entries), written as nora with a From line" in report.facts["senders"]
    limited = make_adapter(api_key=Secret(value=redmine.nora_key), idempotency_field="Mail key")
    assert limited.check().problems == ("idempotency_field needs an administrator's API key",)


def test_a_wrong_key_is_a_configuration_error(make_adapter: Any) -> None:
    with pytest.raises(ConfigurationError, match="refused the API key"):
        make_adapter(api_key=Secret(value="0" * 40)).check()


def test_an_unset_key_variable_is_a_configuration_error(
    make_adapter: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TM_NO_SUCH_KEY", raising=False)
    with pytest.raises(
        ConfigurationError, match="api_key: environment variable TM_NO_SUCH_KEY is not set"
    ):
        make_adapter(api_key=Secret(env="TM_NO_SUCH_KEY")).check()


def test_nothing_listening_is_unreachable(make_adapter: Any) -> None:
    with pytest.raises(Unreachable, match="cannot connect to Redmine"):
        make_adapter(url=f"http://127.0.0.1:{free_ports(1)[0]}").check()
