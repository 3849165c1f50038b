"""deploy/: what can be checked without docker, systemd or a cluster.

The dashboard and the alert rules name metrics that exist (a renamed metric fails here, not
in an operator's empty graph); the files parse; what the Dockerfile copies exists.
"""

from __future__ import annotations

import configparser
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tracker_mail_plugin.config.loader import load_config_text
from tracker_mail_plugin.metrics import Metrics, serve

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
# Our metric names in PromQL; the text is ours, so a plain regex is fine here.
METRIC = re.compile(r"\btracker_mail_[a-z_]+\b")


def dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "tracker-mail.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return exprs


def alert_rules() -> list[dict[str, Any]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"]]


def test_the_dashboard_uses_only_metrics_we_export() -> None:
    exported = Metrics().names()
    used = {name for expr in dashboard_exprs() for name in METRIC.findall(expr)}
    assert used - exported == set()
    # and it shows what it promises: outcomes, latency, errors, backlog, last run
    assert {
        "tracker_mail_messages_total",
        "tracker_mail_processing_latency_seconds_bucket",
        "tracker_mail_tracker_errors_total",
        "tracker_mail_journal_messages",
        "tracker_mail_last_success_timestamp_seconds",
    } <= used


def test_the_alert_rules_use_only_metrics_we_export() -> None:
    exported = Metrics().names()
    rules = alert_rules()
    used = {name for rule in rules for name in METRIC.findall(rule["expr"])}
    assert used - exported == set()
    assert {"tracker_mail_last_success_timestamp_seconds", "tracker_mail_journal_messages"} <= used
    assert all(rule["alert"].startswith("TrackerMail") and rule["annotations"] for rule in rules)


def test_the_kubernetes_examples_probe_the_endpoints() -> None:
    deployment = yaml.safe_load((DEPLOY / "kubernetes" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["args"][0] == "watch"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    port = container["ports"][0]["containerPort"]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(port)
    assert f"0.0.0.0:{port}" in container["args"]
    cronjob = yaml.safe_load((DEPLOY / "kubernetes" / "cronjob.yaml").read_text())
    job = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert job["containers"][0]["args"][0] == "sync"


def test_the_dockerfile_copies_what_exists_and_installs_real_adapters() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    copies = re.findall(r"^COPY (?!--from)(.+)$", text, re.MULTILINE)
    sources = [source for line in copies for source in line.split()[:-1]]
    assert sources
    assert [s for s in sources if not (ROOT / s).exists()] == []
    (adapters,) = set(re.findall(r'^ARG ADAPTERS="([^"]*)"', text, re.MULTILINE))
    for adapter in adapters.split():
        project = tomllib.loads((ROOT / "adapters" / adapter / "pyproject.toml").read_text())
        assert project["project"]["name"] == f"tracker-mail-plugin-{adapter}"
    (extras,) = set(re.findall(r'^ARG EXTRAS="([^"]*)"', text, re.MULTILINE))
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert set(extras.split(",")) <= set(ours["optional-dependencies"])
    # not root; the health check asks the port the image exposes; watch by default
    assert re.search(r"^USER tracker-mail$", text, re.MULTILINE)
    (port,) = re.findall(r"^EXPOSE (\d+)$", text, re.MULTILINE)
    assert f"127.0.0.1:{port}/healthz" in text
    assert f'CMD ["watch", "--metrics-address", "0.0.0.0:{port}"]' in text


def test_compose_runs_watch_against_a_maildir_and_redmine() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert services["redmine"]["image"].startswith("redmine:")
    assert services["postgres"]["image"].startswith("postgres:")
    build = services["tracker-mail"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()
    mounts = [volume.split(":")[0] for volume in services["tracker-mail"]["volumes"]]
    assert [m for m in mounts if m.startswith("./") and not (DEPLOY / m).exists()] == []
    rules = DEPLOY / "compose" / "rules.yaml"
    loaded = load_config_text(rules.read_text(), str(rules))
    assert loaded.config.mailboxes["support"].tracker == "redmine"


@pytest.mark.parametrize(
    "unit", ["tracker-mail-watch.service", "tracker-mail-sync.service", "tracker-mail-sync.timer"]
)
def test_systemd_units_parse(unit: str) -> None:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string((DEPLOY / "systemd" / unit).read_text())
    if unit == "tracker-mail-watch.service":
        service = parser["Service"]
        assert (service["Type"], service["WatchdogSec"]) == ("notify", "600")
        assert " watch " in service["ExecStart"]
    elif unit == "tracker-mail-sync.service":
        assert "--metrics-file" in parser["Service"]["ExecStart"]
    else:
        assert parser["Timer"]["OnUnitActiveSec"] == "2min"


def test_the_deploy_readme_explains_every_file() -> None:
    readme = (DEPLOY / "README.md").read_text()
    files = [
        p.relative_to(DEPLOY).as_posix()
        for p in DEPLOY.rglob("*")
        if p.is_file() and p.name not in ("README.md", ".keep")
    ]
    assert files
    assert [f for f in files if f"`{f}`" not in readme] == []


def test_the_healthcheck_command_passes_while_healthz_answers() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    (port,) = re.findall(r"^EXPOSE (\d+)$", text, re.MULTILINE)
    found = re.search(r"^\s+CMD (\[.*\])$", text, re.MULTILINE)
    assert found is not None
    command = json.loads(found.group(1))
    assert command[0] == "python"
    server = serve("127.0.0.1:0", Metrics(), lambda: (False, {"support": "not yet"}))
    # the image's port, swapped for the one this test could bind
    here = [
        sys.executable,
        *(part.replace(f":{port}/", f":{server.port}/") for part in command[1:]),
    ]
    try:
        assert subprocess.run(here, check=False, capture_output=True).returncode == 0
    finally:
        server.close()
    assert subprocess.run(here, check=False, capture_output=True).returncode == 1
