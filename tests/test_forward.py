"""Forwarding by SMTP: headers that cannot break the mail, failures that stay the message's,
configuration that keeps passwords off the wire, and no loop through people's replies."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.mailfactory import multipart, part, raw_mail
from tests.synchelpers import World
from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text
from tracker_mail_plugin.config.model import Smtp
from tracker_mail_plugin.config.secrets import Secret
from tracker_mail_plugin.errors import ConfigurationError, PermanentError
from tracker_mail_plugin.forward import SmtpForwarder, _WatchedSmtp, forwarding_message
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.mail.model import Automated
from tracker_mail_plugin.testing.dovecot import free_ports

INJECTED_SUBJECT = "=?utf-8?q?lunch=0D=0ABcc:_everyone@example.com=0D=0A=0D=0Abody?="


@dataclass
class Sink:
    """An SMTP server on 127.0.0.1 that keeps what it receives (or answers ``refuse``)."""

    refuse: str | None = None
    received: list[bytes] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            return self.refuse
        self.received.append(bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    port = free_ports(1)[0]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def settings(port: int, **more: Any) -> Smtp:
    base = {"host": "127.0.0.1", "port": port, "security": "none", "sender": "tm@example.com"}
    return Smtp.model_validate(base | more)


def sending_world(tmp_path, port: int, policies: str) -> World:
    world = World(tmp_path, policies=policies)
    world._forward = SmtpForwarder(settings(port), "inbox")  # type: ignore[method-assign]
    return world


# --- headers -------------------------------------------------------------------------------


def test_a_subject_with_cr_lf_is_forwarded_on_one_line_and_injects_nothing() -> None:
    raw = raw_mail({"Subject": INJECTED_SUBJECT})
    # The parser already turns line breaks in a subject into spaces; the forward must not
    # rely on it, so it is handed a message whose subject still has them.
    original = dataclasses.replace(
        parse_message(raw), subject="lunch\r\nBcc: everyone@example.com\r\n\r\nbody"
    )
    sent = forwarding_message(
        raw, "tm@example.com", "admin@example.com", "why", "inbox", original=original
    )
    forwarded = email.message_from_bytes(sent, policy=email.policy.default)
    assert forwarded["Subject"] == "[tracker-mail] lunch Bcc: everyone@example.com body"
    assert forwarded["Bcc"] is None


def test_forwarded_mail_has_a_message_id_of_our_own_shape() -> None:
    sent = forwarding_message(raw_mail({}), "tm@example.com", "a@example.com", "why", "inbox")
    forwarded = parse_message(sent)
    assert forwarded.message_id.startswith("tracker-mail-fwd.")
    assert forwarded.message_id.endswith("@example.com")


# --- failures are the message's own -----------------------------------------------------------


def test_a_subject_with_cr_lf_is_forwarded_and_the_run_goes_on(tmp_path, sink) -> None:
    handler, port = sink
    world = sending_world(tmp_path, port, "    on_unprocessed: {forward: admin@example.com}")
    world.mailbox.add(raw_mail({"Subject": INJECTED_SUBJECT, "Message-ID": "<a@example.com>"}))
    world.mailbox.add(raw_mail({"Subject": "lunch?", "Message-ID": "<b@example.com>"}))
    summary = world.sync()
    assert (summary.unprocessed, summary.forwarded, summary.failed) == (2, 2, 0)
    assert len(handler.received) == 2


def test_a_refused_forward_fails_that_message_and_the_next_one_is_handled(tmp_path, sink) -> None:
    handler, port = sink
    handler.refuse = "554 no thanks"
    world = sending_world(tmp_path, port, "    on_unprocessed: {forward: admin@example.com}")
    world.mailbox.add(raw_mail({"Subject": "lunch?", "Message-ID": "<a@example.com>"}))
    world.mailbox.add(raw_mail({"Subject": "printer on fire", "Message-ID": "<b@example.com>"}))
    summary = world.sync()  # no exception: the first message failed, the second made an issue
    assert (summary.failed, summary.created, summary.exit_code) == (1, 1, 0)


def test_a_busy_server_counts_no_attempt_toward_quarantine(tmp_path, sink) -> None:
    handler, port = sink
    handler.refuse = "451 try again later"
    policies = "    on_unprocessed: {forward: admin@example.com}\n    max_attempts: 2"
    world = sending_world(tmp_path, port, policies)
    world.mailbox.add(raw_mail({"Subject": "lunch?", "Message-ID": "<a@example.com>"}))
    for _ in range(3):
        assert (world.sync().failed, world.journal.listing((), (), None)[0].attempts) == (1, 0)
    handler.refuse = None
    summary = world.sync()
    assert (summary.unprocessed, summary.forwarded, len(handler.received)) == (1, 1, 1)


def test_an_unexpected_library_error_is_a_permanent_error_of_the_message(
    sink, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, port = sink

    def refuses(*args: Any, **kwargs: Any) -> None:
        raise ValueError("the library would not send this")

    monkeypatch.setattr(_WatchedSmtp, "sendmail", refuses)
    raw = raw_mail({})
    with pytest.raises(PermanentError, match="the library would not send this"):
        SmtpForwarder(settings(port), "inbox")(parse_message(raw), raw, "a@example.com", "why")


def test_a_password_for_a_server_without_auth_is_a_configuration_error(sink) -> None:
    _, port = sink  # aiosmtpd offers no AUTH without TLS
    forward = SmtpForwarder(settings(port, username="tm", password=Secret(value="pw")), "inbox")
    raw = raw_mail({})
    with pytest.raises(ConfigurationError, match="offers no login"):
        forward(parse_message(raw), raw, "a@example.com", "why")


def test_a_server_without_starttls_is_never_used_in_clear(sink) -> None:
    handler, port = sink  # aiosmtpd without a TLS context offers no STARTTLS
    forward = SmtpForwarder(settings(port, security="starttls"), "inbox")
    raw = raw_mail({})
    with pytest.raises(ConfigurationError, match="does not offer STARTTLS"):
        forward(parse_message(raw), raw, "a@example.com", "why")
    with pytest.raises(ConfigurationError, match="does not offer STARTTLS"):
        forward.check()
    assert handler.received == []


# --- configuration ---------------------------------------------------------------------------

CONFIG = """\
version: 1
trackers: {{rec: {{adapter: recording}}}}
mailboxes: {{inbox: {{protocol: maildir, path: /unused, tracker: rec}}}}
rules: ["then ignore"]
smtp: {{host: {host}, security: none, sender: tm@example.com{login}}}
"""
LOGIN = ", username: tm, password: {env: SMTP_PASSWORD}"


def test_smtp_without_security_and_a_password_is_refused_off_this_machine() -> None:
    with pytest.raises(ConfigFileError) as refused:
        load_config_text(CONFIG.format(host="smtp.example.com", login=LOGIN), "rules.yaml")
    (problem,) = refused.value.problems
    assert "sends the password in clear" in problem.message
    for host, login in (("127.0.0.1", LOGIN), ("localhost", LOGIN), ("smtp.example.com", "")):
        load_config_text(CONFIG.format(host=host, login=login), "rules.yaml")


# --- loops through replies --------------------------------------------------------------------


def forwarded_once(world: World, handler: Sink) -> bytes:
    world.mailbox.add(raw_mail({"Subject": "lunch?", "Message-ID": "<first@example.com>"}))
    assert world.sync().forwarded == 1
    (sent,) = handler.received
    return sent


def test_a_plain_reply_to_a_forward_is_a_loop_and_is_not_forwarded_again(tmp_path, sink) -> None:
    handler, port = sink
    policies = "    on_unprocessed: {forward: admin@example.com}"
    world = sending_world(tmp_path, port, policies)
    ours = parse_message(forwarded_once(world, handler)).message_id
    reply = raw_mail(
        {
            "From": "Admin <admin@example.com>",
            "Subject": "Re: [tracker-mail] lunch?",
            "Message-ID": "<reply@example.com>",
            "In-Reply-To": f"<{ours}>",
        },
        "Seen it, thanks.",
    )
    assert parse_message(reply).automated == Automated.LOOP
    world.mailbox.add(reply)
    summary = world.sync()  # automated loop mail is dropped by default
    assert (summary.dropped, summary.forwarded) == (1, 0)
    world.policies = policies + "\n    automated: {loop: unprocessed}"
    world.mailbox.add(reply.replace(b"<reply@", b"<reply2@"))
    summary = world.sync()  # kept for a person, and still not sent round again
    assert (summary.unprocessed, summary.forwarded) == (1, 1)
    assert len(handler.received) == 1


def test_a_reply_carrying_the_forward_as_attachment_is_not_forwarded(tmp_path, sink) -> None:
    handler, port = sink
    world = sending_world(tmp_path, port, "    on_unprocessed: {forward: admin@example.com}")
    sent = forwarded_once(world, handler)
    content_type, body = multipart(
        "mixed",
        [
            part("Content-Type: text/plain", "See below; it came back."),
            part("Content-Type: message/rfc822", sent),
        ],
    )
    reply = raw_mail(
        {
            "From": "Admin <admin@example.com>",
            "Subject": "Fwd: lunch?",
            "Message-ID": "<fwd@example.com>",
            "Content-Type": content_type,
        },
        body,
    )
    assert parse_message(reply).automated is None  # a person wrote it: the rules see it
    world.mailbox.add(reply)
    summary = world.sync()
    assert summary.unprocessed == 1
    assert len(handler.received) == 1  # but it is not forwarded round again


def test_our_loop_header_quoted_inline_marks_a_reply_to_our_forward() -> None:
    from tracker_mail_plugin.mail.classify import replies_to_our_forward

    quoted = b"From: a@example.com\r\n\r\nNo idea.\r\n\r\n> X-Tracker-Mail-Loop: inbox\r\n"
    assert replies_to_our_forward(None, (), quoted)
    header_only = b"X-Tracker-Mail-Loop: inbox\r\n\r\nhello\r\n"  # top level: classify's job
    assert not replies_to_our_forward(None, (), header_only)
    assert replies_to_our_forward(None, ("x@y", "Tracker-Mail-Fwd.abc@example.com"))
    assert not replies_to_our_forward("someone@example.com", ())
