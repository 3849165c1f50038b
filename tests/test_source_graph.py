"""GraphSource against ``responses`` fakes shaped like Microsoft Graph's documented answers.

Every request is asserted: method, URL and query, the bearer token, the
``Prefer: IdType="ImmutableId"`` header that keeps ids stable across moves, and the body.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from tests.mailfactory import raw_mail
from tracker_mail_plugin.assemble import open_source
from tracker_mail_plugin.config.auth import GRAPH_SCOPE, MicrosoftOAuth2
from tracker_mail_plugin.config.model import Mailbox
from tracker_mail_plugin.errors import ConfigurationError, RetryLater, Unreachable
from tracker_mail_plugin.sources import Delete, Envelope, FlagSeen, Leave, Move
from tracker_mail_plugin.sources.graph import GraphSource
from tracker_mail_plugin.testing import CrashHarness, RecordingAdapter

USER = "support@contoso.example"
BASE = f"https://graph.microsoft.com/v1.0/users/{USER}"
PREFER = 'IdType="ImmutableId"'
ID1 = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAAAAAA="
ID2 = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAAAAAB="
ID3 = "AAkALgAAAAAAHYQDEapmEc2byACqAC-EWg0AAAAAAAC="
RAW = b"From: a@example.org\r\nTo: support@contoso.example\r\nSubject: hi\r\n\r\nbody\r\n"
NEXT = f"{BASE}/mailFolders/inbox/messages?%24select=id%2CinternetMessageId%2CreceivedDateTime&%24top=100&%24skip=100"


class FakeBearer:
    """A token provider that counts what it was asked."""

    def __init__(self, cached: bool = False):
        self.from_cache = cached
        self.tokens = ["tok-1", "tok-2"]
        self.forgotten = 0

    def token(self) -> str:
        return self.tokens[0]

    def forget(self) -> None:
        self.forgotten += 1
        self.tokens.pop(0)
        self.from_cache = False


def item(id: str, n: int, size: int = 2048) -> dict[str, Any]:
    """A listed message as Graph returns it for the query pending() sends."""
    return {
        "@odata.etag": 'W/"CQAAABYAAAA"',
        "id": id,
        "internetMessageId": f"<m{n}@example.org>",
        "receivedDateTime": f"2026-03-01T10:{n % 60:02d}:00Z",
        "singleValueExtendedProperties": [{"id": "Integer 0xe08", "value": str(size)}],
    }


def page(items: list[dict[str, Any]], next_link: str | None = None) -> dict[str, Any]:
    """A collection page with its context and (maybe) the next page's link."""
    body: dict[str, Any] = {
        "@odata.context": f"https://graph.microsoft.com/v1.0/$metadata#users('{USER}')"
        "/mailFolders('inbox')/messages(id,internetMessageId)",
        "value": items,
    }
    if next_link:
        body["@odata.nextLink"] = next_link
    return body


def sent(call: Any, bearer: str = "tok-1") -> tuple[str, str, dict[str, list[str]], Any]:
    """Method, URL without query, query, JSON body of a call; asserts the common headers."""
    request = call.request
    assert request.headers["Authorization"] == f"Bearer {bearer}"
    assert request.headers["Prefer"] == PREFER
    parts = urlsplit(request.url)
    url = f"{parts.scheme}://{parts.netloc}{parts.path}"
    body = json.loads(request.body) if request.body else None
    return request.method, url, parse_qs(parts.query), body


@pytest.fixture
def rsps() -> Any:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def opened(bearer: FakeBearer | None = None, folder: str = "Inbox") -> GraphSource:
    source = GraphSource(USER, bearer or FakeBearer(), folder=folder, timeout=5)
    source.open()
    return source


def test_pending_pages_through_next_link_and_skips_done(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/mailFolders/inbox/messages", json=page([item(ID1, 1), item(ID2, 2)], NEXT))
    rsps.get(f"{BASE}/mailFolders/inbox/messages", json=page([item(ID3, 3)]))
    source = opened()
    found = source.pending(lambda id: id == ID2)
    assert [(e.id, e.size) for e in found] == [(ID1, 2048), (ID3, 2048)]
    # receivedDateTime travels on the envelope to the download: latency is measured from it
    assert found[0].arrived == datetime(2026, 3, 1, 10, 1, tzinfo=UTC)
    assert source.identity() == f"graph:{USER}/Inbox"
    first = sent(rsps.calls[0])
    assert first == (
        "GET",
        f"{BASE}/mailFolders/inbox/messages",
        {
            "$select": ["id,internetMessageId,receivedDateTime"],
            "$expand": ["singleValueExtendedProperties($filter=id eq 'Integer 0x0E08')"],
            "$orderby": ["receivedDateTime asc"],
            "$top": ["100"],
        },
        None,
    )
    second = sent(rsps.calls[1])
    assert rsps.calls[1].request.url == NEXT  # the link is followed as given
    assert second[0] == "GET"
    assert len(rsps.calls) == 2


def test_pending_stops_at_limit(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/mailFolders/inbox/messages", json=page([item(ID1, 1), item(ID2, 2)], NEXT))
    assert [e.id for e in opened().pending(lambda id: False, limit=1)] == [ID1]
    assert len(rsps.calls) == 1


def test_fetch_downloads_mime(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/messages/{ID1}/$value", body=RAW, content_type="text/plain")
    when = datetime(2026, 3, 1, 10, 1, tzinfo=UTC)
    fetched = list(opened().fetch([Envelope(ID1, 0, arrived=when)]))
    assert [(f.id, f.raw, f.arrived) for f in fetched] == [(ID1, RAW, when)]
    assert sent(rsps.calls[0]) == ("GET", f"{BASE}/messages/{ID1}/$value", {}, None)


def test_a_message_over_max_message_size_is_listed_oversize_and_never_downloaded(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(f"{BASE}/mailFolders/inbox/messages", json=page([item(ID1, 1, size=50_000_000)]))
    source = GraphSource(USER, FakeBearer(), max_message_size=25_000_000)
    source.open()
    (found,) = source.pending(lambda id: False)
    assert (found.id, found.size, found.oversize) == (ID1, 50_000_000, True)
    assert all("$value" not in call.request.url for call in rsps.calls)


def test_dispositions(rsps: responses.RequestsMock) -> None:
    folders = f"{BASE}/mailFolders"
    rsps.get(folders, json={"value": []})
    created = {"id": "AAMkFolderId==", "displayName": "Done", "parentFolderId": "AAMkRoot=="}
    rsps.post(folders, json=created, status=201)
    moved = {"id": ID1, "parentFolderId": "AAMkFolderId=="}
    rsps.post(f"{BASE}/messages/{ID1}/move", json=moved, status=201)
    rsps.post(f"{BASE}/messages/{ID2}/move", json=moved | {"id": ID2}, status=201)
    rsps.delete(f"{BASE}/messages/{ID3}", status=204)
    rsps.patch(f"{BASE}/messages/{ID1}", json={"id": ID1, "isRead": True})
    source = opened()
    source.dispose(ID1, Move("Done"))
    source.dispose(ID2, Move("done"))  # the folder is looked up once
    source.dispose(ID3, Delete())
    source.dispose(ID1, FlagSeen())
    source.dispose(ID1, Leave())  # no request
    source.commit()
    calls = [sent(c) for c in rsps.calls]
    assert calls == [
        (
            "GET",
            folders,
            {"$select": ["id,displayName"], "$top": ["100"]},
            None,
        ),
        ("POST", folders, {}, {"displayName": "Done"}),
        ("POST", f"{BASE}/messages/{ID1}/move", {}, {"destinationId": "AAMkFolderId=="}),
        ("POST", f"{BASE}/messages/{ID2}/move", {}, {"destinationId": "AAMkFolderId=="}),
        ("DELETE", f"{BASE}/messages/{ID3}", {}, None),
        ("PATCH", f"{BASE}/messages/{ID1}", {}, {"isRead": True}),
    ]


def test_move_to_existing_and_well_known_folders(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/mailFolders", json={"value": [{"id": "AAMkOld==", "displayName": "O'Neil"}]})
    rsps.post(f"{BASE}/messages/{ID1}/move", json={"id": ID1}, status=201)
    rsps.post(f"{BASE}/messages/{ID1}/move", json={"id": ID1}, status=201)
    source = opened()
    source.dispose(ID1, Move("O'Neil"))
    source.dispose(ID1, Move("Archive"))
    assert sent(rsps.calls[0])[2] == {"$select": ["id,displayName"], "$top": ["100"]}
    assert sent(rsps.calls[1])[3] == {"destinationId": "AAMkOld=="}
    assert sent(rsps.calls[2])[3] == {"destinationId": "archive"}


def test_custom_folder_is_resolved_on_open(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/mailFolders", json={"value": [{"id": "AAMkSup==", "displayName": "Support"}]})
    rsps.get(f"{BASE}/mailFolders/AAMkSup==/messages", json=page([]))
    assert opened(folder="Support").pending(lambda id: False) == []
    assert sent(rsps.calls[1])[1] == f"{BASE}/mailFolders/AAMkSup==/messages"


def test_missing_folder_is_a_configuration_error(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/mailFolders", json={"value": []})
    with pytest.raises(
        ConfigurationError, match=r"no folder 'Nope' .*'Nope' is not at the top level"
    ):
        opened(folder="Nope")


def test_throttled_is_retry_later_with_retry_after(rsps: responses.RequestsMock) -> None:
    throttled = {
        "error": {
            "code": "ApplicationThrottled",
            "message": "Application is over its MailboxConcurrency limit.",
        }
    }
    rsps.get(
        f"{BASE}/mailFolders/inbox/messages",
        json=throttled,
        status=429,
        headers={"Retry-After": "7"},
    )
    with pytest.raises(RetryLater) as caught:
        opened().pending(lambda id: False)
    assert caught.value.retry_after == 7
    assert not isinstance(caught.value, Unreachable)


@pytest.mark.parametrize("status", [401, 403])
def test_refused_names_the_permission(rsps: responses.RequestsMock, status: int) -> None:
    denied = {"error": {"code": "ErrorAccessDenied", "message": "Access is denied."}}
    rsps.get(f"{BASE}/messages/{ID1}/$value", json=denied, status=status)
    bearer = FakeBearer(cached=False)
    with pytest.raises(ConfigurationError) as caught:
        list(opened(bearer).fetch([Envelope(ID1, 0)]))
    assert "Mail.ReadWrite" in str(caught.value)
    assert "admin consent" in str(caught.value)
    assert bearer.forgotten == 0
    assert len(rsps.calls) == 1


def test_refused_cached_token_is_renewed_once(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/messages/{ID1}/$value", status=401, json={"error": {"code": "InvalidAuth"}})
    rsps.get(f"{BASE}/messages/{ID1}/$value", body=RAW)
    bearer = FakeBearer(cached=True)
    assert [f.raw for f in opened(bearer).fetch([Envelope(ID1, 0)])] == [RAW]
    assert bearer.forgotten == 1
    sent(rsps.calls[0], bearer="tok-1")
    sent(rsps.calls[1], bearer="tok-2")


def test_network_failure_is_unreachable(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/mailFolders/inbox/messages", body=requests.ConnectionError("refused"))
    with pytest.raises(Unreachable, match="cannot reach Microsoft Graph"):
        opened().pending(lambda id: False)


def test_check_counts_the_folder(rsps: responses.RequestsMock) -> None:
    folder = {"id": "AAMkInbox==", "displayName": "Inbox", "totalItemCount": 3}
    rsps.get(f"{BASE}/mailFolders/inbox", json=folder | {"unreadItemCount": 1})
    result = opened().check()
    assert (result.folder, result.messages) == ("Inbox", 3)
    assert sent(rsps.calls[0]) == ("GET", f"{BASE}/mailFolders/inbox", {}, None)


def graph_mailbox(**extra: Any) -> dict[str, Any]:
    oauth2 = {
        "provider": "microsoft",
        "tenant": "contoso.example",
        "client_id": "00000000-0000-0000-0000-000000000000",
        "client_secret": {"env": "GRAPH_SECRET"},
    }
    return {
        "protocol": "graph",
        "tracker": "t",
        "username": USER,
        "auth": {"oauth2": oauth2},
    } | extra


def test_config_and_assembly_use_the_graph_scope(tmp_path: Path) -> None:
    mailbox = Mailbox.model_validate(graph_mailbox())
    source = open_source(mailbox, 10_000_000, tmp_path, "support")
    assert isinstance(source, GraphSource)
    assert source.identity() == f"graph:{USER}/Inbox"  # the documented default
    settings = source._bearer._settings  # type: ignore[attr-defined]
    assert isinstance(settings, MicrosoftOAuth2)
    assert settings.scope == GRAPH_SCOPE


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"auth": None}, "auth: {oauth2: {provider: microsoft"),
        ({"username": None}, "username"),
        ({"host": "outlook.office365.com"}, "host is not used by a graph mailbox"),
    ],
)
def test_config_refuses_incomplete_graph_mailboxes(change: dict[str, Any], said: str) -> None:
    data = {k: v for k, v in graph_mailbox(**change).items() if v is not None}
    with pytest.raises(ValueError, match=said.replace("{", r"\{")):
        Mailbox.model_validate(data)


SYNC_CONFIG = """\
version: 1
trackers:
  trial: {adapter: recording}
mailboxes:
  support:
    protocol: maildir
    path: /unused
    tracker: trial
    unknown_user: as_rule_owner
    on_success: {move: Processed}
    rules: ["then create issue in project demo"]
"""


def test_sync_killed_after_write_makes_one_issue_and_moves_once(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    listing = f"{BASE}/mailFolders/inbox/messages"
    rsps.get(listing, json=page([item(ID1, 1)]))  # run 1, and run 2: still there
    rsps.get(listing, json=page([item(ID1, 1)]))
    rsps.get(f"{BASE}/messages/{ID1}/$value", body=raw_mail({"Subject": "printer on fire"}))
    rsps.get(f"{BASE}/mailFolders", json={"value": [{"id": "AAMkP==", "displayName": "Processed"}]})
    rsps.post(f"{BASE}/messages/{ID1}/move", json={"id": ID1}, status=201)
    tracker = RecordingAdapter()
    source = GraphSource(USER, FakeBearer())
    harness = CrashHarness(
        tracker, SYNC_CONFIG, tmp_path / "journal.sqlite3", mailbox=cast(Any, source),
        mailbox_name="support",
    )  # fmt: skip
    harness.crash("after_write")
    summary = harness.sync()
    assert [issue.title for issue in tracker.issues().values()] == ["printer on fire"]
    assert summary.failed == 0
    calls = [sent(c)[:2] for c in rsps.calls]
    assert calls == [
        ("GET", listing),
        ("GET", f"{BASE}/messages/{ID1}/$value"),
        ("GET", listing),
        ("GET", f"{BASE}/messages/{ID1}/$value"),
        ("GET", f"{BASE}/mailFolders"),
        ("POST", f"{BASE}/messages/{ID1}/move"),
    ]
    assert sent(rsps.calls[5])[3] == {"destinationId": "AAMkP=="}


def test_delete_of_a_message_already_gone_is_done(rsps: responses.RequestsMock) -> None:
    missing = {"error": {"code": "ErrorItemNotFound", "message": "The item was not found."}}
    rsps.delete(f"{BASE}/messages/{ID1}", json=missing, status=404)
    opened().dispose(ID1, Delete())
    assert sent(rsps.calls[0]) == ("DELETE", f"{BASE}/messages/{ID1}", {}, None)


# --- folder paths ----------------------------------------------------------------------


def folders_page(*names: str, next_link: str | None = None) -> dict[str, Any]:
    """A mailFolders/childFolders page as Graph returns it for $select=id,displayName."""
    body: dict[str, Any] = {
        "value": [{"id": f"AAMk{name}==", "displayName": name} for name in names]
    }
    if next_link:
        body["@odata.nextLink"] = next_link
    return body


def test_a_subfolder_path_under_a_well_known_folder_is_read(
    rsps: responses.RequestsMock,
) -> None:
    children = f"{BASE}/mailFolders/inbox/childFolders"
    more = f"{children}?%24select=id%2CdisplayName&%24top=100&%24skip=100"
    rsps.get(children, json=folders_page("Sales", next_link=more))
    rsps.get(more, json=folders_page("Support"))
    rsps.get(f"{BASE}/mailFolders/AAMkSupport==/childFolders", json=folders_page("Printers"))
    rsps.get(f"{BASE}/mailFolders/AAMkPrinters==/messages", json=page([item(ID1, 1)]))
    source = opened(folder="Inbox/support/Printers")  # display names compare case-insensitively
    assert [e.id for e in source.pending(lambda id: False)] == [ID1]
    calls = [sent(c) for c in rsps.calls]
    assert calls[0][:3] == ("GET", children, {"$select": ["id,displayName"], "$top": ["100"]})
    assert calls[1][:2] == ("GET", children)  # the next page, by its link
    assert calls[1][2]["$skip"] == ["100"]
    assert calls[2][:2] == ("GET", f"{BASE}/mailFolders/AAMkSupport==/childFolders")
    assert calls[3][:2] == ("GET", f"{BASE}/mailFolders/AAMkPrinters==/messages")
    assert source.identity() == f"graph:{USER}/Inbox/support/Printers"


def test_a_path_from_a_top_level_folder_is_read(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/mailFolders", json=folders_page("Archive 2024", "Support"))
    rsps.get(f"{BASE}/mailFolders/AAMkSupport==/childFolders", json=folders_page("EMEA"))
    rsps.get(f"{BASE}/mailFolders/AAMkEMEA==/messages", json=page([]))
    assert opened(folder="Support/EMEA").pending(lambda id: False) == []
    assert [sent(c)[1] for c in rsps.calls] == [
        f"{BASE}/mailFolders",
        f"{BASE}/mailFolders/AAMkSupport==/childFolders",
        f"{BASE}/mailFolders/AAMkEMEA==/messages",
    ]


def test_a_missing_subfolder_names_the_missing_part(rsps: responses.RequestsMock) -> None:
    rsps.get(f"{BASE}/mailFolders/archive/childFolders", json=folders_page("2023"))
    with pytest.raises(ConfigurationError, match=r"no folder 'archive/2024'.*'2024' is not in"):
        opened(folder="archive/2024")


def test_a_move_target_path_is_resolved_and_missing_parts_created(
    rsps: responses.RequestsMock,
) -> None:
    children = f"{BASE}/mailFolders/inbox/childFolders"
    rsps.get(children, json=folders_page("Support"))
    rsps.get(f"{BASE}/mailFolders/AAMkSupport==/childFolders", json=folders_page())
    made = {"id": "AAMkDone==", "displayName": "Done", "parentFolderId": "AAMkSupport=="}
    rsps.post(f"{BASE}/mailFolders/AAMkSupport==/childFolders", json=made, status=201)
    rsps.post(f"{BASE}/messages/{ID1}/move", json={"id": ID1}, status=201)
    rsps.post(f"{BASE}/messages/{ID2}/move", json={"id": ID2}, status=201)
    source = opened()
    source.dispose(ID1, Move("Inbox/Support/Done"))
    source.dispose(ID2, Move("inbox/support/done"))  # resolved once
    calls = [sent(c) for c in rsps.calls]
    assert [c[:2] for c in calls] == [
        ("GET", children),
        ("GET", f"{BASE}/mailFolders/AAMkSupport==/childFolders"),
        ("POST", f"{BASE}/mailFolders/AAMkSupport==/childFolders"),
        ("POST", f"{BASE}/messages/{ID1}/move"),
        ("POST", f"{BASE}/messages/{ID2}/move"),
    ]
    assert calls[2][3] == {"displayName": "Done"}
    assert calls[3][3] == {"destinationId": "AAMkDone=="}
    assert calls[4][3] == {"destinationId": "AAMkDone=="}


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("disposition", [Move("Archive"), Delete()])
def test_a_server_error_on_move_or_delete_is_retry_later(
    rsps: responses.RequestsMock, status: int, disposition: Any
) -> None:
    failed = {"error": {"code": "UnknownError", "message": "An internal server error occurred."}}
    method = "POST" if isinstance(disposition, Move) else "DELETE"
    url = f"{BASE}/messages/{ID1}" + ("/move" if method == "POST" else "")
    rsps.add(method, url, json=failed, status=status)
    with pytest.raises(RetryLater):
        opened().dispose(ID1, disposition)


def test_a_move_graph_fails_with_5xx_is_done_by_the_next_run(
    rsps: responses.RequestsMock, tmp_path: Path
) -> None:
    listing = f"{BASE}/mailFolders/inbox/messages"
    failed = {"error": {"code": "UnknownError", "message": "An internal server error occurred."}}
    rsps.get(listing, json=page([item(ID1, 1)]))
    rsps.get(f"{BASE}/messages/{ID1}/$value", body=raw_mail({"Subject": "printer on fire"}))
    rsps.get(f"{BASE}/mailFolders", json=folders_page("Processed"))
    rsps.post(f"{BASE}/messages/{ID1}/move", json=failed, status=503)
    rsps.get(listing, json=page([item(ID1, 1)]))  # run 2: the message is still there
    rsps.get(f"{BASE}/messages/{ID1}/$value", body=raw_mail({"Subject": "printer on fire"}))
    rsps.post(f"{BASE}/messages/{ID1}/move", json={"id": ID1}, status=201)
    tracker = RecordingAdapter()
    source = GraphSource(USER, FakeBearer())
    harness = CrashHarness(
        tracker, SYNC_CONFIG, tmp_path / "journal.sqlite3", mailbox=cast(Any, source),
        mailbox_name="support",
    )  # fmt: skip
    first = harness.sync()
    second = harness.sync()
    assert [issue.title for issue in tracker.issues().values()] == ["printer on fire"]
    assert (first.failed, second.failed) == (1, 0)  # retried, never quarantined
    calls = [sent(c)[:2] for c in rsps.calls]
    assert calls == [
        ("GET", listing),
        ("GET", f"{BASE}/messages/{ID1}/$value"),
        ("GET", f"{BASE}/mailFolders"),
        ("POST", f"{BASE}/messages/{ID1}/move"),  # 503: the message stays in the inbox
        ("GET", listing),
        ("GET", f"{BASE}/messages/{ID1}/$value"),  # the journal knows its issue: no second one
        ("POST", f"{BASE}/messages/{ID1}/move"),
    ]
    assert sent(rsps.calls[6])[3] == {"destinationId": "AAMkProcessed=="}
