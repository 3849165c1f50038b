"""Jira adapter for tracker-mail: issues, comments and Service Management requests from mail.

Installed as the ``jira`` entry point of ``tracker_mail_plugin.adapters``; users write
``adapter: jira`` in ``rules.yaml``. See the README for every option.
"""

from tracker_mail_plugin_jira.adapter import JiraAdapter
from tracker_mail_plugin_jira.config import Deployment, JiraConfig, Recovery

__all__ = ["Deployment", "JiraAdapter", "JiraConfig", "Recovery"]
