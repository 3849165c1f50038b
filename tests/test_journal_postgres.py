"""The journal in PostgreSQL: configuration, schema, durability, errors, and the commands."""

import socket

import psycopg
import pytest

from tests.mailfactory import raw_mail
from tracker_mail_plugin.cli import main
from tracker_mail_plugin.config.loader import load_config_text
from tracker_mail_plugin.config.model import PostgresJournal
from tracker_mail_plugin.errors import ConfigurationError, ExitCode, Unreachable
from tracker_mail_plugin.journal import SCHEMA_VERSION, Journal, MessageState
from tracker_mail_plugin.journal.postgres import tls_defaults

IMAP = "imap:support@example.com/INBOX;uidvalidity=7"

CONFIG = """\
version: 1
journal: {journal}
trackers:
  rec: {{adapter: recording, state_file: {tmp}/tracker.json}}
mailboxes:
  good:
    protocol: directory
    path: {tmp}/good
    tracker: rec
    unknown_user: as_rule_owner
    on_unprocessed: {{move: Skipped}}
    rules: ["then ignore"]
"""


def write_config(tmp_path, journal):
    (tmp_path / "good").mkdir(exist_ok=True)
    path = tmp_path / "rules.yaml"
    path.write_text(CONFIG.format(journal=journal, tmp=tmp_path))
    return path


def query(url, sql):
    with psycopg.connect(url, autocommit=True) as db:
        cursor = db.execute(sql)
        return cursor.fetchall() if cursor.description else []


def closed_port_url():
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"postgresql://tracker@127.0.0.1:{port}/journal"


# -- configuration -------------------------------------------------------------------------


def test_a_string_is_a_sqlite_file_and_a_url_mapping_a_postgres_journal(tmp_path):
    text = CONFIG.format(journal="{tmp}/j.sqlite3", tmp=tmp_path).replace("{tmp}", str(tmp_path))
    assert isinstance(load_config_text(text, str(tmp_path / "r.yaml")).config.journal, str)
    text = CONFIG.format(
        journal="{url: 'postgresql://tm@127.0.0.1/tm', password: {env: PGPASSWORD}}",
        tmp=tmp_path,
    )
    journal = load_config_text(text, str(tmp_path / "r.yaml")).config.journal
    assert isinstance(journal, PostgresJournal)
    assert journal.url == "postgresql://tm@127.0.0.1/tm"
    assert "env:PGPASSWORD" in repr(journal.password)


@pytest.mark.parametrize(
    ("journal", "complaint"),
    [
        ("{url: 'postgresql://tm:hunter2@127.0.0.1/tm'}", "holds a password"),
        (
            "{url: 'postgresql://tm@127.0.0.1/tm?sslmode=require&password=hunter2'}",
            "holds a password",
        ),
        ("{url: 'mysql://tm@127.0.0.1/tm'}", "postgres"),
        ("{url: 'postgresql://tm@127.0.0.1/tm', pasword: {env: X}}", "pasword"),
    ],
)
def test_a_wrong_journal_mapping_is_a_configuration_error(tmp_path, capsys, journal, complaint):
    path = write_config(tmp_path, journal)
    assert main(["check", "--offline", "-c", str(path)]) == ExitCode.CONFIGURATION
    err = capsys.readouterr().err
    assert complaint in err
    assert "hunter2" not in err


# -- TLS -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "environ", "expected"),
    [
        # Another host: its certificate is verified, never a silent fall back to clear.
        ("postgresql://tm@db.example.com/tm", {}, {"sslmode": "verify-full"}),
        ("postgresql://tm@127.0.0.1,db.example.com/tm", {}, {"sslmode": "verify-full"}),
        ("postgresql:///tm", {"PGHOST": "db.example.com"}, {"sslmode": "verify-full"}),
        ("postgresql:///tm?hostaddr=192.0.2.7", {}, {"sslmode": "verify-full"}),
        ("postgresql://tm@db.example.com/tm?hostaddr=127.0.0.1", {}, {}),
        # The operator's choice stands.
        ("postgresql://tm@db.example.com/tm?sslmode=require", {}, {}),
        ("postgresql://tm@db.example.com/tm", {"PGSSLMODE": "verify-ca"}, {}),
        # This machine: libpq's default.
        ("postgresql://tm@127.0.0.1:5432/tm", {}, {}),
        ("postgresql://tm@[::1]/tm", {}, {}),
        ("postgresql:///tm?host=/var/run/postgresql", {}, {}),
    ],
)
def test_a_server_on_another_host_is_reached_only_over_verified_tls(url, environ, expected):
    assert tls_defaults(url, environ) == expected


def test_the_connection_asks_for_verified_tls(monkeypatch):
    asked = {}

    def connect(url, **options):
        asked.update(options, url=url)
        raise psycopg.OperationalError("connection refused")

    monkeypatch.delenv("PGSSLMODE", raising=False)
    monkeypatch.setattr(psycopg, "connect", connect)
    with pytest.raises(Unreachable):
        Journal.open_postgres("postgresql://tm@db.example.com/tm")
    assert asked["sslmode"] == "verify-full"


def test_a_certificate_that_does_not_verify_says_how_to_give_the_ca(monkeypatch):
    def connect(url, **options):
        raise psycopg.OperationalError('root certificate file "/x/root.crt" does not exist')

    monkeypatch.setattr(psycopg, "connect", connect)
    with pytest.raises(Unreachable, match="sslrootcert"):
        Journal.open_postgres("postgresql://tm@db.example.com/tm")


# -- schema and durability -----------------------------------------------------------------


def test_open_creates_the_schema_once_with_the_same_version(postgres_url):
    with Journal.open_postgres(postgres_url) as journal:
        setting = journal.database.connection.execute("SHOW synchronous_commit").fetchone()
        assert setting[0] == "on"  # every commit is flushed before it returns
    Journal.open_postgres(postgres_url).close()  # a second open migrates nothing
    tables = {row[0] for row in query(postgres_url, "SELECT tablename FROM pg_tables")}
    assert {"messages", "locations", "actions", "threads", "arrivals", "runs", "meta"} <= tables
    version = query(postgres_url, "SELECT value FROM meta WHERE name = 'schema_version'")
    assert version == [(str(SCHEMA_VERSION),)]
    assert len(query(postgres_url, "SELECT value FROM meta WHERE name = 'created_at'")) == 1


def test_a_journal_from_a_newer_version_is_refused(postgres_url):
    Journal.open_postgres(postgres_url).close()
    query(postgres_url, "UPDATE meta SET value = '99' WHERE name = 'schema_version'")
    with pytest.raises(ConfigurationError, match="newer tracker-mail") as caught:
        Journal.open_postgres(postgres_url)
    assert caught.value.exit_code == ExitCode.CONFIGURATION


def test_a_server_that_does_not_answer_is_unreachable_and_says_what_to_check():
    with pytest.raises(Unreachable, match="check that PostgreSQL runs") as caught:
        Journal.open_postgres(closed_port_url(), password="hunter2")  # noqa: S106 - a made-up one
    assert caught.value.exit_code == ExitCode.UNREACHABLE
    assert "hunter2" not in str(caught.value)


def test_a_scratch_journal_reads_the_real_one_and_leaves_nothing(postgres_url):
    with Journal.open_postgres(postgres_url) as journal:
        kept = journal.record_fetched("box", IMAP, "1", "<a@x>", "a" * 64, 1)
    with Journal.open_postgres(postgres_url, scratch=True) as scratch:
        assert scratch.get(kept.id) is not None
        row = scratch.record_fetched("box", IMAP, "2", "<b@x>", "b" * 64, 1)
        scratch.mark_state(row, MessageState.DECIDED)
        assert scratch.get(row.id) is not None
    assert query(postgres_url, "SELECT message_id FROM messages") == [("<a@x>",)]


def test_failures_and_stops_are_counted_in_postgres_as_in_sqlite(postgres_url, tmp_path):
    # The same SQL on both: no function only one of them knows (MAX(a, b), GREATEST).
    for journal in (Journal.open_postgres(postgres_url), Journal.open(tmp_path / "j.sqlite3")):
        with journal:
            row = journal.record_fetched("box", IMAP, "9", "<f@x>", "f" * 64, 1)
            assert journal.record_failure(row, "once") == 1
            assert journal.record_failure(row, "read 3 times", attempts=3) == 3
            assert journal.record_failure(row, "again", attempts=2) == 4
            journal.record_stop(row, "tracker unreachable")
            again = journal.get(row.id)
            assert again is not None
            assert (again.state, again.attempts) == (MessageState.FAILED, 4)
            assert again.last_error == "tracker unreachable"


def test_status_search_finds_the_same_mail_in_postgres_as_in_sqlite(postgres_url, tmp_path):
    # LIKE with an ESCAPE clause, written once for both: % and _ typed are literal.
    for journal in (Journal.open_postgres(postgres_url), Journal.open(tmp_path / "j.sqlite3")):
        with journal:
            for n, subject in enumerate(("100% done", "Lunch_break", "Printer on fire")):
                journal.record_fetched(
                    "box", IMAP, str(n), f"<m{n}@x>", f"{n}" * 64, 1, sender="a@example.com",
                    subject=subject,
                )  # fmt: skip

            def found(text: str, journal: Journal = journal) -> list[str]:
                return [row.subject for row in journal.listing(search=text)]

            assert found("%") == ["100% done"]
            assert found("_") == ["Lunch_break"]
            assert found("PRINTER") == ["Printer on fire"]
            assert found("M2@") == ["Printer on fire"]


# -- the commands --------------------------------------------------------------------------


def test_sync_status_and_check_use_the_postgres_journal(tmp_path, postgres_url, capsys):
    path = write_config(tmp_path, f"{{url: '{postgres_url}', password: {{env: TM_PG_PASSWORD}}}}")
    (tmp_path / "good" / "a.eml").write_bytes(raw_mail({"Subject": "hello"}))
    env = {"TM_PG_PASSWORD": "unused-with-trust"}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert main(["sync", "-c", str(path)]) == 0
        assert main(["status", "-c", str(path)]) == 0
        out = capsys.readouterr().out
        assert f"journal {postgres_url}: unprocessed 1" in out
        assert main(["check", "-c", str(path)]) == 0
        assert f"journal {postgres_url}: ok" in capsys.readouterr().out
    stored = query(postgres_url, "SELECT state, subject FROM messages")
    assert stored == [("unprocessed", "hello")]
    assert not (tmp_path / "journal.sqlite3").exists()


def test_sync_and_check_exit_3_when_the_journal_database_is_down(tmp_path, capsys):
    path = write_config(tmp_path, f"{{url: '{closed_port_url()}'}}")
    (tmp_path / "good" / "a.eml").write_bytes(raw_mail({"Subject": "hello"}))
    assert main(["sync", "-c", str(path)]) == ExitCode.UNREACHABLE
    assert main(["check", "-c", str(path)]) == ExitCode.UNREACHABLE
    err = capsys.readouterr().err
    assert "cannot connect to the journal database" in err
    assert "Traceback" not in err
    assert (tmp_path / "good" / "a.eml").exists()  # nothing disposed of
