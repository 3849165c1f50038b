"""OAuth2 access tokens for mailbox and SMTP logins (SASL OAUTHBEARER or XOAUTH2).

:class:`~.tokens.TokenProvider` gets a token from the configured token endpoint, keeps it
in a private cache file next to the journal and renews it shortly before it expires;
:mod:`.sasl` builds what the mail server is sent. Plain ``requests`` rather than
authlib or oauthlib: two form POSTs and a JSON answer are all the generic provider needs,
and the errors it must translate (``invalid_client``, ``invalid_grant``, an endpoint that
cannot be reached) are easier to say precisely without a library's exception layer.
"""

from tracker_mail_plugin.oauth2.sasl import xoauth2
from tracker_mail_plugin.oauth2.tokens import TokenProvider, provider_for

__all__ = ["TokenProvider", "provider_for", "xoauth2"]
