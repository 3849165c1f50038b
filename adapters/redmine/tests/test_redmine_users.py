"""Senders against the real Redmine: lookup by address, permissions (S8, S10), new accounts (S12)."""

from __future__ import annotations

import pytest
from tracker_mail_plugin_redmine import RedmineAdapter

from tests.servers.redmine import Redmine
from tracker_mail_plugin import PermanentError, Permission, Secret, UserRef

pytestmark = pytest.mark.servers


def user(redmine: Redmine, login: str) -> UserRef:
    return UserRef(str(redmine.setup["users"][login]), login, login, f"{login}@example.com")


# -- find_user --------------------------------------------------------------------------


def test_find_user_by_exact_address_ignoring_case(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    found = adapter.find_user("Alice@Example.COM")
    assert found == UserRef(
        str(redmine.setup["users"]["alice"]), "alice", "Alice Example", "alice@example.com"
    )


def test_find_user_is_not_fooled_by_the_substring_search(adapter: RedmineAdapter) -> None:
    # Redmine's ?name= matches xalice@example.com too; only the exact address counts.
    assert adapter.find_user("alice@example.com").login == "alice"
    assert adapter.find_user("lice@example.com") is None
    assert adapter.find_user("example.com") is None


def test_locked_and_unknown_senders_are_not_found(adapter: RedmineAdapter) -> None:
    assert adapter.find_user("lou@example.com") is None
    assert adapter.find_user("stranger@example.org") is None


def test_users_map_is_the_fallback_and_is_checked_against_redmine(
    redmine: Redmine, make_adapter
) -> None:
    adapter = make_adapter(users={"Alias@Example.net": "carol", "gone@example.net": "nobody"})
    assert adapter.find_user("alias@example.net").login == "carol"
    assert adapter.find_user("alias@example.net").id == str(redmine.setup["users"]["carol"])
    assert adapter.find_user("gone@example.net") is None  # mapped to a login Redmine lacks


def test_without_an_admin_key_only_the_users_map_knows_senders(
    redmine: Redmine, make_adapter
) -> None:
    adapter = make_adapter(api_key=Secret(value=redmine.nora_key), users={"a@x.org": "alice"})
    assert adapter.find_user("alice@example.com") is None  # /users.json is for administrators
    assert adapter.find_user("a@x.org") == UserRef("alice", "alice", "alice", "a@x.org")


# -- can (S8, S10) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("login", "action", "project", "kind", "allowed"),
    [
        ("alice", Permission.CREATE_ISSUE, "support", None, True),
        ("alice", Permission.CREATE_ISSUE, "support", "Feature", True),
        ("alice", Permission.CREATE_REQUEST, "support", None, True),  # the Support tracker
        ("alice", Permission.COMMENT, "support", None, True),
        ("bob", Permission.CREATE_ISSUE, "support", None, False),  # not a member
        ("bob", Permission.COMMENT, "support", None, False),
        ("carol", Permission.CREATE_ISSUE, "support", None, False),  # may only add notes
        ("carol", Permission.COMMENT, "support", None, True),
        ("alice", Permission.CREATE_ISSUE, "closed", None, False),  # a closed project
        ("alice", Permission.CREATE_ISSUE, "no-such-project", None, False),
        ("alice", Permission.CREATE_ISSUE, "nofiles", "Feature", False),  # tracker not enabled
        ("alice", Permission.ATTACH_TO_PROJECT, "support", None, False),  # no manage_files
        ("manny", Permission.ATTACH_TO_PROJECT, "support", None, True),
        ("manny", Permission.ATTACH_TO_PROJECT, "nofiles", None, False),  # Files module off
        ("admin", Permission.CREATE_ISSUE, "support", "Bug", True),  # administrators may all
        ("alice", Permission.CREATE_ISSUE, "support-sub", None, True),  # inherits members
    ],
)
def test_can(
    redmine: Redmine,
    adapter: RedmineAdapter,
    login: str,
    action: Permission,
    project: str,
    kind: str | None,
    allowed: bool,
) -> None:
    assert adapter.can(user(redmine, login), action, project, kind) is allowed


def test_can_by_login_and_by_project_id(redmine: Redmine, adapter: RedmineAdapter) -> None:
    by_login = UserRef("alice", "alice", "Alice", None)  # as the core's users map makes them
    support_id = str(redmine.setup["projects"]["support"])
    assert adapter.can(by_login, Permission.CREATE_ISSUE, support_id)
    assert not adapter.can(UserRef("ghost", "ghost", "G", None), Permission.CREATE_ISSUE, "support")
    assert not adapter.can(None, Permission.CREATE_ISSUE, "support")


def test_without_an_admin_key_the_key_accounts_own_permissions_count(
    redmine: Redmine, make_adapter
) -> None:
    adapter = make_adapter(api_key=Secret(value=redmine.nora_key))
    anyone = UserRef("bob", "bob", "Bob", "bob@example.com")
    assert adapter.can(anyone, Permission.CREATE_ISSUE, "support")  # nora manages support
    assert not adapter.can(anyone, Permission.CREATE_ISSUE, "closed")  # nora is no member


# -- create_user (S12) ------------------------------------------------------------------


def test_create_user_makes_an_active_member_with_the_configured_role(
    redmine: Redmine, make_adapter
) -> None:
    adapter = make_adapter(created_user_role="Mail user")
    made = adapter.create_user("New.Person+tag@Example.org", "New Person", "support")
    assert made.login == "new.person_tag@example.org"
    data = redmine.api("GET", f"/users/{made.id}.json", params={"include": "memberships"})["user"]
    assert (data["firstname"], data["lastname"], data["mail"], data["status"]) == (
        "New",
        "Person",
        "new.person+tag@example.org",
        1,
    )
    roles = {m["project"]["id"]: [r["name"] for r in m["roles"]] for m in data["memberships"]}
    projects = redmine.setup["projects"]
    # support-sub inherits support's members
    assert roles == {projects["support"]: ["Mail user"], projects["support-sub"]: ["Mail user"]}
    assert adapter.find_user("new.person+tag@example.org") == made
    assert adapter.can(made, Permission.CREATE_ISSUE, "support")


def test_create_user_twice_reuses_the_account_and_joins_the_new_project(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    first = adapter.create_user("twice@example.org", "", "support")
    again = adapter.create_user("twice@example.org", "", "contract")
    assert again == first
    assert (first.name, first.login) == ("twice example.org", "twice@example.org")
    data = redmine.api("GET", f"/users/{first.id}.json", params={"include": "memberships"})["user"]
    names = sorted(m["project"]["name"] for m in data["memberships"])
    assert names == ["Contract", "Support Desk", "Support Subdesk"]
    everyone = redmine.api("GET", "/users.json", params={"name": "twice@example.org", "status": ""})
    assert everyone["total_count"] == 1


def test_create_user_refuses_a_locked_account(adapter: RedmineAdapter) -> None:
    with pytest.raises(PermanentError, match="not active"):
        adapter.create_user("lou@example.com", "Lou", "support")


def test_create_user_with_a_role_redmine_lacks_is_refused_before_anything_is_made(
    redmine: Redmine, make_adapter
) -> None:
    adapter = make_adapter(created_user_role="Customer")
    with pytest.raises(PermanentError, match="no role 'Customer'"):
        adapter.create_user("someone@example.org", "Some One", "support")
    found = redmine.api("GET", "/users.json", params={"name": "someone@example.org", "status": ""})
    assert found["total_count"] == 0
