"""The check against Atlassian's descriptions (conftest.py) fails a test whose fakes drift.

The cases run in their own pytest beside this directory's conftest.py: the check is a hook on
the test run, so only a run shows what it does to a test.
"""

from __future__ import annotations

import os
from pathlib import Path

from tracker_mail_plugin.testing.beside import run_beside

HERE = Path(__file__).parent
SPECS = os.environ.get("TRACKER_MAIL_SPECS") or str(HERE.parents[3] / "shared/specs")
CASES = """
import pytest
import requests

from tracker_mail_plugin.testing.openapi import SpecDrift

CLOUD = "https://example.atlassian.net"


def test_a_path_atlassian_does_not_describe(mock):
    mock.get(CLOUD + "/rest/api/2/foo", json={})
    requests.get(CLOUD + "/rest/api/2/foo", timeout=5)


def test_an_answer_that_drifted(cloud):
    cloud.answer("GET", "/rest/api/2/serverInfo", cloud.fixture("serverInfo") | {"version": 9})
    requests.get(CLOUD + "/rest/api/2/serverInfo", timeout=5)


def test_a_request_body_that_drifted(cloud):
    cloud.answer("POST", "/rest/api/2/issue", "issue_create", status=201)
    requests.post(CLOUD + "/rest/api/2/issue", json={"fields": "SD"}, timeout=5)


def test_a_data_center_answer_is_not_held_to_cloud(datacenter):
    datacenter.answer("GET", "/rest/api/2/serverInfo", {"version": 9})
    requests.get("https://jira.example.com/rest/api/2/serverInfo", timeout=5)


@pytest.mark.xfail(strict=True, raises=SpecDrift, reason="drift is a failure of the test itself")
def test_drift_under_a_strict_xfail(mock):
    mock.get(CLOUD + "/rest/api/2/foo", json={})
    requests.get(CLOUD + "/rest/api/2/foo", timeout=5)
"""


def test_drift_fails_the_test_that_made_it(tmp_path):
    out = run_beside(HERE, CASES, tmp_path, {"TRACKER_MAIL_SPECS": SPECS})
    assert "GET /rest/api/2/foo is not in the Jira Cloud platform description" in out, out
    assert (
        "GET /rest/api/2/serverInfo: the 200 answer at $.version: 9 is not of type 'string'" in out
    )
    assert "POST /rest/api/2/issue: request body at $.fields: 'SD' is not of type 'object'" in out
    assert "PASSED test_cases.py::test_a_data_center_answer_is_not_held_to_cloud" in out
    assert "XFAIL test_cases.py::test_drift_under_a_strict_xfail" in out
    assert "3 failed, 1 passed, 1 xfailed" in out
