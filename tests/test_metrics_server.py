"""The HTTP endpoint of a long-running process, scraped over HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.mailfactory import raw_mail
from tracker_mail_plugin.commands.sync import SyncOptions, sync
from tracker_mail_plugin.config.loader import load_config_text
from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.metrics import Metrics, parse_address, serve

CONFIG = """\
version: 1
journal: {tmp}/journal.sqlite3
trackers:
  rec: {{adapter: recording, state_file: {tmp}/tracker.json}}
mailboxes:
  support:
    protocol: directory
    path: {tmp}/mail
    tracker: rec
    unknown_user: as_rule_owner
    workers: {workers}
    on_success: {{move: Processed}}
    on_unprocessed: {{move: Skipped}}
    rules:
      - when: {{subject_contains: printer}}
        then: [{{create_issue: {{project: it}}}}]
"""


def always_ready() -> tuple[bool, dict[str, str]]:
    return True, {}


def scraped(url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = requests.get(f"{url}/metrics", timeout=5)
    assert response.status_code == 200
    # no Accept header: the classic text format every Prometheus version reads
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


@pytest.mark.parametrize("workers", [1, 3])  # workers count from several threads at once
def test_metrics_show_the_counts_a_sync_made(tmp_path: Path, workers: int) -> None:
    (tmp_path / "mail").mkdir()
    for n, subject in enumerate(["printer on fire", "printer jam", "lunch?"] * 4):
        raw = raw_mail({"Subject": subject, "Message-ID": f"<m{n}@example.com>"})
        (tmp_path / "mail" / f"{n}.eml").write_bytes(raw)
    text = CONFIG.format(tmp=tmp_path, workers=workers)
    loaded = load_config_text(text, str(tmp_path / "rules.yaml"))
    metrics = Metrics()
    with serve("127.0.0.1:0", metrics, always_ready) as server:
        sync(loaded, ["support"], SyncOptions(), metrics)
        samples = scraped(server.url)
    counts = {
        outcome: samples[("tracker_mail_messages_total", frozenset({
            ("mailbox", "support"), ("outcome", outcome)}))]
        for outcome in ("created", "unprocessed", "failed")
    }  # fmt: skip
    assert counts == {"created": 8, "unprocessed": 4, "failed": 0}
    created = ("adapter", "recording"), ("kind", "create_issue")
    duration = "tracker_mail_tracker_request_duration_seconds_count"
    assert samples[(duration, frozenset(created))] == 8
    latency = ("tracker_mail_processing_latency_seconds_count", frozenset({("mailbox", "support")}))
    assert samples[latency] == 8  # the files' times are the arrival


def test_readyz_follows_the_readiness_callable(tmp_path: Path) -> None:
    state: dict[str, str] = {"support": "cannot reach imap.example.com: connection refused"}

    def readiness() -> tuple[bool, dict[str, str]]:
        return not state, dict(state)

    with serve("127.0.0.1:0", Metrics(), readiness) as server:
        first = requests.get(f"{server.url}/readyz", timeout=5)
        assert first.status_code == 503
        assert "support: cannot reach imap.example.com: connection refused" in first.text
        state.clear()
        assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
        assert requests.get(f"{server.url}/", timeout=5).status_code == 404
        openmetrics = requests.get(
            f"{server.url}/metrics",
            headers={"Accept": "application/openmetrics-text; version=1.0.0"},
            timeout=5,
        )
        assert openmetrics.headers["Content-Type"].startswith("application/openmetrics-text")
        assert openmetrics.text.endswith("# EOF\n")


def test_a_readiness_check_that_raises_answers_503() -> None:
    def broken() -> tuple[bool, dict[str, str]]:
        raise RuntimeError("boom")

    with serve("127.0.0.1:0", Metrics(), broken) as server:
        response = requests.get(f"{server.url}/readyz", timeout=5)
    assert response.status_code == 503
    assert "raised RuntimeError" in response.text


def test_close_releases_the_port() -> None:
    server = serve("127.0.0.1:0", Metrics(), always_ready)
    port = server.port
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    server.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
    # the same port can be bound again at once
    serve(f"127.0.0.1:{port}", Metrics(), always_ready).close()


def test_a_port_in_use_is_a_clear_error() -> None:
    with serve("127.0.0.1:0", Metrics(), always_ready) as server:
        taken = f"127.0.0.1:{server.port}"
        with pytest.raises(ConfigurationError, match=f"cannot listen on {taken}"):
            serve(taken, Metrics(), always_ready)


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback")
def test_ipv6_loopback_in_brackets() -> None:
    with serve("[::1]:0", Metrics(), always_ready) as server:
        assert server.host == "::1"
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:9090", ("127.0.0.1", 9090)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),  # noqa: S104 - parsed only, nothing is bound
        ("[::1]:9090", ("::1", 9090)),
        ("localhost:9100", ("localhost", 9100)),
    ],
)
def test_addresses_parse(address: str, expected: tuple[str, int]) -> None:
    assert parse_address(address) == expected


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("9090", "names no host and port"),
        (":9090", "names no host and port"),
        ("::1:9090", "IPv6 address in brackets"),
        ("[127.0.0.1]:9090", "is not IPv6"),
        ("127.0.0.1:http", "port must be a number"),
        ("127.0.0.1:70000", "port must be a number"),
        ("127.0.0.1:", "port must be a number"),
    ],
)
def test_bad_addresses_say_what_to_write(address: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        parse_address(address)
