"""Fixtures for the Redmine adapter's tests: a real Redmine, its mail, and adapters on it.

The server helpers live with the other test servers in ``tests/servers/redmine.py``. The
Redmine is started once per session; the ``redmine`` fixture restores its database before
each test, so every test starts from the same accounts, projects and no issues. Without
Redmine these tests are skipped with the install command, unless ``CI`` or
``TRACKER_MAIL_REQUIRE_SERVERS=1`` is set: then they fail.
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from tracker_mail_plugin_redmine import RedmineAdapter, RedmineConfig

from tests.servers.redmine import Redmine, why_unavailable
from tracker_mail_plugin import Secret
from tracker_mail_plugin.testing.dovecot import free_ports
from tracker_mail_plugin.testing.fixtures import (  # the kit's Dovecot, for the e2e tests
    dovecot,  # noqa: F401 - imported so that pytest sees the fixture
    servers_required,
)


@dataclass
class Mailbag:
    """An SMTP sink on 127.0.0.1 keeping what Redmine sends (its notifications)."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()

    def wait_for(
        self, matches: Callable[[EmailMessage], bool], timeout: float = 90
    ) -> EmailMessage:
        """The first message ``matches`` accepts, waiting for Redmine's mail job."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = [m for m in self.messages if matches(m)]
            if found:
                return found[0]
            time.sleep(0.05)
        subjects = [m["Subject"] for m in self.messages]
        raise AssertionError(f"no such mail from Redmine within {timeout}s; got {subjects}")


@pytest.fixture(scope="session")
def redmine_mail() -> Iterator[Mailbag]:
    """The SMTP server Redmine's notifications go to, for the whole session."""
    bag = Mailbag(port=free_ports(1)[0])
    controller = Controller(bag, hostname="127.0.0.1", port=bag.port)
    controller.start()
    try:
        yield bag
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def redmine_server(redmine_mail: Mailbag) -> Iterator[Redmine]:
    """A private Redmine on 127.0.0.1, set up once for the session."""
    reason = why_unavailable()
    if reason is not None:
        if servers_required():
            pytest.fail(
                f"{reason} (required: CI or TRACKER_MAIL_REQUIRE_SERVERS is set)", pytrace=False
            )
        pytest.skip(reason)
    with Redmine(smtp_port=redmine_mail.port) as server:
        yield server


@pytest.fixture
def redmine(redmine_server: Redmine, redmine_mail: Mailbag) -> Redmine:
    """The session's Redmine, with its database as it was right after setup.

    A server that stopped answering (a rare hang of the single thin worker) is restarted
    first, so that one bad moment does not fail every test after it.
    """
    redmine_server.restore()
    if not redmine_server.answers() and not redmine_server.answers(20.0):
        redmine_server.revive()
    redmine_mail.clear()
    return redmine_server


MakeAdapter = Callable[..., RedmineAdapter]


@pytest.fixture
def make_adapter(redmine: Redmine) -> MakeAdapter:
    """Builds adapters on the restored Redmine: the administrator's key plus ``options``."""

    def make(**options: Any) -> RedmineAdapter:
        values = {"url": redmine.url, "api_key": Secret(value=redmine.admin_key), "timeout": 60}
        return RedmineAdapter(RedmineConfig.model_validate(values | options))

    return make


@pytest.fixture
def adapter(make_adapter: MakeAdapter) -> RedmineAdapter:
    """An adapter with the administrator's key on a freshly restored Redmine."""
    return make_adapter()
