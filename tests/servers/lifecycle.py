"""The test servers' lifecycle ships in the adapter kit; these names stay for the core's tests."""

from tracker_mail_plugin.testing.lifecycle import Lifecycle, PortTaken

__all__ = ["Lifecycle", "PortTaken"]
