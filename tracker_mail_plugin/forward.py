"""Forward a message by SMTP (unprocessed mail, quarantine, the ``forward`` action).

The original travels untouched as a ``message/rfc822`` attachment, with a short text saying
why it was forwarded. Every forwarded mail carries ``Auto-Submitted: auto-replied``, our
loop header and a Message-ID of our own shape, so that no auto-responder answers it,
tracker-mail never imports it back, and a person's reply to it is never forwarded again
(see :func:`~tracker_mail_plugin.mail.classify.replies_to_our_forward`).

Forwarding one message can fail only that message: every failure becomes ``RetryLater``
(the server is down, busy or slow; the message is tried again next run) or
``PermanentError`` (the server refused it for good; it counts toward quarantine). Only what
the operator must fix stops the mailbox: a refused login, or a password configured for a
server that offers no AUTH at all.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import uuid
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from typing import TYPE_CHECKING

from tracker_mail_plugin.config.model import Smtp
from tracker_mail_plugin.config.secrets import SecretError
from tracker_mail_plugin.errors import (
    ConfigurationError,
    PermanentError,
    RetryLater,
    TrackerMailError,
    Unreachable,
)
from tracker_mail_plugin.mail.classify import (
    FORWARD_ID_PREFIX,
    LOOP_HEADER,
    replies_to_our_forward,
)
from tracker_mail_plugin.mail.model import Automated, Message
from tracker_mail_plugin.mail.parse import parse_message
from tracker_mail_plugin.oauth2 import sasl
from tracker_mail_plugin.sources.deadline import Deadline

if TYPE_CHECKING:
    from tracker_mail_plugin.oauth2 import TokenProvider

logger = logging.getLogger("tracker_mail")

# Control characters (C0 with CR and LF, DEL, C1) and the Unicode line separators: the
# email library refuses CR and LF in a header value, and the rest has no place in one.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


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
    mail["Subject"] = f"[tracker-mail] {header_text(original.subject) or '(no subject)'}"
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = forward_message_id(sender.rpartition("@")[2] or "localhost")
    mail["Auto-Submitted"] = "auto-replied"
    mail[LOOP_HEADER] = header_text(mailbox)
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


def header_text(value: str | None) -> str:
    """``value`` fit for one header line: control characters become single spaces."""
    return _CONTROL.sub(" ", value or "").strip()


def forward_message_id(domain: str) -> str:
    """A new Message-ID for a forwarded mail, recognisable in a reply's references."""
    return f"<{FORWARD_ID_PREFIX}{uuid.uuid4().hex}@{header_text(domain)}>"


class SmtpForwarder:
    """Sends forwarding mail through the configured server; one connection per message."""

    def __init__(self, settings: Smtp, mailbox: str, bearer: TokenProvider | None = None):
        self.settings = settings
        self.mailbox = mailbox
        self.bearer = bearer  # set with smtp auth.oauth2: log in with a token

    def __call__(self, message: Message, raw: bytes, to: str, reason: str) -> None:
        """Forward ``raw`` (parsed: ``message``) to ``to``; any failure is this message's.

        Raises:
            RetryLater: the server cannot be reached, is busy, or did not answer in time.
            PermanentError: the server refused the mail for good, or it cannot be built.
            ConfigurationError: the login was refused, or the server offers no login.
        """
        if is_loop(message, raw):
            logger.warning(
                "%s: not forwarding %s to %s: it is (or answers) mail tracker-mail forwarded",
                self.mailbox, message.message_id, to,
            )  # fmt: skip
            return
        server = f"SMTP server {self.settings.host}:{self.settings.port}"
        try:
            mail = forwarding_message(raw, self.settings.sender, to, reason, self.mailbox, message)
            self._send(mail, to, Deadline(self.settings.command_timeout, server))
        except Unreachable as exc:  # the deadline: only this message waits for the next run
            raise RetryLater(exc.message) from None
        except TrackerMailError:
            raise
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
            raise _refused_login(server, exc) from None  # before OSError: they are ones
        except smtplib.SMTPResponseException as exc:
            error = PermanentError if exc.smtp_code >= 500 else RetryLater
            raise error(f"{server}: {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = PermanentError if codes and min(codes) >= 500 else RetryLater
            raise error(f"{server}: recipient {to} refused: {exc.recipients}") from None
        except OSError as exc:  # refused, timed out, dropped, TLS
            raise RetryLater(f"{server}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - whatever the library refused fails this message only
            why = f"{type(exc).__name__}: {exc}"
            raise PermanentError(f"cannot forward this message: {why}") from None

    def check(self) -> None:
        """Connect and log in as a forward does, and send nothing (``tracker-mail check``).

        Raises:
            ConfigurationError: the login was refused, or the server offers no login.
            Unreachable: the server cannot be reached, or did not answer in time.
        """
        server = f"SMTP server {self.settings.host}:{self.settings.port}"
        deadline = Deadline(self.settings.command_timeout, server)
        try:
            with deadline.running("logging in"), self._connect(deadline) as smtp:
                self._login(smtp)
                smtp.ehlo_or_helo_if_needed()
        except TrackerMailError:
            raise
        except (smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError) as exc:
            raise _refused_login(server, exc) from None
        except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, dropped, TLS
            raise Unreachable(f"{server}: {exc}") from None

    def _send(self, mail: bytes, to: str, deadline: Deadline) -> None:
        with deadline.running("forwarding a message"), self._connect(deadline) as server:
            self._login(server)
            server.ehlo_or_helo_if_needed()
            options = ["BODY=8BITMIME"] if server.has_extn("8bitmime") else []
            server.sendmail(self.settings.sender, [to], mail, mail_options=options)

    def _connect(self, deadline: Deadline) -> smtplib.SMTP:
        settings = self.settings
        context = ssl.create_default_context(cafile=settings.ca_file)
        server: smtplib.SMTP
        if settings.security == "ssl":
            server = _WatchedSmtpSsl(timeout=settings.timeout, context=context)
        else:
            server = _WatchedSmtp(timeout=settings.timeout)
        server.deadline = deadline
        server.connect(settings.host, settings.port)
        if settings.security == "starttls":
            try:
                server.starttls(context=context)
            except smtplib.SMTPNotSupportedError:
                # Never on in clear: someone in between may have struck STARTTLS out.
                server.close()
                raise ConfigurationError(
                    f"SMTP server {settings.host}:{settings.port} does not offer STARTTLS; "
                    "nothing was sent in clear: use security: ssl with its TLS port"
                ) from None
        return server

    def _login(self, server: smtplib.SMTP) -> None:
        if self.settings.username and self.bearer is not None:
            self._token_login(server, self.settings.username, self.bearer)
        elif self.settings.username and self.settings.password:
            try:
                password = self.settings.password.reveal()
            except SecretError as exc:
                raise ConfigurationError(f"smtp password: {exc}") from None
            server.login(self.settings.username, password)

    def _token_login(self, server: smtplib.SMTP, username: str, bearer: TokenProvider) -> None:
        """AUTH OAUTHBEARER or XOAUTH2; a refused cached token is dropped, one new one tried."""
        server.ehlo_or_helo_if_needed()
        offered = server.esmtp_features.get("auth", "").split()
        mechanism = sasl.choose(bearer.mechanism, offered)
        while True:
            token = bearer.token()
            initial = sasl.initial_response(
                mechanism, username, token, self.settings.host, self.settings.port
            )
            try:
                server.auth(mechanism, sasl.Exchange(mechanism, initial), initial_response_ok=True)
                return
            except smtplib.SMTPAuthenticationError as exc:
                bearer.forget()
                if not bearer.from_cache:
                    said = f"{exc.smtp_code} {_text(exc.smtp_error)}"
                    raise ConfigurationError(
                        f"SMTP server {self.settings.host}:{self.settings.port}: the OAuth2 "
                        f"token was refused ({said}); {bearer.refused_advice(said)}"
                    ) from None


def _refused_login(server: str, exc: smtplib.SMTPException) -> ConfigurationError:
    """What only the operator can fix: a refused login, or a password and no AUTH."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return ConfigurationError(f"{server}: login refused ({exc.smtp_code})")
    return ConfigurationError(
        f"{server}: a password is configured but the server offers no login ({exc}); "
        "remove smtp username and password, or use the server's submission port"
    )


class _WatchedSmtp(smtplib.SMTP):
    """An SMTP connection whose TCP socket the deadline can cut."""

    deadline: Deadline

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return self.deadline.connect((host, port), timeout)


class _WatchedSmtpSsl(smtplib.SMTP_SSL, _WatchedSmtp):
    """SMTP over TLS; ``SMTP_SSL._get_socket`` wraps what :class:`_WatchedSmtp` connects."""


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def is_loop(message: Message, raw: bytes) -> bool:
    """Whether forwarding ``message`` could start a loop: it is, or answers, our forward.

    Such mail may still be imported (``automated: {loop: process}``) but is never sent on:
    a plain reply to a forward, forwarded again, is answered again, and so on.
    """
    if message.automated == Automated.LOOP:
        return True
    return replies_to_our_forward(message.in_reply_to, message.references, raw)


def no_forwarding(message: Message, raw: bytes, to: str, reason: str) -> None:
    """Used when no smtp server is configured: check refuses such configurations."""
    raise ConfigurationError("forwarding needs an smtp server in the configuration")
