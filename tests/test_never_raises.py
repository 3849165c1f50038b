"""The parser's promise: whatever the bytes, a Message comes back and nothing raises."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.mailfactory import raw_mail
from tracker_mail_plugin.mail import Message, parse_message
from tracker_mail_plugin.mail import parse as parse_module

EXAMPLES = sorted((Path(__file__).parent.parent / "examples").glob("*.eml"))
SEEDS = [p.read_bytes() for p in EXAMPLES] or [raw_mail({"Subject": "seed"})]

HEADERY = st.sampled_from(
    [
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"Content-Type: text/plain; charset=x-unknown\r\n",
        b"To: (c):\r\n",
        b"Message-ID: <[a]@b>\r\n",
        b"Subject: =?utf-8?B?broken\r\n",
        b"--x\r\n",
        b"\r\n",
        b"\xff\xfe\x00",
        b"=?iso-2022-jp?B?GyRC?=",
        b"filename*0*=utf-8''%ZZ; filename*1=x\r\n",
    ]
)


def check(raw: bytes) -> None:
    message = parse_message(raw)
    assert isinstance(message, Message)
    assert message.size == len(raw)
    if message.full_body.strip():
        assert message.body.strip()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4000))
def test_random_bytes(raw):
    check(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(SEEDS),
    cuts=st.lists(
        st.tuples(st.integers(0, 10**6), st.integers(0, 64), HEADERY | st.binary(max_size=16)),
        max_size=6,
    ),
)
def test_mutated_real_messages(seed, cuts):
    raw = bytearray(seed)
    for position, length, insert in cuts:
        at = position % (len(raw) + 1)
        raw[at : at + length] = insert
    check(bytes(raw))


def test_a_parser_bug_still_returns_the_text(monkeypatch):
    def broken(raw, sha256):
        raise RuntimeError("boom")

    monkeypatch.setattr(parse_module, "_parse", broken)
    message = parse_message(b"Subject: x\r\n\r\nkeep me")
    assert "keep me" in message.full_body
    assert message.message_id_synthesised
    assert message.defects == ("the parser failed (RuntimeError: boom); the raw text is the body",)
