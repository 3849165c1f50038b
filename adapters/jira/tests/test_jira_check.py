"""``check``: sign in, report the deployment and version, verify every name the rules use."""

from __future__ import annotations

import pytest
import requests

from tracker_mail_plugin import ConfigurationError, Requirements, Unreachable

INFO = ("GET", "/rest/api/2/serverInfo", {}, None)
ME = ("GET", "/rest/api/2/myself", {}, None)
DESKS = ("GET", "/rest/servicedeskapi/servicedesk", {"start": "0", "limit": "50"}, None)


SCREEN_PAGE = {"startAt": "0", "maxResults": "50"}


def bug_screen(jira):
    """The Bug create screen without labels and Order (``customfield_10050``)."""
    answer = jira.fixture("issue_createmeta_fields")
    listed = "fields" if jira.cloud else "values"
    answer[listed] = [
        f for f in answer[listed] if f["fieldId"] not in ("labels", "customfield_10050")
    ]
    answer["total"] = len(answer[listed])
    return answer


def prime_sign_in(jira, server=None):
    jira.answer(
        "GET", "/rest/api/2/serverInfo", jira.fixture("serverInfo") if server is None else server
    )
    jira.answer("GET", "/rest/api/2/myself", "myself")


def test_cloud_reports_deployment_version_and_identity(cloud):
    prime_sign_in(cloud)
    report = cloud.adapter().check()
    assert report.ok, report.problems
    assert dict(report.facts) == {
        "deployment": "cloud",
        "version": "1001.0.0-SNAPSHOT",
        "identity": "tracker-mail automation (5b10ac8d82e05b22cc7d4ef5)",
    }
    assert cloud.lines == [INFO, ME]


def test_datacenter_reports_deployment_version_and_identity(datacenter):
    prime_sign_in(datacenter)
    report = datacenter.adapter().check()
    assert report.ok, report.problems
    assert dict(report.facts) == {
        "deployment": "datacenter",
        "version": "9.12.15",
        "identity": "tracker-mail automation (tracker-mail)",
    }
    assert datacenter.lines == [INFO, ME]


def test_credentials_for_the_other_deployment_are_a_problem(cloud):
    prime_sign_in(cloud, server=cloud.fixture("serverInfo") | {"deploymentType": "Server"})
    report = cloud.adapter().check(Requirements(issues=frozenset({("ED", None)})))
    assert report.problems == (
        "the server is Jira datacenter but the configuration signs in as cloud "
        "(see deployment and the credentials)",
    )
    assert report.facts["deployment"] == "datacenter"
    assert cloud.lines == [INFO, ME]  # nothing else is worth asking with the wrong API


def test_refused_credentials_raise(jira):
    jira.answer("GET", "/rest/api/2/serverInfo", "serverInfo")
    jira.answer("GET", "/rest/api/2/myself", "error_401", status=401)
    with pytest.raises(ConfigurationError, match="Jira refused the credentials"):
        jira.adapter().check()
    assert jira.lines == [INFO, ME]


def test_an_unreachable_server_raises(jira):
    jira.answer("GET", "/rest/api/2/serverInfo", exception=requests.ConnectTimeout("connect"))
    with pytest.raises(Unreachable):
        jira.adapter().check()
    assert jira.lines == [INFO]


def test_the_users_map_is_verified(jira):
    prime_sign_in(jira)
    jira.answer("GET", "/rest/api/2/user", "user")
    jira.answer("GET", "/rest/api/2/user", "error_404_issue", status=404)
    report = jira.adapter(users={"a@example.com": "known", "b@example.com": "ghost"}).check()
    assert report.problems == (
        "users: b@example.com is mapped to 'ghost', which Jira does not know",
    )
    param = "accountId" if jira.cloud else "username"
    assert jira.lines[2:] == [
        ("GET", "/rest/api/2/user", {param: "known"}, None),
        ("GET", "/rest/api/2/user", {param: "ghost"}, None),
    ]


def test_every_name_the_rules_use_is_verified(jira):
    prime_sign_in(jira)
    jira.answer("GET", "/rest/api/2/project/ED", "project")
    jira.answer(
        "GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10001", "issue_createmeta_fields"
    )
    jira.answer("GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10004", bug_screen(jira))
    jira.answer("GET", "/rest/api/2/project/NOPE", "error_404_issue", status=404)
    jira.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    jira.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/requesttype", "servicedeskapi_requesttype"
    )
    jira.answer("GET", "/rest/api/2/issue/OPS-1", "issue_get")
    jira.answer("GET", "/rest/api/2/field", "field")
    jira.answer("GET", "/rest/api/2/user/permission/search", [])
    jira.answer("GET", "/rest/api/2/mypermissions", "mypermissions_user_picker")
    needs = Requirements(
        issues=frozenset({("ED", "bug"), ("ED", None), ("ED", "Epic"), ("NOPE", None)}),
        requests=frozenset({("SD", "Get access"), ("SD", "Fix coffee"), ("ED", "x")}),
        attach_to_project=frozenset({"ED", "OPS"}),
        fields=frozenset({"Order", "Nope"}),
        labels={"ED": frozenset({"mail"})},
        create_users_in=frozenset({"SD", "ED"}),
        private_issues=True,
        private_comments=True,
    )
    report = jira.adapter(issue_types={"bug": "Bug"}, inbox_issues={"OPS": "OPS-1"}).check(needs)
    assert report.problems == (
        "project ED has no issue type 'Epic' (it has: Task, Bug)",
        "project ED: the create screen of Bug has no field 'labels', which a rule sets (it "
        "is left out of the issue; add it to the screen)",
        "project ED: the create screen of Bug has no field 'Order', which a rule sets (it "
        "is left out of the issue; add it to the screen)",
        "project NOPE does not exist or the API user cannot see it",
        "project ED is not a Jira Service Management service desk",
        "service desk SD has no request type 'Fix coffee'",
        "attach_to_project ED: Jira has no project files; name an issue to file messages on "
        "in inbox_issues (ED: ED-N)",
        "no field called 'Nope' (fields are named as Jira shows them, or by id)",
        "project ED: create_user makes service-desk customers, and ED is not a service desk",
        "rules create private issues but no security_level is configured",
        "rules add private comments but no private_comment_role is set",
    )
    key = "accountId" if jira.cloud else "username"
    me = "5b10ac8d82e05b22cc7d4ef5" if jira.cloud else "tracker-mail"
    assert jira.lines == [
        INFO,
        ME,
        ("GET", "/rest/api/2/project/ED", {}, None),
        ("GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10001", SCREEN_PAGE, None),
        ("GET", "/rest/api/2/field", {}, None),
        ("GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10004", SCREEN_PAGE, None),
        ("GET", "/rest/api/2/project/NOPE", {}, None),
        DESKS,
        (
            "GET",
            "/rest/servicedeskapi/servicedesk/10/requesttype",
            {"start": "0", "limit": "50"},
            None,
        ),
        ("GET", "/rest/api/2/issue/OPS-1", {"fields": "project"}, None),
        (
            "GET",
            "/rest/api/2/user/permission/search",
            {"permissions": "BROWSE_PROJECTS", "projectKey": "ED", key: me, "maxResults": "50"},
            None,
        ),
        ("GET", "/rest/api/2/mypermissions", {"permissions": "USER_PICKER"}, None),
    ]


def test_an_api_user_that_cannot_read_permissions_is_a_problem(jira):
    prime_sign_in(jira)
    jira.answer("GET", "/rest/api/2/project/ED", "project")
    jira.answer(
        "GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10001", "issue_createmeta_fields"
    )
    jira.answer(
        "GET",
        "/rest/api/2/user/permission/search",
        {"errorMessages": ["You do not have permission to perform this operation."], "errors": {}},
        status=403,
    )
    report = jira.adapter().check(Requirements(issues=frozenset({("ED", None)})))
    [problem] = report.problems
    assert problem.startswith("the API user cannot read other users' permissions")
    assert problem.endswith("it needs Administer Jira or Administer Projects")
    assert [line[:2] for line in jira.lines] == [
        INFO[:2],
        ME[:2],
        ("GET", "/rest/api/2/project/ED"),
        ("GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10001"),
        ("GET", "/rest/api/2/user/permission/search"),
    ]


def test_the_example_service_desk_rules_pass(cloud):
    prime_sign_in(cloud)
    cloud.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    cloud.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/requesttype", "servicedeskapi_requesttype"
    )
    cloud.answer("GET", "/rest/api/2/user/permission/search", "user_permission_search")
    cloud.answer("GET", "/rest/api/2/mypermissions", "mypermissions_user_picker")
    needs = Requirements(
        requests=frozenset(
            {("SD", "Request new hardware"), ("SD", "Get access"), ("SD", "Get IT help")}
        ),
        create_users_in=frozenset({"SD"}),
    )
    report = cloud.adapter().check(needs)
    assert report.ok, report.problems
    assert [line[:2] for line in cloud.lines] == [
        INFO[:2],
        ME[:2],
        DESKS[:2],
        ("GET", "/rest/servicedeskapi/servicedesk/10/requesttype"),
        ("GET", "/rest/api/2/user/permission/search"),
        ("GET", "/rest/api/2/mypermissions"),
    ]
    assert cloud.lines[-1] == (
        "GET", "/rest/api/2/mypermissions", {"permissions": "USER_PICKER"}, None
    )  # fmt: skip


def test_an_api_user_that_cannot_browse_users_is_a_problem(jira):
    # Without Browse users and groups, Jira answers user searches with nobody (Atlassian's
    # description of GET /rest/api/3/user/search), not with an error: only check can tell.
    prime_sign_in(jira)
    jira.answer("GET", "/rest/api/2/project/ED", "project")
    jira.answer(
        "GET", "/rest/api/2/issue/createmeta/ED/issuetypes/10001", "issue_createmeta_fields"
    )
    jira.answer("GET", "/rest/api/2/user/permission/search", [])
    lacking = jira.fixture("mypermissions_user_picker")
    lacking["permissions"]["USER_PICKER"]["havePermission"] = False
    jira.answer("GET", "/rest/api/2/mypermissions", lacking)
    report = jira.adapter().check(Requirements(issues=frozenset({("ED", None)})))
    assert report.problems == (
        "the API user lacks the Browse users and groups global permission: Jira answers its "
        "user searches with nobody, so every sender would be unknown",
    )
    assert jira.lines[-1] == (
        "GET", "/rest/api/2/mypermissions", {"permissions": "USER_PICKER"}, None
    )  # fmt: skip
