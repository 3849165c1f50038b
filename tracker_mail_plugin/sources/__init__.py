"""Where mail comes from: local files and folders (more sources join here)."""

from tracker_mail_plugin.sources.files import LocalMessage, NotMailError, read_paths

__all__ = ["LocalMessage", "NotMailError", "read_paths"]
