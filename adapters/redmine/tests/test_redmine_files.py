"""attach_to_project (T5): the original mail as a project file, once per key."""

from __future__ import annotations

import pytest
import requests
from tracker_mail_plugin_redmine import RedmineAdapter

from tests.servers.redmine import Redmine
from tracker_mail_plugin import ConfigurationError, PermanentError, Upload

pytestmark = pytest.mark.servers

RAW = b"From: a@targetprocess.com\r\nSubject: Invoice\r\n\r\nPlease see attached.\r\n" + bytes(
    range(256)
)


def files(redmine: Redmine, project: str) -> list[dict]:
    return redmine.api("GET", f"/projects/{project}/files.json")["files"]


def test_the_message_becomes_a_project_file_with_its_bytes(
    redmine: Redmine, adapter: RedmineAdapter
) -> None:
    upload = Upload.from_bytes("Invoice.eml", RAW, "message/rfc822")
    file_id = adapter.attach_to_project("support", upload, "tm-file000000000000001")
    [stored] = files(redmine, "support")
    assert (str(stored["id"]), stored["filename"], stored["filesize"]) == (
        file_id,
        "Invoice.eml",
        len(RAW),
    )
    assert stored["description"] == "tracker-mail tm-file000000000000001"
    assert stored["author"]["name"] == "Redmine Admin"
    content = requests.get(
        stored["content_url"], headers={"X-Redmine-API-Key": redmine.admin_key}, timeout=30
    )
    assert content.content == RAW


def test_the_same_key_twice_stores_one_file(redmine: Redmine, adapter: RedmineAdapter) -> None:
    upload = Upload.from_bytes("Invoice.eml", RAW, "message/rfc822")
    first = adapter.attach_to_project("contract", upload, "tm-file000000000000002")
    again = adapter.attach_to_project("contract", upload, "tm-file000000000000002")
    other = adapter.attach_to_project("contract", upload, "tm-file000000000000003")
    assert first == again != other
    assert len(files(redmine, "contract")) == 2


def test_project_without_the_files_module(adapter: RedmineAdapter) -> None:
    with pytest.raises(PermanentError, match="nofiles has the Files module turned off"):
        adapter.attach_to_project(
            "nofiles", Upload.from_bytes("m.eml", b"x"), "tm-file000000000000004"
        )


def test_unknown_project(adapter: RedmineAdapter) -> None:
    with pytest.raises(ConfigurationError, match="no project 'nowhere'"):
        adapter.attach_to_project(
            "nowhere", Upload.from_bytes("m.eml", b"x"), "tm-file000000000000005"
        )
