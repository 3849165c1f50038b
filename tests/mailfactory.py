"""The raw-message helpers ship in the adapter kit; these names stay for the core's tests."""

from tracker_mail_plugin.testing.mailfactory import multipart, part, raw_mail

__all__ = ["multipart", "part", "raw_mail"]
