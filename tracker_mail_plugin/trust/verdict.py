"""The authentication verdict: a plain value that ``decide`` reads and ``explain`` shows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether the sender named in From is proven, how, and why in words.

    Attributes:
        required: the ``trust: require`` it was judged against (``none``: not enforced).
        authenticated: a result that ``required`` accepts passed, aligned with From.
        method: what passed (``dmarc``, ``dkim``, ``spf``), or None.
        source: whose word it is: a trusted server's id, ``ARC sealed by <domain>``, or
            ``own DKIM verification``; None when nothing trusted was found.
        reason: one sentence for people, quoting the results it rests on.
    """

    required: str
    authenticated: bool
    method: str | None
    source: str | None
    reason: str

    @property
    def enforced(self) -> bool:
        """True when the mailbox requires authentication (``require`` is not ``none``)."""
        return self.required != "none"

    def as_json(self) -> dict[str, Any]:
        """The verdict as ``explain --format json`` prints it under ``authentication``."""
        return {
            "required": self.required,
            "authenticated": self.authenticated,
            "method": self.method,
            "source": self.source,
            "reason": self.reason,
        }
