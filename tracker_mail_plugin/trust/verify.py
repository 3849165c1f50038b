"""Our own DKIM and ARC checks (dkimpy), for mail no trusted server stamped.

dkimpy is an optional dependency (the ``dkim`` extra, with dnspython for its DNS lookups):
only ``trust: verify`` needs it. The DNS lookup is a parameter, ``dnsfunc(name, timeout=5)
-> bytes`` as dkimpy defines it, so tests publish their own keys and nothing reaches the
network; None means dkimpy's own resolver.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tracker_mail_plugin.trust.results import AuthResults, parse_authentication_results

VERIFY_NEEDS = "trust: verify needs dkimpy and dnspython: pip install 'tracker-mail-plugin[dkim]'"
DnsFunc = Callable[..., bytes | None]
# Signatures tried per message: each costs a DNS lookup and an RSA check, and the sender
# chooses how many there are.
MAX_SIGNATURES = 5


class VerifierMissing(Exception):
    """``trust: verify`` is set but dkimpy is not installed."""


@dataclass(frozen=True, slots=True)
class Signed:
    """A DKIM signature that verified, and the domain (``d=``) that signed it."""

    domain: str
    selector: str


def _dkim() -> Any:
    try:
        return importlib.import_module("dkim")
    except ImportError:
        raise VerifierMissing(VERIFY_NEEDS) from None


def dkim_passes(raw: bytes, dnsfunc: DnsFunc | None = None) -> list[Signed]:
    """The DKIM signatures of ``raw`` that verify (at most :data:`MAX_SIGNATURES` tried)."""
    dkim = _dkim()
    options = {} if dnsfunc is None else {"dnsfunc": dnsfunc}
    try:
        checker = dkim.DKIM(raw)
        count = sum(1 for name, _ in checker.headers if name.lower() == b"dkim-signature")
    except Exception:  # noqa: BLE001 - dkimpy raises many kinds on bad mail: nothing verifies
        return []
    passed: list[Signed] = []
    for index in range(min(count, MAX_SIGNATURES)):
        try:
            if not checker.verify(idx=index, **options):
                continue
            tags = checker.signature_fields
            if b"l" in tags:
                # A length limit leaves text after it unsigned: anyone may append to
                # a genuine signed mail, so such a signature proves nothing about the text.
                continue
            passed.append(Signed(_text(tags[b"d"]), _text(tags[b"s"])))
        except Exception:  # noqa: BLE001, S112 - a signature that cannot be checked did not pass
            continue
    return passed


def arc_results(
    raw: bytes, sealers: list[str], dnsfunc: DnsFunc | None = None
) -> AuthResults | None:
    """The newest ARC-Authentication-Results, if the chain validates and a trusted domain sealed it.

    The seal proves only who sealed, so the results count only when the newest seal's
    domain (``d=``) is one of ``sealers``; the id written inside is the sealer's to choose.
    """
    dkim = _dkim()
    options = {} if dnsfunc is None else {"dnsfunc": dnsfunc}
    try:
        chain, instances, _ = dkim.ARC(raw).verify(**options)
    except Exception:  # noqa: BLE001 - dkimpy raises many kinds on bad mail: no chain
        return None
    if chain != b"pass" or not instances:
        return None
    newest = instances[0]
    if _text(newest["as-domain"]).lower() not in sealers:
        return None
    return _aar(raw, int(newest["instance"]))


def _aar(raw: bytes, instance: int) -> AuthResults | None:
    dkim = _dkim()
    prefix = f"i={instance}".encode()
    for name, value in dkim.DKIM(raw).headers:
        if name.lower() != b"arc-authentication-results":
            continue
        head, _, rest = value.partition(b";")
        if head.strip().replace(b" ", b"") == prefix:
            return parse_authentication_results(rest.decode("utf-8", "replace"))
    return None


def _text(value: Any) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)
