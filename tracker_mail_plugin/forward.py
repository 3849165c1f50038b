"""Forward a message by SMTP (unprocessed mail, quarantine, the ``forward`` action).

The original travels untouched as a ``message/rfc822`` attachment, with a short text saying
why it was forwarded. Every forwarded mail carries ``Auto-Submitted: auto-replied`` and our
loop header, so that no auto-responder answers it and tracker-mail never imports it back.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid

from tracker_mail_plugin.config.model import Smtp
from tracker_mail_plugin.config.secrets import SecretError
from tracker_mail_plugin.errors import ConfigurationError, RetryLater
from tracker_mail_plugin.mail.classify import LOOP_HEADER
from tracker_mail_plugin.mail.model import Message
from tracker_mail_plugin.mail.parse import parse_message


def forwarding_message(
    raw: bytes,
    sender: str,
    to: str,
    reason: str,
    mailbox: str,
    original: Message | None = None,
) -> bytes:
    """The mail (as bytes ready for SMTP) that carries ``raw`` to ``to``, saying ``reason``.

    ``original``: ``raw`` already parsed (the pipeline has it); parsed here when not given.

    The original goes in as a ``message/rfc822`` part byte for byte: RFC 2046 allows only
    7bit, 8bit or binary there (mail readers show a base64-encoded one as an opaque file),
    and Python's generators cannot write 8-bit bytes into such a part, so the message is
    built around a placeholder that is then replaced by the original's bytes.
    """
    original = original if original is not None else parse_message(raw)
    mail = EmailMessage(policy=SMTP)
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = f"[tracker-mail] {original.subject or '(no subject)'}"
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    mail["Auto-Submitted"] = "auto-replied"
    mail[LOOP_HEADER] = mailbox
    mail.set_content(
        f"tracker-mail forwards this message from mailbox '{mailbox}': {reason}.\n\n"
        f"From: {original.from_ or '(unknown)'}\nSubject: {original.subject}\n"
        f"Message-ID: <{original.message_id}>\n\nThe original is attached unchanged.\n",
        cte="quoted-printable",  # 8-bit text would need SMTPUTF8
    )
    mail.make_mixed()
    placeholder = f"tracker-mail-original-{original.sha256}"
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = "message/rfc822"
    part["Content-Disposition"] = 'attachment; filename="original.eml"'
    part["Content-Transfer-Encoding"] = "7bit" if raw.isascii() else "8bit"
    part.set_payload(placeholder)
    mail.attach(part)
    body = _CRLF.sub(b"\r\n", raw)  # SMTP wants CRLF line ends
    return mail.as_bytes().replace(placeholder.encode("ascii"), body, 1)


_CRLF = re.compile(rb"\r?\n")


class SmtpForwarder:
    """Sends forwarding mail through the configured server; one connection per message."""

    def __init__(self, settings: Smtp, mailbox: str):
        self.settings = settings
        self.mailbox = mailbox

    def __call__(self, message: Message, raw: bytes, to: str, reason: str) -> None:
        """Forward ``raw`` (parsed: ``message``) to ``to``; RetryLater when the server is down."""
        sender = self.settings.sender
        mail = forwarding_message(raw, sender, to, reason, self.mailbox, original=message)
        try:
            with self._connect() as server:
                self._login(server)
                server.ehlo_or_helo_if_needed()
                options = ["BODY=8BITMIME"] if server.has_extn("8bitmime") else []
                server.sendmail(self.settings.sender, [to], mail, mail_options=options)
        except smtplib.SMTPAuthenticationError as exc:  # before OSError: it is one
            raise ConfigurationError(
                f"SMTP server {self.settings.host}: login refused ({exc.smtp_code})"
            ) from None
        except OSError as exc:  # refused, timed out, dropped, or any other SMTP error
            raise RetryLater(
                f"SMTP server {self.settings.host}:{self.settings.port}: {exc}"
            ) from None

    def _connect(self) -> smtplib.SMTP:
        settings = self.settings
        context = ssl.create_default_context(cafile=settings.ca_file)
        if settings.security == "ssl":
            return smtplib.SMTP_SSL(settings.host, settings.port, timeout=60, context=context)
        server = smtplib.SMTP(settings.host, settings.port, timeout=60)
        if settings.security == "starttls":
            server.starttls(context=context)
        return server

    def _login(self, server: smtplib.SMTP) -> None:
        if self.settings.username and self.settings.password:
            try:
                password = self.settings.password.reveal()
            except SecretError as exc:
                raise ConfigurationError(f"smtp password: {exc}") from None
            server.login(self.settings.username, password)


def no_forwarding(message: Message, raw: bytes, to: str, reason: str) -> None:
    """Used when no smtp server is configured: check refuses such configurations."""
    raise ConfigurationError("forwarding needs an smtp server in the configuration")
