"""What a unit of work already knows, so that a batch of events does not ask again.

A batch of inbound events (`Facilitator.handle_all`) asks the same few questions of each
message: was the message it replies to a question, and who posted that message (and was it an
answer)? Asked one at a time, that is a query or two per message, and each query that reads
the ledger first writes the ledger entries queued so far. The memo answers them from what the
unit of work has written itself (the entries it queued, the questions it added) and from what
was loaded for the whole batch at its start (`preload_*`): for a preloaded key, "not found" is
an answer too.

It also keeps the people a batch has loaded (`ensure_people`, `preload`), as plain members.

It lives in the session's `info`, so it ends with the unit of work. A bulk UPDATE or DELETE
of a table, or any raw SQL, forgets what the memo holds of that table
(`engine._release_changed` calls `forget`), unless the statement keeps the memo current
itself and says so with the execution option `MEMO_KEPT`; so does a flush that changes a
person, an identity or a community (`engine._release_flushed`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from facilitator.domain.model import Member, Platform, Question

MEMO_KEPT = "facilitator_memo_kept"


@dataclass
class LedgerAuthor:
    """Who posted a message, as the ledger's `message_posted` entry for it records: the person,
    the account they wrote from and the event that recorded it."""

    person_id: int
    identity_id: int
    source_event_id: str


@dataclass
class Memo:
    # (community id, message ref) -> who posted it; None: known not to be in the ledger.
    authors: dict[tuple[int, str], LedgerAuthor | None] = field(default_factory=dict)
    # (community id, source event id, person id) of `answer_given` entries known to exist,
    # complete for every message in `authors`.
    answers: set[tuple[int, str, int]] = field(default_factory=set)
    # (community id, message id) -> the question asked by that message, or None.
    questions: dict[tuple[int, str], Question | None] = field(default_factory=dict)
    # (platform, user id) -> the member, for the people a batch has loaded (`ensure_people`,
    # `preload`); someone missing here may still exist.
    members: dict[tuple[Platform, str], Member] = field(default_factory=dict)
    # person id -> whether the ledger records them (not opted out of tracking), for the
    # same people.
    tracked: dict[int, bool] = field(default_factory=dict)
    knowledge_revision: int | None = None
    # (community id, source event id) of questions `questions.add_many` wrote ahead of their
    # own `add`: what this unit wrote, not a copy of the database, so never forgotten.
    asked: set[tuple[int, str]] = field(default_factory=set)

    def forget(self, table: str | None) -> None:
        """Drop what was memoised of `table` (None: of every table). The ledger's and the
        questions' rows go with their person, identity or community (ON DELETE CASCADE)."""
        if table in ("persons", "identities", "communities"):
            table = None
        if table is None:
            self.members.clear()
            self.tracked.clear()
        if table in (None, "ledger"):
            self.authors.clear()
            self.answers.clear()
        if table in (None, "questions"):
            self.questions.clear()
        if table in (None, "knowledge_state"):
            self.knowledge_revision = None


def memo_of(info: dict[str, Any]) -> Memo:
    memo = info.get("memo")
    if memo is None:
        memo = info["memo"] = Memo()
    assert isinstance(memo, Memo)
    return memo
