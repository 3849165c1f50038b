"""Find what in a message may point at an existing issue (extraction only, no resolving).

Subject forms, in the order a tracker's own notifications are most specific: Redmine's
``[Project - Bug #123]``, GitHub's ``owner/repo#12``, ``[#123]`` and ``#123``, Jira keys
``ABC-123``. Each span of the subject is claimed once, so ``[Support - Bug #12]`` is not also
reported as ``#12``. Then the message-ids of In-Reply-To and References, nearest first.
"""

from __future__ import annotations

import re

from tracker_mail_plugin.mail.model import ReferenceCandidate, RefKind

# Each candidate may cost a request to the tracker when the reply is resolved, so a subject
# of thousands of "#1" or a References header of thousands of ids would be thousands of
# requests for one message. Real subjects name one or two issues; real threads are
# resolved by their nearest messages.
MAX_SUBJECT = 20
MAX_IDS = 100

_SUBJECT_PATTERNS: tuple[tuple[RefKind, re.Pattern[str]], ...] = (
    (
        RefKind.TRACKER_TAG,
        # Bounded like Redmine's own names (a project name has at most 255 characters, a
        # tracker 30): unbounded, "[a - a - a …" made every " - " try every later one.
        re.compile(
            r"\[(?P<project>[^\[\]]{1,255}?) - (?P<tracker>[^\[\]#]{1,30}?) #(?P<number>\d+)\]"
        ),
    ),
    (
        RefKind.GITHUB,
        re.compile(r"(?<![\w/.-])(?P<project>[A-Za-z0-9][\w.-]*/[\w.-]+)#(?P<number>\d+)\b"),
    ),
    (RefKind.NUMBER, re.compile(r"\[#(?P<number>\d+)\]")),
    (RefKind.NUMBER, re.compile(r"(?<![\w&#/])#(?P<number>\d+)\b")),
    (RefKind.JIRA_KEY, re.compile(r"(?<![\w-])(?P<project>[A-Z][A-Z0-9_]+)-(?P<number>\d+)\b")),
)


def subject_references(subject: str, defects: list[str] | None = None) -> list[ReferenceCandidate]:
    """Issue references in a subject, in the order they appear (at most ``MAX_SUBJECT``).

    Args:
        subject: The decoded subject.
        defects: Where to say that references past the bound were ignored.
    """
    # One mark per character already claimed by a more specific form: a list of spans
    # searched for every match made "[#1] [#1] …" (9,000 of them in 64 KiB) quadratic.
    claimed = bytearray(len(subject))
    found: list[tuple[int, ReferenceCandidate]] = []
    for kind, pattern in _SUBJECT_PATTERNS:
        # Every form has a "#" but Jira's keys, which have a "-": most subjects have
        # neither, and a substring test costs far less than running the expression.
        if ("-" if kind is RefKind.JIRA_KEY else "#") not in subject:
            continue
        for match in pattern.finditer(subject):
            start, end = match.span()
            if claimed.find(1, start, end) >= 0:
                continue
            claimed[start:end] = b"\x01" * (end - start)
            found.append((start, _candidate(kind, match)))
    found.sort(key=lambda item: item[0])
    if len(found) > MAX_SUBJECT and defects is not None:
        defects.append(
            f"the subject names {len(found)} issue references; only the first {MAX_SUBJECT} "
            "are looked up"
        )
    return [candidate for _, candidate in found[:MAX_SUBJECT]]


def _candidate(kind: RefKind, match: re.Match[str]) -> ReferenceCandidate:
    groups = match.groupdict()
    return ReferenceCandidate(
        kind=kind,
        source="subject",
        text=match.group(0),
        number=int(groups["number"]),
        project=(groups.get("project") or None) and groups["project"].strip(),
        tracker=(groups.get("tracker") or None) and groups["tracker"].strip(),
    )


def id_references(
    in_reply_to: str | None, references: tuple[str, ...], defects: list[str] | None = None
) -> list[ReferenceCandidate]:
    """Message-ids from In-Reply-To, then References from the newest to the oldest.

    Args:
        in_reply_to: The first id of In-Reply-To.
        references: The ids of References, oldest first.
        defects: Where to say that ids past ``MAX_IDS`` were ignored: the nearest ones are
            kept, and the thread's first message (a tracker's notification may have started
            the thread), as RFC 5322 says to keep when References is shortened.
    """
    found: list[ReferenceCandidate] = []
    seen: set[str] = set()
    ordered = [("in_reply_to", in_reply_to)] if in_reply_to else []
    ordered += [("references", ref) for ref in reversed(references)]
    for source, message_id in ordered:
        if message_id and message_id not in seen:
            seen.add(message_id)
            found.append(
                ReferenceCandidate(kind=RefKind.MESSAGE_ID, source=source, text=message_id)
            )
    if len(found) > MAX_IDS:
        if defects is not None:
            defects.append(
                f"In-Reply-To and References name {len(found)} messages; only the nearest "
                f"{MAX_IDS - 1} and the first are looked up"
            )
        found = found[: MAX_IDS - 1] + found[-1:]
    return found
