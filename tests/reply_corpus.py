"""The reply-extraction corpus in ``tests/corpora/replies/``: cases and how they are judged.

Each case is ``KIND/NAME.txt`` (the decoded text of a reply, as ``full_body`` holds it) and
``KIND/NAME.expected`` (the sender's new text). Lines after a ``[sign-off]`` line in the
expected text are a closing formula ("Saluti\\nB") that may be kept or cut: both count.
Where each case comes from, and under which licence, is in ``NOTICE.md`` beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "corpora" / "replies"
SIGN_OFF = "[sign-off]"


@dataclass(frozen=True)
class Case:
    """One reply and the new text it holds."""

    kind: str
    name: str
    text: str
    required: str
    sign_off: str

    def accepts(self, body: str) -> bool:
        """Whether ``body`` is the new text: blank lines and spaces around lines aside."""
        got = _normalised(body)
        with_sign_off = _normalised(f"{self.required}\n{self.sign_off}")
        return got in (_normalised(self.required), with_sign_off)


def _normalised(text: str) -> str:
    return "\n".join(line.strip() for line in text.split("\n") if line.strip())


def load_cases() -> list[Case]:
    """Every case of the corpus, sorted by kind and name."""
    cases = []
    for path in sorted(CORPUS.glob("*/*.txt")):
        expected = path.with_suffix(".expected").read_text(encoding="utf-8")
        required, _, sign_off = expected.partition(f"\n{SIGN_OFF}\n")
        cases.append(
            Case(
                kind=path.parent.name,
                name=path.stem,
                text=path.read_text(encoding="utf-8"),
                required=required.strip("\n"),
                sign_off=sign_off.strip("\n"),
            )
        )
    return cases
