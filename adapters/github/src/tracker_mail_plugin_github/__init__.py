"""tracker-mail's GitHub Issues adapter (entry point ``github``).

Install with ``pip install tracker-mail-plugin-github`` and name it in ``rules.yaml``::

    trackers:
      github-web: {adapter: github, repository: example-org/webshop, token: {env: GITHUB_TOKEN}}
"""

from tracker_mail_plugin_github.adapter import GitHubAdapter
from tracker_mail_plugin_github.config import AppCredentials, GitHubConfig
from tracker_mail_plugin_github.pacing import Clock, SystemClock

__version__ = "0.1.0"

__all__ = ["AppCredentials", "Clock", "GitHubAdapter", "GitHubConfig", "SystemClock", "__version__"]
