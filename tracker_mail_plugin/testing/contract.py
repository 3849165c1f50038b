"""``AdapterContract``: the conformance tests every tracker adapter's test suite inherits.

Subclass it in a ``Test…`` class, set ``adapter_class``, and implement the hooks::

    class TestRedmineContract(AdapterContract):
        adapter_class = RedmineAdapter

        def valid_config(self): return {"url": URL, "api_key": Secret(value=KEY)}
        def secret_values(self): return [KEY]
        def failing(self, failure): ...  # a context manager yielding a broken adapter

        def lose_answer(self, adapter, new): ...  # the write happens, its answer is lost

The hooks are written so that both kinds of adapter test fit. One that fakes HTTP with
``responses`` registers the answers in the ``prime_*`` hooks and makes ``failing`` register
a 500, a 401 or a ``ConnectTimeout``. One that runs against a real server leaves the
``prime_*`` hooks alone, points ``failing``'s adapter at
:func:`~tracker_mail_plugin.testing.failing.failing_server` and ``lose_answer``'s at
:func:`~tracker_mail_plugin.testing.failing.answer_lost_proxy`.
"""

# Plain asserts are how pytest reports a failed expectation; this module is test code.
# ruff: noqa: S101

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ClassVar, Generic, cast

import pytest
from pydantic import ValidationError
from typing_extensions import TypeVar

from tracker_mail_plugin.adapter import (
    CAPABILITY_METHODS,
    Capability,
    CommentRef,
    IssueRef,
    IssueState,
    NewComment,
    NewIssue,
    Permission,
    TrackerAdapter,
    Upload,
    UserRef,
)
from tracker_mail_plugin.errors import (
    ConfigurationError,
    RetryLater,
    TrackerMailError,
    UnknownOutcome,
    UnsupportedAction,
)
from tracker_mail_plugin.journal import idempotency_key
from tracker_mail_plugin.mail import ReferenceCandidate, RefKind, parse_message
from tracker_mail_plugin.registry import adapter_class_problems
from tracker_mail_plugin.testing.failing import TrackerFailure

# The adapter class under test, so that the hooks of ``AdapterContract[MyAdapter]`` take and
# give ``MyAdapter`` (its own attributes type-check in them); plain ``AdapterContract`` is
# ``AdapterContract[TrackerAdapter]``.
AdapterT = TypeVar("AdapterT", bound=TrackerAdapter, default=TrackerAdapter)

_EXPECTED: dict[tuple[TrackerFailure, str], type[TrackerMailError]] = {
    (TrackerFailure.SERVER_ERROR, "read"): RetryLater,
    (TrackerFailure.TIMEOUT, "read"): RetryLater,
    (TrackerFailure.UNAUTHORIZED, "read"): ConfigurationError,
    (TrackerFailure.SERVER_ERROR, "write"): UnknownOutcome,
    (TrackerFailure.TIMEOUT, "write"): UnknownOutcome,
    (TrackerFailure.UNAUTHORIZED, "write"): ConfigurationError,
}


@contextmanager
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if the block opens a network connection or resolves a name."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"touched the network: {args!r}")

    with monkeypatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)
        yield


@contextmanager
def every_record(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Capture every log record of the block, at DEBUG, in ``caplog``.

    A command run earlier in the same test session (``tracker_mail_plugin.cli.main``) leaves
    the ``tracker_mail`` logger at WARNING and not propagating: ``caplog`` alone would then
    see nothing, and a test looking for a leaked secret in the log would pass on no log.
    """
    core = logging.getLogger("tracker_mail")
    propagated = core.propagate
    core.propagate = True
    try:
        with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, core.name):
            yield
    finally:
        core.propagate = propagated


class AdapterContract(Generic[AdapterT]):
    """The behaviour the core relies on, checked for one adapter class.

    Subclass ``AdapterContract[MyAdapter]`` to have the hooks typed with your class (the
    ``adapter`` the tests and hooks get is built by ``make_adapter``).

    Attributes:
        adapter_class: the adapter under test.
        project: a project the tracker under test has, where issues may be created.
    """

    adapter_class: ClassVar[type[TrackerAdapter]]
    project: ClassVar[str] = "contract"

    # -- hooks every adapter's tests implement ----------------------------------------------

    def valid_config(self) -> dict[str, Any]:
        """Options that make a working adapter (secrets given as the config expects them)."""
        raise NotImplementedError("AdapterContract subclasses implement valid_config()")

    def secret_values(self) -> list[str]:
        """The plain secret values inside ``valid_config()``, which must never be shown."""
        raise NotImplementedError("AdapterContract subclasses implement secret_values()")

    def failing(self, failure: TrackerFailure) -> AbstractContextManager[AdapterT]:
        """A context manager yielding an adapter whose tracker fails as ``failure`` says."""
        raise NotImplementedError("AdapterContract subclasses implement failing()")

    def lose_answer(self, adapter: AdapterT, new: NewIssue) -> AbstractContextManager[AdapterT]:
        """Yield an adapter whose tracker creates ``new`` but whose answer never arrives.

        ``create_issue(new)`` on it must raise ``UnknownOutcome``. On exit, ``adapter``'s
        tracker must answer ``find_by_key(new.idempotency_key)`` with the issue it made (a
        fake tracker is primed here). Against a real server, yield an adapter whose URL is
        :func:`~tracker_mail_plugin.testing.failing.answer_lost_proxy` in front of it; with
        ``responses``, register a 502 for the create, then the search.
        """
        raise NotImplementedError(
            "AdapterContract subclasses implement lose_answer(adapter, new): yield an adapter "
            "whose create_issue(new) reaches the tracker but whose answer is lost"
        )

    # -- hooks with defaults ---------------------------------------------------------------

    def make_adapter(self) -> AdapterT:
        """A configured adapter for one test (by default from ``valid_config()``)."""
        model = self.adapter_class.config_model
        return cast(AdapterT, self.adapter_class(model.model_validate(self.valid_config())))

    def wrong_types(self) -> dict[str, object]:
        """Option name to a value of the wrong type (by default: a mapping for each scalar)."""
        scalars = (str, int, float, bool)
        return {
            key: {"wrong": ["type"]}
            for key, value in self.valid_config().items()
            if isinstance(value, scalars)
        }

    def prime_check(self, adapter: AdapterT) -> None:
        """Make the fake tracker answer ``check()`` (nothing to do for a real one)."""

    def prime_create(self, adapter: AdapterT, new: NewIssue) -> None:
        """Make the fake tracker accept ``create_issue(new)``."""

    def prime_find(self, adapter: AdapterT, key: str, found: IssueRef | None) -> None:
        """Make the fake tracker answer ``find_by_key(key)`` with ``found``."""

    def prime_comment(self, adapter: AdapterT, issue: IssueRef, new: NewComment) -> None:
        """Make the fake tracker accept ``add_comment(issue, new)``."""

    def prime_find_comment(self, adapter: AdapterT, key: str, found: CommentRef) -> None:
        """Make the fake tracker answer ``find_by_key(key, issue=found.issue)`` with ``found``."""

    def prime_get_issue(self, adapter: AdapterT, ref: IssueRef) -> None:
        """Make the fake tracker answer ``get_issue(ref)`` with the open issue ``ref``."""

    def prime_no_project(self, adapter: AdapterT, project: str) -> None:
        """Make the fake tracker answer that ``project`` does not exist."""

    def prime_member(self, adapter: AdapterT, member: UserRef) -> None:
        """Make the fake tracker answer that ``member`` may create issues in ``project``."""

    def project_member(self, adapter: AdapterT) -> UserRef | None:
        """A user allowed to create issues in ``project`` (by default: nobody known).

        ``can`` must say yes for this user (the test is skipped, saying so, while this
        returns None); the unknown-project scenario asks about the same user, so that
        ``False`` there means "no such project" rather than "no such user".
        """
        return None

    def new_issue(self, key: str) -> NewIssue:
        """The issue the tests create in ``project``."""
        return NewIssue(
            project=self.project,
            title="tracker-mail contract test",
            text="Created by the tracker-mail AdapterContract tests.",
            idempotency_key=key,
        )

    def reference_subject(self, ref: IssueRef) -> str:
        """A reply subject naming ``ref`` the way the tracker's notifications do."""
        shown = f"[#{ref.key}]" if ref.key.isdigit() else ref.key
        return f"Re: {shown} tracker-mail contract test"

    @pytest.fixture
    def adapter(self) -> AdapterT:
        """The adapter under test."""
        return self.make_adapter()

    # -- declaration and configuration -----------------------------------------------------

    def test_class_declares_a_loadable_adapter(self) -> None:
        """Name, config model, capabilities and every abstract method are in place."""
        assert adapter_class_problems(self.adapter_class.name, self.adapter_class) == []

    def test_valid_config_builds_an_adapter_without_network(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The constructor only stores its config: ``check`` and ``explain`` build adapters."""
        model = self.adapter_class.config_model
        config = model.model_validate(self.valid_config())
        with no_network(monkeypatch):
            adapter = self.adapter_class(config)
        assert adapter.config == config

    def test_missing_required_options_are_named(self) -> None:
        """Each required option, left out, is reported by name."""
        model = self.adapter_class.config_model
        required = [f.alias or n for n, f in model.model_fields.items() if f.is_required()]
        for key in required:
            config = {k: v for k, v in self.valid_config().items() if k != key}
            with pytest.raises(ValidationError) as caught:
                model.model_validate(config)
            assert (key,) in [error["loc"][:1] for error in caught.value.errors()]
        if not required:
            assert isinstance(model.model_validate({}), model)

    def test_wrong_types_are_named(self) -> None:
        """A value of the wrong type is reported with the option's name."""
        self._one_wrong_type()
        for key, value in self.wrong_types().items():
            with pytest.raises(ValidationError) as caught:
                self.adapter_class.config_model.model_validate(self.valid_config() | {key: value})
            assert (key,) in [error["loc"][:1] for error in caught.value.errors()]

    def _one_wrong_type(self) -> tuple[str, object]:
        wrong = self.wrong_types()
        assert wrong, (
            "wrong_types() must give at least one option with a wrong value; the default "
            "finds none when valid_config() has no str, int, float or bool option: override it"
        )
        return next(iter(wrong.items()))

    # -- secrets ---------------------------------------------------------------------------

    def test_secrets_never_shown(self, adapter: AdapterT, caplog: pytest.LogCaptureFixture) -> None:
        """No secret in the adapter's or config's text, in check's logs, or in errors."""
        config = adapter.config
        shown = [repr(adapter), str(adapter), repr(config), str(config)]
        shown.append(config.model_dump_json())
        self.prime_check(adapter)
        with every_record(caplog):
            shown.append(repr(adapter.check()))
        shown.append(caplog.text)
        shown += [record.getMessage() for record in caplog.records]
        key, value = self._one_wrong_type()
        with pytest.raises(ValidationError) as caught:
            type(config).model_validate(self.valid_config() | {key: value})
        shown.append(str(caught.value))
        self._assert_no_secret(shown)

    def _assert_no_secret(self, texts: list[str]) -> None:
        for secret in self.secret_values():
            assert secret, "secret_values() must not contain empty strings"
            leaks = [text for text in texts if secret in text]
            assert not leaks, f"a secret value is shown in: {leaks[0][:200]!r}"

    # -- behaviour -------------------------------------------------------------------------

    def test_check_reports_a_working_tracker(self, adapter: AdapterT) -> None:
        """``check`` succeeds against a working tracker and reports facts as text."""
        self.prime_check(adapter)
        report = adapter.check()
        assert report.ok, report.problems
        assert all(isinstance(v, str) for v in report.facts.values())

    @pytest.mark.parametrize("failure", list(TrackerFailure))
    @pytest.mark.parametrize("call", ["read", "write"])
    def test_failures_become_the_right_errors(self, failure: TrackerFailure, call: str) -> None:
        """500, timeouts and 401 map onto the error tree (see TrackerFailure)."""
        expected = _EXPECTED[(failure, call)]
        attempt: Callable[[AdapterT], object] = (
            (lambda a: a.find_user("contract-nobody@example.com"))
            if call == "read"
            else (lambda a: a.create_issue(self.new_issue(_fresh_key())))
        )
        with self.failing(failure) as broken, pytest.raises(TrackerMailError) as caught:
            attempt(broken)
        assert isinstance(caught.value, expected), f"{failure} on a {call}: {caught.value!r}"
        self._assert_no_secret([str(caught.value), repr(caught.value)])

    def test_capabilities_are_declared_honestly(self, adapter: AdapterT) -> None:
        """Declared optional methods are implemented; undeclared ones raise UnsupportedAction."""
        calls: dict[Capability, Callable[[], object]] = {
            Capability.ATTACH_TO_PROJECT: lambda: adapter.attach_to_project(
                self.project, Upload.from_bytes("a.txt", b"a"), _fresh_key()
            ),
            Capability.CREATE_USER: lambda: adapter.create_user(
                "contract-new@example.com", "Contract", self.project
            ),
            Capability.REOPEN: lambda: adapter.reopen_issue(IssueRef(adapter.name, "1")),
        }
        for capability, method in CAPABILITY_METHODS.items():
            implemented = getattr(type(adapter), method) is not getattr(TrackerAdapter, method)
            if adapter.supports(capability):
                assert implemented, f"{capability} is declared but {method} is not implemented"
            else:
                with pytest.raises(UnsupportedAction):
                    calls[capability]()

    def test_created_issue_is_found_by_its_key(self, adapter: AdapterT) -> None:
        """``find_by_key`` finds what ``create_issue`` made with the same key."""
        key = _fresh_key()
        new = self.new_issue(key)
        self.prime_create(adapter, new)
        ref = adapter.create_issue(new)
        assert ref.adapter == adapter.name
        self.prime_find(adapter, key, ref)
        assert adapter.find_by_key(key) == ref

    def test_comment_is_found_by_its_key_on_its_issue(self, adapter: AdapterT) -> None:
        """``find_by_key(key, issue=…)`` finds what ``add_comment`` wrote with that key."""
        ref = self._created(adapter)
        key = _fresh_key()
        new = NewComment("A reply from the tracker-mail contract tests.", key)
        self.prime_comment(adapter, ref, new)
        comment = adapter.add_comment(ref, new)
        assert comment.issue.key == ref.key, f"{comment} is not on {ref}"
        self.prime_find_comment(adapter, key, comment)
        found = adapter.find_by_key(key, issue=ref)
        assert isinstance(found, CommentRef), f"{key} found {found}"
        assert found.issue == comment.issue, f"{found} is not on {comment.issue}"
        # add_comment may leave the id unread (""); find_by_key must give it.
        assert found.id, f"find_by_key gave no id for {key}"
        assert found.id == (comment.id or found.id), f"{found} is not {comment}"

    def test_created_issue_is_read_back(self, adapter: AdapterT) -> None:
        """``get_issue`` of a created issue names it, open, in the project it was made in."""
        ref = self._created(adapter)
        self.prime_get_issue(adapter, ref)
        state = adapter.get_issue(ref)
        assert state is not None, f"get_issue({ref}) found nothing"
        assert (state.ref.key, state.closed) == (ref.key, False)
        assert isinstance(state, IssueState), state
        assert state.project, state

    def test_unknown_project_is_not_permitted(self, adapter: AdapterT) -> None:
        """``can`` answers False, not an error, for a project the tracker does not have."""
        project = f"tm-contract-none-{uuid.uuid4().hex[:8]}"
        self.prime_no_project(adapter, project)
        assert adapter.can(self.project_member(adapter), Permission.CREATE_ISSUE, project) is False

    def test_a_project_member_may_create_issues(self, adapter: AdapterT) -> None:
        """``can`` answers True for a user the tracker lets create issues in ``project``.

        An adapter that always answered False would pass every other check here, and then
        leave every sender's mail unprocessed.
        """
        member = self.project_member(adapter)
        if member is None:
            pytest.skip(
                "project_member() names nobody: return a user who may create issues in "
                "`project` (and prime the fake in prime_member) to check that can() says yes"
            )
        self.prime_member(adapter, member)
        assert adapter.can(member, Permission.CREATE_ISSUE, self.project) is True, member

    def test_a_create_whose_answer_was_lost_is_found_on_retry(self, adapter: AdapterT) -> None:
        """A create whose answer was lost raises UnknownOutcome; the look-up finds it.

        The core looks a write up by its key before retrying it, so the issue is made once.
        """
        new = self.new_issue(_fresh_key())
        with self.lose_answer(adapter, new) as lossy, pytest.raises(UnknownOutcome):
            lossy.create_issue(new)
        found = adapter.find_by_key(new.idempotency_key)
        assert isinstance(found, IssueRef), f"the lost create was not found: {found!r}"
        assert found.adapter == adapter.name

    def _created(self, adapter: AdapterT) -> IssueRef:
        new = self.new_issue(_fresh_key())
        self.prime_create(adapter, new)
        return adapter.create_issue(new)

    def test_unknown_key_is_not_found(self, adapter: AdapterT) -> None:
        """A key nothing was created with finds nothing."""
        key = _fresh_key()
        self.prime_find(adapter, key, None)
        assert adapter.find_by_key(key) is None

    def test_reference_round_trip(self, adapter: AdapterT, monkeypatch: pytest.MonkeyPatch) -> None:
        """A created issue, written in a reply subject, is parsed back to the same issue."""
        new = self.new_issue(_fresh_key())
        self.prime_create(adapter, new)
        ref = adapter.create_issue(new)
        subject = self.reference_subject(ref)
        raw = (
            f"From: a@example.com\r\nTo: b@example.com\r\nSubject: {subject}\r\n"
            "Message-ID: <contract@example.com>\r\n\r\nA reply.\r\n"
        ).encode()
        candidates = parse_message(raw).reference_candidates
        with no_network(monkeypatch):  # parse_reference is pure
            parsed = [adapter.parse_reference(candidate) for candidate in candidates]
        assert ref in parsed, f"{subject!r} gave {parsed}"

    def test_foreign_message_ids_are_not_references(self, adapter: AdapterT) -> None:
        """A Message-ID that is not this tracker's names no issue."""
        candidate = ReferenceCandidate(
            kind=RefKind.MESSAGE_ID, source="in_reply_to", text="CAF=x1y2z3@mail.example.org"
        )
        assert adapter.parse_reference(candidate) is None


def _fresh_key() -> str:
    return idempotency_key(f"contract-{uuid.uuid4()}@example.com", 0)
