"""Shared by every test of this checkout: the core's (tests/) and the adapters' (adapters/)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_tracker_mail_logging() -> Iterator[None]:
    """Put the tracker_mail logger back after each test.

    Every command sets it up (handler, level, no propagation); a later test's caplog must
    still see records, whichever folder ran first.
    """
    root = logging.getLogger("tracker_mail")
    saved = (root.handlers[:], root.level, root.propagate)
    yield
    root.handlers[:], root.level, root.propagate = saved
