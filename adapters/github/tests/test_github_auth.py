"""Personal access tokens and GitHub App installations (JWT, token, renewal before expiry)."""

from __future__ import annotations

import datetime as dt

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tracker_mail_plugin import ConfigurationError, NewIssue, RetryLater, Secret

REPO = "/repos/example-org/webshop"
TOKENS = "/app/installations/77/access_tokens"


@pytest.fixture(scope="module")
def key_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return pem, key.public_key()


def app_adapter(github, pem):
    return github.adapter(
        app={"app_id": 12345, "private_key": Secret(value=pem), "installation_id": 77}
    )


def token_answer(github, token, expires_at):
    stamp = dt.datetime.fromtimestamp(expires_at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return github.load("installation_token", token=token, expires_at=stamp)


def issue(key):
    return NewIssue("example-org/webshop", "Crash", "It crashed.", key)


def test_token_is_sent_as_bearer_and_read_once(github, monkeypatch):
    monkeypatch.setenv("GH_TEST_TOKEN", "ghp_fromenv")
    adapter = github.adapter(token={"env": "GH_TEST_TOKEN"})
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    adapter.create_issue(issue("tm-1"))

    [sent] = github.sent()
    assert sent.line == ("POST", f"{REPO}/issues")
    assert sent.headers["Authorization"] == "Bearer ghp_fromenv"


def test_unset_token_variable_is_a_configuration_error(github, monkeypatch):
    monkeypatch.delenv("GH_TEST_TOKEN", raising=False)
    adapter = github.adapter(token={"env": "GH_TEST_TOKEN"})

    with pytest.raises(ConfigurationError, match="token: environment variable GH_TEST_TOKEN"):
        adapter.create_issue(issue("tm-1"))
    assert github.sent() == []


def test_app_signs_a_jwt_and_writes_with_the_installation_token(github, key_pair):
    pem, public = key_pair
    now = github.clock.now
    github.reply("POST", TOKENS, token_answer(github, "ghs_first", now + 3600), status=201)
    github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)

    app_adapter(github, pem).create_issue(issue("tm-1"))

    mint, create = github.sent()
    assert (mint.line, mint.body) == (("POST", TOKENS), None)
    scheme, token = mint.headers["Authorization"].split()
    claims = jwt.decode(token, public, algorithms=["RS256"], options={"verify_exp": False})
    assert scheme == "Bearer"
    assert claims == {"iss": "12345", "iat": int(now) - 60, "exp": int(now) + 540}
    assert create.line == ("POST", f"{REPO}/issues")
    assert create.headers["Authorization"] == "Bearer ghs_first"


def test_installation_token_is_reused_then_renewed_before_it_expires(github, key_pair):
    pem, _ = key_pair
    now = github.clock.now
    github.reply("POST", TOKENS, token_answer(github, "ghs_first", now + 3600), status=201)
    github.reply("POST", TOKENS, token_answer(github, "ghs_second", now + 7200), status=201)
    for _ in range(3):
        github.reply("POST", f"{REPO}/issues", github.load("issue"), status=201)
    adapter = app_adapter(github, pem)

    adapter.create_issue(issue("tm-1"))
    github.clock.advance(60)
    adapter.create_issue(issue("tm-2"))
    github.clock.advance(3600 - 60 - 299)  # 299 s before expiry: inside the renewal margin
    adapter.create_issue(issue("tm-3"))

    sent = github.sent()
    assert [s.line[1] for s in sent] == [
        TOKENS,
        f"{REPO}/issues",
        f"{REPO}/issues",
        TOKENS,
        f"{REPO}/issues",
    ]
    assert [s.headers["Authorization"] for s in sent if s.path.endswith("/issues")] == [
        "Bearer ghs_first",
        "Bearer ghs_first",
        "Bearer ghs_second",
    ]


def test_app_identity_is_its_bot(github, key_pair):
    pem, public = key_pair
    github.reply("GET", "/app", github.load("app"))

    assert app_adapter(github, pem).identity() == "tracker-mail[bot]"

    [sent] = github.sent()
    assert sent.line == ("GET", "/app")
    jwt.decode(
        sent.headers["Authorization"].split()[1],
        public,
        algorithms=["RS256"],
        options={"verify_exp": False},
    )


def test_failing_token_request_is_retried_later_not_an_unknown_outcome(github, key_pair):
    pem, _ = key_pair
    github.reply("POST", TOKENS, github.load("error_server"), status=502)

    with pytest.raises(RetryLater) as caught:
        app_adapter(github, pem).create_issue(issue("tm-1"))

    assert type(caught.value) is RetryLater
    # Asking for a token changes nothing: asked again 1 s and 3 s later, as reads are.
    assert github.lines() == [("POST", TOKENS)] * 3
    assert github.clock.slept == [1.0, 3.0]


def test_a_key_that_is_not_rsa_is_a_configuration_error(github):
    with pytest.raises(ConfigurationError, match="not a usable RSA private key"):
        app_adapter(
            github, "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----"
        ).create_issue(issue("tm-1"))
    assert github.sent() == []


def test_refused_app_credentials(github, key_pair):
    pem, _ = key_pair
    github.reply("POST", TOKENS, github.load("error_bad_credentials"), status=401)

    with pytest.raises(ConfigurationError, match="refused the credentials"):
        app_adapter(github, pem).create_issue(issue("tm-1"))
    assert github.lines() == [("POST", TOKENS)]
