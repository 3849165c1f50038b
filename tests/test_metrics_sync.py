"""``tracker-mail sync --metrics-file``: the file node_exporter reads says what the run did."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.mailfactory import raw_mail
from tracker_mail_plugin.cli import main

CONFIG = """\
version: 1
journal: {tmp}/journal.sqlite3
trackers:
  rec:
    adapter: recording
    state_file: {tmp}/tracker.json
    projects: [it, general]
{faults}
mailboxes:
  inbox:
    protocol: maildir
    path: {tmp}/Maildir
    tracker: rec
    unknown_user: as_rule_owner
    max_attempts: 1
    rules:
      - when: {{subject_contains: printer}}
        then: [{{create_issue: {{project: it}}}}]
      - when: {{subject_contains: vpn}}
        then: [{{create_issue: {{project: general}}}}]
      - when: {{subject_contains: disk}}
        then: [{{create_issue: {{project: nowhere}}}}]
"""


@pytest.fixture(autouse=True)
def sync_logging() -> Iterator[None]:
    """``sync`` in this process sets up the package's logger; later tests get it back."""
    root = logging.getLogger("tracker_mail")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def write_config(tmp: Path, faults: str = "") -> Path:
    for sub in ("cur", "new", "tmp"):
        (tmp / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
    path = tmp / "rules.yaml"
    path.write_text(CONFIG.format(tmp=tmp, faults=faults))
    return path


def deliver(tmp: Path, key: str, subject: str, age: float, **headers: str) -> None:
    """A message in new/, delivered ``age`` seconds ago (its file time says so)."""
    fields = {"Subject": subject, "Message-ID": f"<{key}@example.com>"} | headers
    path = tmp / "Maildir" / "new" / key
    path.write_bytes(raw_mail(fields))
    when = time.time() - age
    os.utime(path, (when, when))


def read(path: Path) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def sync(config: Path, out: Path, *extra: str) -> int:
    return main(["sync", "-c", str(config), "--metrics-file", str(out), *extra])


def test_the_file_counts_what_the_run_did(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    deliver(tmp_path, "1-a", "printer on fire", age=90)
    deliver(tmp_path, "2-b", "vpn down", age=90)
    deliver(tmp_path, "3-c", "Re: printer on fire", age=90, **{"In-Reply-To": "<1-a@example.com>"})
    deliver(tmp_path, "4-d", "disk full", age=90)  # its project does not exist: quarantined
    deliver(tmp_path, "5-e", "lunch?", age=90)  # no rule: unprocessed
    out = tmp_path / "textfile" / "tracker_mail.prom"
    out.parent.mkdir()
    before = time.time()

    assert sync(config, out) == 4  # something was quarantined

    samples = read(out)
    outcomes = {
        outcome: value(samples, "tracker_mail_messages_total", mailbox="inbox", outcome=outcome)
        for outcome in ("fetched", "created", "commented", "quarantined", "unprocessed")
    }
    assert outcomes == {
        "fetched": 5, "created": 2, "commented": 1, "quarantined": 1, "unprocessed": 1
    }  # fmt: skip
    # outcomes that did not happen are there, at 0, so a rate over them exists from the start
    assert value(samples, "tracker_mail_messages_total", mailbox="inbox", outcome="dropped") == 0
    # latency from the file's time (90 s ago), not from when the journal first saw it
    latency = "tracker_mail_processing_latency_seconds"
    assert value(samples, f"{latency}_count", mailbox="inbox") == 3
    assert value(samples, f"{latency}_bucket", mailbox="inbox", le="60.0") == 0
    assert value(samples, f"{latency}_bucket", mailbox="inbox", le="300.0") == 3
    # every tracker operation timed by kind; the refused create counted as an error
    requests = "tracker_mail_tracker_request_duration_seconds_count"
    assert value(samples, requests, adapter="recording", kind="create_issue") == 3
    assert value(samples, requests, adapter="recording", kind="add_comment") == 1
    assert value(samples, requests, adapter="recording", kind="find_user") == 5
    errors = "tracker_mail_tracker_errors_total"
    assert total(samples, errors) == 1
    assert value(samples, errors, adapter="recording", kind="create_issue", error="PermanentError")
    # the journal's backlog, and the run's time
    backlog = {
        state: value(samples, "tracker_mail_journal_messages", mailbox="inbox", state=state)
        for state in ("pending", "failed", "quarantined")
    }
    assert backlog == {"pending": 0, "failed": 0, "quarantined": 1}
    last = value(samples, "tracker_mail_last_success_timestamp_seconds", mailbox="inbox")
    assert before <= last <= time.time()
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left


def test_a_failed_run_writes_the_file_and_keeps_the_last_success(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "tracker_mail.prom"
    assert sync(config, out) == 0
    first = value(read(out), "tracker_mail_last_success_timestamp_seconds", mailbox="inbox")

    # the tracker goes away: the run stops on the first question it asks
    unreachable = "    faults: [{method: find_user, kind: unreachable, times: null}]"
    config = write_config(tmp_path, unreachable)
    deliver(tmp_path, "1-a", "printer on fire", age=5)
    assert sync(config, out) == 3

    samples = read(out)
    assert value(samples, "tracker_mail_last_success_timestamp_seconds", mailbox="inbox") == first
    assert value(samples, "tracker_mail_last_run_timestamp_seconds", mailbox="inbox") >= first
    errors = "tracker_mail_tracker_errors_total"
    assert value(samples, errors, adapter="recording", kind="find_user", error="Unreachable") == 1
    assert value(samples, "tracker_mail_messages_total", mailbox="inbox", outcome="created") == 0
    # The message the outage stopped waits to be tried again, its reason journalled.
    assert value(samples, "tracker_mail_journal_messages", mailbox="inbox", state="failed") == 1
    assert value(samples, "tracker_mail_journal_messages", mailbox="inbox", state="pending") == 0


def test_a_broken_configuration_still_writes_the_file(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    out = tmp_path / "tracker_mail.prom"
    assert sync(config, out) == 0
    first = value(read(out), "tracker_mail_last_success_timestamp_seconds", mailbox="inbox")
    config.write_text("version: 1\nmailboxes: [")
    assert sync(config, out) == 2
    assert read(out) == {
        ("tracker_mail_last_success_timestamp_seconds", frozenset({("mailbox", "inbox")})): first,
        ("tracker_mail_last_run_timestamp_seconds", frozenset({("mailbox", "inbox")})): first,
    }


def test_an_unwritable_metrics_file_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert sync(config, tmp_path / "no-such-dir" / "tracker_mail.prom") == 2
    err = capsys.readouterr().err
    assert "cannot write the metrics file" in err
    assert "Traceback" not in err


def test_dry_run_writes_no_metrics(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    deliver(tmp_path, "1-a", "printer on fire", age=5)
    out = tmp_path / "tracker_mail.prom"
    assert sync(config, out, "--dry-run") == 0
    assert not out.exists()
