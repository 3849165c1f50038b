"""``tracker-mail completion bash|zsh``: a completion script made from the parser itself.

shtab reads the argparse parser, so the script always knows every command and option.
"""

from __future__ import annotations

import argparse

import shtab


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell`` (``bash`` or ``zsh``)."""
    script: str = shtab.complete(parser, shell=shell)
    return script
