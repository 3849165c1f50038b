"""The trust gate: reading Authentication-Results, whose word counts, alignment, the decision."""

import pytest

from tracker_mail_plugin.config.loader import ConfigFileError, load_config_text
from tracker_mail_plugin.config.model import Policies, Trust
from tracker_mail_plugin.mail import parse_message
from tracker_mail_plugin.rules.conditions import SenderFacts
from tracker_mail_plugin.rules.decide import Facts, decide
from tracker_mail_plugin.rules.model import Rule
from tracker_mail_plugin.testing.mailfactory import raw_mail
from tracker_mail_plugin.trust import (
    MAX_HEADER_CHARS,
    aligned,
    authenticate,
    parse_authentication_results,
)

ADMIN = "Admin <admin@example.com>"
MX = Trust(authserv_id=["mx.example.com"], require="dmarc")
FORGED = "mx.example.com; spf=fail smtp.mailfrom=evil.test; dkim=fail header.d=evil.test; dmarc=fail header.from=example.com"
GOOD = "mx.example.com; spf=pass smtp.mailfrom=bounce@example.com; dkim=pass header.d=example.com; dmarc=pass header.from=example.com"


def message(*results, sender=ADMIN, extra=()):
    headers = [("Authentication-Results", r) for r in results]
    raw = raw_mail([*headers, ("From", sender), *extra], "please reset")
    return parse_message(raw), raw


def verdict(*results, trust=MX, **kwargs):
    msg, raw = message(*results, **kwargs)
    return authenticate(msg, raw, trust)


# -- reading the header ----------------------------------------------------------------------


def test_reads_a_real_header_with_comments_versions_and_base64():
    found = parse_authentication_results(
        "mx.google.com 1;\r\n dkim=pass header.i=@example.com header.s=s1 header.b=Ab/c+d=;\r\n"
        " spf=pass (google.com: domain of x@example.com designates 1.2.3.4; as permitted) "
        "smtp.mailfrom=x@example.com;\r\n dmarc=pass (p=REJECT sp=REJECT dis=NONE) "
        'header.from=example.com; x-other = "quoted; value" reason="a \\"b\\""'
    )
    assert found is not None
    assert found.authserv_id == "mx.google.com"
    assert [(r.method, r.result) for r in found.results] == [
        ("dkim", "pass"),
        ("spf", "pass"),
        ("dmarc", "pass"),
        ("x-other", "quoted; value"),
    ]
    assert found.results[0].get("header.b") == "Ab/c+d="
    assert found.results[1].get("smtp.mailfrom") == "x@example.com"
    assert found.results[2].get("header.from") == "example.com"


def test_no_result_and_nonsense():
    none = parse_authentication_results("mx.example.com; none")
    assert none is not None
    assert (none.authserv_id, none.results) == ("mx.example.com", ())
    assert parse_authentication_results("") is None
    assert parse_authentication_results("=pass; dkim=pass") is None


def test_a_one_megabyte_header_is_not_read_but_still_known_as_its_servers():
    huge = "mx.example.com; " + "dkim=pass header.d=example.com (" * 40_000 + ")" * 40_000
    assert len(huge) > 1_000_000
    found = parse_authentication_results(huge)
    assert found is not None
    assert (found.authserv_id, found.results, found.oversized) == ("mx.example.com", (), True)
    result = verdict(huge)
    assert not result.authenticated
    assert f"over {MAX_HEADER_CHARS} characters" in result.reason


def test_hostile_text_under_the_cap_is_read_in_one_pass():
    nasty = "mx.example.com; dmarc=pass " + '("\\' * 5000 + "\\" * 100 + '"' * 300
    found = parse_authentication_results(nasty[:MAX_HEADER_CHARS])
    assert found is not None
    assert [(r.method, r.result) for r in found.results] == [("dmarc", "pass")]


# -- whose word counts -----------------------------------------------------------------------


def test_a_forged_admin_with_everything_failing_is_not_authenticated():
    result = verdict(FORGED)
    assert (result.authenticated, result.source) == (False, "mx.example.com")
    assert result.reason == "mx.example.com: no dmarc=pass (dmarc=fail header.from=example.com)"


def test_results_from_a_server_we_do_not_trust_are_ignored():
    result = verdict(GOOD.replace("mx.example.com", "mx.attacker.test"))
    assert not result.authenticated
    assert result.reason == "no Authentication-Results from a trusted server (mx.example.com)"


def test_the_topmost_trusted_header_counts_and_those_below_are_ignored():
    # Below: what the sender wrote into the mail before our server added its own on top.
    assert not verdict(FORGED, GOOD).authenticated
    assert verdict(GOOD, FORGED).authenticated
    # A stranger's header above ours changes nothing either way.
    stranger = GOOD.replace("mx.example.com", "relay.attacker.test")
    assert not verdict(stranger, FORGED).authenticated
    trusted = verdict(stranger.replace("pass", "fail"), GOOD)
    assert (trusted.authenticated, trusted.method) == (True, "dmarc")


def test_authserv_ids_compare_without_case():
    trust = Trust(authserv_id=["MX.Example.COM"], require="dmarc")
    assert verdict(GOOD.replace("mx.example.com", "Mx.EXAMPLE.com"), trust=trust).authenticated


def test_dmarc_pass_for_another_from_domain_proves_nothing():
    assert not verdict(
        GOOD.replace("header.from=example.com", "header.from=evil.test")
    ).authenticated


def test_two_from_addresses_prove_nothing():
    result = verdict(GOOD, extra=[("From", "evil@evil.test")])
    assert not result.authenticated
    assert "not exactly one From" in result.reason


@pytest.mark.parametrize(
    "sender",
    [
        '"Admin, The" <admin@example.com>',  # Outlook's "Last, First"
        "=?utf-8?q?Admin=2C_The?= <admin@example.com>",  # the same, encoded
        "The Admin (IT, first floor) <admin@example.com>",  # a comment with a comma
    ],
)
def test_a_comma_in_the_display_name_is_still_one_from_address(sender):
    result = verdict(GOOD, sender=sender)
    assert (result.authenticated, result.method) == (True, "dmarc"), result.reason


@pytest.mark.parametrize(
    "sender",
    [
        '"Admin, The" <admin@example.com>, evil@evil.test',
        "admin@example.com, evil@evil.test",
        # A display name that decodes to another address: which one a reader sees is unclear.
        "=?utf-8?q?admin=40example.com=2C?= <admin@example.com>",
    ],
)
def test_two_addresses_in_one_from_prove_nothing(sender):
    result = verdict(GOOD, sender=sender)
    assert not result.authenticated
    assert "not exactly one From" in result.reason


@pytest.mark.parametrize(
    "sender",
    [
        # The mailbox is at evil.test (a quoted local part); only its quoted text reads
        # as admin@example.com, and a stamp without header.from cannot tell them apart.
        '"admin@example.com"@evil.test',
        'Admin <"admin@example.com"@evil.test>',
        "admin@example.com@evil.test",
    ],
)
def test_an_address_salvaged_from_an_unreadable_from_proves_nothing(sender):
    result = verdict("mx.example.com; dmarc=pass", sender=sender)
    assert not result.authenticated
    assert "cannot be read as one address" in result.reason


# -- alignment -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signer", "sender_domain", "expected"),
    [
        ("example.com", "example.com", True),
        ("EXAMPLE.com.", "example.com", True),
        ("example.com", "support.example.com", True),  # a parent vouches for its subdomain
        ("mail.example.com", "example.com", False),  # not the other way without a PSL
        ("evil.test", "example.com", False),
        ("ample.com", "example.com", False),  # a suffix, not a parent
        ("com", "example.com", False),
        ("", "example.com", False),
        ("xn--bcher-kva.example", "bücher.example", True),
    ],
)
def test_alignment(signer, sender_domain, expected):
    assert aligned(signer, sender_domain) is expected


def test_require_dkim_needs_an_aligned_passing_signature():
    dkim = Trust(authserv_id=["mx.example.com"], require="dkim")
    unaligned = "mx.example.com; dkim=pass header.d=evil.test; dmarc=pass header.from=example.com"
    assert not verdict(unaligned, trust=dkim).authenticated
    result = verdict("mx.example.com; dkim=pass header.i=@example.com", trust=dkim)
    assert (result.authenticated, result.method) == (True, "dkim")
    subdomain = verdict(GOOD, trust=dkim, sender="Bob <bob@support.example.com>")
    assert subdomain.authenticated


def test_require_spf_needs_an_aligned_envelope_sender():
    spf = Trust(authserv_id=["mx.example.com"], require="spf")
    assert verdict(GOOD, trust=spf).authenticated
    # SPF passes for the attacker's own envelope domain: says nothing about From.
    assert not verdict(
        "mx.example.com; spf=pass smtp.mailfrom=x@evil.test", trust=spf
    ).authenticated


# -- the decision ----------------------------------------------------------------------------

RULES = [Rule.model_validate({"then": [{"create_issue": {"project": "it"}}]})]


def decision(
    results, *, unauthenticated="as_unknown", unknown_user="as_rule_owner", require="dmarc"
):
    trust = Trust(authserv_id=["mx.example.com"], require=require, unauthenticated=unauthenticated)
    policies = Policies(unknown_user=unknown_user, trust=trust)
    msg, raw = message(*results)
    facts = Facts(sender=SenderFacts(known=True), authentication=authenticate(msg, raw, trust))
    return decide(msg, RULES, policies, facts)


def test_an_unauthenticated_known_sender_is_handled_as_unknown():
    made = decision([FORGED])
    assert (made.outcome, made.author) == ("act", "rule_owner")
    assert made.trust_effect == "handled as unknown: unknown_user applies (created as rule owner)"
    assert any("sender not authenticated" in note for note in made.notes)
    rejected = decision([FORGED], unknown_user="reject")
    assert (rejected.outcome, rejected.skipped_reason) == (
        "unprocessed",
        "unknown sender; policy unknown_user: reject",
    )


def test_unauthenticated_reject_refuses_with_the_reason():
    made = decision([FORGED], unauthenticated="reject")
    assert made.outcome == "unprocessed"
    assert made.skipped_reason == (
        "sender not authenticated (mx.example.com: no dmarc=pass "
        "(dmarc=fail header.from=example.com)); trust: unauthenticated: reject"
    )
    assert made.trust_effect == "refused: trust: unauthenticated: reject"


def test_an_authenticated_sender_is_written_as_themselves():
    made = decision([GOOD], unauthenticated="reject")
    assert (made.outcome, made.author) == ("act", "sender")
    assert made.authentication is not None
    assert made.authentication.method == "dmarc"


def test_require_none_keeps_the_from_address_deciding():
    made = decision([FORGED], require="none", unauthenticated="reject")
    assert (made.outcome, made.author) == ("act", "sender")
    assert made.trust_effect == "none: trust: require: none, the From address alone decides"


def test_create_user_never_makes_or_reuses_an_account_for_an_unproven_address():
    made = decision([FORGED], unknown_user="create_user")
    assert (made.outcome, made.author) == ("act", "rule_owner")
    assert any("not a new user" in note for note in made.notes)


def test_automated_mail_is_still_dropped_before_the_trust_refusal():
    trust = Trust(authserv_id=["mx.example.com"], require="dmarc", unauthenticated="reject")
    msg, raw = message(FORGED, extra=[("Auto-Submitted", "auto-replied")])
    facts = Facts(authentication=authenticate(msg, raw, trust))
    assert decide(msg, RULES, Policies(trust=trust), facts).outcome == "drop"


# -- configuration ---------------------------------------------------------------------------

CONFIG = """\
version: 1
trackers:
  rec: {{adapter: recording}}
defaults:
  trust: {trust}
mailboxes:
  inbox: {{protocol: maildir, path: /unused, tracker: rec}}
rules:
  - then: [{{create_issue: {{project: it}}}}]
"""


def test_the_interface_shape_from_the_issue_loads():
    text = CONFIG.format(
        trust="{authserv_id: [mx.example.com], require: dmarc, unauthenticated: as_unknown}"
    )
    loaded = load_config_text(text)
    assert loaded.policies("inbox").trust == Trust(
        authserv_id=["mx.example.com"], require="dmarc", unauthenticated="as_unknown"
    )
    assert loaded.warnings == ()


@pytest.mark.parametrize(
    ("trust", "expected"),
    [
        ("{require: dmarc}", "require: dmarc needs a source of results"),
        ("{verify: [dkim], require: dmarc}", "our own verification checks DKIM only"),
        ("{authserv_id: mx, verify: [arc]}", "verify: [arc] needs arc_sealers"),
        ("{require: dmark}", "should be 'dmarc', 'dkim', 'spf' or 'none'"),
        ("{authserv: mx}", "unknown trust setting; did you mean 'authserv_id'?"),
    ],
)
def test_trust_settings_that_cannot_work_are_refused(trust, expected):
    with pytest.raises(ConfigFileError) as exc:
        load_config_text(CONFIG.format(trust=trust))
    assert any(expected in str(p) for p in exc.value.problems), exc.value.problems
