"""The trust gate: is the sender named in From proven, by whose word, and how.

Whose word counts: only ``Authentication-Results`` written by a server listed in
``trust: authserv_id``, and of those only the topmost, i.e. the one our own server added
last (RFC 8601 section 5); anything below it was in the mail when it arrived and may be
forged. Failing that, an ARC chain sealed by a trusted domain, or our own DKIM check.

What counts as proof (``require``): ``dmarc`` a ``dmarc=pass`` (for the From domain when
the header names it); ``dkim`` a passing signature whose domain is aligned with From;
``spf`` a pass whose ``smtp.mailfrom`` domain is aligned with From. Aligned means the
same domain or a parent of it (``example.com`` vouches for ``support.example.com``), never
a bare top-level name. DMARC's relaxed alignment also accepts the reverse (a subdomain
signing for its parent), but telling which parent is an organisation's own needs the
public-suffix list; without it ``attacker.github.io`` could speak for ``github.io``.
"""

from __future__ import annotations

from collections.abc import Sequence

from tracker_mail_plugin.config.model import Trust
from tracker_mail_plugin.mail.headers import SALVAGED_ADDRESSES, parse_addresses
from tracker_mail_plugin.mail.model import Message
from tracker_mail_plugin.trust.results import (
    MAX_HEADER_CHARS,
    AuthResults,
    MethodResult,
    parse_authentication_results,
)
from tracker_mail_plugin.trust.verdict import Verdict
from tracker_mail_plugin.trust.verify import DnsFunc, arc_results, dkim_passes

_HEADER = "authentication-results"


def authenticate(
    message: Message, raw: bytes | None, trust: Trust, dnsfunc: DnsFunc | None = None
) -> Verdict:
    """Judge the sender of ``message`` by the mailbox's ``trust`` policy.

    Args:
        message: the parsed message (its headers in order, topmost first).
        raw: the message's bytes, for our own DKIM/ARC checks; None when not at hand.
        trust: the mailbox's ``trust`` policy.
        dnsfunc: the DNS TXT lookup for our own checks (tests); None: dkimpy's resolver.

    Returns:
        The verdict. With ``require: none`` it is still worked out from stamped results
        (``explain`` shows it) but our own checks, which cost DNS lookups, are skipped.
    """
    need = trust.require
    domain = _from_domain(message)
    if domain is None:
        return Verdict(need, False, None, None, _no_single_from(message))
    stamped = trusted_results(message.headers, trust.authserv_id)
    if stamped is not None:
        verdict = _judge(need, domain, stamped, stamped.authserv_id)
        if verdict.authenticated or need == "none":
            return verdict
    else:
        listed = ", ".join(trust.authserv_id) or "none listed"
        verdict = Verdict(
            need, False, None, None, f"no Authentication-Results from a trusted server ({listed})"
        )
    if need == "none" or raw is None:
        return verdict
    return _own_checks(need, domain, raw, trust, dnsfunc) or verdict


def trusted_results(
    headers: Sequence[tuple[str, str]], trusted: Sequence[str]
) -> AuthResults | None:
    """The topmost ``Authentication-Results`` written by a trusted server, if any."""
    if not trusted:
        return None
    for name, value in headers:
        if name.lower() != _HEADER:
            continue
        parsed = parse_authentication_results(value)
        if parsed is not None and parsed.authserv_id in trusted:
            return parsed
    return None


def aligned(signer: str, from_domain: str) -> bool:
    """Whether ``signer`` may speak for ``from_domain``: the same domain or a parent of it."""
    signer = _ascii(signer)
    if "." not in signer:
        return False  # a bare top-level name, or nothing
    target = _ascii(from_domain)
    return target == signer or target.endswith("." + signer)


def _judge(need: str, domain: str, found: AuthResults, source: str) -> Verdict:
    if found.oversized:
        reason = f"{source}: Authentication-Results over {MAX_HEADER_CHARS} characters, not read"
        return Verdict(need, False, None, source, reason)
    methods = ("dmarc", "dkim", "spf") if need == "none" else (need,)
    for method in methods:
        for result in found.results:
            if result.method == method and _proves(result, domain):
                return Verdict(need, True, method, source, f"{source}: {result}")
    shown = "; ".join(str(r) for r in found.results if r.method in methods) or "no such result"
    return Verdict(need, False, None, source, f"{source}: no {_wanted(need)} ({shown})")


def _proves(result: MethodResult, domain: str) -> bool:
    if result.result != "pass":
        return False
    if result.method == "dmarc":
        checked = result.get("header.from")
        return checked is None or _ascii(checked) == _ascii(domain)
    if result.method == "dkim":
        signer = result.get("header.d") or (result.get("header.i") or "").rpartition("@")[2]
        return aligned(signer, domain)
    if result.method == "spf":
        return aligned((result.get("smtp.mailfrom") or "").rpartition("@")[2], domain)
    return False


def _wanted(need: str) -> str:
    if need == "dmarc":
        return "dmarc=pass"
    if need == "none":
        return "aligned pass"
    return f"{need}=pass aligned with the From domain"


def _own_checks(
    need: str, domain: str, raw: bytes, trust: Trust, dnsfunc: DnsFunc | None
) -> Verdict | None:
    if "arc" in trust.verify:
        sealed = arc_results(raw, trust.arc_sealers, dnsfunc)
        if sealed is not None:
            verdict = _judge(
                need, domain, sealed, f"ARC sealed by a trusted domain ({sealed.authserv_id})"
            )
            if verdict.authenticated:
                return verdict
    if "dkim" in trust.verify and need == "dkim":
        passed = dkim_passes(raw, dnsfunc)
        for signed in passed:
            if aligned(signed.domain, domain):
                reason = (
                    f"own DKIM verification: signature by {signed.domain} (s={signed.selector})"
                )
                return Verdict(need, True, "dkim", "own DKIM verification", reason)
        signers = ", ".join(s.domain for s in passed) or "no valid signature"
        reason = f"own DKIM verification: no valid signature aligned with {domain} ({signers})"
        return Verdict(need, False, None, "own DKIM verification", reason)
    return None


def _from_domain(message: Message) -> str | None:
    # Two From headers (or two addresses in one) let DMARC check one and us read the
    # other; such a message proves nothing. Addresses are counted by the address parser:
    # a display name may hold a comma ("Doe, Jane" <jane@example.com>, as Outlook writes
    # it). A decoded display name that holds an address counts as one more: the safe side.
    # An address only salvaged from a header the parser could not read proves nothing
    # either: in '"admin@example.com"@evil.test' the mailbox, and the domain DMARC checked,
    # is at evil.test, while the address taken from inside the quotes is at example.com.
    froms = message.header_all("from")
    if message.from_ is None or len(froms) != 1 or message.from_.domain == "":
        return None
    defects: list[str] = []
    named = parse_addresses(froms[0].encode("utf-8", "surrogateescape"), defects)
    if len(named) != 1 or named[0].address != message.from_.address or _salvaged(defects):
        return None
    return message.from_.domain


def _salvaged(defects: list[str]) -> bool:
    return any(defect.startswith(SALVAGED_ADDRESSES) for defect in defects)


def _no_single_from(message: Message) -> str:
    if message.from_ is None:
        return "no From address"
    froms = message.header_all("from")
    defects: list[str] = []
    if len(froms) == 1:
        parse_addresses(froms[0].encode("utf-8", "surrogateescape"), defects)
    if _salvaged(defects):
        return "the From header cannot be read as one address: which mailbox it names is unknown"
    return "not exactly one From address: which one was checked is not known"


def _ascii(domain: str) -> str:
    domain = domain.strip().rstrip(".").lower()
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return domain
