"""One error tree, grouped by what a cron run should do about it.

::

    TrackerMailError
    ├── ConfigurationError      exit 2; nothing is touched; the operator fixes the config
    ├── RetryLater              the message stays in the mailbox for the next run (exit 1)
    │   └── Unreachable         the mailbox or the tracker cannot be reached (exit 3)
    ├── PermanentError          this message cannot succeed; counts toward quarantine
    │   ├── NotFound            the tracker has no such object (HTTP 404); often "no"
    │   ├── NotPermitted        the sender may not do this: the message is unprocessed
    │   └── UnsupportedAction   the tracker cannot do what a rule asks
    └── UnknownOutcome          the tracker may have done it: find_by_key before any retry

Adapters translate their library's exceptions into this tree at one boundary and never
swallow them. The core decides retries, quarantine and exit codes from the class alone, so an
adapter never returns a boolean for failure.

Every message passes through :func:`scrub`, which removes credentials that library errors
like to echo (``https://user:pass@host``, ``?api_key=…``, ``Authorization: …``); adapters must
still not put secret values into messages themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import IntEnum
from typing import ClassVar

_REDACTED = "***"
_SCRUBBERS: tuple[tuple[re.Pattern[str], str], ...] = (
    # URL user info: scheme://user:password@host (up to the last @: a password may hold one)
    (re.compile(r"(?P<keep>\b[a-z][a-z0-9+.-]*://)[^/\s]+@", re.I), rf"\g<keep>{_REDACTED}@"),
    # query or form parameters whose name says secret: ?key=…, &access_token=…, and a form
    # body quoted whole (client_secret=…&grant_type=…)
    (
        re.compile(
            r"(?P<keep>(?:^|[?&;\s])(?:[\w.-]*?)(?:key|token|password|passwd|secret|signature|sig)=)"
            r"[^&;\s\"'#]+",
            re.I,
        ),
        rf"\g<keep>{_REDACTED}",
    ),
    # the same names as keys of a JSON object or a dict's repr: {"access_token": "…"}
    (
        re.compile(
            r"(?P<keep>[\"'][\w.-]*?(?:key|token|password|passwd|secret)[\"']\s*:\s*[\"'])"
            r"[^\"']+",
            re.I,
        ),
        rf"\g<keep>{_REDACTED}",
    ),
    # header lines some libraries include in their messages
    (
        re.compile(
            r"(?P<keep>\b(?:authorization|proxy-authorization|x-redmine-api-key|private-token)"
            r"[\"']?\s*[:=]\s*[\"']?)(?:(?:basic|bearer|token|digest)[ \t]+)?[^\s,\"'}]+",
            re.I,
        ),
        rf"\g<keep>{_REDACTED}",
    ),
)


class ExitCode(IntEnum):
    """What every ``tracker-mail`` command exits with; cron and mail servers rely on these."""

    OK = 0
    SOME_FAILED = 1  # some messages (or inputs) failed; they are retried next time
    CONFIGURATION = 2  # configuration or usage error; a stopped run keeps what it finished
    UNREACHABLE = 3  # a mailbox or tracker cannot be reached
    QUARANTINED = 4  # messages were given up on: someone must look (status, retry)
    TEMPFAIL = 75  # pipe mode (sysexits.h): the mail server keeps the mail and retries

    @property
    def severity(self) -> int:
        """How much an operator must do: a broken configuration outranks an outage.

        A quarantine outranks failures that retry by themselves (someone must look at those
        messages) and is outranked by a stop: an outage or a broken configuration stops
        every message, and fixing it comes first.
        """
        return _SEVERITY[self]

    @classmethod
    def worst(cls, codes: Iterable[ExitCode]) -> ExitCode:
        """The code of the most serious outcome among ``codes`` (``OK`` when there is none)."""
        return max(codes, key=lambda code: code.severity, default=cls.OK)


_SEVERITY = {
    ExitCode.OK: 0,
    ExitCode.SOME_FAILED: 1,
    ExitCode.QUARANTINED: 2,
    ExitCode.UNREACHABLE: 3,
    ExitCode.CONFIGURATION: 4,
    ExitCode.TEMPFAIL: 5,
}


def scrub(text: str) -> str:
    """``text`` with credentials that libraries echo in URLs and headers replaced by ``***``."""
    for pattern, replacement in _SCRUBBERS:
        text = pattern.sub(replacement, text)
    return text


class TrackerMailError(Exception):
    """Base of every error the core acts on; ``exit_code`` is what a run ending on it returns.

    A mailbox run that stops on one of these ends with its class's ``exit_code``; the
    command exits with the most serious code of its mailboxes (:meth:`ExitCode.worst`).

    Args:
        message: one plain sentence saying what went wrong (credentials are scrubbed).
    """

    exit_code: ClassVar[ExitCode] = ExitCode.SOME_FAILED

    def __init__(self, message: str):
        super().__init__(scrub(message))

    @property
    def message(self) -> str:
        """The (scrubbed) sentence given when the error was raised."""
        return str(self.args[0])


class ConfigurationError(TrackerMailError):
    """The configuration (or the environment it names) is wrong: exit 2, nothing touched.

    Raised at load, before any side effect, with every problem found at once; also raised
    when a tracker refuses our credentials, since only the operator can fix that and retrying
    would only lock the account.

    Args:
        problems: one sentence per problem; a single string is one problem.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.CONFIGURATION

    def __init__(self, problems: str | Iterable[str]):
        listed = [problems] if isinstance(problems, str) else list(problems)
        self.problems: tuple[str, ...] = tuple(scrub(problem) for problem in listed)
        super().__init__("; ".join(self.problems) or "invalid configuration")


class RetryLater(TrackerMailError):
    """A passing condition (rate limit, 5xx, lock): leave the message for the next run.

    Does not count toward quarantine: the message is fine, the moment is not.

    Args:
        message: what failed.
        retry_after: seconds the other side asked us to wait (``Retry-After``), if it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Unreachable(RetryLater):
    """The mailbox or the tracker cannot be reached at all: the run stops and exits 3.

    Nothing more can be done in this run, so the remaining messages are left untouched.
    """

    exit_code: ClassVar[ExitCode] = ExitCode.UNREACHABLE


class PermanentError(TrackerMailError):
    """This message cannot succeed as it is (rejected field, missing project, too large).

    Each occurrence counts as a failed attempt; after the mailbox's ``max_attempts`` the
    message is quarantined with this error as the reason. Other messages go on.
    """


class NotFound(PermanentError):
    """The tracker answered 404: the object does not exist or is not visible to the caller.

    A :class:`PermanentError` to the core; adapters that expect a missing object (an issue
    named in a subject) catch it and answer ``None``.
    """


class NotPermitted(PermanentError):
    """The sender may not do this (not a member, a role without that type): the tracker says so.

    ``can`` answers most of these before any write; some only show at the write (a role
    limited to other issue types, a reply to an issue the sender cannot see). The run then
    treats the message as unprocessed, with this reason, instead of retrying it.
    """


class UnsupportedAction(PermanentError):
    """The tracker cannot do what a rule asks (no service desk, no project files).

    A permanent error rather than a configuration error on purpose: ``check`` finds these
    up front from the declared capabilities and reports them as configuration errors, so one
    reaching a run means the tracker itself lacks the feature (a Jira without Service Desk).
    Stopping the whole run would block every other message in the mailbox each time cron
    fires; quarantining just the messages that need the feature keeps them visible and
    retryable once the tracker or the rule is fixed.

    Args:
        message: what was asked and why it cannot be done.
        capability: the name of the missing capability, when one applies.
    """

    def __init__(self, message: str, *, capability: str | None = None):
        super().__init__(message)
        self.capability = capability


class UnknownOutcome(TrackerMailError):
    """The tracker may or may not have done it (timeout or 5xx after a write was sent).

    The message stays for the next run, but before repeating the action the core must ask
    ``find_by_key`` with the action's idempotency key: repeating blindly is how duplicate
    issues are born. Deliberately not a :class:`RetryLater`, so that no generic retry loop
    catches it by accident.
    """
