"""The template adapter: a tracker kept in one JSON file, written to be copied."""

from tracker_mail_plugin_template.adapter import TemplateAdapter, TemplateConfig

__all__ = ["TemplateAdapter", "TemplateConfig"]
