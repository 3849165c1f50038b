"""``tracker-mail sync`` with ``protocol: graph`` and ``provider: microsoft``, in process.

msal's requests go to login.microsoftonline.com and the source's to graph.microsoft.com,
both faked by ``responses`` (an unexpected request fails the test): the token request is
asserted (app-only grant, client id, Graph's ``.default`` scope) and every Graph request
must carry the token Entra ID issued.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import responses

from tests.mailfactory import raw_mail
from tests.test_oauth2_login import sync_logging  # noqa: F401 - the fixture
from tests.test_oauth2_providers import (
    ACCESS,
    CLIENT,
    DISCOVERY,
    MS_TOKEN_URL,
    SECRET,
    TENANT,
    fake_entra,
    form,
)
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.testing import RecordingAdapter
from tracker_mail_plugin.testing.recording import RecordingConfig

USER = "support@contoso.example"
BASE = f"https://graph.microsoft.com/v1.0/users/{USER}"
MESSAGE = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAAAAAA="
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def write_rules(tmp: Path) -> Path:
    (tmp / "secret").write_text(SECRET)
    rules = tmp / "rules.yaml"
    rules.write_text(
        f"""\
version: 1
journal: state/journal.sqlite3
trackers:
  trial: {{adapter: recording, state_file: {tmp / "tracker.json"}}}
mailboxes:
  support:
    protocol: graph
    username: {USER}
    tracker: trial
    unknown_user: as_rule_owner
    on_success: {{move: Inbox/Processed}}
    auth:
      oauth2:
        provider: microsoft
        tenant: {TENANT}
        client_id: {CLIENT}
        client_secret: {{file: {tmp / "secret"}}}
    rules: ["then create issue in project demo"]
"""
    )
    return rules


@pytest.mark.usefixtures("sync_logging")
def test_sync_reads_a_graph_mailbox_with_a_token_from_entra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = write_rules(tmp_path)
    listing = f"{BASE}/mailFolders/inbox/messages"
    children = f"{BASE}/mailFolders/inbox/childFolders"
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        fake_entra(rsps, {"token_type": "Bearer", "expires_in": 3599, "access_token": ACCESS})
        rsps.get(listing, json={"value": [{"id": MESSAGE, "internetMessageId": "<m1@x>"}]})
        mail = raw_mail({"Subject": "printer on fire", "From": "ann@example.org"})
        rsps.get(f"{BASE}/messages/{MESSAGE}/$value", body=mail)
        rsps.get(children, json={"value": [{"id": "AAMkProc==", "displayName": "Processed"}]})
        rsps.post(f"{BASE}/messages/{MESSAGE}/move", json={"id": MESSAGE}, status=201)
        code = main(["sync", "-c", str(rules), "--mailbox", "support"])
        calls = [(c.request.method, urlsplit(c.request.url)) for c in rsps.calls]
        assert [(m, f"{u.scheme}://{u.netloc}{u.path}") for m, u in calls] == [
            ("GET", DISCOVERY),
            ("POST", MS_TOKEN_URL),
            ("GET", listing),
            ("GET", f"{BASE}/messages/{MESSAGE}/$value"),
            ("GET", children),
            ("POST", f"{BASE}/messages/{MESSAGE}/move"),
        ]
        token_request = form(rsps.calls[1])
        assert token_request["grant_type"] == "client_credentials"
        assert token_request["client_id"] == CLIENT
        assert token_request["scope"] == GRAPH_SCOPE
        assert token_request["client_secret"] == SECRET
        for call in rsps.calls[2:]:
            assert call.request.headers["Authorization"] == f"Bearer {ACCESS}"
            assert call.request.headers["Prefer"] == 'IdType="ImmutableId"'
        assert json.loads(rsps.calls[5].request.body) == {"destinationId": "AAMkProc=="}
    out, err = capsys.readouterr()
    assert code == 0, out + err
    assert ACCESS not in out + err
    assert SECRET not in out + err
    tracker = RecordingAdapter(RecordingConfig(state_file=tmp_path / "tracker.json"))
    assert [issue.title for issue in tracker.issues().values()] == ["printer on fire"]
    cached = list((tmp_path / "state").glob("oauth2-token-*.json"))
    assert len(cached) == 1
    assert cached[0].stat().st_mode & 0o777 == 0o600
