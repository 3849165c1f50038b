"""Attachment policies (list, commit, drop) and bodies cut to GitHub's 65,536 characters."""

from __future__ import annotations

import base64
import dataclasses
import hashlib

import pytest

from tracker_mail_plugin import IssueRef, NewComment, NewIssue, PermanentError, Upload

REPO = "/repos/example-org/webshop"
KEY = "tm-abcdefghijklmnopqrst"
MARKER = f"<!-- tracker-mail:{KEY} -->"
LOG = Upload.from_bytes("crash.log", b"Traceback\n", "text/plain")
SHOT = Upload.from_bytes("screen|shot.png", b"\x89PNG" + bytes(2000), "image/png")
BRANCH = {"attachments": "commit", "attachments_branch": "tracker-mail-files"}


def issue(text="It crashed.", attachments=(LOG, SHOT)):
    return NewIssue("example-org/webshop", "Crash", text, KEY, attachments=attachments)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_list_puts_names_sizes_and_hashes_in_the_text(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter().create_issue(issue())

    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues")
    assert sent.body["body"] == (
        "It crashed.\n\n---\n**Attachments** (listed only; the files are not stored on GitHub):"
        "\n\n| File | Size | SHA-256 |\n| --- | --- | --- |\n"
        f"| crash.log | 10 bytes | `{sha(b'Traceback' + bytes([10]))}` |\n"
        f"| screen\\|shot.png | 2.0 kB | `{SHOT.sha256}` |\n\n{MARKER}"
    )


def test_drop_only_says_what_was_left_out(github):
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)

    github.adapter(attachments="drop").add_comment(
        IssueRef("github", "example-org/webshop#42"),
        NewComment("See log.", KEY, attachments=(LOG,)),
    )

    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues/42/comments")
    assert sent.body["body"] == (
        "See log.\n\n---\n**Attachments not kept** (the attachments policy is `drop`): "
        f"crash.log (10 bytes)\n\n{MARKER}"
    )


def test_commit_stores_each_file_then_links_it(github):
    github.reply(
        "PUT",
        f"{REPO}/contents/tracker-mail/{KEY}/crash.log",
        github.load("contents_created"),
        status=201,
    )
    github.reply(
        "PUT",
        f"{REPO}/contents/tracker-mail/{KEY}/screen%7Cshot.png",
        github.load("contents_created"),
        status=201,
    )
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter(**BRANCH).create_issue(issue())

    log, shot, create = github.sent()
    assert log.line == ("PUT", f"{REPO}/contents/tracker-mail/{KEY}/crash.log")
    assert log.body == {
        "message": f"tracker-mail: attachment crash.log ({KEY})",
        "content": base64.b64encode(b"Traceback\n").decode(),
        "branch": "tracker-mail-files",
    }
    assert base64.b64decode(shot.body["content"]) == b"\x89PNG" + bytes(2000)
    blob = "https://github.com/example-org/webshop/blob/tracker-mail-files/tracker-mail"
    assert create.body["body"] == (
        "It crashed.\n\n---\n**Attachments** (committed to the repository):\n\n"
        f"- [crash.log]({blob}/{KEY}/crash.log) (10 bytes, SHA-256 `{LOG.sha256}`)\n"
        f"- [screen\\|shot.png]({blob}/{KEY}/screen%7Cshot.png) (2.0 kB, SHA-256 `{SHOT.sha256}`)"
        f"\n\n{MARKER}"
    )
    # The computed link is the one GitHub gives for such a file.
    assert github.load("contents_created")["content"]["html_url"] == (f"{blob}/KEY/crash.log")


def test_commit_keeps_a_file_an_interrupted_attempt_already_stored(github):
    github.reply(
        "PUT",
        f"{REPO}/contents/tracker-mail/{KEY}/crash.log",
        github.load("error_sha_missing"),
        status=422,
    )
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter(**BRANCH).create_issue(issue(attachments=(LOG,)))

    assert github.lines() == [
        ("PUT", f"{REPO}/contents/tracker-mail/{KEY}/crash.log"),
        ("POST", f"{REPO}/issues"),
    ]


def test_commit_refused_for_another_reason_creates_nothing(github):
    github.reply(
        "PUT",
        f"{REPO}/contents/tracker-mail/{KEY}/crash.log",
        github.load("error_validation"),
        status=422,
    )

    with pytest.raises(PermanentError, match="committing tracker-mail/"):
        github.adapter(**BRANCH).create_issue(issue(attachments=(LOG,)))
    assert github.lines() == [("PUT", f"{REPO}/contents/tracker-mail/{KEY}/crash.log")]


def test_repeated_names_get_a_prefix(github):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    again = Upload.from_bytes("crash.log", b"second", "text/plain")

    github.adapter(attachments="drop").create_issue(issue(attachments=(LOG, again)))

    assert "crash.log (10 bytes), 2-crash.log (6 bytes)" in github.sent()[0].body["body"]


def long_text() -> str:
    paragraph = "word " * 199 + "end."  # 1,000 characters
    return "\n\n".join(f"{i:04d} {paragraph}" for i in range(70))  # about 70,400 characters


@pytest.mark.parametrize("policy", ["list", "drop"])
def test_a_long_body_is_cut_at_a_paragraph_with_a_note(github, policy):
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    text = long_text()

    github.adapter(attachments=policy).create_issue(issue(text=text, attachments=()))

    body = github.sent()[0].body["body"]
    assert len(text) > 65_536 >= len(body)
    assert body.endswith(MARKER)
    kept, _, rest = body.partition("\n\n*[The mail was cut here")
    assert text.startswith(kept)
    assert text[len(kept) : len(kept) + 2] == "\n\n"
    assert kept.endswith("end.")
    assert f"its text has {len(text):,} characters and GitHub takes 65,536" in rest
    if policy == "list":
        full = Upload.from_bytes("full-text.txt", text.encode())
        assert f"| full-text.txt | 70.4 kB | `{full.sha256}` |" in rest
    else:
        assert "full-text.txt (70.4 kB)" in rest
        assert "not kept" in rest


def test_a_long_body_is_committed_in_full(github):
    path = f"{REPO}/contents/tracker-mail/{KEY}/full-text.txt"
    github.reply("PUT", path, github.load("contents_created"), status=201)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    text = long_text()

    github.adapter(**BRANCH).create_issue(issue(text=text, attachments=()))

    put, create = github.sent()
    assert put.line == ("PUT", path)
    assert base64.b64decode(put.body["content"]).decode() == text
    body = create.body["body"]
    assert len(body) <= 65_536
    assert "The full text is committed as full-text.txt (linked below)" in body
    assert f"/blob/tracker-mail-files/tracker-mail/{KEY}/full-text.txt)" in body


def test_a_body_that_cannot_fit_even_without_text_is_permanent(github):
    many = tuple(Upload.from_bytes(f"{i:03d}-{'n' * 200}.txt", b"x") for i in range(400))

    with pytest.raises(PermanentError, match="400 attachments alone exceed"):
        github.adapter().create_issue(issue(text=long_text(), attachments=many))
    assert github.sent() == []


def test_enterprise_server_paths_and_links(github):
    github.api = "https://ghe.example.com/api/v3"
    github.reply(
        "PUT",
        f"{REPO}/contents/tracker-mail/{KEY}/crash.log",
        github.load("contents_created"),
        status=201,
    )
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter(api_url="https://ghe.example.com/api/v3", **BRANCH).create_issue(
        issue(attachments=(LOG,))
    )

    urls = [str(call.request.url) for call in github.mock.calls]
    assert urls == [
        f"https://ghe.example.com/api/v3{REPO}/contents/tracker-mail/{KEY}/crash.log",
        f"https://ghe.example.com/api/v3{REPO}/issues",
    ]
    link = f"https://ghe.example.com/example-org/webshop/blob/tracker-mail-files/tracker-mail/{KEY}/crash.log"
    assert f"[crash.log]({link})" in github.sent()[1].body["body"]


def test_a_branch_with_slashes_is_linked_and_named_as_github_spells_it(github):
    github.reply(
        "PUT",
        f"{REPO}/contents/tracker-mail/{KEY}/crash.log",
        github.load("contents_created"),
        status=201,
    )
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    adapter = github.adapter(attachments="commit", attachments_branch="support/mail-files")
    adapter.create_issue(issue(attachments=(LOG,)))

    put, create = github.sent()
    assert put.line == ("PUT", f"{REPO}/contents/tracker-mail/{KEY}/crash.log")
    assert put.body["branch"] == "support/mail-files"
    link = (
        "https://github.com/example-org/webshop/blob/support/mail-files/"
        f"tracker-mail/{KEY}/crash.log"
    )
    assert f"- [crash.log]({link}) (10 bytes" in create.body["body"]
    assert "%2F" not in create.body["body"]


CID = "image001.png@01DA1234.56789AB0"
INLINE = dataclasses.replace(
    Upload.from_bytes("image001.png", b"\x89PNG" + bytes(20), "image/png"), content_id=CID
)


def test_a_committed_inline_image_is_shown_where_the_sender_put_it(github):
    path = f"{REPO}/contents/tracker-mail/{KEY}/image001.png"
    github.reply("PUT", path, github.load("contents_created"), status=201)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    github.adapter(**BRANCH).create_issue(
        issue(text=f"Look:[cid:{CID}] there", attachments=(INLINE,))
    )

    put, create = github.sent()
    assert put.line == ("PUT", path)
    assert base64.b64decode(put.body["content"]) == b"\x89PNG" + bytes(20)
    blob = f"https://github.com/example-org/webshop/blob/tracker-mail-files/tracker-mail/{KEY}"
    assert create.line == ("POST", f"{REPO}/issues")
    assert create.body["body"] == (
        f"Look:![image001.png]({blob}/image001.png?raw=true) there\n\n---\n"
        "**Attachments** (committed to the repository):\n\n"
        f"- [image001.png]({blob}/image001.png) (24 bytes, SHA-256 `{INLINE.sha256}`)"
        f"\n\n{MARKER}"
    )


def test_an_inline_image_not_stored_on_github_is_named_in_place(github):
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)

    github.adapter().add_comment(
        IssueRef("github", "example-org/webshop#42"),
        NewComment("See [image: image001.png] here", KEY, attachments=(INLINE,)),
    )

    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues/42/comments")
    assert sent.body["body"].startswith("See \\[image: image001.png\\] here\n\n---\n")


def test_references_left_in_image_references_are_inert_and_the_image_is_shown(github):
    # The inline image is found by its Content-ID (its hex is not touched); the reference
    # that names no file stays in the text, with its "#12" made inert like any other.
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)
    text = f"See [cid:{CID}] and [image: #12.png] (#13)"

    github.adapter().add_comment(
        IssueRef("github", "example-org/webshop#42"), NewComment(text, KEY, attachments=(INLINE,))
    )

    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues/42/comments")
    assert sent.body["body"].startswith(
        "See \\[image: image001.png\\] and [image: #\u206012.png] (#\u206013)\n\n---\n"
    )


def test_an_inline_image_named_in_place_keeps_its_name_escaped(github):
    # The name is Markdown-escaped and its mention made inert, references or not.
    github.reply("POST", f"{REPO}/issues/42/comments", github.load("issue_comment"), status=201)
    shot = dataclasses.replace(INLINE, filename="shot_*1*@ops.png")

    github.adapter().add_comment(
        IssueRef("github", "example-org/webshop#42"),
        NewComment(f"See [cid:{CID}] here", KEY, attachments=(shot,)),
    )

    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues/42/comments")
    assert sent.body["body"].startswith("See \\[image: shot\\_\\*1\\*@\u2060ops.png\\] here\n\n")
