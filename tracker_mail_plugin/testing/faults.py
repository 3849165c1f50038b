"""Injected faults of the recording tracker: which call a fault hits, and the error it raises.

A fault stands for what a real tracker does wrong (answers 500, never answers, refuses the
credentials); :func:`error` translates it the way every adapter must translate the real
thing, so the core is tested against the errors it will meet.
"""

from __future__ import annotations

from tracker_mail_plugin.errors import (
    ConfigurationError,
    PermanentError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    Unreachable,
)
from tracker_mail_plugin.testing.state import Fault, FaultKind

WRITES = frozenset(
    {"create_issue", "add_comment", "attach_to_project", "create_user", "reopen_issue"}
)


def waiting_for(faults: list[Fault], method: str) -> bool:
    """Whether a fault in ``faults`` would hit a call of ``method``."""
    return any(fault.method in (method, "*") for fault in faults)


def take(faults: list[Fault], method: str) -> Fault | None:
    """Remove one hit from the first fault for ``method`` and return it (None: no fault)."""
    for index, fault in enumerate(faults):
        if fault.method in (method, "*"):
            if fault.times is not None:
                if fault.times == 1:
                    del faults[index]
                else:
                    fault.times -= 1
            return fault.model_copy(update={"method": method})
    return None


def error(fault: Fault, method: str) -> TrackerMailError:
    """The error ``fault`` raises from a call of ``method`` (reads and writes differ)."""
    write = method in WRITES
    says = f"recording tracker: {method}"
    match fault.kind:
        case FaultKind.RETRY_LATER:
            return RetryLater(f"{says}: busy", retry_after=fault.seconds or None)
        case FaultKind.UNREACHABLE:
            return Unreachable(f"{says}: cannot connect")
        case FaultKind.PERMANENT:
            return PermanentError(f"{says}: rejected")
        case FaultKind.SERVER_ERROR if write:
            return UnknownOutcome(f"{says}: answered 500 after the request was sent")
        case FaultKind.SERVER_ERROR:
            return RetryLater(f"{says}: answered 500")
        case FaultKind.TIMEOUT if write:
            return UnknownOutcome(f"{says}: timed out after the request was sent")
        case FaultKind.TIMEOUT:
            return Unreachable(f"{says}: timed out")
        case FaultKind.UNAUTHORIZED:
            return ConfigurationError(f"{says}: the tracker refused our credentials (401)")
        case _:
            return UnknownOutcome(f"{says}: no answer")
