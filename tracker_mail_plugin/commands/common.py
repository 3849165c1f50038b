"""What several commands share: loading the configuration and saying what is wrong with it."""

from __future__ import annotations

import sys

from tracker_mail_plugin.config.loader import (
    ConfigFileError,
    LoadedConfig,
    config_path,
    load_config,
)


def load_or_report(given: str | None) -> LoadedConfig | None:
    """The configuration (``-c``, else the environment, else ./rules.yaml), or None.

    Every problem goes to stderr with its line and column; the caller exits with
    :attr:`~tracker_mail_plugin.errors.ExitCode.CONFIGURATION`.
    """
    try:
        return load_config(config_path(given))
    except ConfigFileError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None
