"""The core's conformance tests (AdapterContract) against the real Redmine.

Failures come from ``failing_server``: a 500, a 401, or a server that accepts the
connection and never answers (which the adapter must give up on after its timeout). A lost
answer comes from ``answer_lost_proxy``: Redmine does the write, the adapter never hears.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from tracker_mail_plugin_redmine import RedmineAdapter, RedmineConfig

from tests.servers.redmine import Redmine
from tracker_mail_plugin import NewIssue, Secret, TrackerAdapter, UserRef
from tracker_mail_plugin.testing import (
    AdapterContract,
    TrackerFailure,
    answer_lost_proxy,
    failing_server,
)

pytestmark = pytest.mark.servers


class TestRedmineContract(AdapterContract):
    adapter_class = RedmineAdapter
    project = "contract"
    server: Redmine

    @pytest.fixture(autouse=True)
    def _on_redmine(self, redmine: Redmine) -> None:
        self.server = redmine

    def valid_config(self) -> dict[str, Any]:
        return {
            "url": self.server.url,
            "api_key": Secret(value=self.server.admin_key),
            "timeout": 20.0,
            "verify_tls": True,
            "request_tracker": "Support",
        }

    def secret_values(self) -> list[str]:
        return [self.server.admin_key]

    @contextmanager
    def failing(self, failure: TrackerFailure) -> Iterator[TrackerAdapter]:
        with failing_server(failure) as url:
            config = RedmineConfig.model_validate(
                self.valid_config() | {"url": url, "timeout": 0.5}
            )
            yield RedmineAdapter(config)

    def project_member(self, adapter: TrackerAdapter) -> UserRef | None:
        # alice holds the mail user role (add issues, add notes) in the contract project.
        return adapter.find_user("alice@example.com")

    @contextmanager
    def lose_answer(self, adapter: TrackerAdapter, new: NewIssue) -> Iterator[TrackerAdapter]:
        with answer_lost_proxy(self.server.url) as url:
            config = RedmineConfig.model_validate(self.valid_config() | {"url": url})
            yield RedmineAdapter(config)
