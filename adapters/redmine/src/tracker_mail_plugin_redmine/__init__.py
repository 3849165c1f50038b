"""tracker-mail's Redmine adapter: mail becomes Redmine issues, notes and project files.

Registered under the entry point ``redmine`` (group ``tracker_mail_plugin.adapters``);
users write ``adapter: redmine`` in ``rules.yaml``. Options: :class:`RedmineConfig`.
"""

from tracker_mail_plugin_redmine.adapter import RedmineAdapter
from tracker_mail_plugin_redmine.config import RedmineConfig

__version__ = "0.1.0"

__all__ = ["RedmineAdapter", "RedmineConfig", "__version__"]
