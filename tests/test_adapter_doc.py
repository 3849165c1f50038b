"""docs/writing-an-adapter.md's HTTP client, run as written: the public API it shows exists."""

import re
import tomllib
from pathlib import Path

import pytest
import responses

from tracker_mail_plugin import ConfigurationError, RetryLater, Secret, UnknownOutcome
from tracker_mail_plugin.testing import TrackerFailure, failing_server

DOC = Path(__file__).parent.parent / "docs" / "writing-an-adapter.md"


@pytest.fixture(scope="module")
def shown() -> dict[str, object]:
    """The names the doc's "Over HTTP" example defines."""
    section = DOC.read_text(encoding="utf-8").split("## Over HTTP", 1)[1]
    [code] = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    names: dict[str, object] = {}
    exec(compile(code, str(DOC), "exec"), names)  # noqa: S102 - our own documentation
    return names


def client(shown, url, **token):
    config = shown["YouTrackConfig"](url=url, token=Secret(**(token or {"value": "t0k"})))
    return shown["YouTrackClient"](config)


@pytest.mark.parametrize(
    ("failure", "write", "error", "words"),
    [
        (TrackerFailure.UNAUTHORIZED, False, ConfigurationError, "YouTrack refused"),
        (TrackerFailure.SERVER_ERROR, False, RetryLater, "answered 500 while reading"),
        (TrackerFailure.SERVER_ERROR, True, UnknownOutcome, "may have been done"),
    ],
)
def test_the_example_client_translates_failures(shown, failure, write, error, words):
    with failing_server(failure) as url, pytest.raises(error, match=words):
        client(shown, url).send("GET", "/issues", "reading", write=write)


def test_the_example_client_says_which_secret_is_missing(shown, monkeypatch):
    monkeypatch.delenv("TM_DOC_TOKEN", raising=False)
    with pytest.raises(ConfigurationError, match=r"YouTrack token: .*TM_DOC_TOKEN"):
        client(shown, "http://127.0.0.1:9", env="TM_DOC_TOKEN").session()


def test_the_example_client_translates_a_page_that_is_not_json(shown):
    # A sign-in page where the API should be: a ValueError from response.json() would
    # escape the adapter, outside the error tree.
    with responses.RequestsMock() as mock:
        mock.add("GET", "https://yt.example.com/api/issues", body="<html>Sign in</html>")
        with pytest.raises(ConfigurationError, match="is url the address of YouTrack"):
            client(shown, "https://yt.example.com").send("GET", "/issues", "reading", write=False)


def test_the_template_test_extra_brings_every_tool_its_checks_run():
    # The template's README and this doc tell a copy's author to run, after
    # `pip install -e '.[test]'`: ruff check . && ruff format --check . && mypy && pytest.
    template = DOC.parent.parent / "adapters" / "template"
    extra = tomllib.loads((template / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["test"]
    names = {re.split(r"[\[<>=~! ]", requirement, maxsplit=1)[0] for requirement in extra}
    assert {"tracker-mail-plugin", "ruff", "mypy"} <= names
    # Strict mypy on the tests wants the stubs of PyYAML, which they import.
    imports_yaml = any(
        "import yaml" in test.read_text() for test in (template / "tests").glob("*.py")
    )
    assert not imports_yaml or "types-PyYAML" in names
    readme = " ".join((template / "README.md").read_text().split())
    assert "`pip install -e '.[test]' && ruff check . && ruff format --check . && mypy" in readme
    testing = tomllib.loads((DOC.parent.parent / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]["testing"]
    assert any(requirement.startswith("pytest") for requirement in testing)
