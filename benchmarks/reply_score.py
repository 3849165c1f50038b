"""Reply extraction scored per kind: tracker-mail against the reply libraries alone.

    python benchmarks/reply_score.py [--markdown] [--failures]

Every case of ``tests/corpora/replies/`` (real replies from three reply parsers' test sets
and written ones; see the NOTICE there) is given to:

- tracker-mail: ``strip_quotes``, what ``body`` holds for a text reply;
- mail-parser-reply alone: ``EmailReplyParser(languages=…).parse_reply``, with the same 13
  languages tracker-mail asks it for;
- email-reply-parser (Zapier's port of GitHub's parser): ``EmailReplyParser.parse_reply``,
  when it is installed (``pip install email-reply-parser``, a dev dependency).

Cases taken from the other projects' test sets are named after them (``gh-``, ``mpr-``,
``talon-``); the second table scores those real samples alone, without the written ones.

A case counts when the result is the expected new text, blank lines and trailing spaces
aside, with or without the closing formula the case marks as optional. ``--failures``
prints what each approach returned for the cases it missed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Appended, not prepended: with PYTHONPATH pointing at an older tracker_mail_plugin (see
# benchmarks/README.md), that one is scored, and only ``tests`` comes from this checkout.
sys.path.append(str(ROOT))

from tests.reply_corpus import Case, load_cases  # noqa: E402 - after the path is set

REAL = ("gh-", "mpr-", "talon-")
KINDS = ("attribution", "header-block", "bottom-post", "interleaved", "signature", "forward-kept")
LANGUAGES = ("en", "de", "fr", "nl", "da", "pl", "sv", "ja", "it", "es", "cs", "ko", "zh")


def tracker_mail() -> Callable[[str], str]:
    from tracker_mail_plugin.mail.quotes import strip_quotes

    return strip_quotes


def mail_parser_reply() -> Callable[[str], str]:
    from mailparser_reply import EmailReplyParser

    parser = EmailReplyParser(languages=list(LANGUAGES))
    return lambda text: parser.parse_reply(text) or ""


def email_reply_parser() -> Callable[[str], str] | None:
    try:
        from email_reply_parser import EmailReplyParser
    except ImportError:
        return None
    return lambda text: EmailReplyParser.parse_reply(text) or ""


def _safely(extract: Callable[[str], str], text: str) -> str:
    try:
        return extract(text)
    except Exception as error:  # noqa: BLE001 - a library's crash is a miss, not the end
        return f"<{type(error).__name__}: {error}>"


def score(
    cases: list[Case], approaches: dict[str, Callable[[str], str]]
) -> tuple[dict[str, dict[str, int]], list[tuple[str, Case, str]]]:
    """Cases right per kind and approach, and every miss (approach, case, result)."""
    right: dict[str, dict[str, int]] = {name: {} for name in approaches}
    misses: list[tuple[str, Case, str]] = []
    for case in cases:
        for name, extract in approaches.items():
            result = _safely(extract, case.text)
            ok = case.accepts(result)
            right[name][case.kind] = right[name].get(case.kind, 0) + ok
            if not ok:
                misses.append((name, case, result))
    return right, misses


def table(cases: list[Case], right: dict[str, dict[str, int]]) -> str:
    """The scores as a Markdown table, one row per kind and a total."""
    names = list(right)
    lines = [
        "| kind | cases | " + " | ".join(names) + " |",
        "|---|---|" + "---|" * len(names),
    ]
    totals = dict.fromkeys(names, 0)
    for kind in KINDS:
        count = sum(case.kind == kind for case in cases)
        cells = []
        for name in names:
            got = right[name].get(kind, 0)
            totals[name] += got
            cells.append(f"{got}/{count}")
        lines.append(f"| {kind} | {count} | " + " | ".join(cells) + " |")
    total = " | ".join(f"**{totals[name]}/{len(cases)}**" for name in names)
    lines.append(f"| all | {len(cases)} | {total} |")
    return "\n".join(lines)


def main() -> int:
    """Score every approach on the corpus and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--markdown", action="store_true", help="(the table is Markdown)")
    parser.add_argument("--failures", action="store_true", help="print every miss")
    args = parser.parse_args()
    approaches = {"tracker-mail": tracker_mail(), "mail-parser-reply": mail_parser_reply()}
    erp = email_reply_parser()
    if erp is not None:
        approaches["email-reply-parser"] = erp
    cases = load_cases()
    right, misses = score(cases, approaches)
    print(table(cases, right))
    real = [case for case in cases if case.name.startswith(REAL)]
    print(f"\nReal samples only ({len(real)} of {len(cases)}):\n")
    print(table(real, score(real, approaches)[0]))
    if args.failures:
        for name, case, result in misses:
            print(f"\n--- {name} missed {case.kind}/{case.name}:\n{result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
