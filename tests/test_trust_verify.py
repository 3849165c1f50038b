"""Our own DKIM and ARC checks, with keys made here and a DNS the test answers (no network)."""

import base64
from functools import cache

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tracker_mail_plugin.config.model import Trust
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.testing.mailfactory import raw_mail
from tracker_mail_plugin.trust import authenticate

OWN_DKIM = Trust(require="dkim", verify=["dkim"])


@cache
def key(name):
    """A 1024-bit RSA key per name (the smallest dkimpy accepts), made once per run."""
    # Small for speed: these keys guard nothing.
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


class FakeDns:
    """TXT records for (selector, domain, key name) the test published; records every ask."""

    def __init__(self, *published):
        self.records = {f"{s}._domainkey.{d}.".encode(): key(n)[1] for s, d, n in published}
        self.asked = []

    def __call__(self, name, timeout=5):
        self.asked.append(name)
        return self.records.get(name)


def dns_for(*published):
    return FakeDns(*published)


def signed(sender="Admin <admin@example.com>", domain="example.com", name=None, **options):
    raw = raw_mail({"From": sender, "Subject": "reset my password"}, "please\r\n")
    pem = key(name or domain)[0]
    return dkim.sign(raw, b"sel", domain.encode(), pem, **options) + raw


def judge(raw, dns, trust=OWN_DKIM):
    return authenticate(parse_message(raw), raw, trust, dns)


def test_a_good_signature_aligned_with_from_authenticates():
    dns = dns_for(("sel", "example.com", "example.com"))
    result = judge(signed(), dns)
    assert (result.authenticated, result.method, result.source) == (
        True,
        "dkim",
        "own DKIM verification",
    )
    assert result.reason == "own DKIM verification: signature by example.com (s=sel)"
    assert dns.asked == [b"sel._domainkey.example.com."]


def test_a_changed_body_fails():
    raw = signed().replace(b"please", b"PLEASE")
    result = judge(raw, dns_for(("sel", "example.com", "example.com")))
    assert not result.authenticated
    assert result.reason == (
        "own DKIM verification: no valid signature aligned with example.com (no valid signature)"
    )


def test_a_key_the_domain_did_not_publish_fails():
    # Signed with the attacker's key; DNS publishes the domain's real one.
    raw = signed(name="attacker")
    assert not judge(raw, dns_for(("sel", "example.com", "example.com"))).authenticated


def test_a_valid_signature_of_another_domain_is_not_aligned():
    raw = signed(domain="evil.test")
    result = judge(raw, dns_for(("sel", "evil.test", "evil.test")))
    assert not result.authenticated
    assert result.reason.endswith("no valid signature aligned with example.com (evil.test)")


def test_a_signature_with_a_body_length_limit_proves_nothing():
    raw = signed(length=True) + b"appended by anyone\r\n"
    assert not judge(raw, dns_for(("sel", "example.com", "example.com"))).authenticated


def test_no_dns_answer_fails_without_error():
    assert not judge(signed(), dns_for()).authenticated


def test_a_stamped_pass_needs_no_lookup():
    raw = raw_mail([("Authentication-Results", "mx.example.com; dkim=pass header.d=example.com")])
    dns = dns_for()
    trust = Trust(authserv_id=["mx.example.com"], require="dkim", verify=["dkim"])
    assert judge(raw, dns, trust).authenticated
    assert dns.asked == []


# -- ARC: forwarded mail sealed by a trusted domain ------------------------------------------


def sealed(sealer, results):
    """What a forwarder (``sealer``) makes of a message: its own results, then an ARC set."""
    raw = raw_mail([("Authentication-Results", f"mx.{sealer}; {results}")], "forwarded\r\n")
    pem = key(sealer)[0]
    arc = dkim.arc_sign(raw, b"arc", sealer.encode(), pem, f"mx.{sealer}".encode())
    return b"".join(arc) + raw


ARC = Trust(require="dmarc", verify=["arc"], arc_sealers=["forwarder.test"])


def test_an_arc_chain_sealed_by_a_trusted_domain_carries_its_results():
    raw = sealed("forwarder.test", "dmarc=pass header.from=example.com")
    result = judge(raw, dns_for(("arc", "forwarder.test", "forwarder.test")), ARC)
    assert (result.authenticated, result.method) == (True, "dmarc")
    assert result.source == "ARC sealed by a trusted domain (mx.forwarder.test)"


def test_an_arc_chain_sealed_by_anyone_else_counts_for_nothing():
    raw = sealed("attacker.test", "dmarc=pass header.from=example.com")
    result = judge(raw, dns_for(("arc", "attacker.test", "attacker.test")), ARC)
    assert not result.authenticated


def test_a_trusted_seal_over_failing_results_fails():
    raw = sealed("forwarder.test", "dmarc=fail header.from=example.com")
    assert not judge(raw, dns_for(("arc", "forwarder.test", "forwarder.test")), ARC).authenticated


@pytest.mark.parametrize("garbage", [b"", b"not mail at all", b"DKIM-Signature: v=1; d=\r\n\r\nx"])
def test_mail_dkimpy_cannot_read_fails_quietly(garbage):
    message = parse_message(raw_mail({"From": "admin@example.com"}))
    result = authenticate(message, garbage, OWN_DKIM, dns_for())
    assert not result.authenticated
    assert result.reason.endswith("(no valid signature)")
