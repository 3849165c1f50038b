"""``sync --metrics-file``: the metrics of one run for node_exporter's textfile collector.

The file is replaced atomically (prometheus_client writes a temporary file and renames it),
so the collector never reads half of it. Counters in it are what this one run did. The
times of the last run and last success are carried over from the previous file for the
mailboxes this run did not complete, so that an alert on "no success for an hour" keeps
its memory across failed runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client import write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from tracker_mail_plugin.errors import ConfigurationError
from tracker_mail_plugin.metrics.registry import LAST_RUN, LAST_SUCCESS, Metrics

logger = logging.getLogger("tracker_mail")


def carry_over(path: Path, metrics: Metrics) -> None:
    """Start the last-run and last-success gauges from the previous file, if there is one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return
    except (OSError, UnicodeDecodeError) as exc:
        logger.warning("metrics file %s: cannot read the previous one: %s", path, exc)
        return
    gauges = {LAST_RUN: metrics.last_run, LAST_SUCCESS: metrics.last_success}
    try:
        for family in text_string_to_metric_families(text):
            gauge = gauges.get(family.name)
            if gauge is None:
                continue
            for sample in family.samples:
                mailbox = sample.labels.get("mailbox")
                if mailbox is not None:
                    gauge.labels(mailbox).set(sample.value)
    except ValueError as exc:  # not ours, or cut short by a full disk: start afresh
        logger.warning("metrics file %s: the previous one is unreadable: %s", path, exc)


def write_textfile(path: Path, metrics: Metrics) -> None:
    """Replace ``path`` with the metrics; ConfigurationError when it cannot be written."""
    try:
        write_to_textfile(str(path), metrics.registry)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot write the metrics file {path}: {exc.strerror or exc}; "
            "check that its directory exists and is writable by this user"
        ) from None
