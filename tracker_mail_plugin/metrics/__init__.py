"""Prometheus metrics: the registry the run observer feeds, a textfile, an HTTP endpoint.

``sync --metrics-file`` writes :func:`write_textfile`; a long-running process serves the
same :class:`Metrics` with :func:`serve`.
"""

from tracker_mail_plugin.metrics.registry import OUTCOMES, Metrics
from tracker_mail_plugin.metrics.server import MetricsServer, Readiness, parse_address, serve
from tracker_mail_plugin.metrics.textfile import carry_over, write_textfile

__all__ = [
    "OUTCOMES",
    "Metrics",
    "MetricsServer",
    "Readiness",
    "carry_over",
    "parse_address",
    "serve",
    "write_textfile",
]
