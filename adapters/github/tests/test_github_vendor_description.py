"""The check against GitHub's description (conftest.py) fails a test whose fakes drift.

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

REPO = "/repos/example-org/webshop"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def send(github, method, path, body=None):
    requests.request(method, github.api + path, json=body, headers=HEADERS, timeout=5)


def test_a_path_github_does_not_describe(github):
    github.reply("GET", "/repos/example-org/webshop/tickets/1", {})
    send(github, "GET", f"{REPO}/tickets/1")


def test_an_answer_that_drifted(github):
    github.reply("GET", f"{REPO}/issues/42", github.load("issue", number="42"))
    send(github, "GET", f"{REPO}/issues/42")


def test_a_request_body_that_drifted(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    send(github, "POST", f"{REPO}/issues", {"title": "x", "labels": "bug"})


@pytest.mark.off_spec_answers("the case under test")
def test_an_off_spec_answer_declared_as_such(github):
    github.reply("GET", f"{REPO}/issues/42", {"number": "forty-two"})
    send(github, "GET", f"{REPO}/issues/42")


@pytest.mark.xfail(strict=True, raises=SpecDrift, reason="drift is a failure of the test itself")
def test_drift_under_a_strict_xfail(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    send(github, "POST", f"{REPO}/issues", {"title": "x", "labels": "bug"})
"""


def test_drift_fails_the_test_that_made_it(tmp_path):
    out = run_beside(HERE, CASES, tmp_path, {"TRACKER_MAIL_SPECS": SPECS})
    assert (
        "GET /repos/example-org/webshop/tickets/1 is not in the GitHub REST description" in out
    ), out
    assert "GET /repos/example-org/webshop/issues/42: the 200 answer at $.number: '42'" in out
    assert "POST /repos/example-org/webshop/issues: request body at $.labels" in out
    assert "PASSED test_cases.py::test_an_off_spec_answer_declared_as_such" in out
    assert "XFAIL test_cases.py::test_drift_under_a_strict_xfail" in out
    assert "3 failed, 1 passed, 1 xfailed" in out
