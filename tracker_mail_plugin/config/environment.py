"""Every ``{env: NAME}`` the configuration reads that the environment lacks, all at once.

cron and systemd start commands with an almost empty environment, so a file that works in
a shell fails there. Connecting stops at the first missing variable; this lists each one
with its line, so that the environment file is fixed in one go.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from pathlib import Path as FilePath
from typing import Any

from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.config.problems import ConfigProblem, at
from tracker_mail_plugin.config.yamlmarks import Path, YamlSyntaxError, load_with_marks

ENVIRONMENT_HOW_TO = (
    "set it where tracker-mail runs (cron and systemd start it with an almost empty "
    "environment: use an environment file, see the README)"
)


def missing_variables(
    loaded: LoadedConfig, mailboxes: Collection[str] | None = None
) -> list[ConfigProblem]:
    """The ``{env: NAME}`` references that are unset, for ``mailboxes`` (None: everything).

    With ``mailboxes``, a tracker counts when one of them feeds it; ``smtp`` and
    ``defaults`` always count.
    """
    data = _raw(loaded)
    config = loaded.config
    wanted = set(config.mailboxes if mailboxes is None else mailboxes)
    trackers = (
        set(config.trackers)
        if mailboxes is None
        else {config.mailboxes[name].tracker for name in wanted}
    )
    problems = []
    for path, name in _references(data, ()):
        if _chosen(path, wanted, trackers) and name not in os.environ:
            problems.append(
                at(
                    loaded.path,
                    loaded.marks,
                    path,
                    f"environment variable {name} is not set; {ENVIRONMENT_HOW_TO}",
                )
            )
    return problems


def _raw(loaded: LoadedConfig) -> Any:
    """The file as written: adapter options are plain data until their adapter is loaded."""
    try:
        text = FilePath(loaded.path).read_text(encoding="utf-8")
        return load_with_marks(text)[0]
    except (OSError, UnicodeDecodeError, YamlSyntaxError):
        return None  # read a moment ago; a file changed since is the next run's problem


def _references(data: Any, path: Path) -> Iterator[tuple[Path, str]]:
    if isinstance(data, dict):
        if len(data) == 1 and isinstance(data.get("env"), str):
            yield (*path, "env"), data["env"].strip()
            return
        for key, value in data.items():
            yield from _references(value, (*path, key))
    elif isinstance(data, list):
        for index, item in enumerate(data):
            yield from _references(item, (*path, index))


def _chosen(path: Path, mailboxes: set[str], trackers: set[str]) -> bool:
    if path[:1] == ("mailboxes",):
        return len(path) > 1 and path[1] in mailboxes
    if path[:1] == ("trackers",):
        return len(path) > 1 and path[1] in trackers
    return True
