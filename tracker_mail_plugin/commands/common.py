"""What several commands share: loading the configuration and saying what is wrong with it."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tracker_mail_plugin.commands.output import say_problems
from tracker_mail_plugin.config.loader import (
    ConfigFileError,
    LoadedConfig,
    config_path,
    load_config,
)


def load_or_report(given: str | None, log_format: str = "text") -> LoadedConfig | None:
    """The configuration (``-c``, else the environment, else ./rules.yaml), or None.

    Every problem goes to stderr with its line and column (JSON lines with ``--log-format
    json``); the caller exits with :attr:`~tracker_mail_plugin.errors.ExitCode.CONFIGURATION`.
    """
    try:
        return load_config(config_path(given))
    except ConfigFileError as exc:
        say_problems(exc.problems, log_format, sys.stderr)
        return None


@contextmanager
def quiet_on_closed_pipe() -> Iterator[None]:
    """End quietly when the reader of stdout goes away (``tracker-mail status | head -1``).

    Python would print a traceback for the BrokenPipeError, and again when it flushes
    stdout at exit; stdout is pointed at /dev/null so that the exit flush stays quiet.
    """
    try:
        yield
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
