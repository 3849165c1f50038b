from pathlib import Path
import sqlite3, subprocess, time, os
import pytest, yaml
from tests.test_sync_dovecot import Rig, mail, rig, smtp, wait_for  # noqa
from tests.test_watch_dovecot import start, watching, IDLING  # noqa
pytestmark = pytest.mark.servers

def journal_at(rig, path):
    doc = yaml.safe_load(rig.config.read_text())
    doc["journal"] = str(path)
    rig.config.write_text(yaml.safe_dump(doc, sort_keys=False))

def xtest_locked(rig: Rig) -> None:
    rig.append(mail("Printer one"))
    rig.sync()
    rig.append(mail("Printer two"))
    db = sqlite3.connect(rig.tmp / "journal.sqlite3", isolation_level=None)
    db.execute("BEGIN EXCLUSIVE")
    t = time.monotonic()
    import tests.test_sync_dovecot as T
    T.RUN_TIMEOUT = 300
    r = rig.run("sync")
    print("RC", r.returncode, time.monotonic() - t, r.output)
    db.execute("ROLLBACK"); db.close()
    r = rig.run("sync")
    print("RC", r.returncode, r.output)
    print([i.title for i in rig.issues()], rig.status())

@pytest.fixture
def tiny(tmp_path):
    d = tmp_path / "tiny"
    d.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(d)], check=True)
    yield d
    subprocess.run(["umount", "-l", str(d)], check=True)

def fill(d):
    f = d / "filler"
    fd = os.open(f, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 4096)
    except OSError:
        pass
    os.close(fd)
    return f

def test_full(rig: Rig, tiny: Path) -> None:
    journal_at(rig, tiny / "journal.sqlite3")
    rig.append(mail("Printer one"))
    rig.sync()
    rig.append(*(mail(f"Printer {n}", body="x" * 3000) for n in range(40)))
    filler = fill(tiny)
    r = rig.run("sync")
    print("RC", r.returncode, r.output)
    print([i.title for i in rig.issues()], len(rig.folder("INBOX")))
    filler.unlink()
    print(subprocess.run(["df","-k",str(tiny)],capture_output=True,text=True).stdout, os.listdir(tiny))
    r = rig.run("sync")
    print("RC", r.returncode, r.output)
    print(subprocess.run(["df","-k",str(tiny)],capture_output=True,text=True).stdout, os.listdir(tiny))
    print([i.title for i in rig.issues()], rig.status())

def test_full_watch(rig: Rig, tiny: Path, watching) -> None:
    journal_at(rig, tiny / "journal.sqlite3")
    w = start(rig, watching, env={"PYTHONFAULTHANDLER": "1"})
    w.wait_log(IDLING)
    filler = fill(tiny)
    rig.append(*(mail(f"Printer {n}", body="x" * 3000) for n in range(40)))
    time.sleep(10)
    import signal
    w.process.send_signal(signal.SIGABRT)
    w.process.wait()
    print(w.log)
    print(subprocess.run(["df","-k",str(tiny)],capture_output=True,text=True).stdout, os.listdir(tiny))
    w.wait_log("free space", timeout=30)
    time.sleep(5)
    filler.unlink()
    wait_for(lambda: len(rig.issues()) == 40, "all", timeout=60)
    print(w.stop())
    print(w.log)
    print([i.title for i in rig.issues()], rig.status(), len(rig.tracker.calls("create_issue")))
