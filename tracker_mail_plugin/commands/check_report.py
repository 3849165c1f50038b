"""What ``tracker-mail check`` prints: lines of text, or with ``--log-format json`` objects.

As text, every line is what ``check`` always printed, on the stream it always used. As JSON
each finding is one object on the same stream (``"event": "check"``: what was checked, the
tracker or mailbox it is about, ``ok``, and the sentence with its advice in ``message``), and
the verdict is a last object (``"event": "verdict"``) with the counts and what the file
configures, so that a script reads the outcome without parsing sentences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from tracker_mail_plugin.commands.output import json_line
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.config.problems import ConfigProblem
from tracker_mail_plugin.errors import ExitCode


@dataclass
class CheckReport:
    """Says each finding of one ``check`` as it comes, and the verdict last.

    Attributes:
        path: the configuration file, as given.
        log_format: ``text`` or ``json``.
        out: where what went well is said (standard output).
        err: where problems and warnings are said (standard error).
        offline: ``--offline``: nothing is connected to.
    """

    path: str
    log_format: str
    out: TextIO
    err: TextIO
    offline: bool = False
    errors: int = 0
    warnings: int = 0
    # What could not be reached ("smtp", "tracker trial"), for the verdict to name.
    unreached: list[str] = field(default_factory=list)
    _verdict: dict[str, Any] = field(default_factory=dict)

    @property
    def json(self) -> bool:
        """Whether findings are JSON objects."""
        return self.log_format == "json"

    def overview(self, text: str, loaded: LoadedConfig, describe: dict[str, str]) -> None:
        """What the file configures: lines first as text, fields of the verdict as JSON."""
        if not self.json:
            print(text, file=self.out)
            return
        config = loaded.config
        self._verdict["trackers"] = {name: t.adapter for name, t in config.trackers.items()}
        self._verdict["mailboxes"] = describe

    def rules(self, text: str, data: dict[str, Any]) -> None:
        """``--show``: the normalised rules, as YAML text or as a field of the verdict."""
        if self.json:
            self._verdict["rules"] = data
        else:
            print(text, file=self.out, end="")

    def problem(self, problem: ConfigProblem, loaded: LoadedConfig | None = None) -> None:
        """A problem (or warning) at a place in the file."""
        if problem.severity == "warning":
            self.warnings += 1
        else:
            self.errors += 1
        if not self.json:
            print(problem, file=self.err)
            return
        fields: dict[str, Any] = {"file": problem.file}
        if problem.line:  # 0: about the whole file (it cannot be read)
            fields |= {"line": problem.line, "column": problem.column}
        if loaded is not None:
            fields |= section_of(loaded, problem.line)
        self._say(str(problem), problem.severity, False, "configuration", fields, self.err)

    def passed(self, text: str, checked: str, **fields: Any) -> None:
        """Something that was checked and is fine (a log-in, a folder, the journal)."""
        self._say(text, "info", True, checked, fields, self.out)

    def failed(self, text: str, checked: str, **fields: Any) -> None:
        """Something that was checked and is wrong: the sentence says what to do."""
        self.errors += 1
        if fields.get("reached") is False:
            self.unreached.append(_unreached(checked, fields))
        self._say(text, "error", False, checked, fields, self.err)

    def verdict(self, text: str, code: ExitCode) -> None:
        """The last line: valid, or how many errors, or what is not ready."""
        stream = self.out if code == ExitCode.OK else self.err
        if not self.json:
            print(text, file=stream)
            return
        fields = {
            "event": "verdict",
            "file": self.path,
            "valid": code == ExitCode.OK,
            "offline": self.offline,
            "errors": self.errors,
            "warnings": self.warnings,
            "exit_code": int(code),
            **self._verdict,
        }
        print(json_line(text, "info" if code == ExitCode.OK else "error", fields), file=stream)

    def _say(
        self, text: str, level: str, ok: bool, checked: str, fields: dict[str, Any], out: TextIO
    ) -> None:
        if self.json:
            fields = {"event": "check", "checked": checked, "ok": ok, **fields}
            print(json_line(text, level, fields), file=out)
        else:
            print(text, file=out)


def _unreached(checked: str, fields: dict[str, Any]) -> str:
    """What could not be reached, in a few words: "tracker trial", "the SMTP server"."""
    if checked in fields:  # a tracker or a mailbox, by its name
        return f"{checked} {fields[checked]}"
    return {"smtp": "the SMTP server"}.get(checked, f"the {checked}")


def section_of(loaded: LoadedConfig, line: int) -> dict[str, str]:
    """The tracker or mailbox whose entry in the file holds ``line``: ``{"mailbox": name}``.

    A problem keeps only its place; the entry is the one whose written lines span it.
    """
    for kind, section in (("tracker", "trackers"), ("mailbox", "mailboxes")):
        for name in getattr(loaded.config, section):
            lines = [
                mark.line
                for marks in (loaded.marks.keys, loaded.marks.values)
                for path, mark in marks.items()
                if path[:2] == (section, name)
            ]
            if lines and min(lines) <= line <= max(lines):
                return {kind: name}
    return {}
