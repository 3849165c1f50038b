"""``find_by_key`` after a lost answer: the stored property, found with or without an index."""

from __future__ import annotations

import copy

import pytest

from tracker_mail_plugin import CommentRef, IssueRef, PermanentError
from tracker_mail_plugin.testing.openapi import SpecDrift

SCAN = '(creator = currentUser() OR watcher = currentUser()) AND updated >= "-7d" ORDER BY updated DESC'
COMMENTS = {"startAt": "0", "maxResults": "100", "expand": "properties"}
# Reading comments with expand=properties is Data Center's documented way; Cloud lists that
# expansion only on POST /rest/api/2/comment/list, so on Cloud these fail the check against
# Atlassian's description (conftest.py) until the adapter uses a documented route there.
JIRA_2 = pytest.mark.xfail(
    strict=True,
    raises=SpecDrift,
    reason="issue 13 Jira 2: GET …/comment?expand=properties; Cloud documents the expansion "
    "only on POST /rest/api/2/comment/list",
)
CLOUD_READS_COMMENTS = pytest.mark.parametrize(
    "jira", [pytest.param("cloud", marks=JIRA_2), "datacenter"], indirect=True
)


def search_line(jira, jql=SCAN, size=50, properties=True, **paging):
    query = {"jql": jql, "fields": "project"}
    if properties:
        query["properties"] = "tracker-mail"
    if jira.cloud:
        query |= {"maxResults": str(size)} | paging
        return ("GET", "/rest/api/2/search/jql", query, None)
    query |= {"startAt": paging.get("startAt", "0"), "maxResults": str(size)}
    return ("GET", "/rest/api/2/search", query, None)


def search_path(jira):
    return "/rest/api/2/search/jql" if jira.cloud else "/rest/api/2/search"


def search_answer(jira):
    return "search_jql" if jira.cloud else "search"


def comments_without_the_key(jira):
    answer = copy.deepcopy(jira.fixture("issue_comments"))
    answer["comments"][1]["properties"][0]["value"]["key"] = "tm-someotherwrite0000"
    return answer


@CLOUD_READS_COMMENTS
def test_a_created_issue_is_found_among_recent_issues(jira, key):
    jira.answer("GET", search_path(jira), search_answer(jira))
    jira.answer("GET", "/rest/api/2/issue/ED-3/comment", comments_without_the_key(jira))
    if not jira.cloud:  # Data Center leaves properties out of search answers
        jira.answer("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", None, status=404)
        jira.answer("GET", "/rest/api/2/issue/ED-24/properties/tracker-mail", "issue_property")
    found = jira.adapter().find_by_key(key)
    assert found == IssueRef("jira", "ED-24")
    assert found.project == "ED"
    expected = [search_line(jira)]
    if not jira.cloud:
        expected.append(("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", {}, None))
    expected.append(("GET", "/rest/api/2/issue/ED-3/comment", COMMENTS, None))
    if not jira.cloud:
        expected.append(("GET", "/rest/api/2/issue/ED-24/properties/tracker-mail", {}, None))
    assert jira.lines == expected


@CLOUD_READS_COMMENTS
def test_a_comment_is_found_by_its_property(jira, key):
    jira.answer("GET", search_path(jira), search_answer(jira))
    jira.answer("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", None, status=404)
    jira.answer("GET", "/rest/api/2/issue/ED-3/comment", "issue_comments")
    found = jira.adapter().find_by_key(key)
    assert found == CommentRef(IssueRef("jira", "ED-3"), "10000")
    assert jira.lines[-1] == ("GET", "/rest/api/2/issue/ED-3/comment", COMMENTS, None)


@CLOUD_READS_COMMENTS
def test_with_the_issue_named_only_its_comments_are_read(jira, key):
    jira.answer("GET", "/rest/api/2/issue/SD-7/comment", "issue_comments")
    issue = IssueRef("jira", "SD-7", project="SD")
    assert jira.adapter().find_by_key(key, issue) == CommentRef(issue, "10000")
    assert jira.lines == [("GET", "/rest/api/2/issue/SD-7/comment", COMMENTS, None)]


@CLOUD_READS_COMMENTS
def test_comments_are_paged(jira, key):
    first = comments_without_the_key(jira)
    first["total"] = 3
    second = {
        "startAt": 2,
        "maxResults": 100,
        "total": 3,
        "comments": [jira.fixture("issue_comments")["comments"][1]],
    }
    jira.answer("GET", "/rest/api/2/issue/SD-7/comment", first)
    jira.answer("GET", "/rest/api/2/issue/SD-7/comment", second)
    found = jira.adapter().find_by_key(key, IssueRef("jira", "SD-7"))
    assert found == CommentRef(IssueRef("jira", "SD-7"), "10000")
    assert jira.lines == [
        ("GET", "/rest/api/2/issue/SD-7/comment", COMMENTS, None),
        ("GET", "/rest/api/2/issue/SD-7/comment", COMMENTS | {"startAt": "2"}, None),
    ]


def test_nothing_found_is_none(jira, key):
    empty = (
        {"issues": [], "isLast": True}
        if jira.cloud
        else {"startAt": 0, "maxResults": 50, "total": 0, "issues": []}
    )
    jira.answer("GET", search_path(jira), empty)
    assert jira.adapter().find_by_key(key) is None
    assert jira.lines == [search_line(jira)]


def test_an_indexed_property_is_one_search(jira, key):
    answer = copy.deepcopy(jira.fixture(search_answer(jira)))
    answer["issues"] = answer["issues"][1:]
    if not jira.cloud:
        answer["total"] = 1
    jira.answer("GET", search_path(jira), answer)
    adapter = jira.adapter(recovery={"indexed_property": True})
    assert adapter.find_by_key(key) == IssueRef("jira", "ED-24")
    jql = f'issue.property[tracker-mail].key = "{key}"'
    assert jira.lines == [search_line(jira, jql=jql, size=1, properties=False)]


@CLOUD_READS_COMMENTS
def test_stopping_at_the_limit_is_an_error_not_a_none(jira, key):
    jira.answer("GET", search_path(jira), search_answer(jira))
    jira.answer("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", None, status=404)
    jira.answer("GET", "/rest/api/2/issue/ED-24/properties/tracker-mail", None, status=404)
    jira.answer("GET", "/rest/api/2/issue/ED-3/comment", comments_without_the_key(jira))
    jira.answer("GET", "/rest/api/2/issue/ED-24/comment", comments_without_the_key(jira))
    adapter = jira.adapter(recovery={"max_issues": 2, "lookback_days": 3})
    with pytest.raises(PermanentError, match="was not among the 2 issues read"):
        adapter.find_by_key("tm-notcreatedanywhere00")
    jql = SCAN.replace("-7d", "-3d")
    assert jira.lines[0] == search_line(jira, jql=jql, size=2)


@JIRA_2
def test_cloud_pages_with_next_page_token(cloud, key):
    first = copy.deepcopy(cloud.fixture("search_jql"))
    first["issues"] = first["issues"][:1]
    first["isLast"] = False
    first["nextPageToken"] = "CAEaAggD"
    second = copy.deepcopy(cloud.fixture("search_jql"))
    second["issues"] = second["issues"][1:]
    cloud.answer("GET", "/rest/api/2/search/jql", first)
    cloud.answer("GET", "/rest/api/2/search/jql", second)
    cloud.answer("GET", "/rest/api/2/issue/ED-3/comment", comments_without_the_key(cloud))
    assert cloud.adapter().find_by_key(key) == IssueRef("jira", "ED-24")
    assert cloud.lines == [
        search_line(cloud),
        ("GET", "/rest/api/2/issue/ED-3/comment", COMMENTS, None),
        search_line(cloud, nextPageToken="CAEaAggD"),
    ]


def test_datacenter_pages_with_start_at(datacenter, key):
    first = copy.deepcopy(datacenter.fixture("search"))
    first["issues"] = first["issues"][:1]
    first["total"] = 2
    second = copy.deepcopy(datacenter.fixture("search"))
    second["issues"] = second["issues"][1:]
    second["startAt"] = 1
    datacenter.answer("GET", "/rest/api/2/search", first)
    datacenter.answer("GET", "/rest/api/2/search", second)
    datacenter.answer("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", None, status=404)
    datacenter.answer("GET", "/rest/api/2/issue/ED-3/comment", comments_without_the_key(datacenter))
    datacenter.answer("GET", "/rest/api/2/issue/ED-24/properties/tracker-mail", "issue_property")
    assert datacenter.adapter().find_by_key(key) == IssueRef("jira", "ED-24")
    assert [line[:2] for line in datacenter.lines] == [
        ("GET", "/rest/api/2/search"),
        ("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail"),
        ("GET", "/rest/api/2/issue/ED-3/comment"),
        ("GET", "/rest/api/2/search"),
        ("GET", "/rest/api/2/issue/ED-24/properties/tracker-mail"),
    ]
    assert datacenter.lines[3] == search_line(datacenter, startAt="1")
