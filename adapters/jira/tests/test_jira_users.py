"""Finding senders' accounts by address: accountId on Cloud, username on Data Center."""

from __future__ import annotations

import logging

import pytest

from tracker_mail_plugin import ConfigurationError, UserRef

MIA_CLOUD = UserRef("5b10a2844c20165700ede21g", None, "Mia Krystof", "mia@example.com")
MIA_DC = UserRef("mia", "mia", "Mia Krystof", "mia@example.com")


def test_cloud_finds_the_account_id_by_full_address(cloud):
    cloud.answer("GET", "/rest/api/2/user/search", "user_search")
    assert cloud.adapter().find_user("Mia@Example.com") == MIA_CLOUD
    assert cloud.lines == [
        ("GET", "/rest/api/2/user/search", {"query": "mia@example.com", "maxResults": "10"}, None)
    ]


def test_datacenter_finds_the_username(datacenter):
    datacenter.answer("GET", "/rest/api/2/user/search", "user_search")
    assert datacenter.adapter().find_user("mia@example.com") == MIA_DC
    assert datacenter.lines == [
        (
            "GET",
            "/rest/api/2/user/search",
            {"username": "mia@example.com", "maxResults": "10"},
            None,
        )
    ]


HANNES_SEARCH = (
    "GET",
    "/rest/api/2/user/search",
    {"query": "hannes@example.com", "maxResults": "10"},
    None,
)
HANNES_PICKER = (
    "GET",
    "/rest/api/2/groupuserpicker",
    {"query": "hannes@example.com", "maxResults": "10", "excludeConnectAddons": "true"},
    None,
)


def test_cloud_accepts_a_hidden_address_the_exact_match_picker_confirms(cloud):
    cloud.answer("GET", "/rest/api/2/user/search", "user_search_hidden_email")
    cloud.answer("GET", "/rest/api/2/groupuserpicker", "groupuserpicker_hidden_email")
    found = cloud.adapter().find_user("hannes@example.com")
    assert found == UserRef("5b109f2e9729b51b54dc274d", None, "Hidden Hannes", "hannes@example.com")
    assert cloud.lines == [HANNES_SEARCH, HANNES_PICKER]


def test_a_hidden_address_found_only_by_prefix_is_refused_with_the_reason(cloud, caplog):
    # The user search matched a prefix (say hannes@example.com.au); the exact-match picker
    # does not list the person, so nobody is taken for the sender.
    cloud.answer("GET", "/rest/api/2/user/search", "user_search_hidden_email")
    picker = cloud.fixture("groupuserpicker_hidden_email")
    picker["users"] |= {"users": [], "total": 0, "header": "Showing 0 of 0 matching users"}
    cloud.answer("GET", "/rest/api/2/groupuserpicker", picker)
    with caplog.at_level(logging.WARNING, logger="tracker_mail.jira"):
        assert cloud.adapter().find_user("hannes@example.com") is None
    assert cloud.lines == [HANNES_SEARCH, HANNES_PICKER]
    assert (
        "found 1 account(s) with a hidden address for hannes@example.com but cannot confirm"
        in caplog.text
    )
    assert "map the address in users" in caplog.text


def test_a_hidden_person_named_after_the_address_is_refused(cloud, caplog):
    search = cloud.fixture("user_search_hidden_email")
    search[0]["displayName"] = "hannes@example.com (not Hannes)"
    cloud.answer("GET", "/rest/api/2/user/search", search)
    with caplog.at_level(logging.WARNING, logger="tracker_mail.jira"):
        assert cloud.adapter().find_user("hannes@example.com") is None
    assert cloud.lines == [HANNES_SEARCH]
    assert "cannot confirm" in caplog.text


def test_someone_else_with_a_similar_address_is_not_the_sender(jira):
    jira.answer("GET", "/rest/api/2/user/search", "user_search")
    assert jira.adapter().find_user("mia@example.org") is None
    assert len(jira.sent) == 1


def test_inactive_accounts_are_not_senders(jira):
    inactive = [dict(person, active=False) for person in jira.fixture("user_search")]
    jira.answer("GET", "/rest/api/2/user/search", inactive)
    assert jira.adapter().find_user("mia@example.com") is None
    assert len(jira.sent) == 1


def test_answers_are_cached_for_the_adapters_life(jira):
    jira.answer("GET", "/rest/api/2/user/search", [])
    adapter = jira.adapter()
    assert adapter.find_user("nobody@example.com") is None
    assert adapter.find_user("NOBODY@example.com") is None
    assert len(jira.sent) == 1


def test_users_map_reads_the_mapped_account(jira):
    account = "5b10a2844c20165700ede21g" if jira.cloud else "mia"
    jira.answer("GET", "/rest/api/2/user", "user")
    found = jira.adapter(users={"alias@example.com": account}).find_user("Alias@example.com")
    expected = MIA_CLOUD if jira.cloud else MIA_DC
    assert found == expected
    param = "accountId" if jira.cloud else "username"
    assert jira.lines == [("GET", "/rest/api/2/user", {param: account}, None)]


def test_a_mapped_account_jira_does_not_know_is_a_configuration_error(jira):
    jira.answer("GET", "/rest/api/2/user", "error_404_issue", status=404)
    adapter = jira.adapter(users={"alias@example.com": "ghost"})
    with pytest.raises(ConfigurationError, match="mapped to 'ghost', which Jira does not know"):
        adapter.find_user("alias@example.com")
    param = "accountId" if jira.cloud else "username"
    assert jira.lines == [("GET", "/rest/api/2/user", {param: "ghost"}, None)]
