"""The HTTP boundary every tracker adapter shares: options, session, and one error translation.

Three pieces, each small enough to read at once:

- :class:`HttpOptions`: the pydantic options every HTTP tracker has (``url``, ``verify_tls``,
  ``ca_file``, ``timeout``, ``proxy``); an adapter's config model extends it. ``url`` must be
  https unless its host is a loopback address, because the credentials travel with every
  request.
- :func:`build_session`: a ``requests.Session`` for those options that never retries on its
  own (a retried POST is a duplicate issue; the core owns retries and asks ``find_by_key``
  first) and reads the environment's proxy and CA settings once.
  :class:`~tracker_mail_plugin.http.retry.ReadRetry` (in ``tracker_mail_plugin.http.retry``)
  is for an adapter that wants its reads, and only its reads, asked again after a 5xx or a
  timeout; a rate limit it raises as :class:`~tracker_mail_plugin.http.retry.RateLimited`
  is not retried.
- :class:`HttpErrors`: the translation of ``requests`` exceptions and HTTP answers into the
  error tree, written once:

  ========================================  =============================================
  what happened                             error
  ========================================  =============================================
  TLS handshake or certificate failure      :class:`ConfigurationError` (exit 2)
  refused, DNS failure, connect timeout     :class:`Unreachable`, even for a write: the
  or proxy failure (nothing was sent)       request never reached the tracker
  read timeout, connection lost after       :class:`RetryLater` for a read,
  sending                                   :class:`UnknownOutcome` for a write
  401                                       :class:`ConfigurationError`
  403                                       :meth:`HttpErrors.forbidden` (default:
                                            :class:`ConfigurationError`)
  404                                       :class:`NotFound` (a :class:`PermanentError`)
  429                                       :class:`RetryLater`, even for a write: the
                                            tracker refused it before doing anything
  408, 5xx                                  :class:`RetryLater` for a read,
                                            :class:`UnknownOutcome` for a write
  a redirect that was not followed          :class:`ConfigurationError` (wrong ``url``)
  other 4xx                                 :class:`PermanentError`
  a 2xx whose body is not JSON, read with   :class:`ConfigurationError` for a read (wrong
  :meth:`HttpErrors.json`                   ``url``, a sign-in page), :class:`UnknownOutcome`
                                            for a write
  ========================================  =============================================

  ``Retry-After`` (seconds or an HTTP date) becomes ``RetryLater.retry_after``.

A tracker's quirks (GitHub's "locked" 403 and secondary rate limits, Redmine's 403 for a
sender it acts as) are subclass hooks of :class:`HttpErrors`: :meth:`~HttpErrors.translate_status`
takes any answer first, :meth:`~HttpErrors.forbidden` decides 403s, :meth:`~HttpErrors.details`
reads the tracker's own error text, :meth:`~HttpErrors.retry_after` the wait it asked for, and
:attr:`~HttpErrors.messages` words each outcome.
"""

from tracker_mail_plugin.errors import NotFound
from tracker_mail_plugin.http.options import HttpOptions, TrackerUrl, build_session
from tracker_mail_plugin.http.translate import (
    DEFAULT_MESSAGES,
    Failure,
    HttpErrors,
    parse_retry_after,
    shorten,
)
from tracker_mail_plugin.sources.base import is_loopback

__all__ = [
    "DEFAULT_MESSAGES",
    "Failure",
    "HttpErrors",
    "HttpOptions",
    "NotFound",
    "TrackerUrl",
    "build_session",
    "is_loopback",
    "parse_retry_after",
    "shorten",
]
