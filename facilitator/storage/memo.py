"""What a unit of work already knows of the database, so that it need not ask again.

A batch of inbound events asks the same few things of each event: who is this person (and
their linked accounts, their grants), which community is this chat, are they a member, was
the message they reply to a question, and who posted it. Asked one at a time, each is a query
or two per event. `prefetch` (`storage/prefetch.py`) asks them once for the whole batch, and
the repositories' ordinary methods then answer from here.

The memo is made of parts, one per kind of answer (`MemoPart`). Each part copies rows of a
few tables, named by their mapped classes (`sources`), and forgets what it holds when those
tables change by other means than the repository that keeps it current: the session's
listeners (`engine.session_factory`) call `Memo.forget` with the tables a statement or a
flush may have changed (`changed_tables`: a delete also changes the rows that refer to the
deleted ones through foreign keys with ON DELETE). A statement whose repository keeps the
memo current itself says so with the execution option `MEMO_KEPT`.

Where a part says so, a key held with None is an answer too: "not in the database".

It lives in the session's `info`, so it ends with the unit of work.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from sqlalchemy import Table

from facilitator.domain.model import Community, Member, Membership, Platform, Question, RoleGrant
from facilitator.storage.models import (
    CommunityRow,
    IdentityRow,
    LedgerRow,
    MembershipRow,
    PersonRow,
    QuestionRow,
    RoleGrantRow,
)

MEMO_KEPT = "facilitator_memo_kept"

P = TypeVar("P", bound="MemoPart")


class MemoPart:
    """One kind of answer the memo keeps. `sources`: the mapped classes whose rows it copies.
    A part of `live_rows` holds ORM rows, which the session keeps current through flushes: only
    a bulk statement makes them stale."""

    sources: ClassVar[tuple[type[Any], ...]] = ()
    live_rows: ClassVar[bool] = False
    tables: ClassVar[frozenset[Table]] = frozenset()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.tables = frozenset(source.__table__ for source in cls.sources)

    def clear(self) -> None:
        raise NotImplementedError


class Memo:
    def __init__(self) -> None:
        self._parts: dict[type[MemoPart], MemoPart] = {}

    def part(self, kind: type[P]) -> P:
        """The part of this kind, made empty on first use."""
        found = self._parts.get(kind)
        if found is None:
            found = self._parts[kind] = kind()
        assert isinstance(found, kind)
        return found

    def forget(self, tables: Collection[Table] | None, *, live_rows_current: bool = False) -> None:
        """Drop what was copied from `tables` (None: from any table). After a flush or an
        INSERT the ORM rows held are current, and parts of live rows are kept."""
        for kind, part in self._parts.items():
            if live_rows_current and kind.live_rows:
                continue
            if tables is None or not kind.tables.isdisjoint(tables):
                part.clear()


def memo_of(info: dict[str, Any]) -> Memo:
    memo = info.get("memo")
    if memo is None:
        memo = info["memo"] = Memo()
    assert isinstance(memo, Memo)
    return memo


def changed_tables(table: Table, *, deleted: bool) -> frozenset[Table]:
    """The tables whose rows change when rows of `table` are written (itself) or deleted
    (itself and, through every foreign key with ON DELETE CASCADE or SET NULL, the tables
    that refer to it, and so on)."""
    tables = table.metadata.tables
    # A module that defines more tables may be imported later: the count is in the key.
    key = (table, deleted, len(tables))
    found = _CHANGED.get(key)
    if found is None:
        table = tables.get(table.key, table)  # the table, not an ORM statement's alias of it
        reached = {table}
        waiting = [table] if deleted else []
        while waiting:
            parent = waiting.pop()
            for child in tables.values():
                if child in reached:
                    continue
                if any(
                    fk.ondelete is not None and fk.column.table is parent
                    for fk in child.foreign_keys
                ):
                    reached.add(child)
                    waiting.append(child)
        found = _CHANGED[key] = frozenset(reached)
    return found


_CHANGED: dict[tuple[Table, bool, int], frozenset[Table]] = {}


# -- the engine's parts ----------------------------------------------------------------------


@dataclass
class People(MemoPart):
    """People as batches load them (`SqlMemberRepository.ensure_people`, `preload`): the
    member behind each (platform, user id), every identity of each person in identity order
    (linked accounts), and whether the ledger records them (not opted out of tracking). Someone
    missing here may still exist."""

    sources = (PersonRow, IdentityRow)

    members: dict[tuple[Platform, str], Member] = field(default_factory=dict)
    linked: dict[int, list[Member]] = field(default_factory=dict)
    tracked: dict[int, bool] = field(default_factory=dict)

    def clear(self) -> None:
        self.members.clear()
        self.linked.clear()
        self.tracked.clear()

    def remember(self, members: Iterable[Member], linked: dict[int, list[Member]]) -> None:
        for member in members:
            self.members[(member.platform, member.platform_user_id)] = member
            self.tracked[member.person_id] = not member.opted_out_tracking
        self.linked.update(linked)


@dataclass
class IdentityRows(MemoPart):
    """Identity rows this unit of work has loaded, by (platform, user id): `ensure` of a
    person seen by an earlier event needs no query."""

    sources = (IdentityRow,)

    live_rows: ClassVar[bool] = True
    rows: dict[tuple[Platform, str], IdentityRow] = field(default_factory=dict)

    def clear(self) -> None:
        self.rows.clear()


@dataclass
class Communities(MemoPart):
    """Communities by their chat (None: no community there)."""

    sources = (CommunityRow,)

    by_chat: dict[tuple[Platform, str], Community | None] = field(default_factory=dict)

    def clear(self) -> None:
        self.by_chat.clear()


# The parts below are keyed by community. Each has `whole`: communities this unit of work
# created, of which it holds every row (nothing else can refer to them yet), so a key missing
# there means "not in the database".


@dataclass
class Memberships(MemoPart):
    """(person id, community id) -> the membership (None: never a member)."""

    sources = (MembershipRow,)

    known: dict[tuple[int, int], Membership | None] = field(default_factory=dict)
    whole: set[int] = field(default_factory=set)

    def clear(self) -> None:
        self.known.clear()
        self.whole.clear()


@dataclass
class Grants(MemoPart):
    """(platform, user id) -> the role grants of that identity (empty: none)."""

    sources = (RoleGrantRow,)

    known: dict[tuple[Platform, str], list[RoleGrant]] = field(default_factory=dict)

    def clear(self) -> None:
        self.known.clear()


# A question queued to be written with others (`SqlQuestionRepository.add`): known to be
# there, its id not yet.
QUEUED = object()


@dataclass
class Questions(MemoPart):
    """(community id, message id) -> the question that message asked (None: it asked none;
    `QUEUED`: written with the next statement on questions), and (community id, source event
    id) -> whether that event stored a question."""

    sources = (QuestionRow,)

    by_message: dict[tuple[int, str], Question | object | None] = field(default_factory=dict)
    stored: dict[tuple[int, str], bool] = field(default_factory=dict)
    whole: set[int] = field(default_factory=set)

    def clear(self) -> None:
        self.by_message.clear()
        self.stored.clear()
        self.whole.clear()


@dataclass(frozen=True)
class LedgerAuthor:
    """Who posted a message, as the ledger's `message_posted` entry for it records: the person,
    the account they wrote from and the event that recorded it."""

    person_id: int
    identity_id: int
    source_event_id: str


@dataclass
class MessageAuthors(MemoPart):
    """(community id, message ref) -> who posted it (None: not in the ledger), and the
    (community id, source event id, person id) of `answer_given` entries, complete for every
    message held."""

    sources = (LedgerRow,)

    posted: dict[tuple[int, str], LedgerAuthor | None] = field(default_factory=dict)
    answers: set[tuple[int, str, int]] = field(default_factory=set)
    whole: set[int] = field(default_factory=set)

    def clear(self) -> None:
        self.posted.clear()
        self.answers.clear()
        self.whole.clear()
