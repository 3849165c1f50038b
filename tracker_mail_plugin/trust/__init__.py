"""Sender authentication: who is writing, proven before anyone is written as.

:func:`authenticate` turns a message and the mailbox's ``trust`` policy into a
:class:`Verdict`; ``decide`` reads the verdict, ``explain`` shows it.
"""

from tracker_mail_plugin.trust.gate import aligned, authenticate, trusted_results
from tracker_mail_plugin.trust.results import (
    MAX_HEADER_CHARS,
    AuthResults,
    MethodResult,
    parse_authentication_results,
)
from tracker_mail_plugin.trust.verdict import Verdict
from tracker_mail_plugin.trust.verify import DnsFunc, VerifierMissing

__all__ = [
    "MAX_HEADER_CHARS",
    "AuthResults",
    "DnsFunc",
    "MethodResult",
    "Verdict",
    "VerifierMissing",
    "aligned",
    "authenticate",
    "parse_authentication_results",
    "trusted_results",
]
