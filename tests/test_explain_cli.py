import json
import mailbox
import subprocess
import sys

import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.mail import parse_message


@pytest.fixture
def mail_dir(tmp_path):
    (tmp_path / "a.eml").write_bytes(
        raw_mail({"Subject": "First", "Message-ID": "<a@example.com>"}, "Body A")
    )
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.eml").write_bytes(
        raw_mail({"Subject": "Second", "Message-ID": "<b@example.com>"}, "Body B")
    )
    (tmp_path / "notes.txt").write_text("not mail, and not an .eml, so not looked at")
    return tmp_path


def run_json(capsys, *args):
    code = main(["explain", "--format", "json", *map(str, args)])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_json_has_one_object_per_message_with_the_documented_keys(capsys, mail_dir):
    code, objects, err = run_json(capsys, mail_dir)
    assert code == 0
    assert err == ""
    assert [o["subject"] for o in objects] == ["First", "Second"]
    documented = {
        "file",
        "message_id",
        "subject",
        "from",
        "to",
        "cc",
        "date",
        "in_reply_to",
        "references",
        "body",
        "attachments",
        "automated",
        "reply_to_issue",
        "matched_rule",
        "actions",
        "skipped_reason",
        "full_body",
        "defects",
    }
    assert documented <= set(objects[0])
    first = objects[0]
    assert first["file"] == str(mail_dir / "a.eml")
    assert first["from"] == {"name": "Alice Example", "address": "alice@example.com"}
    assert first["to"] == [{"name": "", "address": "support@example.com"}]
    assert first["date"] == "2026-11-02T10:00:00+00:00"
    assert first["body"] == "Body A"
    assert (first["matched_rule"], first["actions"], first["automated"]) == (None, [], None)


def test_a_file_that_is_not_mail_is_reported_and_the_others_still_explained(capsys, tmp_path):
    good = tmp_path / "good.eml"
    good.write_bytes(raw_mail({"Subject": "Fine"}))
    png = tmp_path / "picture.eml"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    notes = tmp_path / "notes.eml"
    notes.write_text("Dear diary,\nno headers here.\n")
    code, objects, err = run_json(capsys, png, good, notes, tmp_path / "missing.eml")
    assert code == 1
    assert [o["subject"] for o in objects] == ["Fine"]
    lines = err.splitlines()
    assert len(lines) == 3
    assert lines[0] == f"tracker-mail explain: {png}: binary file, not a mail message"
    assert lines[1].startswith(f"tracker-mail explain: {notes}: does not start with a mail header")
    assert (
        lines[2] == f"tracker-mail explain: {tmp_path / 'missing.eml'}: no such file or directory"
    )


_GOOD = raw_mail({"Subject": "Printer broken", "From": "ann@example.com"}, "It jams.\n")


@pytest.mark.parametrize(
    ("case", "raw"),
    [
        ("blank lines first", b"\r\n\r\n" + _GOOD),
        ("spaces and tabs first", b"  \t\n " + _GOOD),
        ("one mangled header line first", b"this line is garbage\r\n" + _GOOD),
        ("one NUL byte", _GOOD.replace(b"It jams.", b"It\x00jams.")),
        ("a NUL in a header", _GOOD.replace(b"Printer", b"Print\x00er")),
    ],
)
def test_explain_reads_damaged_mail_as_sync_does(capsys, tmp_path, case, raw):
    path = tmp_path / "damaged.eml"
    path.write_bytes(raw)
    code, objects, err = run_json(capsys, path)
    assert (code, err) == (0, ""), case
    # Exactly what the parser reads, which is what sync processes.
    assert objects[0]["subject"] == parse_message(raw).subject
    assert objects[0]["subject"].replace("\x00", "") in ("Printer broken", "Print er")
    assert objects[0]["from"]["address"] == "ann@example.com"


def test_blank_lines_before_the_headers_are_skipped_and_said():
    message = parse_message(b"\n\n" + _GOOD)
    assert message.subject == "Printer broken"
    assert any("blank lines or spaces before the headers" in d for d in message.defects)


def test_mostly_text_with_one_colon_is_still_not_mail(capsys, tmp_path):
    path = tmp_path / "note.eml"
    path.write_text("Dear diary,\nToday: rain.\nMore rain.\nAnd more.\n")
    code, objects, err = run_json(capsys, path)
    assert (code, objects) == (1, [])
    assert "does not start with a mail header" in err


def test_maildir_and_mbox_are_read_as_such(capsys, tmp_path):
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(raw_mail({"Subject": "In maildir"}))
    mbox = mailbox.mbox(tmp_path / "archive.mbox", create=True)
    mbox.add(raw_mail({"Subject": "Mbox one"}))
    mbox.add(raw_mail({"Subject": "Mbox two"}, "From the start of a line\n"))
    mbox.flush()
    code, objects, _ = run_json(capsys, tmp_path / "Maildir", tmp_path / "archive.mbox")
    assert code == 0
    assert [o["subject"] for o in objects] == ["In maildir", "Mbox one", "Mbox two"]
    assert objects[1]["file"] == f"{tmp_path / 'archive.mbox'}#1"


def test_a_maildirs_cur_folder_is_read_whatever_its_files_are_named(capsys, tmp_path):
    # After a sync, read mail sits in cur/ as `<id>:2,S`, without a .eml suffix.
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    key = maildir.add(raw_mail({"Subject": "Already read"}))
    message = maildir.get_message(key)
    message.set_subdir("cur")
    message.set_flags("S")
    maildir[key] = message
    assert [p.name.endswith(":2,S") for p in (tmp_path / "Maildir" / "cur").iterdir()] == [True]
    code, objects, err = run_json(capsys, tmp_path / "Maildir" / "cur")
    assert (code, err) == (0, "")
    assert [o["subject"] for o in objects] == ["Already read"]


def test_empty_directory_is_an_error(capsys, tmp_path):
    code, objects, err = run_json(capsys, tmp_path)
    assert (code, objects) == (1, [])
    assert "no .eml files, Maildirs or mboxes" in err


def test_text_format_is_a_readable_summary(capsys, tmp_path):
    path = tmp_path / "reply.eml"
    path.write_bytes(
        raw_mail(
            {
                "Subject": "Re: [Support - Bug #42] Printer",
                "Cc": "Bob <bob@example.com>",
                "Auto-Submitted": "auto-replied",
            },
            "New text\n\nOn Mon, 2 Nov 2026, Bob <bob@example.com> wrote:\n> old\n",
        )
    )
    assert main(["explain", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"== {path}" in out
    assert "Subject:     Re: [Support - Bug #42] Printer" in out
    assert "Cc:          Bob <bob@example.com>" in out
    assert "Automated:   auto_replied" in out
    assert "[Support - Bug #42] [tracker_tag, subject]" in out
    assert "  | New text" in out
    assert "> old" not in out
    assert "quoted or signature lines removed" in out


def test_installed_command_runs(tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(raw_mail({"Subject": "Via the console script"}))
    result = subprocess.run(
        [sys.executable, "-m", "tracker_mail_plugin.cli", "explain", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["subject"] == "Via the console script"


def test_usage_errors_exit_with_2(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["explain", "--format", "xml", "x.eml"])
    assert exc.value.code == 2
    assert main([]) == 2
