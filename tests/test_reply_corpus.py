"""Reply extraction on real and written replies of every kind, in many languages."""

import pytest

from tests.reply_corpus import load_cases
from tracker_mail_plugin.mail.quotes import strip_quotes

CASES = load_cases()


def test_the_corpus_has_every_kind():
    kinds = {case.kind for case in CASES}
    assert kinds == {
        "attribution",
        "header-block",
        "bottom-post",
        "interleaved",
        "signature",
        "forward-kept",
    }


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}/{c.name}" for c in CASES])
def test_body_is_the_new_text(case):
    body = strip_quotes(case.text)
    assert case.accepts(body), body
