"""``tracker-mail adapters``: every installed adapter, where it comes from, and load errors."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from tracker_mail_plugin.errors import ExitCode
from tracker_mail_plugin.registry import list_adapters


def command(args: argparse.Namespace) -> ExitCode:
    """``tracker-mail adapters``: exit 1 when one of them fails to load."""
    return ExitCode.OK if show_adapters(sys.stdout) else ExitCode.SOME_FAILED


def show_adapters(out: TextIO) -> bool:
    """Every installed adapter with its distribution and version; False if one fails to load."""
    infos = list_adapters()
    if not infos:
        print(
            "no adapters installed; from a checkout of tracker-mail, e.g. "
            "pip install ./adapters/redmine",
            file=out,
        )
    for info in infos:
        origin = (
            f"{info.distribution} {info.version}" if info.distribution else "registered in code"
        )
        state = f"  LOAD ERROR: {info.error}" if info.error else ""
        print(f"{info.name:12} {origin}{state}", file=out)
    return all(info.error is None for info in infos)
