"""Which earlier messages of a run a message must wait for when several are handled at once.

With ``workers: N`` a mailbox run hands messages to N threads. Most messages are
independent: each new thread becomes its own issue. Some are not, and for those the order of
arrival is kept:

- a reply whose ``In-Reply-To``/``References`` name a message fetched earlier in this run
  waits until every earlier message of that conversation is done, so it finds the issue
  that message made (through the journal) and notes land in the order they were written;
- a reply to mail of an earlier run that the journal threads to an issue waits for nothing:
  that issue exists already;
- a message that names an issue any other way (``[#12]`` in the subject, a tracker's own
  notification Message-ID) waits for everything fetched before it: the issue it names may be
  one an earlier message of this run is creating;
- the same Message-ID twice (the same mail in the folder twice) is never handled by two
  threads at once, so it cannot become two issues;
- with ``unknown_user: create_user``, mail of one sender is handled in order, so two
  threads never make the same account.

Waiting is on futures submitted earlier; a thread pool takes work in submission order, so
whatever a message waits for is already running or done, and no wait can deadlock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future

from tracker_mail_plugin.mail.model import Message


class Ordering:
    """Conversation bookkeeping for one run; used from the thread that submits work.

    Args:
        by_sender: also keep each sender's mail in order (``unknown_user: create_user``).
        threaded: whether the journal already threads any of these Message-IDs to an issue.
    """

    def __init__(
        self,
        by_sender: bool = False,
        threaded: Callable[[Sequence[str]], bool] = lambda ids: False,
    ):
        self._by_sender = by_sender
        self._threaded = threaded
        self._conversation_of: dict[str, int] = {}  # Message-ID or "from:" key -> number
        self._latest: dict[int, Future[None]] = {}  # conversation -> its newest message
        self._everything: list[Future[None]] = []
        self._next = 0

    def waits_for(self, message: Message) -> list[Future[None]]:
        """The futures of earlier messages ``message`` must wait for (see the module doc)."""
        if self._may_name_a_new_issue(message):
            earlier = self._everything
        else:
            earlier = [self._latest[number] for number in self._conversations(message)]
        return [f for f in earlier if not f.done()]

    def _may_name_a_new_issue(self, message: Message) -> bool:
        """True when ``message`` may answer an issue this run's earlier mail is making."""
        referenced = _referenced_ids(message)
        if any(i in self._conversation_of for i in referenced):
            return False  # threaded to mail of this run: that conversation is waited for
        if not referenced and not message.reference_candidates:
            return False  # a new conversation
        return not (referenced and self._threaded(referenced))

    def add(self, message: Message, future: Future[None]) -> None:
        """Record ``message``, now submitted as ``future``, as the newest of its conversation."""
        found = self._conversations(message)
        number = min(found) if found else self._new_number()
        for key in self._keys(message):
            self._conversation_of[key] = number
        for other in found - {number}:  # a message joining two conversations merges them
            for key, value in self._conversation_of.items():
                if value == other:
                    self._conversation_of[key] = number
            self._latest.pop(other, None)
        self._latest[number] = future
        self._everything = [f for f in self._everything if not f.done()]
        self._everything.append(future)

    def _conversations(self, message: Message) -> set[int]:
        return {self._conversation_of[k] for k in self._keys(message) if k in self._conversation_of}

    def _keys(self, message: Message) -> Iterable[str]:
        yield message.message_id
        yield from _referenced_ids(message)
        if self._by_sender and message.from_ is not None:
            yield f"from:{message.from_.address.lower()}"

    def _new_number(self) -> int:
        self._next += 1
        return self._next


def _referenced_ids(message: Message) -> list[str]:
    return [i for i in (message.in_reply_to, *message.references) if i]
