"""``find_by_key`` after a lost answer: the stored property, found with or without an index."""

from __future__ import annotations

import copy

import pytest

from tracker_mail_plugin import (
    CommentRef,
    IssueRef,
    NewIssue,
    PermanentError,
    UnknownOutcome,
    Upload,
)

SCAN = '(creator = currentUser() OR watcher = currentUser()) AND updated >= "-7d" ORDER BY updated DESC'
COMMENTS = {"startAt": "0", "maxResults": "100", "expand": "properties"}


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


def prime_comments(jira, issue_key, answer="issue_comments"):
    """The issue's comments: with properties on Data Center; on Cloud through comment/list."""
    data = jira.fixture(answer) if isinstance(answer, str) else answer
    path = f"/rest/api/2/issue/{issue_key}/comment"
    if not jira.cloud:
        jira.answer("GET", path, data)
        return
    # Cloud's issue comment list does not expand properties; comment/list does.
    bare = copy.deepcopy(data)
    for comment in bare["comments"]:
        comment.pop("properties", None)
    jira.answer("GET", path, bare)
    jira.answer("POST", "/rest/api/2/comment/list", comment_list(data["comments"]))


def comment_list(comments):
    """Atlassian's PageBeanComment for ``POST /rest/api/2/comment/list``."""
    return {
        "isLast": True,
        "maxResults": 1048576,
        "startAt": 0,
        "total": len(comments),
        "values": comments,
    }


def comment_lines(jira, issue_key, answer="issue_comments", start=0):
    data = jira.fixture(answer) if isinstance(answer, str) else answer
    path = f"/rest/api/2/issue/{issue_key}/comment"
    if not jira.cloud:
        return [("GET", path, COMMENTS | {"startAt": str(start)}, None)]
    ids = [int(comment["id"]) for comment in data["comments"]]
    return [
        ("GET", path, {"startAt": str(start), "maxResults": "100"}, None),
        ("POST", "/rest/api/2/comment/list", {"expand": "properties"}, {"ids": ids}),
    ]


def test_a_created_issue_is_found_among_recent_issues(jira, key):
    jira.answer("GET", search_path(jira), search_answer(jira))
    prime_comments(jira, "ED-3", comments_without_the_key(jira))
    if not jira.cloud:  # Data Center leaves properties out of search answers
        jira.answer("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", None, status=404)
        jira.answer("GET", "/rest/api/2/issue/ED-24/properties/tracker-mail", "issue_property")
    found = jira.adapter().find_by_key(key)
    assert found == IssueRef("jira", "ED-24")
    assert found.project == "ED"
    expected = [search_line(jira)]
    if not jira.cloud:
        expected.append(("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", {}, None))
    expected += comment_lines(jira, "ED-3", comments_without_the_key(jira))
    if not jira.cloud:
        expected.append(("GET", "/rest/api/2/issue/ED-24/properties/tracker-mail", {}, None))
    assert jira.lines == expected


def test_a_comment_is_found_by_its_property(jira, key):
    jira.answer("GET", search_path(jira), search_answer(jira))
    jira.answer("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", None, status=404)
    prime_comments(jira, "ED-3")
    found = jira.adapter().find_by_key(key)
    assert found == CommentRef(IssueRef("jira", "ED-3"), "10000")
    lines = comment_lines(jira, "ED-3")
    assert jira.lines[-len(lines) :] == lines


def test_with_the_issue_named_only_its_comments_are_read(jira, key):
    prime_comments(jira, "SD-7")
    issue = IssueRef("jira", "SD-7", project="SD")
    assert jira.adapter().find_by_key(key, issue) == CommentRef(issue, "10000")
    assert jira.lines == comment_lines(jira, "SD-7")


def test_comments_are_paged(jira, key):
    first = comments_without_the_key(jira)
    first["total"] = 3
    second = {
        "startAt": 2,
        "maxResults": 100,
        "total": 3,
        "comments": [jira.fixture("issue_comments")["comments"][1]],
    }
    prime_comments(jira, "SD-7", first)
    prime_comments(jira, "SD-7", second)
    found = jira.adapter().find_by_key(key, IssueRef("jira", "SD-7"))
    assert found == CommentRef(IssueRef("jira", "SD-7"), "10000")
    assert jira.lines == comment_lines(jira, "SD-7", first) + comment_lines(
        jira, "SD-7", second, start=2
    )


def test_nothing_found_is_none(jira, key):
    empty = (
        {"issues": [], "isLast": True}
        if jira.cloud
        else {"startAt": 0, "maxResults": 50, "total": 0, "issues": []}
    )
    jira.answer("GET", search_path(jira), empty)
    assert jira.adapter().find_by_key(key) is None
    if jira.cloud:  # searched again once Cloud's index had time to show a recent write
        assert jira.lines == [search_line(jira)] * 2
        assert jira.clock.slept == [30.0]
    else:
        assert jira.lines == [search_line(jira)]
        assert jira.clock.slept == []


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


def test_stopping_at_the_limit_is_an_error_not_a_none(jira, key):
    jira.answer("GET", search_path(jira), search_answer(jira))
    jira.answer("GET", "/rest/api/2/issue/ED-3/properties/tracker-mail", None, status=404)
    jira.answer("GET", "/rest/api/2/issue/ED-24/properties/tracker-mail", None, status=404)
    prime_comments(jira, "ED-3", comments_without_the_key(jira))
    prime_comments(jira, "ED-24", comments_without_the_key(jira))
    adapter = jira.adapter(recovery={"max_issues": 2, "lookback_days": 3})
    with pytest.raises(PermanentError, match="was not among the 2 issues read"):
        adapter.find_by_key("tm-notcreatedanywhere00")
    jql = SCAN.replace("-7d", "-3d")
    assert jira.lines[0] == search_line(jira, jql=jql, size=2)


def test_cloud_pages_with_next_page_token(cloud, key):
    first = copy.deepcopy(cloud.fixture("search_jql"))
    first["issues"] = first["issues"][:1]
    first["isLast"] = False
    first["nextPageToken"] = "CAEaAggD"
    second = copy.deepcopy(cloud.fixture("search_jql"))
    second["issues"] = second["issues"][1:]
    cloud.answer("GET", "/rest/api/2/search/jql", first)
    cloud.answer("GET", "/rest/api/2/search/jql", second)
    prime_comments(cloud, "ED-3", comments_without_the_key(cloud))
    assert cloud.adapter().find_by_key(key) == IssueRef("jira", "ED-24")
    assert cloud.lines == [
        search_line(cloud),
        *comment_lines(cloud, "ED-3", comments_without_the_key(cloud)),
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
    prime_comments(datacenter, "ED-3", comments_without_the_key(datacenter))
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


def empty_search_jql():
    # Atlassian's SearchAndReconcileResults for a search that matched nothing
    return {"issues": [], "isLast": True}


def test_cloud_searches_again_after_a_stale_answer(cloud, key):
    cloud.answer("GET", "/rest/api/2/search/jql", empty_search_jql())
    cloud.answer("GET", "/rest/api/2/search/jql", "search_jql")
    prime_comments(cloud, "ED-3", comments_without_the_key(cloud))
    assert cloud.adapter().find_by_key(key) == IssueRef("jira", "ED-24")
    assert cloud.lines == [
        search_line(cloud),
        search_line(cloud),
        *comment_lines(cloud, "ED-3", comments_without_the_key(cloud)),
    ]
    assert cloud.clock.slept == [30.0]


def test_cloud_with_an_index_searches_it_again_then_scans(cloud, key):
    cloud.answer("GET", "/rest/api/2/search/jql", empty_search_jql())
    cloud.answer("GET", "/rest/api/2/search/jql", empty_search_jql())
    cloud.answer("GET", "/rest/api/2/search/jql", "search_jql")
    prime_comments(cloud, "ED-3", comments_without_the_key(cloud))
    adapter = cloud.adapter(recovery={"indexed_property": True, "settle_seconds": 12})
    assert adapter.find_by_key(key) == IssueRef("jira", "ED-24")
    indexed = search_line(cloud, jql=f'issue.property[tracker-mail].key = "{key}"', size=1,
                          properties=False)  # fmt: skip
    assert cloud.lines == [
        indexed,
        indexed,
        search_line(cloud),
        *comment_lines(cloud, "ED-3", comments_without_the_key(cloud)),
    ]
    assert cloud.clock.slept == [12.0]


def test_a_named_issue_is_read_not_searched_so_nothing_waits(cloud, key):
    prime_comments(cloud, "SD-7", comments_without_the_key(cloud))
    assert cloud.adapter().find_by_key(key, IssueRef("jira", "SD-7")) is None
    assert cloud.lines == comment_lines(cloud, "SD-7", comments_without_the_key(cloud))
    assert cloud.clock.slept == []


def test_cloud_reconciles_the_issues_it_created(cloud, key):
    cloud.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    cloud.answer("POST", "/rest/api/2/issue/ED-24/attachments", "error_500", status=500)
    found = copy.deepcopy(cloud.fixture("search_jql"))
    found["issues"] = found["issues"][1:]
    cloud.answer("POST", "/rest/api/2/search/jql", found)
    adapter = cloud.adapter()
    new = NewIssue("ED", "s", "t", key, attachments=(Upload.from_bytes("a.txt", b"a"),))
    with pytest.raises(UnknownOutcome):
        adapter.create_issue(new)
    assert adapter.find_by_key(key) == IssueRef("jira", "ED-24")
    assert cloud.lines[2:] == [
        (
            "POST",
            "/rest/api/2/search/jql",
            {},
            {
                "jql": SCAN,
                "fields": ["project"],
                "properties": ["tracker-mail"],
                "maxResults": 50,
                "reconcileIssues": [10000],
            },
        )
    ]
    assert cloud.clock.slept == []
