"""``tracker-mail login MAILBOX``: a user signs in once, for ``flow: device_code``.

The sign-in is interactive: the verification URL and the code are printed, the user
enters the code in a browser, and the command waits. What Entra ID returns (the account
and its refresh token) is kept in the state folder, readable by its owner only, so that
later runs (cron) get tokens with nobody present. Tokens are never printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from tracker_mail_plugin.assemble import journal_path
from tracker_mail_plugin.commands.common import load_or_report
from tracker_mail_plugin.config.auth import Auth
from tracker_mail_plugin.config.loader import LoadedConfig
from tracker_mail_plugin.errors import ConfigurationError, ExitCode, Unreachable
from tracker_mail_plugin.oauth2 import provider_for


def command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail login [-c rules.yaml] MAILBOX``."""
    loaded = load_or_report(args.config, args.log_format)
    if loaded is None:
        return ExitCode.CONFIGURATION
    return login(loaded, args.mailbox, sys.stdout, sys.stderr)


def login(loaded: LoadedConfig, name: str, out: TextIO, err: TextIO) -> ExitCode:
    """Sign in for mailbox ``name`` (or ``smtp``, the forwarding server) if its flow needs it."""
    config = loaded.config
    mailbox = config.mailboxes.get(name)
    protocol: str
    if mailbox is not None:
        auth, protocol, username = mailbox.auth, mailbox.protocol, mailbox.username or ""
        what = f"mailbox {name}"
    elif name == "smtp" and config.smtp is not None:
        auth, protocol, username = config.smtp.auth, "smtp", config.smtp.username or ""
        what = "smtp"
    else:
        names = ", ".join(config.mailboxes) or "none"
        print(f"tracker-mail login: no mailbox {name!r}; the mailboxes are: {names}", file=err)
        return ExitCode.CONFIGURATION
    if auth is None:
        print(f"{what}: {_how(auth, protocol)}; no login is needed", file=out)
        return ExitCode.OK
    provider = provider_for(
        auth.oauth2, journal_path(loaded).parent, protocol=protocol, username=username, name=name
    )
    if not provider.needs_login:
        print(f"{what}: {_how(auth, protocol)}; no login is needed", file=out)
        return ExitCode.OK

    def show(message: str) -> None:
        print(message, file=out, flush=True)

    try:
        who = provider.login(show)
    except ConfigurationError as exc:
        print(f"{what}: {exc}", file=err)
        return ExitCode.CONFIGURATION
    except Unreachable as exc:
        print(f"{what}: cannot be reached: {exc}", file=err)
        return ExitCode.UNREACHABLE
    print(
        f"{what}: signed in as {who}. The sign-in is kept in {provider.sign_in_path} "
        "(readable by you only); `tracker-mail sync` now logs in without you, until the "
        "sign-in expires or is revoked (then run this again).",
        file=out,
    )
    return ExitCode.OK


def _how(auth: Auth | None, protocol: str) -> str:
    if auth is None:
        return "logs in with a password" if protocol in ("imap", "pop3", "smtp") else protocol
    oauth2 = auth.oauth2
    return f"OAuth2 provider: {oauth2.provider}, flow: {oauth2.flow}, needs no user present"
