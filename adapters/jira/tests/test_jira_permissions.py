"""``can``: the sender's own permission in the project, and service-desk customers."""

from __future__ import annotations

from tracker_mail_plugin import Permission, UserRef

MIA_CLOUD = UserRef("5b10a2844c20165700ede21g", None, "Mia Krystof", "mia@example.com")
MIA_DC = UserRef("mia", "mia", "Mia Krystof", "mia@example.com")
FRED_CLOUD = UserRef(
    "qm:a713c8ea-1075-4e30-9d96-891a7d181739:5ad6d3581db05e2a66fa80b",
    None,
    "Fred F. User",
    "fred@example.com",
)
FRED_DC = UserRef("fred@example.com", "fred@example.com", "Fred F. User", "fred@example.com")
DESKS = ("GET", "/rest/servicedeskapi/servicedesk", {"start": "0", "limit": "50"}, None)


def mia(jira):
    return MIA_CLOUD if jira.cloud else MIA_DC


def fred(jira):
    return FRED_CLOUD if jira.cloud else FRED_DC


def permission_query(jira, permission, project, user):
    key = "accountId" if jira.cloud else "username"
    query = {"permissions": permission, "projectKey": project, key: user.id, "maxResults": "50"}
    return ("GET", "/rest/api/2/user/permission/search", query, None)


def test_the_sender_with_create_issues_may_create(jira):
    jira.answer("GET", "/rest/api/2/user/permission/search", "user_permission_search")
    adapter = jira.adapter()
    assert adapter.can(mia(jira), Permission.CREATE_ISSUE, "ED") is True
    assert adapter.can(mia(jira), Permission.CREATE_ISSUE, "ED") is True  # cached
    assert jira.lines == [permission_query(jira, "CREATE_ISSUES", "ED", mia(jira))]


def test_the_sender_without_the_permission_may_not(jira):
    jira.answer("GET", "/rest/api/2/user/permission/search", [])
    assert jira.adapter().can(mia(jira), Permission.CREATE_ISSUE, "ED") is False
    assert jira.lines == [permission_query(jira, "CREATE_ISSUES", "ED", mia(jira))]


def test_another_user_in_the_answer_does_not_count(jira):
    jira.answer("GET", "/rest/api/2/user/permission/search", "user_permission_search")
    other = UserRef("someone-else", "someone-else", "Other", "other@example.com")
    assert jira.adapter().can(other, Permission.CREATE_ISSUE, "ED") is False
    assert jira.lines == [permission_query(jira, "CREATE_ISSUES", "ED", other)]


def test_a_project_that_does_not_exist_answers_false(jira):
    jira.answer(
        "GET",
        "/rest/api/2/user/permission/search",
        {"errorMessages": ["No project could be found with key 'NOPE'."], "errors": {}},
        status=404,
    )
    assert jira.adapter().can(mia(jira), Permission.CREATE_ISSUE, "NOPE") is False
    assert jira.lines == [permission_query(jira, "CREATE_ISSUES", "NOPE", mia(jira))]


def test_an_issue_type_the_project_lacks_answers_false(jira):
    jira.answer("GET", "/rest/api/2/project/ED", "project")
    jira.answer("GET", "/rest/api/2/user/permission/search", "user_permission_search")
    adapter = jira.adapter(issue_types={"bug": "Bug"})
    assert adapter.can(mia(jira), Permission.CREATE_ISSUE, "ED", "Epic") is False
    assert adapter.can(mia(jira), Permission.CREATE_ISSUE, "ED", "bug") is True
    assert jira.lines == [
        ("GET", "/rest/api/2/project/ED", {}, None),
        permission_query(jira, "CREATE_ISSUES", "ED", mia(jira)),
    ]


def test_anonymous_may_do_nothing(jira):
    assert jira.adapter().can(None, Permission.COMMENT, "ED") is False
    assert jira.sent == []


def test_comments_need_add_comments(jira):
    jira.answer("GET", "/rest/api/2/user/permission/search", "user_permission_search")
    assert jira.adapter().can(mia(jira), Permission.COMMENT, "ED") is True
    assert jira.lines == [permission_query(jira, "ADD_COMMENTS", "ED", mia(jira))]


def test_a_customer_may_comment_on_a_service_desk(jira):
    jira.answer("GET", "/rest/api/2/user/permission/search", [])
    jira.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    jira.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/customer", "servicedeskapi_servicedesk_customer"
    )
    assert jira.adapter().can(fred(jira), Permission.COMMENT, "SD") is True
    assert jira.lines == [
        permission_query(jira, "ADD_COMMENTS", "SD", fred(jira)),
        DESKS,
        (
            "GET",
            "/rest/servicedeskapi/servicedesk/10/customer",
            {"query": "fred@example.com", "start": "0", "limit": "50"},
            None,
        ),
    ]
    assert jira.sent[-1].headers["X-ExperimentalApi"] == ("opt-in" if jira.cloud else "true")


def test_a_customer_may_raise_requests(jira):
    jira.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    jira.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/customer", "servicedeskapi_servicedesk_customer"
    )
    assert jira.adapter().can(fred(jira), Permission.CREATE_REQUEST, "SD", "Get access") is True
    assert [line[:2] for line in jira.lines] == [
        ("GET", "/rest/servicedeskapi/servicedesk"),
        ("GET", "/rest/servicedeskapi/servicedesk/10/customer"),
    ]


def test_a_stranger_may_not_raise_requests_unless_the_desk_is_open(jira):
    jira.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    jira.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/customer", "servicedeskapi_servicedesk_customer"
    )
    jira.answer("GET", "/rest/api/2/user/permission/search", [])
    stranger = UserRef("stranger", "stranger", "Stranger", "stranger@example.com")
    assert jira.adapter().can(stranger, Permission.CREATE_REQUEST, "SD") is False
    assert jira.lines[-1] == permission_query(jira, "CREATE_ISSUES", "SD", stranger)
    assert len(jira.sent) == 3
    open_desk = jira.adapter(request_access="anyone", service_desks={"SD": 10})
    assert open_desk.can(stranger, Permission.CREATE_REQUEST, "SD") is True
    assert len(jira.sent) == 3  # an open desk asks nothing


def test_requests_in_a_project_that_is_no_desk_are_refused(jira):
    jira.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    assert jira.adapter().can(mia(jira), Permission.CREATE_REQUEST, "ED") is False
    assert jira.lines == [DESKS]


def test_without_service_management_there_are_no_desks(datacenter):
    datacenter.answer("GET", "/rest/servicedeskapi/servicedesk", None, status=404)
    assert datacenter.adapter().can(MIA_DC, Permission.CREATE_REQUEST, "SD") is False
    assert datacenter.lines == [DESKS]
