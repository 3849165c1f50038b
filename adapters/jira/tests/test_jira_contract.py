"""The core's ``AdapterContract`` suite, against the faked Jira Cloud and Data Center."""

from __future__ import annotations

import copy
from contextlib import contextmanager

import pytest
import requests
from tracker_mail_plugin_jira import JiraAdapter

from tracker_mail_plugin import IssueRef, Secret
from tracker_mail_plugin.testing import TrackerFailure
from tracker_mail_plugin.testing.contract import AdapterContract
from tracker_mail_plugin.testing.openapi import SpecDrift

SECRETS = {"cloud": "cloud-api-token-do-not-show", "datacenter": "datacenter-pat-do-not-show"}
ANSWERS = {
    TrackerFailure.SERVER_ERROR: ("error_500", 500),
    TrackerFailure.UNAUTHORIZED: ("error_401", 401),
}


class TestJiraCloudContract(AdapterContract):
    adapter_class = JiraAdapter
    project = "ED"
    deployment = "cloud"

    @pytest.fixture(autouse=True)
    def _faked_jira(self, mock, request):
        self.jira = request.getfixturevalue(self.deployment)

    @pytest.fixture
    def adapter(self):
        return self.jira.adapter()

    def valid_config(self):
        if self.deployment == "cloud":
            return {
                "url": "https://example.atlassian.net",
                "email": "automation@example.com",
                "api_token": Secret(value=SECRETS["cloud"]),
            }
        return {"url": "https://jira.example.com", "token": Secret(value=SECRETS["datacenter"])}

    def secret_values(self):
        return [SECRETS[self.deployment]]

    @contextmanager
    def failing(self, failure):
        for method, path in (("GET", "/rest/api/2/user/search"), ("POST", "/rest/api/2/issue")):
            if failure == TrackerFailure.TIMEOUT:
                self.jira.answer(method, path, exception=requests.ReadTimeout("read timed out"))
            else:
                answer, status = ANSWERS[failure]
                self.jira.answer(method, path, answer, status=status)
        yield self.jira.adapter()
        assert self.jira.sent, "the broken tracker was asked"
        assert {s.path for s in self.jira.sent} <= {"/rest/api/2/user/search", "/rest/api/2/issue"}

    def prime_check(self, adapter):
        self.jira.answer("GET", "/rest/api/2/serverInfo", "serverInfo")
        self.jira.answer("GET", "/rest/api/2/myself", "myself")

    def prime_create(self, adapter, new):
        self.jira.answer("POST", "/rest/api/2/issue", "issue_create", status=201)

    def prime_find(self, adapter, key, found):
        if self.jira.cloud:
            answer = copy.deepcopy(self.jira.fixture("search_jql"))
            answer["issues"] = answer["issues"][1:] if found else []
            if found:
                answer["issues"][0]["properties"]["tracker-mail"]["key"] = key
            self.jira.answer("GET", "/rest/api/2/search/jql", answer)
            return
        answer = copy.deepcopy(self.jira.fixture("search"))
        answer["issues"] = answer["issues"][1:] if found else []
        answer["total"] = len(answer["issues"])
        self.jira.answer("GET", "/rest/api/2/search", answer)
        self.jira.answer(
            "GET",
            "/rest/api/2/issue/ED-24/properties/tracker-mail",
            {"key": "tracker-mail", "value": {"key": key}},
        )

    def prime_comment(self, adapter, issue, new):
        self.jira.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
        path = f"/rest/api/2/issue/{issue.key}/comment"
        self.jira.answer("POST", path, "issue_comment_create", status=201)

    def prime_find_comment(self, adapter, key, found):
        answer = copy.deepcopy(self.jira.fixture("issue_comments"))
        for comment in answer["comments"]:
            if comment["id"] == found.id:
                comment["properties"] = [{"key": "tracker-mail", "value": {"key": key}}]
        self.jira.answer("GET", f"/rest/api/2/issue/{found.issue.key}/comment", answer)

    def prime_get_issue(self, adapter, ref):
        answer = copy.deepcopy(self.jira.fixture("issue_get")) | {"key": ref.key}
        self.jira.answer("GET", f"/rest/api/2/issue/{ref.key}", answer)

    @contextmanager
    def lose_answer(self, adapter, new):
        self.jira.answer("POST", "/rest/api/2/issue", "error_500", status=502)
        yield adapter
        self.prime_find(adapter, new.idempotency_key, IssueRef(adapter.name, "ED-24"))

    def test_comment_is_found_by_its_key_on_its_issue(self, adapter, request):
        if self.deployment == "cloud":
            request.applymarker(
                pytest.mark.xfail(
                    strict=True,
                    raises=SpecDrift,
                    reason="issue 13 Jira 2: GET …/comment?expand=properties; Cloud documents "
                    "the expansion only on POST /rest/api/2/comment/list",
                )
            )
        super().test_comment_is_found_by_its_key_on_its_issue(adapter)

    def test_contract_requests_were_the_documented_ones(self, adapter):
        """The contract's create and find, as requests: one POST, one search."""
        key = "tm-contractcontract0000"
        new = self.new_issue(key)
        self.prime_create(adapter, new)
        adapter.create_issue(new)
        self.prime_find(adapter, key, None)
        assert adapter.find_by_key(key) is None
        search = "/rest/api/2/search/jql" if self.jira.cloud else "/rest/api/2/search"
        assert [s.line[:2] for s in self.jira.sent] == [
            ("POST", "/rest/api/2/issue"),
            ("GET", search),
        ]
        assert self.jira.sent[0].body["properties"] == [
            {"key": "tracker-mail", "value": {"key": key}}
        ]


class TestJiraDataCenterContract(TestJiraCloudContract):
    deployment = "datacenter"
