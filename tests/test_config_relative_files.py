"""Every relative file in rules.yaml is read next to it, whatever folder the command runs in."""

from __future__ import annotations

from pathlib import Path

from tracker_mail_plugin.config.loader import load_config
from tracker_mail_plugin.config.secrets import Secret

RULES = """\
version: 1
journal: {url: "postgresql://tm@127.0.0.1/journal", password: {file: secrets/pg}}
trackers:
  redmine:
    adapter: redmine
    url: https://redmine.example.com
    api_key: {file: secrets/redmine}
    ca_file: certs/ca.pem
smtp: {host: 127.0.0.1, port: 2525, sender: tm@example.com, password: {file: secrets/smtp}}
mailboxes:
  support:
    protocol: imap
    host: mail.example.com
    username: support
    password: {file: ./secrets/imap}
    ca_file: certs/ca.pem
    tracker: redmine
    rules: ["then ignore"]
  oauth:
    protocol: imap
    host: outlook.office365.com
    username: help@example.com
    auth:
      oauth2: {provider: microsoft, tenant: example.com, client_id: abc,
               client_secret: {file: secrets/entra}}
    tracker: redmine
    rules: ["then ignore"]
  fixed:
    protocol: pop3
    host: mail.example.com
    username: fixed
    password: {file: /etc/tracker-mail/pop3}
    tracker: redmine
    rules: ["then ignore"]
  home:
    protocol: pop3
    host: mail.example.com
    username: home
    password: {file: ~/pop3-password}
    tracker: redmine
    rules: ["then ignore"]
"""


def test_secret_files_and_certificates_follow_the_configuration_file(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "etc").mkdir()
    config = tmp_path / "etc" / "rules.yaml"
    config.write_text(RULES)
    monkeypatch.chdir(tmp_path)  # cron's folder is not the file's
    loaded = load_config(str(config)).config
    here = tmp_path / "etc"

    support = loaded.mailboxes["support"]
    assert support.password == Secret(file=str(here / "secrets/imap"))
    assert support.ca_file == str(here / "certs/ca.pem")
    oauth2 = loaded.mailboxes["oauth"].auth.oauth2  # type: ignore[union-attr]
    assert oauth2.client_secret == Secret(file=str(here / "secrets/entra"))  # type: ignore[union-attr]
    assert loaded.smtp is not None
    assert loaded.smtp.password == Secret(file=str(here / "secrets/smtp"))
    assert loaded.journal.password == Secret(file=str(here / "secrets/pg"))  # type: ignore[union-attr]
    # A tracker's options are still as written for its adapter, with the files made near.
    options = loaded.trackers["redmine"].options
    assert options["api_key"] == {"file": str(here / "secrets/redmine")}
    assert options["ca_file"] == str(here / "certs/ca.pem")
    assert options["url"] == "https://redmine.example.com"
    # Absolute and home-relative paths are left as written.
    assert loaded.mailboxes["fixed"].password == Secret(file="/etc/tracker-mail/pop3")
    assert loaded.mailboxes["home"].password == Secret(file="~/pop3-password")


def test_a_secret_file_next_to_the_configuration_is_read_from_another_folder(
    tmp_path: Path, monkeypatch
) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "imap-password").write_text("s3cret\n")
    config = tmp_path / "conf" / "rules.yaml"
    config.write_text(RULES.replace("./secrets/imap", "imap-password"))
    elsewhere = tmp_path / "home"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    password = load_config(str(config)).config.mailboxes["support"].password
    assert password is not None
    assert password.reveal() == "s3cret"
