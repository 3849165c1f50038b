"""End to end: a real Dovecot mailbox -> ``tracker-mail sync`` -> the faked Jira Cloud.

``sync`` runs in this process (``tracker_mail_plugin.cli.main``) so that ``responses`` can
answer for Jira, while mail really travels over IMAP from the test rig's private Dovecot on
127.0.0.1 (the kit's ``dovecot`` fixture, see conftest.py). Each test asserts the whole sequence of Jira
requests the run made, and where the message went in the mailbox.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
import yaml

from tracker_mail_plugin.cli import main
from tracker_mail_plugin.testing.dovecot import Account, Dovecot

pytestmark = pytest.mark.servers

FRED_ID = "qm:a713c8ea-1075-4e30-9d96-891a7d181739:5ad6d3581db05e2a66fa80b"
NEW_ID = "qm:5c3f7f0e-0000-4000-8000-00000000beef:5ad6d3581db05e2a66fa80b"
CREATED = "2023-11-03T08:26:40.000+0000"  # SD-7's creation time: 1699000000000 ms
DESKS = ("GET", "/rest/servicedeskapi/servicedesk", {"start": "0", "limit": "50"}, None)
TYPES = (
    "GET",
    "/rest/servicedeskapi/servicedesk/10/requesttype",
    {"start": "0", "limit": "50"},
    None,
)
RULES = [
    {
        "name": "hardware",
        "when": {"subject_contains": ["laptop", "keyboard"]},
        "then": [{"create_request": {"project": "SD", "request_type": "Request new hardware"}}],
    }
]


@pytest.fixture(autouse=True)
def _keep_logging():
    """``sync`` configures the tracker_mail logger for a terminal; give it back afterwards."""
    logger = logging.getLogger("tracker_mail")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    yield
    logger.handlers[:], logger.level, logger.propagate = saved


class Rig:
    """One mailbox on Dovecot, a rules.yaml for it, and the faked Jira Cloud."""

    def __init__(self, tmp_path, dovecot: Dovecot, jira, monkeypatch):
        self.tmp = tmp_path
        self.dovecot = dovecot
        self.account: Account = dovecot.add_account()
        self.jira = jira
        monkeypatch.setenv("E2E_MAIL_PASSWORD", self.account.password)
        monkeypatch.setenv("E2E_JIRA_TOKEN", "e2e-token-do-not-show")
        monkeypatch.chdir(tmp_path)

    def configure(self, unknown_user: str = "reject") -> None:
        document = {
            "version": 1,
            "journal": str(self.tmp / "journal.sqlite3"),
            "trackers": {
                "jira-cloud": {
                    "adapter": "jira",
                    "url": self.jira.base,
                    "email": "automation@example.com",
                    "api_token": {"env": "E2E_JIRA_TOKEN"},
                }
            },
            "mailboxes": {
                "servicedesk": {
                    "protocol": "imap",
                    "host": "127.0.0.1",
                    "port": self.dovecot.ports.imap,
                    "security": "none",
                    "username": self.account.user,
                    "password": {"env": "E2E_MAIL_PASSWORD"},
                    "timeout": 20,
                    "tracker": "jira-cloud",
                    "unknown_user": unknown_user,
                    "on_success": {"move": "Processed"},
                    "on_unprocessed": {"move": "Unprocessed"},
                    "rules": RULES,
                }
            },
        }
        (self.tmp / "rules.yaml").write_text(yaml.safe_dump(document, sort_keys=False))

    def deliver(self, message: EmailMessage) -> None:
        self.dovecot.append(self.account, [message.as_bytes()])

    def sync(self) -> int:
        return main(["sync", "-c", str(self.tmp / "rules.yaml")])

    def folder(self, name: str) -> list[bytes]:
        client = self.dovecot.imap(self.account)
        try:
            if not client.folder_exists(name):
                return []
            client.select_folder(name, readonly=True)
            found = client.fetch(client.search("ALL"), ["BODY.PEEK[]"])
            return [bytes(found[uid][b"BODY[]"]) for uid in sorted(found)]
        finally:
            client.logout()


@pytest.fixture
def rig(tmp_path, dovecot, cloud, monkeypatch):
    return Rig(tmp_path, dovecot, cloud, monkeypatch)


def mail(sender: str, subject: str, text: str, **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "servicedesk@example.com"
    message["Subject"] = subject
    message["Date"] = format_datetime(dt.datetime.now().astimezone())
    message["Message-ID"] = make_msgid(domain="example.com")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(text)
    return message


def customer(jira, account_id: str, name: str, address: str) -> dict[str, object]:
    """A /user/search answer entry for a service-desk customer."""
    person = copy.deepcopy(jira.fixture("user_search")[0])
    person |= {
        "self": f"{jira.base}/rest/api/2/user?accountId={account_id}",
        "accountId": account_id,
        "accountType": "customer",
        "emailAddress": address,
        "displayName": name,
    }
    return person


def prime_request(jira) -> None:
    jira.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    jira.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/requesttype", "servicedeskapi_requesttype"
    )
    jira.answer("POST", "/rest/servicedeskapi/request", "servicedeskapi_request", status=201)
    jira.answer("PUT", "/rest/api/2/issue/SD-7/properties/tracker-mail", None, status=201)


def sd7(jira) -> dict[str, object]:
    issue = copy.deepcopy(jira.fixture("issue_get"))
    issue |= {"id": "10107", "key": "SD-7", "self": f"{jira.base}/rest/api/2/issue/10107"}
    issue["fields"]["project"] |= {"id": "10010", "key": "SD", "name": "IT Service Desk"}
    issue["fields"]["created"] = CREATED
    return issue


def user_search(address: str):
    return ("GET", "/rest/api/2/user/search", {"query": address, "maxResults": "10"}, None)


def customers(address: str):
    query = {"query": address, "start": "0", "limit": "50"}
    return ("GET", "/rest/servicedeskapi/servicedesk/10/customer", query, None)


def key_of(line) -> str:
    return line[3]["key"]


def test_a_known_customers_request_with_two_attachments(rig, cloud):
    rig.configure()
    message = mail("Fred F. User <fred@example.com>", "New laptop please", "My laptop died.\n")
    message.add_attachment(b"\x89PNG\r\n", maintype="image", subtype="png", filename="broken.png")
    message.add_attachment(b"error 42\n", maintype="text", subtype="plain", filename="dmesg.txt")
    rig.deliver(message)
    cloud.answer(
        "GET",
        "/rest/api/2/user/search",
        [customer(cloud, FRED_ID, "Fred F. User", "fred@example.com")],
    )
    cloud.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/customer", "servicedeskapi_servicedesk_customer"
    )
    prime_request(cloud)
    cloud.answer(
        "POST",
        "/rest/servicedeskapi/servicedesk/10/attachTemporaryFile",
        "servicedeskapi_attachTemporaryFile",
        status=201,
    )
    cloud.answer(
        "POST",
        "/rest/servicedeskapi/servicedesk/10/attachTemporaryFile",
        {"temporaryAttachments": [{"temporaryAttachmentId": "temp2", "fileName": "dmesg.txt"}]},
        status=201,
    )
    cloud.answer(
        "POST",
        "/rest/servicedeskapi/request/SD-7/attachment",
        "servicedeskapi_request_attachment",
        status=201,
    )

    assert rig.sync() == 0

    lines = cloud.lines
    assert lines[:4] == [
        user_search("fred@example.com"),
        DESKS,
        customers("fred@example.com"),
        TYPES,
    ]
    assert lines[4] == (
        "POST",
        "/rest/servicedeskapi/request",
        {},
        {
            "serviceDeskId": "10",
            "requestTypeId": "26",
            "requestFieldValues": {
                "summary": "New laptop please",
                "description": "My laptop died.",
            },
            "raiseOnBehalfOf": FRED_ID,
        },
    )
    assert lines[5][:3] == ("PUT", "/rest/api/2/issue/SD-7/properties/tracker-mail", {})
    assert key_of(lines[5]).startswith("tm-")
    uploads = [(p.filename, p.content) for s in cloud.sent[6:8] for p in s.body]
    assert uploads == [("broken.png", b"\x89PNG\r\n"), ("dmesg.txt", b"error 42\n")]
    assert [line[:2] for line in lines[6:8]] == [
        ("POST", "/rest/servicedeskapi/servicedesk/10/attachTemporaryFile")
    ] * 2
    assert lines[8] == (
        "POST",
        "/rest/servicedeskapi/request/SD-7/attachment",
        {},
        {"temporaryAttachmentIds": ["temp8186986881024837861", "temp2"], "public": True},
    )
    assert len(lines) == 9
    assert len(rig.folder("Processed")) == 1
    assert rig.folder("INBOX") == []


def test_a_reply_by_issue_key_becomes_a_public_comment(rig, cloud):
    rig.configure()
    rig.deliver(
        mail("Fred F. User <fred@example.com>", "Re: [JIRA] (SD-7) New laptop please", "Thanks!\n")
    )
    cloud.answer(
        "GET",
        "/rest/api/2/user/search",
        [customer(cloud, FRED_ID, "Fred F. User", "fred@example.com")],
    )
    cloud.answer("GET", "/rest/api/2/issue/SD-7", sd7(cloud))
    cloud.answer("GET", "/rest/api/2/user/permission/search", [])
    cloud.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    cloud.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/customer", "servicedeskapi_servicedesk_customer"
    )
    cloud.answer("POST", "/rest/api/2/issue/SD-7/comment", "issue_comment_create", status=201)

    assert rig.sync() == 0

    lines = cloud.lines
    assert lines[:5] == [
        user_search("fred@example.com"),
        ("GET", "/rest/api/2/issue/SD-7", {"fields": "project,status,created"}, None),
        (
            "GET",
            "/rest/api/2/user/permission/search",
            {
                "permissions": "ADD_COMMENTS",
                "projectKey": "SD",
                "accountId": FRED_ID,
                "maxResults": "50",
            },
            None,
        ),
        DESKS,
        customers("fred@example.com"),
    ]
    method, path, query, body = lines[5]
    assert (method, path, query) == ("POST", "/rest/api/2/issue/SD-7/comment", {})
    assert (
        body["body"] == "From: Fred F. User <fred@example.com>\n\nThanks\\!"
    )  # Jira posts as the API user
    [mine, visibility] = body["properties"]
    assert mine["key"] == "tracker-mail"
    assert mine["value"]["key"].startswith("tm-")
    assert visibility == {"key": "sd.public.comment", "value": {"internal": False}}
    assert len(lines) == 6
    assert len(rig.folder("Processed")) == 1


def test_a_reply_to_a_jira_notification_threads_by_its_message_id(rig, cloud):
    rig.configure()
    notification = "<JIRA.10107.1699000000000.42.1699000099999@Atlassian.JIRA>"
    rig.deliver(
        mail(
            "Fred F. User <fred@example.com>",
            "Re: your request",
            "It works now.\n",
            In_Reply_To=notification,
        )
    )
    cloud.answer(
        "GET",
        "/rest/api/2/user/search",
        [customer(cloud, FRED_ID, "Fred F. User", "fred@example.com")],
    )
    cloud.answer("GET", "/rest/api/2/issue/10107", sd7(cloud))
    cloud.answer("GET", "/rest/api/2/user/permission/search", [])
    cloud.answer("GET", "/rest/servicedeskapi/servicedesk", "servicedeskapi_servicedesk")
    cloud.answer(
        "GET", "/rest/servicedeskapi/servicedesk/10/customer", "servicedeskapi_servicedesk_customer"
    )
    cloud.answer("POST", "/rest/api/2/issue/SD-7/comment", "issue_comment_create", status=201)

    assert rig.sync() == 0

    lines = cloud.lines
    assert lines[1] == (
        "GET",
        "/rest/api/2/issue/10107",
        {"fields": "project,status,created"},
        None,
    )
    assert [line[:2] for line in lines] == [
        ("GET", "/rest/api/2/user/search"),
        ("GET", "/rest/api/2/issue/10107"),
        ("GET", "/rest/api/2/user/permission/search"),
        DESKS[:2],
        ("GET", "/rest/servicedeskapi/servicedesk/10/customer"),
        ("POST", "/rest/api/2/issue/SD-7/comment"),  # the key Jira answered, not the id
    ]
    assert lines[-1][3]["body"] == "From: Fred F. User <fred@example.com>\n\nIt works now."
    assert len(rig.folder("Processed")) == 1


def test_an_unknown_sender_is_rejected_under_reject(rig, cloud):
    rig.configure(unknown_user="reject")
    rig.deliver(mail("Stranger <stranger@example.net>", "New keyboard", "Mine broke.\n"))
    cloud.answer("GET", "/rest/api/2/user/search", [])

    assert rig.sync() == 0

    assert cloud.lines == [user_search("stranger@example.net")]
    assert len(rig.folder("Unprocessed")) == 1
    assert rig.folder("Processed") == []


def test_an_unknown_sender_is_filed_by_the_rule_owner(rig, cloud):
    rig.configure(unknown_user="as_rule_owner")
    rig.deliver(mail("Stranger <stranger@example.net>", "New keyboard", "Mine broke.\n"))
    cloud.answer("GET", "/rest/api/2/user/search", [])
    prime_request(cloud)

    assert rig.sync() == 0

    lines = cloud.lines
    assert lines[:3] == [user_search("stranger@example.net"), DESKS, TYPES]
    assert lines[3] == (
        "POST",
        "/rest/servicedeskapi/request",
        {},
        {
            "serviceDeskId": "10",
            "requestTypeId": "26",
            "requestFieldValues": {
                "summary": "New keyboard",
                "description": "From: Stranger <stranger@example.net>\n\nMine broke.",
            },
        },
    )
    assert lines[4][:2] == ("PUT", "/rest/api/2/issue/SD-7/properties/tracker-mail")
    assert len(lines) == 5
    assert len(rig.folder("Processed")) == 1


def test_an_unknown_sender_becomes_a_customer_under_create_user(rig, cloud):
    rig.configure(unknown_user="create_user")
    rig.deliver(mail("New Person <new@example.net>", "New keyboard", "Mine broke.\n"))
    cloud.answer("GET", "/rest/api/2/user/search", [])
    created = copy.deepcopy(cloud.fixture("servicedeskapi_customer"))
    created |= {"accountId": NEW_ID, "emailAddress": "new@example.net", "displayName": "New Person"}
    cloud.answer("POST", "/rest/servicedeskapi/customer", created, status=201)
    cloud.answer("POST", "/rest/servicedeskapi/servicedesk/10/customer", None, status=204)
    prime_request(cloud)

    assert rig.sync() == 0

    lines = cloud.lines
    assert lines[:4] == [
        user_search("new@example.net"),
        DESKS,
        (
            "POST",
            "/rest/servicedeskapi/customer",
            {"strictConflictStatusCode": "true"},
            {"email": "new@example.net", "displayName": "New Person"},
        ),
        ("POST", "/rest/servicedeskapi/servicedesk/10/customer", {}, {"accountIds": [NEW_ID]}),
    ]
    assert lines[4] == TYPES
    assert lines[5][3]["raiseOnBehalfOf"] == NEW_ID
    assert lines[5][3]["requestFieldValues"] == {
        "summary": "New keyboard",
        "description": "Mine broke.",
    }
    assert lines[6][:2] == ("PUT", "/rest/api/2/issue/SD-7/properties/tracker-mail")
    assert len(lines) == 7
    assert len(rig.folder("Processed")) == 1
