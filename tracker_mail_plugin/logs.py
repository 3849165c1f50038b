"""Logging for runs: readable lines for people, JSON lines for log collectors.

Every record passes through :func:`tracker_mail_plugin.errors.scrub`, so a URL with a
password or an API key in an exception never reaches a log file.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from tracker_mail_plugin.errors import scrub

_OURS = "tracker_mail_handler"


class _ScrubbingText(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return scrub(super().format(record))


class _Json(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + "Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        if record.exc_info:
            entry["error"] = scrub(self.formatException(record.exc_info))
        # A message's outcome (pipeline.outcomes), or a run's summary (``fields``), as
        # fields of their own, for filtering.
        for extra in ("outcome", "fields"):
            fields = getattr(record, extra, None)
            if isinstance(fields, dict):
                entry.update({k: scrub(v) if isinstance(v, str) else v for k, v in fields.items()})
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(log_format: str = "text", verbose: bool = False) -> None:
    """Send tracker-mail's log to stderr, as text or JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_Json())
    else:
        handler.setFormatter(_ScrubbingText("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger("tracker_mail")
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    root.propagate = False
    # Libraries' own warnings (urllib3 logs a failing request's URL, query string and all)
    # would otherwise reach stderr through logging's last-resort handler, unscrubbed.
    # Only ours is replaced: other handlers on the root (a test runner's) stay.
    for old in [h for h in logging.root.handlers if getattr(h, _OURS, False)]:
        logging.root.removeHandler(old)
    setattr(handler, _OURS, True)
    logging.root.addHandler(handler)
