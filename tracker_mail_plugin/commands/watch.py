"""``tracker-mail watch``: every (or the chosen) mailbox, continuously, as a service.

IMAP mailboxes are pushed to us with IDLE where the server offers it; everything else is
polled every ``poll_interval`` seconds. The work on each mailbox is exactly ``sync``'s (the
same function, under the same per-mailbox lock), so a ``sync`` from cron can run beside it.
See :mod:`tracker_mail_plugin.watch.loop` for signals and reloading.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import sys

from tracker_mail_plugin.commands.common import load_or_report
from tracker_mail_plugin.commands.output import say, say_problems
from tracker_mail_plugin.errors import ConfigurationError, ExitCode
from tracker_mail_plugin.logs import setup_logging
from tracker_mail_plugin.watch.health import Health
from tracker_mail_plugin.watch.loop import Watch, watchable

logger = logging.getLogger("tracker_mail")


def metrics_address(text: str) -> str:
    """``HOST:PORT`` (``[::1]:9100`` for IPv6) for ``--metrics-address``; argparse type."""
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not HOST:PORT (for example 127.0.0.1:9100 or [::1]:9100)"
        )
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise argparse.ArgumentTypeError(f"{host!r} is not an IPv6 address") from None
    elif ":" in host:
        raise argparse.ArgumentTypeError(f"write an IPv6 address in brackets: [{host}]:{port}")
    return text


def command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail watch``: run until SIGTERM/SIGINT; exit 0 after a clean stop."""
    loaded = load_or_report(args.config, args.log_format)
    if loaded is None:
        return ExitCode.CONFIGURATION
    names, problem = watchable(loaded, args.mailbox)
    if problem:
        say_problems([f"tracker-mail watch: {problem}"], args.log_format, sys.stderr)
        return ExitCode.CONFIGURATION
    setup_logging(args.log_format, args.verbose)
    if names:  # without -v nothing else is said while all is well: say that it runs
        hint = "" if args.verbose else "; -v logs each run that finds mail"
        text = f"tracker-mail watch: watching {', '.join(names)} (SIGTERM or Ctrl-C stops){hint}"
        say(text, args.log_format, sys.stderr, event="watching", mailboxes=names)
    health = Health()
    if args.metrics_address is None:
        return Watch(loaded, args.mailbox, health).run()
    # Imported only when asked for, as sync does: the client library is slow to import.
    from tracker_mail_plugin.metrics import Metrics, serve

    metrics = Metrics()
    try:
        server = serve(args.metrics_address, metrics, health.readiness)
    except ConfigurationError as exc:
        say_problems([f"tracker-mail watch: {exc}"], args.log_format, sys.stderr)
        return ExitCode.CONFIGURATION
    with server:
        logger.info("tracker-mail watch: metrics at %s/metrics", server.url)
        return Watch(loaded, args.mailbox, health, metrics=metrics).run()
