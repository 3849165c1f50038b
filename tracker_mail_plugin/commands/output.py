"""What ``sync``, ``watch`` and ``receive`` say about a run, as text or as JSON lines.

With ``--log-format json`` a log collector reads every line a command prints, not only the
log on standard error: the summary of a mailbox's run and a dry run's "would" lines become
one JSON object per line too, with the counts as numbers of their own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any, TextIO

from tracker_mail_plugin.config.problems import ConfigProblem
from tracker_mail_plugin.errors import scrub
from tracker_mail_plugin.pipeline.summary import Summary

COUNTS = (
    "fetched", "created", "commented", "attached", "forwarded",
    "unprocessed", "dropped", "failed", "quarantined",
)  # fmt: skip


def summary_fields(summary: Summary) -> dict[str, Any]:
    """A run's summary as fields: the counts, how long it took, and why it stopped.

    In a dry run the counts are what would have been done (``dry_run`` says so).
    """
    fields: dict[str, Any] = {"event": "summary", "mailbox": summary.mailbox}
    fields |= {name: getattr(summary, name) for name in COUNTS}
    fields |= {
        "seconds": round(summary.seconds, 3),
        "dry_run": summary.dry_run,
        "busy": summary.busy,
        # An error text can quote a server or a library: it is scrubbed like a log line.
        "error": scrub(summary.error) if summary.error else None,
        "waiting": summary.waiting,
        "exit_code": int(summary.exit_code),
    }
    return fields


def print_summary(summary: Summary, log_format: str, out: TextIO) -> None:
    """The dry run's "would" lines, then the summary line, as text or JSON lines."""
    for planned in summary.planned:
        text = f"{summary.mailbox}: would {planned}"
        fields = {"event": "would", "mailbox": summary.mailbox, **planned.fields}
        print(json_line(text, "info", fields) if log_format == "json" else text, file=out)
    text = summary.line()
    if log_format == "json":
        level = "error" if summary.error else "info"
        text = json_line(text, level, summary_fields(summary))
    print(text, file=out)


def say_problems(problems: Iterable[ConfigProblem | str], log_format: str, out: TextIO) -> None:
    """What stopped a command before its run (the file, an unset variable), one per line.

    As JSON, a problem in the file keeps its place as fields: ``file``, ``line``, ``column``.
    """
    for problem in problems:
        if log_format != "json":
            print(problem, file=out)
            continue
        fields: dict[str, Any] = {"event": "configuration"}
        level = "error"
        if isinstance(problem, ConfigProblem):
            fields["file"] = problem.file
            if problem.line:  # 0: about the whole file (it cannot be read)
                fields |= {"line": problem.line, "column": problem.column}
            level = problem.severity
        print(json_line(str(problem), level, fields), file=out)


def say(text: str, log_format: str, out: TextIO, **fields: Any) -> None:
    """One line of what a command is doing, as text or as a JSON object with ``fields``."""
    print(json_line(text, "info", fields) if log_format == "json" else text, file=out)


def json_line(message: str, level: str, fields: dict[str, Any]) -> str:
    """One object shaped as the JSON log's records are: time, level, message, then fields."""
    entry: dict[str, Any] = {
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "level": level,
        "message": scrub(message),
    }
    return json.dumps(entry | fields, ensure_ascii=False)
