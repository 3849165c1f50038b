"""Automated-mail detection scored on a labelled corpus: content signals against headers only.

    python benchmarks/automated_score.py [--corpus tests/corpora/automated] [--markdown]

Every ``.eml`` in the corpus has an expected class in ``expected.tsv`` (``none`` for mail a
person wrote). Two classifiers read each message: tracker-mail's, and a copy of the
header-only rules it used before content was read (kept below, unchanged, so the gain stays
visible). Per kind: how many were caught (recall: classified automated at all, and in the
right class) and, over the whole corpus, how many people's messages were wrongly classified
automated (precision).

With ``--flanker-python PATH`` (a Python that has ``flanker`` installed, Mailgun's parsing
library; it is not a dependency of tracker-mail), flanker's bounce detector
(``bounce.is_bounce()``) is scored too. It detects bounces only, so its column counts bounces
and delay notices caught, and people's mail wrongly called a bounce.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from collections import defaultdict
from pathlib import Path

from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.model import Address, Automated, Message

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpora" / "automated"

# --- the header-only rules, as they were ---------------------------------------------------

_AUTO_REPLY_HEADERS = (
    "x-autoreply",
    "x-autorespond",
    "x-autoresponse",
    "x-autoreply-from",
    "x-mail-autoreply",
    "x-ag-autoreply",
    "x-amazon-auto-reply",
)
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_LIST_HEADERS = ("list-id", "list-unsubscribe", "list-post", "mailing-list", "x-mailing-list")
_DAEMON_LOCALPARTS = frozenset({"mailer-daemon", "postmaster", "mail-daemon", "mailerdaemon"})


def headers_only(message: Message) -> Automated | None:
    """The classifier before content signals (loop detection left out: not scored here)."""
    header = message.header
    ctype = (header("content-type") or "").lower()
    if "multipart/report" in ctype and "delivery-status" in ctype:
        return Automated.BOUNCE
    if header("x-failed-recipients") is not None:
        return Automated.BOUNCE
    return_path = header("return-path")
    null_return = return_path is not None and return_path.strip() in ("<>", "")
    if null_return and _old_daemon(message.from_):
        return Automated.BOUNCE
    auto = header("auto-submitted")
    if auto is not None:
        keyword = auto.strip().split(";", 1)[0].split("(", 1)[0].strip().lower()
        if keyword not in ("", "no"):
            if keyword == "auto-replied":
                return Automated.AUTO_REPLIED
            return Automated.AUTO_GENERATED
    if any(header(name) is not None for name in _AUTO_REPLY_HEADERS):
        return Automated.AUTO_REPLIED
    precedence = (header("precedence") or header("x-precedence") or "").strip().lower()
    if precedence == "auto_reply":
        return Automated.AUTO_REPLIED
    if precedence in _BULK_PRECEDENCE or any(header(name) is not None for name in _LIST_HEADERS):
        return Automated.BULK
    return None


def _old_daemon(sender: Address | None) -> bool:
    return sender is not None and sender.address.split("@", 1)[0] in _DAEMON_LOCALPARTS


# --- scoring -------------------------------------------------------------------------------


def load(corpus: Path) -> list[tuple[str, str, Message]]:
    """(file name, expected class, parsed message) for every labelled file."""
    rows = []
    for line in (corpus / "expected.tsv").read_text().splitlines():
        name, expected = line.split("\t")
        rows.append((name, expected, parse_message((corpus / name).read_bytes())))
    return rows


def kind_of(name: str, expected: str) -> str:
    """The table row a sample belongs to, from its file name."""
    if "human-" in name:
        return "a person's mail"
    for prefix, kind in (
        ("delay-", "delay notice"),
        ("read-receipt-", "read receipt"),
        ("arf-", "spam complaint (ARF)"),
        ("autoreply-subject-", "auto-reply, subject only"),
        ("autoreply-", "auto-reply, other marks"),
    ):
        if name.startswith(prefix):
            return kind
    return "bounce" if expected == "bounce" else expected


_FLANKER = """
import json, sys
from pathlib import Path
from flanker import mime
found = {}
for path in sys.argv[1:]:
    try:
        found[Path(path).name] = bool(mime.from_string(Path(path).read_bytes()).bounce.is_bounce())
    except Exception:
        found[Path(path).name] = False
print(json.dumps(found))
"""


def flanker_bounces(python: str, corpus: Path, names: list[str]) -> dict[str, bool]:
    """Which files flanker's bounce detector calls a bounce, run in ``python``."""
    paths = [str(corpus / name) for name in names]
    done = subprocess.run(
        [python, "-c", _FLANKER, *paths], capture_output=True, text=True, check=True
    )
    return {name: bool(value) for name, value in json.loads(done.stdout).items()}


def score(rows: list[tuple[str, str, Message]]) -> list[tuple[str, int, str, str]]:
    """Per kind: count, then 'caught (right class)' for new and old classifiers."""
    table: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for name, expected, message in rows:
        row = table[kind_of(name, expected)]
        row[0] += 1
        for offset, got in ((1, message.automated), (3, headers_only(message))):
            value = got.value if got else "none"
            if expected == "none":
                row[offset] += value == "none"
                row[offset + 1] += value == "none"
            else:
                row[offset] += value != "none"
                row[offset + 1] += value == expected
    return [
        (kind, n, f"{new} ({new_exact})", f"{old} ({old_exact})")
        for kind, (n, new, new_exact, old, old_exact) in sorted(table.items())
    ]


def precision(rows: list[tuple[str, str, Message]], new: bool) -> tuple[int, int]:
    """(true automated among those classified automated, classified automated)."""
    flagged = correct = 0
    for _, expected, message in rows:
        got = message.automated if new else headers_only(message)
        if got is not None:
            flagged += 1
            correct += expected != "none"
    return correct, flagged


# Files taken from other projects' corpora (see the corpus README); the rest were written here.
REAL_PREFIXES = ("sisimai-", "deltachat-")


def main() -> None:
    """Print the per-kind tables and the overall precision/recall of both classifiers."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--flanker-python", help="a Python with flanker installed")
    args = parser.parse_args()
    rows = load(args.corpus)
    real = [row for row in rows if row[0].startswith(REAL_PREFIXES)]
    print(f"All {len(rows)} samples:\n")
    table(rows)
    print(f"\nOnly the {len(real)} samples taken from other projects' corpora:\n")
    table(real)
    print("\n(for a person's mail, 'caught' counts messages left unclassified, as they should be)")
    if args.flanker_python:
        names = [name for name, _, _ in rows]
        flanker_table(rows, flanker_bounces(args.flanker_python, args.corpus, names))


def flanker_table(rows: list[tuple[str, str, Message]], flanker: dict[str, bool]) -> None:
    """Bounces (and delay notices) caught, and people's mail called a bounce, by each."""
    print("\nBounces only, against flanker's bounce detector:\n")
    print("| kind | samples | tracker-mail | headers only | flanker |")
    print("|---|---|---|---|---|")
    for kind, wanted in (
        ("bounce", "bounce"),
        ("delay notice", "bounce"),
        ("a person's mail", "none"),
    ):
        picked = [row for row in rows if kind_of(row[0], row[1]) == kind]
        ours = sum(_is_bounce(row[2].automated) for row in picked)
        old = sum(_is_bounce(headers_only(row[2])) for row in picked)
        theirs = sum(flanker[row[0]] for row in picked)
        verb = "called a bounce" if wanted == "none" else "caught"
        print(f"| {kind} ({verb}) | {len(picked)} | {ours} | {old} | {theirs} |")


def _is_bounce(got: Automated | None) -> bool:
    return got is Automated.BOUNCE


def table(rows: list[tuple[str, str, Message]]) -> None:
    """Print the per-kind table and the overall precision and recall for ``rows``."""
    print("| kind | samples | tracker-mail: caught (right class) | headers only |")
    print("|---|---|---|---|")
    for kind, n, new, old in score(rows):
        print(f"| {kind} | {n} | {new} | {old} |")
    automated = sum(expected != "none" for _, expected, _ in rows)
    print()
    print("| classifier | precision | recall |")
    print("|---|---|---|")
    for label, new in (("tracker-mail", True), ("headers only", False)):
        correct, flagged = precision(rows, new)
        print(f"| {label} | {correct}/{flagged} | {correct}/{automated} |")


if __name__ == "__main__":
    main()
