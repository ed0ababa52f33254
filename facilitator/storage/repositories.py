"""Repositories over one AsyncSession; they return domain objects, never rows."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import cached_property
from types import MappingProxyType
from typing import Any, TypeVar, cast

from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    any_,
    bindparam,
    case,
    delete,
    func,
    insert,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from facilitator.domain.model import (
    QUESTION_TEXT,
    Community,
    LedgerEntry,
    Member,
    Membership,
    NewQuestion,
    ParticipationKind,
    Platform,
    PlatformUser,
    Question,
    Role,
    RoleGrant,
)
from facilitator.ports import Backlog, InboxDelivery, InboxRecord
from facilitator.storage.memo import (
    MEMO_KEPT,
    QUEUED,
    Communities,
    Grants,
    IdentityRows,
    LedgerAuthor,
    Memberships,
    MessageAuthors,
    People,
    Questions,
    memo_of,
)
from facilitator.storage.models import (
    CommunityRow,
    IdentityRow,
    InboxRow,
    LedgerRow,
    LinkCodeRow,
    MembershipRow,
    PersonRow,
    QuestionRow,
    RoleGrantRow,
)
from facilitator.storage.queued import QueuedRows

T = TypeVar("T")
_MISSING: Any = object()  # not in the memo (None there is an answer: "not in the database")
# Statements after which a repository has brought the memo up to date itself.
_KEEPS_MEMO = {MEMO_KEPT: True}
_PLATFORMS = {platform.value: platform for platform in Platform}
_ROLES = {role.label: role for role in Role}

_WANTED = cast(Table, IdentityRow.__table__).alias("wanted")
_LINKED = cast(Table, IdentityRow.__table__)
_PERSON = cast(Table, PersonRow.__table__)
# The people behind some identities of one platform, with every identity of each (linked
# accounts on other platforms): one row per (wanted identity, identity of the same person).
_PEOPLE_COLUMNS = (
    _WANTED.c.platform_user_id.label("wanted"),
    _LINKED.c.id,
    _LINKED.c.person_id,
    _LINKED.c.platform,
    _LINKED.c.platform_user_id,
    # The rest in the order of `Member`'s fields, which `_people_rows` fills by position.
    _LINKED.c.display_name,
    _PERSON.c.language,
    _PERSON.c.timezone,
    _LINKED.c.locale_hint,
    _PERSON.c.opted_out_tracking,
    _PERSON.c.opted_out_nudges,
)
_PEOPLE_JOIN = _WANTED.join(_LINKED, _LINKED.c.person_id == _WANTED.c.person_id).join(
    _PERSON, _PERSON.c.id == _WANTED.c.person_id
)
_PEOPLE = {
    # PostgreSQL: the ids as one array (see `among`); SQLite: an expanding IN.
    "postgresql": select(*_PEOPLE_COLUMNS)
    .select_from(_PEOPLE_JOIN)
    .where(
        _WANTED.c.platform == bindparam("platform"),
        _WANTED.c.platform_user_id
        == any_(bindparam("ids", type_=postgresql.ARRAY(_WANTED.c.platform_user_id.type))),
    ),
    "sqlite": select(*_PEOPLE_COLUMNS)
    .select_from(_PEOPLE_JOIN)
    .where(
        _WANTED.c.platform == bindparam("platform"),
        _WANTED.c.platform_user_id.in_(bindparam("ids", expanding=True)),
    ),
}
MESSAGE_POSTED = ParticipationKind.MESSAGE_POSTED.value
ANSWER_GIVEN = ParticipationKind.ANSWER_GIVEN.value


def insert_ignoring_conflicts(session: AsyncSession, table: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING for the session's dialect."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing()
    return sqlite.insert(table).on_conflict_do_nothing()


_PREPARED: dict[tuple[str, str], Any] = {}


def among(session: AsyncSession, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """`column IN (values)` for the hot paths, whatever the number of values. On PostgreSQL
    it is `column = ANY(:array)`: one parameter and one statement text, so asyncpg prepares
    the statement once (an IN list is a new statement for every count of values, and binds
    each value on its own). On SQLite, an expanding IN."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(
            ColumnElement[bool],
            column == any_(bindparam(None, list(values), type_=postgresql.ARRAY(column.type))),
        )
    return cast(ColumnElement[bool], column.in_(list(values)))


def _insert_returning_id(session: AsyncSession, model: Any) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id into the model's table, for values given
    as parameters: built once per dialect, so a hot path does not build it per row."""
    dialect = session.get_bind().dialect.name
    key = (dialect, model.__tablename__)
    statement = _PREPARED.get(key)
    if statement is None:
        table = model.__table__
        statement = insert_ignoring_conflicts(session, table).returning(table.c.id)
        _PREPARED[key] = statement
    return statement


def _inbox_insert(session: AsyncSession) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING delivery_id, id into the inbox, built once
    per dialect: a delivery stored before comes back as no row."""
    dialect = session.get_bind().dialect.name
    statement = _PREPARED.get((dialect, "inbox:delivery"))
    if statement is None:
        table = InboxRow.__table__
        statement = insert_ignoring_conflicts(session, table).returning(
            table.c.delivery_id, table.c.id
        )
        _PREPARED[(dialect, "inbox:delivery")] = statement
    return statement


def _community(row: CommunityRow) -> Community:
    return Community(
        id=row.id,
        key=row.key,
        platform=Platform(row.platform),
        chat_id=row.chat_id,
        title=row.title,
        timezone=row.timezone,
        language=row.language,
        settings=dict(row.settings or {}),
        active=row.active,
    )


def _member(identity: IdentityRow, person: PersonRow) -> Member:
    return Member(
        identity_id=identity.id,
        person_id=person.id,
        platform=Platform(identity.platform),
        platform_user_id=identity.platform_user_id,
        display_name=identity.display_name,
        language=person.language,
        timezone=person.timezone,
        locale_hint=identity.locale_hint,
        opted_out_tracking=person.opted_out_tracking,
        opted_out_nudges=person.opted_out_nudges,
    )


def _membership(row: MembershipRow) -> Membership:
    return Membership(
        person_id=row.person_id,
        community_id=row.community_id,
        role=Role.parse(row.role),
        joined_at=row.joined_at,
        left_at=row.left_at,
    )


class SqlCommunityRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # What the unit of work's memo holds, taken on first use (a unit that never asks makes
    # none of it).
    @cached_property
    def _by_chat(self) -> dict[tuple[Platform, str], Community | None]:
        return memo_of(self.session.info).part(Communities).by_chat

    async def get(self, community_id: int) -> Community | None:
        row = await self.session.get(CommunityRow, community_id)
        return _community(row) if row else None

    async def by_key(self, key: str) -> Community | None:
        row = await self.session.scalar(select(CommunityRow).where(CommunityRow.key == key))
        return _community(row) if row else None

    async def by_chat(self, platform: Platform, chat_id: str) -> Community | None:
        found = self._by_chat.get((platform, chat_id), _MISSING)
        if found is not _MISSING:
            return cast(Community | None, found)
        row = await self.session.scalar(
            select(CommunityRow).where(
                CommunityRow.platform == platform.value, CommunityRow.chat_id == chat_id
            )
        )
        community = self._by_chat[(platform, chat_id)] = _community(row) if row else None
        return community

    async def prefetch(self, chats: Iterable[tuple[Platform, str]]) -> None:
        """Look up the communities of these chats at once, for `by_chat`."""
        known = self._by_chat
        wanted = {chat for chat in chats if chat not in known}
        for platform in {p for p, _ in wanted}:
            ids = [chat_id for p, chat_id in wanted if p is platform]
            for row in await self.session.scalars(
                select(CommunityRow).where(
                    CommunityRow.platform == platform.value,
                    among(self.session, CommunityRow.chat_id, ids),
                )
            ):
                known[(platform, row.chat_id)] = _community(row)
        for chat in wanted:
            known.setdefault(chat, None)

    async def add(
        self,
        *,
        key: str,
        platform: Platform,
        chat_id: str,
        title: str,
        timezone: str,
        language: str,
        settings: Mapping[str, object] | None = None,
        now: datetime,
    ) -> Community:
        row = CommunityRow(
            key=key,
            platform=platform.value,
            chat_id=chat_id,
            title=title,
            timezone=timezone,
            language=language,
            settings=dict(settings or {}),
            active=True,
            created_at=now,
        )
        self.session.add(row)
        await self.session.flush()
        community = _community(row)
        self._by_chat[(platform, chat_id)] = community
        memo = memo_of(self.session.info)
        # Nothing else can refer to a community this unit of work has just created: all of
        # its memberships, questions and posted messages are those the memo will hold.
        for part in (memo.part(Memberships), memo.part(Questions), memo.part(MessageAuthors)):
            part.whole.add(community.id)
        return community

    async def update(self, community: Community) -> None:
        row = await self.session.get(CommunityRow, community.id)
        if row is None:
            raise LookupError(community.id)
        row.key = community.key
        row.chat_id = community.chat_id
        row.title = community.title
        row.timezone = community.timezone
        row.language = community.language
        row.settings = dict(community.settings)
        row.active = community.active
        await self.session.flush()

    async def all(self) -> list[Community]:
        rows = await self.session.scalars(select(CommunityRow).order_by(CommunityRow.id))
        return [_community(r) for r in rows]


class SqlMemberRepository:
    """People, their identities and memberships. What a unit of work has learnt of them is in
    its memo (`storage/memo.py`): `prefetch` loads a batch's people and memberships at once,
    and `ensure`, `identity`, `by_person`, `membership` and `join` answer from there."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # What the unit of work's memo holds, and its queue of new memberships, taken on first use.
    @cached_property
    def _people(self) -> People:
        return memo_of(self.session.info).part(People)

    @cached_property
    def _identity_rows(self) -> dict[tuple[Platform, str], IdentityRow]:
        return memo_of(self.session.info).part(IdentityRows).rows

    @cached_property
    def _memberships(self) -> Memberships:
        return memo_of(self.session.info).part(Memberships)

    @cached_property
    def _joined(self) -> QueuedRows:
        """New memberships: written together, before anything reads memberships (`queued`)."""
        return QueuedRows(self.session, cast(Table, MembershipRow.__table__))

    async def _load(self, identity: IdentityRow) -> Member:
        person = in_session(self.session, PersonRow, identity.person_id)
        if person is None:
            person = await self.session.get(PersonRow, identity.person_id)
        assert person is not None
        return _member(identity, person)

    async def _identity_row(self, platform: Platform, user_id: str) -> IdentityRow | None:
        # Rows this unit of work has loaded stay current in its session (updates go through
        # it), so a person seen by an earlier event needs no query.
        known = self._identity_rows.get((platform, user_id))
        if known is not None and not inspect(known).deleted and not inspect(known).detached:
            return known
        row = await self.session.scalar(
            select(IdentityRow).where(
                IdentityRow.platform == platform.value, IdentityRow.platform_user_id == user_id
            )
        )
        if row is not None:
            self._identity_rows[(platform, user_id)] = row
        return row

    async def identity(self, platform: Platform, platform_user_id: str) -> Member | None:
        known = self._people.members.get((platform, platform_user_id))
        if known is not None:
            return known
        row = await self._identity_row(platform, platform_user_id)
        return await self._load(row) if row else None

    async def ensure(self, user: PlatformUser, now: datetime) -> Member:
        known = self._people.members.get((user.platform, user.user_id))
        if known is not None:
            if (user.display_name and user.display_name != known.display_name) or (
                user.locale_hint and user.locale_hint != known.locale_hint
            ):
                return await self._named(known, user)  # perhaps renamed
            return known
        row = await self._identity_row(user.platform, user.user_id)
        if row is None:
            person = PersonRow(created_at=now)
            self.session.add(person)
            await self.session.flush()
            await self.session.execute(
                insert_ignoring_conflicts(self.session, IdentityRow).values(
                    person_id=person.id,
                    platform=user.platform.value,
                    platform_user_id=user.user_id,
                    display_name=(user.display_name or user.user_id)[:200],
                    locale_hint=(user.locale_hint or None) and user.locale_hint[:16],
                    created_at=now,
                    last_seen_at=now,
                )
            )
            row = await self._identity_row(user.platform, user.user_id)
            assert row is not None
            if row.person_id != person.id:  # another transaction created it first
                await self.session.delete(person)
            return await self._load(row)
        # An empty name means the platform did not say (the console): keep what we know.
        name = user.display_name[:200] or row.display_name
        hint = user.locale_hint[:16] if user.locale_hint else row.locale_hint
        if row.display_name != name or row.locale_hint != hint:
            row.display_name = name
            row.locale_hint = hint
            await self.session.flush()
        return await self._load(row)

    async def _named(self, member: Member, user: PlatformUser) -> Member:
        """The member as `user` names them now, renamed if the platform shows a new name or
        language (an empty name means the platform did not say: the console)."""
        name = user.display_name[:200] or member.display_name
        hint = user.locale_hint[:16] if user.locale_hint else member.locale_hint
        if member.display_name == name and member.locale_hint == hint:
            return member
        # A bulk UPDATE of the ORM class also updates the identity row this session holds.
        await self.session.execute(
            update(IdentityRow)
            .where(IdentityRow.id == member.identity_id)
            .values(display_name=name, locale_hint=hint)
            .execution_options(**_KEEPS_MEMO)
        )
        renamed = replace(member, display_name=name, locale_hint=hint)
        self._people.members[(member.platform, member.platform_user_id)] = renamed
        linked = self._people.linked.get(member.person_id)
        if linked is not None:
            linked[:] = [renamed if m.identity_id == member.identity_id else m for m in linked]
        return renamed

    async def ensure_people(self, users: Sequence[PlatformUser], now: datetime) -> None:
        """`ensure` for several people in a few statements, whoever is new, into the memo
        with every identity of each (linked accounts). Read as plain columns, not ORM rows:
        this runs for every batch of inbound messages, and a row per person is all it needs."""
        wanted = {(u.platform, u.user_id): u for u in users}
        missing = {key: user for key, user in wanted.items() if key not in self._people.members}
        found = await self._people_rows(missing)
        new = [key for key in missing if key not in found.members]
        if new:
            # One Core statement for the lot (an ORM flush inserts new rows one at a time). The
            # new people are alike, so the ids need not come back in the order of the rows.
            table = cast(Table, PersonRow.__table__)
            created = await self.session.scalars(
                insert(table).returning(table.c.id).execution_options(**_KEEPS_MEMO),
                [{"created_at": now} for _ in new],
            )
            people = dict(zip(new, created.all(), strict=True))
            identities = cast(Table, IdentityRow.__table__)
            values = [
                {
                    "person_id": people[key],
                    "platform": key[0].value,
                    "platform_user_id": key[1],
                    "display_name": (wanted[key].display_name or key[1])[:200],
                    "locale_hint": (wanted[key].locale_hint or "")[:16] or None,
                    "created_at": now,
                    "last_seen_at": now,
                }
                for key in new
            ]
            inserted = await self.session.execute(
                insert_ignoring_conflicts(self.session, identities)
                .returning(identities.c.id, identities.c.platform, identities.c.platform_user_id)
                .execution_options(**_KEEPS_MEMO),
                values,
            )
            ids = {(Platform(p), u): i for i, p, u in inserted}
            for key, row in zip(new, values, strict=True):
                if key in ids:  # a new person, as just written: nothing to read back
                    member = Member(
                        identity_id=ids[key],
                        person_id=row["person_id"],
                        platform=key[0],
                        platform_user_id=key[1],
                        display_name=row["display_name"],
                        locale_hint=row["locale_hint"],
                    )
                    found.members[key] = member
                    found.linked[member.person_id] = [member]
            taken = {key: wanted[key] for key in new if key not in ids}
            if taken:  # another transaction created these people first: theirs are read
                added = await self._people_rows(taken)
                found.members.update(added.members)
                found.linked.update(added.linked)
            unused = [
                person for key, person in people.items() if found.members[key].person_id != person
            ]
            if unused:  # another transaction created those people first
                await self.session.execute(delete(PersonRow).where(PersonRow.id.in_(unused)))
        self._people.remember(found.members.values(), found.linked)
        for key, user in wanted.items():  # as `ensure` leaves them: renamed if need be
            member = self._people.members[key]
            if (user.display_name and user.display_name != member.display_name) or (
                user.locale_hint and user.locale_hint != member.locale_hint
            ):
                await self._named(member, user)

    async def _people_rows(self, users: Mapping[tuple[Platform, str], PlatformUser]) -> People:
        """These people (those that exist) with every identity of each, by person id, in
        identity order."""
        found = People()
        seen: dict[int, Member] = {}  # by identity id: a person may be wanted twice (linked)
        for platform in {p for p, _ in users}:
            ids = [uid for p, uid in users if p is platform]
            query = _PEOPLE[self.session.get_bind().dialect.name]
            result = await self.session.execute(query, {"platform": platform.value, "ids": ids})
            # All rows at once, unpacked by position: a batch reads a hundred people here.
            for wanted, identity_id, person_id, kind, user_id, *rest in result.all():
                member = seen.get(identity_id)
                if member is None:
                    member = seen[identity_id] = Member(
                        identity_id, person_id, _PLATFORMS[kind], user_id, *rest
                    )
                if member.platform is platform and user_id == wanted:
                    found.members[(platform, wanted)] = member
        for identity_id in sorted(seen):
            member = seen[identity_id]
            found.linked.setdefault(member.person_id, []).append(member)
        return found

    async def preload(self, platform: Platform, user_ids: Iterable[str]) -> None:
        """Load these people (those that exist) at once: `identity` then needs no query."""
        wanted = {(platform, u): PlatformUser(platform, u, "") for u in user_ids}
        missing = {key: user for key, user in wanted.items() if key not in self._people.members}
        if missing:
            found = await self._people_rows(missing)
            self._people.remember(found.members.values(), found.linked)

    async def by_person(self, person_id: int) -> list[Member]:
        linked = self._people.linked.get(person_id)
        if linked is not None:
            return list(linked)
        person = await self.session.get(PersonRow, person_id)
        if person is None:
            return []
        rows = await self.session.scalars(
            select(IdentityRow).where(IdentityRow.person_id == person_id).order_by(IdentityRow.id)
        )
        return [_member(r, person) for r in rows]

    async def person_of_identity(self, identity_id: int) -> int | None:
        return await self.session.scalar(
            select(IdentityRow.person_id).where(IdentityRow.id == identity_id)
        )

    async def set_language(self, person_id: int, language: str | None) -> None:
        await self.session.execute(
            update(PersonRow).where(PersonRow.id == person_id).values(language=language)
        )

    async def set_opt_out(
        self, person_id: int, *, tracking: bool | None = None, nudges: bool | None = None
    ) -> None:
        values = {
            name: value
            for name, value in (("opted_out_tracking", tracking), ("opted_out_nudges", nudges))
            if value is not None
        }
        if values:
            await self.session.execute(
                update(PersonRow).where(PersonRow.id == person_id).values(**values)
            )

    async def merge_people(self, keep_person_id: int, other_person_id: int) -> None:
        if keep_person_id == other_person_id:
            return
        keep = await self.session.get(PersonRow, keep_person_id)
        other = await self.session.get(PersonRow, other_person_id)
        if keep is None or other is None:
            raise LookupError("person to merge not found")
        keep.language = keep.language or other.language
        keep.timezone = keep.timezone or other.timezone
        await self.session.execute(
            update(IdentityRow)
            .where(IdentityRow.person_id == other_person_id)
            .values(person_id=keep_person_id)
        )
        kept = {
            m.community_id: m
            for m in await self.session.scalars(
                select(MembershipRow).where(MembershipRow.person_id == keep_person_id)
            )
        }
        for moving in list(
            await self.session.scalars(
                select(MembershipRow).where(MembershipRow.person_id == other_person_id)
            )
        ):
            existing = kept.get(moving.community_id)
            if existing is None:
                moving.person_id = keep_person_id
                continue
            if Role.parse(moving.role) > Role.parse(existing.role):
                existing.role = moving.role
            await self.session.delete(moving)
        await self.session.execute(
            update(LedgerRow)
            .where(LedgerRow.person_id == other_person_id)
            .values(person_id=keep_person_id)
        )
        await self.session.flush()
        await self.session.delete(other)
        await self.session.flush()

    async def membership(self, person_id: int, community_id: int) -> Membership | None:
        key = (person_id, community_id)
        found = self._memberships.known.get(key, _MISSING)
        if found is _MISSING:
            if community_id in self._memberships.whole:
                return None
            row = await self.session.scalar(
                select(MembershipRow).where(
                    MembershipRow.person_id == person_id,
                    MembershipRow.community_id == community_id,
                )
            )
            found = self._memberships.known[key] = _membership(row) if row else None
        return cast(Membership | None, found)

    async def join(self, person_id: int, community_id: int, now: datetime) -> Membership:
        key = (person_id, community_id)
        found = self._memberships.known.get(key, _MISSING)
        if found is _MISSING:
            found = await self.membership(person_id, community_id)
        if found is None:
            # Written with the unit's other new memberships (`queued`), before anything reads
            # memberships; as just written, nothing to read back.
            self._joined.add(
                {
                    "person_id": person_id,
                    "community_id": community_id,
                    "role": "member",
                    "joined_at": now,
                }
            )
            joined = self._memberships.known[key] = Membership(
                person_id, community_id, Role.MEMBER, now
            )
            return joined
        membership = cast(Membership, found)
        if membership.left_at is not None:  # back after leaving: as a plain member
            await self.session.execute(
                update(MembershipRow)
                .where(
                    MembershipRow.person_id == person_id,
                    MembershipRow.community_id == community_id,
                )
                .values(left_at=None, joined_at=now, role=Role.MEMBER.label)
                .execution_options(**_KEEPS_MEMO)
            )
            membership = self._memberships.known[key] = replace(
                membership, left_at=None, joined_at=now, role=Role.MEMBER
            )
        return membership

    async def prefetch_memberships(self, community_id: int, person_ids: Iterable[int]) -> None:
        """Look up these people's memberships of one community at once, for `membership` and
        `join`. Plain columns, not ORM rows: this runs for every batch of inbound messages."""
        known = self._memberships.known
        wanted = {p for p in person_ids if (p, community_id) not in known}
        if not wanted or community_id in self._memberships.whole:
            return
        table = cast(Table, MembershipRow.__table__)
        query = select(table.c.person_id, table.c.role, table.c.joined_at, table.c.left_at).where(
            table.c.community_id == community_id, among(self.session, table.c.person_id, wanted)
        )
        for person_id, role, joined_at, left_at in (await self.session.execute(query)).all():
            known[(person_id, community_id)] = Membership(
                person_id, community_id, _ROLES.get(role) or Role.parse(role), joined_at, left_at
            )
        for person_id in wanted:
            known.setdefault((person_id, community_id), None)

    async def leave(self, person_id: int, community_id: int, now: datetime) -> None:
        # The role given in the bot (/role) ends with the membership: whoever comes back
        # starts again as a plain member. Installation admins and grants are not memberships.
        await self.session.execute(
            update(MembershipRow)
            .where(
                MembershipRow.person_id == person_id,
                MembershipRow.community_id == community_id,
                MembershipRow.left_at.is_(None),
            )
            .values(left_at=now, role=Role.MEMBER.label)
        )

    async def set_role(self, person_id: int, community_id: int, role: Role, now: datetime) -> None:
        await self.join(person_id, community_id, now)
        await self.session.execute(
            update(MembershipRow)
            .where(
                MembershipRow.person_id == person_id, MembershipRow.community_id == community_id
            )
            .values(role=role.label)
        )

    async def members_of(self, community_id: int) -> list[tuple[Member, Membership]]:
        community = await self.session.get(CommunityRow, community_id)
        if community is None:
            return []
        result = await self.session.execute(
            select(MembershipRow, IdentityRow, PersonRow)
            .join(PersonRow, PersonRow.id == MembershipRow.person_id)
            .join(IdentityRow, IdentityRow.person_id == PersonRow.id)
            .where(MembershipRow.community_id == community_id)
            .order_by(MembershipRow.id, IdentityRow.id)
        )
        seen: dict[int, tuple[Member, Membership]] = {}
        for membership, identity, person in result.all():
            current = seen.get(membership.person_id)
            # One line per person: the identity on the community's own platform if they have it.
            if current is None or (
                identity.platform == community.platform
                and current[0].platform != community.platform
            ):
                seen[membership.person_id] = (
                    _member(identity, person),
                    _membership(membership),
                )
        return list(seen.values())

    async def find_in_community(self, community_id: int, who: str) -> list[Member]:
        needle = who.strip().lower()
        if not needle:
            return []
        return [
            member
            for member, membership in await self.members_of(community_id)
            if membership.left_at is None
            and (
                member.platform_user_id.lower() == needle or member.display_name.lower() == needle
            )
        ]

    async def last_community(self, person_id: int) -> int | None:
        return await self.session.scalar(
            select(MembershipRow.community_id)
            .where(MembershipRow.person_id == person_id, MembershipRow.left_at.is_(None))
            .order_by(MembershipRow.joined_at.desc(), MembershipRow.id.desc())
            .limit(1)
        )

    async def memberships(self, person_id: int) -> list[Membership]:
        rows = await self.session.scalars(
            select(MembershipRow)
            .where(MembershipRow.person_id == person_id, MembershipRow.left_at.is_(None))
            .order_by(MembershipRow.joined_at.desc(), MembershipRow.id.desc())
        )
        return [_membership(row) for row in rows]


class SqlGrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @cached_property
    def _known(self) -> dict[tuple[Platform, str], list[RoleGrant]]:
        return memo_of(self.session.info).part(Grants).known

    async def grant(self, grant: RoleGrant, now: datetime) -> None:
        await self.revoke(grant.platform, grant.platform_user_id, grant.community_id)
        self.session.add(
            RoleGrantRow(
                platform=grant.platform.value,
                platform_user_id=grant.platform_user_id,
                community_id=grant.community_id,
                role=grant.role.label,
                granted_at=now,
            )
        )
        await self.session.flush()

    async def revoke(
        self, platform: Platform, platform_user_id: str, community_id: int | None
    ) -> bool:
        result = await self.session.execute(
            delete(RoleGrantRow).where(
                RoleGrantRow.platform == platform.value,
                RoleGrantRow.platform_user_id == platform_user_id,
                RoleGrantRow.community_id.is_(None)
                if community_id is None
                else RoleGrantRow.community_id == community_id,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def for_identity(self, platform: Platform, platform_user_id: str) -> list[RoleGrant]:
        known = self._known
        found = known.get((platform, platform_user_id))
        if found is None:
            rows = await self.session.scalars(
                select(RoleGrantRow).where(
                    RoleGrantRow.platform == platform.value,
                    RoleGrantRow.platform_user_id == platform_user_id,
                )
            )
            found = known[(platform, platform_user_id)] = [_grant(r) for r in rows]
        return list(found)

    async def prefetch(self, identities: Iterable[tuple[Platform, str]]) -> None:
        """Look up these identities' grants at once, for `for_identity`."""
        known = self._known
        wanted = {identity for identity in identities if identity not in known}
        table = cast(Table, RoleGrantRow.__table__)
        columns = (table.c.platform_user_id, table.c.role, table.c.community_id)
        for platform in {p for p, _ in wanted}:
            ids = [uid for p, uid in wanted if p is platform]
            rows = await self.session.execute(
                select(*columns).where(
                    table.c.platform == platform.value,
                    among(self.session, table.c.platform_user_id, ids),
                )
            )
            for user_id, role, community_id in rows:
                known.setdefault((platform, user_id), []).append(
                    RoleGrant(platform, user_id, Role.parse(role), community_id)
                )
        for identity in wanted:
            known.setdefault(identity, [])

    async def all(self) -> list[RoleGrant]:
        rows = await self.session.scalars(select(RoleGrantRow).order_by(RoleGrantRow.id))
        return [_grant(r) for r in rows]


def _grant(row: RoleGrantRow) -> RoleGrant:
    return RoleGrant(
        platform=Platform(row.platform),
        platform_user_id=row.platform_user_id,
        role=Role.parse(row.role),
        community_id=row.community_id,
    )


def in_session(session: AsyncSession, model: type[T], key: Any) -> T | None:
    """A row the session holds, current, without a query (and without the trip into the
    session's greenlet that `session.get` takes even when it finds the row)."""
    row = session.sync_session.identity_map.get(identity_key(model, key))
    if row is None or inspect(row).expired_attributes:
        return None
    return row


def _ledger_values(entry: LedgerEntry) -> dict[str, Any]:
    return {
        "community_id": entry.community_id,
        "person_id": entry.person_id,
        "identity_id": entry.identity_id,
        "kind": entry.kind.value,
        "occurred_at": entry.occurred_at,
        "source_event_id": entry.source_event_id[:128],
        "ref": entry.ref,
    }


class SqlLedgerRepository:
    """`record` writes at once and tells whether the entry is new; `add` queues the entry and
    writes the queue in one statement before the session's next query or at commit, so a
    batch of events costs one insert, and any read of the ledger still sees every entry."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @cached_property
    def _queued(self) -> QueuedRows:
        # The table, not the mapped class: an ORM bulk insert leaves out each row's None
        # values, and so splits the rows into one statement per run of the same columns.
        return QueuedRows(self.session, cast(Table, LedgerRow.__table__))

    @cached_property
    def _people(self) -> People:
        return memo_of(self.session.info).part(People)

    @cached_property
    def _authors(self) -> MessageAuthors:
        return memo_of(self.session.info).part(MessageAuthors)

    async def _tracked(self, person_id: int) -> bool:
        # A person who opted out of tracking is never recorded, whoever's event credits them.
        # A batch's people are in the memo (`prefetch`), others nearly always in the session's
        # identity map already: no extra query.
        tracked = self._people.tracked.get(person_id)
        if tracked is not None:
            return tracked
        person = in_session(self.session, PersonRow, person_id)
        if person is None:
            person = await self.session.get(PersonRow, person_id)
        return person is None or not person.opted_out_tracking

    async def record(self, entry: LedgerEntry) -> bool:
        if not await self._tracked(entry.person_id):
            return False
        values = _ledger_values(entry)
        result = await self.session.execute(
            self._insert().values(**values).execution_options(**_KEEPS_MEMO)
        )
        self._remember(values)
        return bool(getattr(result, "rowcount", 0))

    async def add(self, entry: LedgerEntry) -> None:
        if await self._tracked(entry.person_id):
            values = _ledger_values(entry)
            self._queued.add(values)
            self._remember(values)

    def _remember(self, values: dict[str, Any]) -> None:
        """Who posted which message (what the participation feature's `message_author` asks
        of the ledger), answered for entries of this unit."""
        kind = values["kind"]
        if kind == MESSAGE_POSTED and values["ref"]:
            key = (values["community_id"], values["ref"])
            if self._authors.posted.get(key) is None:
                self._authors.posted[key] = LedgerAuthor(
                    values["person_id"], values["identity_id"], values["source_event_id"]
                )
        elif kind == ANSWER_GIVEN:
            self._authors.answers.add(
                (values["community_id"], values["source_event_id"], values["person_id"])
            )

    async def prefetch_authors(self, community_id: int, message_ids: Iterable[str]) -> None:
        """Look up who posted these messages (and which were answers) at once, for the memo's
        `MessageAuthors`."""
        posted = self._authors.posted
        wanted = {m[:200] for m in message_ids} - {
            ref for community, ref in posted if community == community_id
        }
        if not wanted or community_id in self._authors.whole:
            return
        rows = await self.session.execute(
            select(
                LedgerRow.ref,
                LedgerRow.person_id,
                LedgerRow.identity_id,
                LedgerRow.source_event_id,
            ).where(
                LedgerRow.community_id == community_id,
                among(self.session, LedgerRow.ref, wanted),
                LedgerRow.kind == MESSAGE_POSTED,
            )
        )
        found: dict[str, LedgerAuthor] = {}
        for ref, person_id, identity_id, source_event_id in rows:
            if ref is not None:
                found.setdefault(ref, LedgerAuthor(person_id, identity_id, source_event_id))
        if found:
            answers = await self.session.execute(
                select(LedgerRow.source_event_id, LedgerRow.person_id).where(
                    LedgerRow.community_id == community_id,
                    among(
                        self.session,
                        LedgerRow.source_event_id,
                        {p.source_event_id for p in found.values()},
                    ),
                    LedgerRow.kind == ANSWER_GIVEN,
                )
            )
            self._authors.answers.update(
                (community_id, source, person) for source, person in answers
            )
        for ref in wanted:
            posted[(community_id, ref)] = found.get(ref)

    def _insert(self) -> Any:
        return insert_ignoring_conflicts(self.session, LedgerRow.__table__)

    async def count(self, community_id: int, kind: str | None = None) -> int:
        query = (
            select(func.count())
            .select_from(LedgerRow)
            .where(LedgerRow.community_id == community_id)
        )
        if kind is not None:
            query = query.where(LedgerRow.kind == kind)
        return int(await self.session.scalar(query) or 0)


class SqlLinkCodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(self, code: str, identity_id: int, expires_at: datetime) -> None:
        await self.session.execute(
            delete(LinkCodeRow).where(LinkCodeRow.identity_id == identity_id)
        )
        self.session.add(LinkCodeRow(code=code, identity_id=identity_id, expires_at=expires_at))
        await self.session.flush()

    async def take(self, code: str, now: datetime) -> int | None:
        row = await self.session.get(LinkCodeRow, code)
        if row is None:
            return None
        identity_id = row.identity_id
        expired = row.expires_at <= now
        await self.session.delete(row)
        await self.session.flush()
        return None if expired else identity_id


# Rows still to process (a claim is "processing" until done or its lease ends), and given up.
INBOX_WAITING_STATUSES = ("pending", "processing", "retry")
INBOX_BACKLOG_STATUSES = (*INBOX_WAITING_STATUSES, "failed")
INBOX_FINISHED_STATUSES = ("done", "rejected", "failed")
SENDER_LENGTH = 64


def _sender(delivery: InboxDelivery) -> str | None:
    sender = delivery[3] if len(delivery) == 4 else None
    return sender[:SENDER_LENGTH] if sender else None


# What clearing an inbox row writes: no payload, nothing that names its sender (a private
# chat's ordering key is the member's own chat), no error (a decoder's may quote the payload).
# Its delivery id and status stay, so that a redelivery is still recognised.
INBOX_CLEARED: Mapping[str, str | None] = MappingProxyType(
    {"payload": None, "sender": None, "ordering_key": "", "error": None}
)


def _finished_values(table: Table, **values: Any) -> dict[str, Any]:
    """What marking a row finished writes, cleared at once if its sender asked to be forgotten
    while it waited (`forget`)."""
    for column, cleared in INBOX_CLEARED.items():
        kept = values.get(column, table.c[column])
        values[column] = case((table.c.forget, cleared), else_=kept)
    return values


class SqlInboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        platform: Platform,
        delivery_id: str,
        ordering_key: str,
        payload: str,
        now: datetime,
        sender: str | None = None,
    ) -> bool:
        delivery = (delivery_id, ordering_key, payload, sender)
        return len(await self.add_many(platform, [delivery], now)) == 1

    async def add_many(
        self,
        platform: Platform,
        deliveries: Sequence[InboxDelivery],
        now: datetime,
        lease_seconds: float | None = None,
    ) -> list[InboxRecord]:
        return await self._insert(platform, deliveries, now, lease_seconds)

    async def _insert(
        self,
        platform: Platform,
        deliveries: Sequence[InboxDelivery],
        now: datetime,
        lease_seconds: float | None,
    ) -> list[InboxRecord]:
        """The new rows (a delivery stored before is skipped), pending or already leased."""
        if not deliveries:
            return []
        leased = lease_seconds is not None
        available_at = now if lease_seconds is None else now + timedelta(seconds=lease_seconds)
        rows = await self.session.execute(
            _inbox_insert(self.session),
            [
                {
                    "platform": platform.value,
                    "delivery_id": delivery[0][:128],
                    "ordering_key": delivery[1][:128],
                    "payload": delivery[2],
                    "sender": _sender(delivery),
                    "status": "processing" if leased else "pending",
                    "attempts": 1 if leased else 0,
                    "received_at": now,
                    "available_at": available_at,
                }
                for delivery in deliveries
            ],
        )
        ids: dict[str, int] = {d: i for d, i in rows}  # delivery id -> row id, rows added
        added: list[InboxRecord] = []
        for delivery_id, ordering_key, payload, *_ in deliveries:
            row_id = ids.pop(delivery_id[:128], None)  # once, should a batch repeat it
            if row_id is not None:
                added.append(
                    InboxRecord(
                        id=row_id,
                        platform=platform,
                        delivery_id=delivery_id[:128],
                        ordering_key=ordering_key[:128],
                        payload=payload,
                        attempts=1 if leased else 0,
                    )
                )
        return added

    async def claim(
        self,
        now: datetime,
        lease_seconds: float,
        limit: int,
        platforms: Sequence[Platform] | None = None,
    ) -> list[InboxRecord]:
        # One UPDATE … RETURNING of plain columns for the lot: loading a few hundred ORM rows
        # and flushing each one's change cost more than handling the events.
        if platforms is not None and not platforms:
            return []
        table = cast(Table, InboxRow.__table__)
        # Fair to every conversation: the first waiting row of each, then the second of
        # each, and so on, oldest first within a round. A flood in one conversation is taken
        # a share at a time, and the others' rows are in the same claim.
        turn = (
            func.row_number()
            .over(partition_by=(table.c.platform, table.c.ordering_key), order_by=table.c.id)
            .label("turn")
        )
        due = select(table.c.id, turn).where(
            table.c.status.in_(INBOX_WAITING_STATUSES), table.c.available_at <= now
        )
        if platforms is not None:
            due = due.where(table.c.platform.in_([p.value for p in platforms]))
        ranked = due.subquery()
        waiting = select(ranked.c.id).order_by(ranked.c.turn, ranked.c.id).limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            # Row locks cannot be taken beside a window function: the fair pick first, then
            # the lock on what it picked, skipping rows another worker holds.
            # The conditions again: a row another worker claimed and committed meanwhile is
            # re-read when locked, and must then no longer qualify.
            waiting = (
                select(table.c.id)
                .where(
                    table.c.id.in_(waiting.scalar_subquery()),
                    table.c.status.in_(INBOX_WAITING_STATUSES),
                    table.c.available_at <= now,
                )
                .with_for_update(skip_locked=True)
            )
        claimed = (
            update(table)
            .where(table.c.id.in_(waiting.scalar_subquery()))
            .values(
                status="processing",
                attempts=table.c.attempts + 1,
                available_at=now + timedelta(seconds=lease_seconds),
            )
            .returning(
                table.c.id,
                table.c.platform,
                table.c.delivery_id,
                table.c.ordering_key,
                table.c.payload,
                table.c.attempts,
            )
        )
        rows = (await self.session.execute(claimed)).all()
        return [
            InboxRecord(row_id, _PLATFORMS[platform], delivery_id, key, payload, attempts)
            # RETURNING keeps no order
            for row_id, platform, delivery_id, key, payload, attempts in sorted(rows)
        ]

    async def mark_done(self, record_id: int, now: datetime) -> None:
        await self.mark_all_done([record_id], now)

    async def mark_all_done(self, record_ids: Sequence[int], now: datetime) -> None:
        table = cast(Table, InboxRow.__table__)  # the table: no ORM rows to keep in step
        await self.session.execute(
            update(table)
            .where(among(self.session, table.c.id, record_ids))
            .values(_finished_values(table, status="done", processed_at=now, error=None))
        )

    async def mark_rejected(self, record_id: int, reason: str, now: datetime) -> None:
        table = cast(Table, InboxRow.__table__)
        await self.session.execute(
            update(table)
            .where(table.c.id == record_id)
            .values(_finished_values(table, status="rejected", processed_at=now, error=reason))
        )

    async def mark_failed(self, record_id: int, error: str, retry_at: datetime | None) -> None:
        table = cast(Table, InboxRow.__table__)
        values: dict[str, Any] = {"error": error}
        if retry_at is None:
            values = _finished_values(table, status="failed", error=error)
        else:
            values.update(status="retry", available_at=retry_at)
        await self.session.execute(update(table).where(table.c.id == record_id).values(values))

    async def counts(self) -> dict[str, int]:
        result = await self.session.execute(
            select(InboxRow.status, func.count()).group_by(InboxRow.status)
        )
        return {status: int(n) for status, n in result.all()}

    async def backlog(self) -> Backlog:
        counts = dict.fromkeys(INBOX_BACKLOG_STATUSES, 0)
        result = await self.session.execute(
            select(InboxRow.status, func.count())
            .where(InboxRow.status.in_(INBOX_BACKLOG_STATUSES))
            .group_by(InboxRow.status)
        )
        counts.update({status: int(n) for status, n in result.all()})
        oldest = await self.session.scalar(
            select(func.min(InboxRow.received_at)).where(
                InboxRow.status.in_(INBOX_WAITING_STATUSES)
            )
        )
        return Backlog(counts, oldest)

    async def clear_payloads(self, before: datetime) -> int:
        table = cast(Table, InboxRow.__table__)
        result = await self.session.execute(
            update(table)
            .where(
                table.c.status.in_(INBOX_FINISHED_STATUSES),
                table.c.received_at < before,
                table.c.payload.is_not(None),
            )
            .values(dict(INBOX_CLEARED))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def purge(self, before: datetime) -> int:
        result = await self.session.execute(
            delete(InboxRow).where(
                InboxRow.status.in_(INBOX_FINISHED_STATUSES), InboxRow.received_at < before
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)


def open_questions_query(
    community_id: int,
    asked_after: datetime,
    asked_before: datetime,
    limit: int,
    *conditions: ColumnElement[bool],
) -> Select[QuestionRow]:
    """Questions nobody has answered, asked in a window, oldest first, with extra conditions."""
    return (
        select(QuestionRow)
        .where(
            QuestionRow.community_id == community_id,
            QuestionRow.answered_at.is_(None),
            QuestionRow.asked_at > asked_after,
            QuestionRow.asked_at <= asked_before,
            *conditions,
        )
        .order_by(QuestionRow.asked_at)
        .limit(limit)
    )


def _question_values(question: NewQuestion) -> dict[str, Any]:
    return {
        "community_id": question.community_id,
        "person_id": question.member.person_id,
        "identity_id": question.member.identity_id,
        "source_event_id": question.source_event_id[:128],
        "message_id": question.message_id[:64],
        "thread_id": question.thread_id[:64] if question.thread_id else None,
        "text": question.text[:QUESTION_TEXT],
        "lang": question.lang,
        "asked_at": question.asked_at,
        "bot_answered": False,
    }


def to_question(row: QuestionRow) -> Question:
    return Question(
        id=row.id,
        community_id=row.community_id,
        person_id=row.person_id,
        identity_id=row.identity_id,
        message_id=row.message_id,
        thread_id=row.thread_id,
        text=row.text,
        lang=row.lang,
        asked_at=row.asked_at,
        answered_at=row.answered_at,
        answered_by=row.answered_by,
        bot_answered=row.bot_answered,
    )


class SqlQuestionRepository:
    """Questions asked in groups. A question known to be new (`prefetch` found none for its
    event) is queued and written with the others (`queued`); its id is read back when that
    write happens: before the next statement on questions, at commit, or when `by_message`
    is asked for it."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @cached_property
    def _known(self) -> Questions:
        return memo_of(self.session.info).part(Questions)

    @cached_property
    def _queued(self) -> QueuedRows:
        table = cast(Table, QuestionRow.__table__)
        return QueuedRows(
            self.session,
            table,
            returning=(table.c.community_id, table.c.source_event_id, table.c.id),
            on_written=self._written,
        )

    async def add(self, question: NewQuestion) -> bool:
        values = _question_values(question)
        event = (values["community_id"], values["source_event_id"])
        stored = self._known.stored.get(event)
        if stored is None and values["community_id"] in self._known.whole:
            stored = False
        if stored:  # asked before (a redelivered event)
            return False
        if stored is False:
            self._known.stored[event] = True
            self._queued.add(values)
            self._known.by_message[(values["community_id"], values["message_id"])] = QUEUED
            return True
        added = await self.session.scalar(
            _insert_returning_id(self.session, QuestionRow).execution_options(**_KEEPS_MEMO),
            values,
        )
        if added is None:  # asked before (a redelivered event)
            return False
        self._remember(values, added)
        return True

    def _written(self, rows: list[dict[str, Any]], returned: Sequence[Any]) -> None:
        """Queued questions written: each one's id, as `by_message` gives it."""
        ids = {(community, event): question_id for community, event, question_id in returned}
        for values in rows:
            question_id = ids.get((values["community_id"], values["source_event_id"]))
            if question_id is not None:
                self._remember(values, question_id)
            else:  # stored meanwhile by another transaction: ask the database next time
                self._known.by_message.pop((values["community_id"], values["message_id"]), None)

    def _remember(self, values: dict[str, Any], question_id: int) -> None:
        self._known.stored[(values["community_id"], values["source_event_id"])] = True
        self._known.by_message[(values["community_id"], values["message_id"])] = Question(
            id=question_id,
            community_id=values["community_id"],
            person_id=values["person_id"],
            identity_id=values["identity_id"],
            message_id=values["message_id"],
            thread_id=values["thread_id"],
            text=values["text"],
            lang=values["lang"],
            asked_at=values["asked_at"],
        )

    async def by_message(self, community_id: int, message_id: str) -> Question | None:
        key = (community_id, message_id)
        known = self._known.by_message.get(key, _MISSING)
        if known is QUEUED:
            await self._queued.write_now(self.session)
            known = self._known.by_message.get(key, _MISSING)
        if known is _MISSING and community_id in self._known.whole:
            known = None
        if known is not _MISSING:
            return cast(Question | None, known)
        row = await self.session.scalar(
            select(QuestionRow).where(
                QuestionRow.community_id == community_id, QuestionRow.message_id == message_id
            )
        )
        question = self._known.by_message[key] = to_question(row) if row else None
        return question

    async def prefetch(
        self, community_id: int, message_ids: Iterable[str], event_ids: Iterable[str]
    ) -> None:
        """Look up at once the questions these messages asked (for `by_message`) and whether
        these events stored one (for `add`)."""
        if community_id in self._known.whole:
            return
        messages = {m for m in message_ids if (community_id, m) not in self._known.by_message}
        events = {e[:128] for e in event_ids} - {
            event for community, event in self._known.stored if community == community_id
        }
        if not messages and not events:
            return
        asked = []
        if messages:
            asked.append(among(self.session, QuestionRow.message_id, messages))
        if events:
            asked.append(among(self.session, QuestionRow.source_event_id, events))
        for row in await self.session.scalars(
            select(QuestionRow).where(QuestionRow.community_id == community_id, or_(*asked))
        ):
            if row.message_id in messages:
                self._known.by_message[(community_id, row.message_id)] = to_question(row)
            self._known.stored[(community_id, row.source_event_id)] = True
        for message_id in messages:
            self._known.by_message.setdefault((community_id, message_id), None)
        for event in events:
            self._known.stored.setdefault((community_id, event), False)

    async def mark_answered(self, question_id: int, person_id: int, at: datetime) -> bool:
        """The first reply by someone else answers it; its text is no longer needed."""
        result = await self.session.execute(
            update(QuestionRow)
            .where(QuestionRow.id == question_id, QuestionRow.answered_at.is_(None))
            .values(answered_at=at, answered_by=person_id, text=None)
            .execution_options(**_KEEPS_MEMO)
        )
        answered = bool(getattr(result, "rowcount", 0))
        known = self._known.by_message
        for key, question in known.items():
            if isinstance(question, Question) and question.id == question_id:
                if answered:
                    known[key] = replace(
                        question, answered_at=at, answered_by=person_id, text=None
                    )
                else:  # answered meanwhile by someone else: ask the database next time
                    del known[key]
                break
        return answered

    async def due_for_bot(
        self, community_id: int, asked_after: datetime, asked_before: datetime, limit: int
    ) -> list[Question]:
        rows = await self.session.scalars(
            open_questions_query(
                community_id,
                asked_after,
                asked_before,
                limit,
                QuestionRow.bot_checked_at.is_(None),
            )
        )
        return [to_question(r) for r in rows]

    async def mark_bot_checked(self, question_id: int, at: datetime, answered: bool) -> bool:
        """Claim a question for the bot; False if another process got there first."""
        result = await self.session.execute(
            update(QuestionRow)
            .where(QuestionRow.id == question_id, QuestionRow.bot_checked_at.is_(None))
            .values(bot_checked_at=at, bot_answered=answered)
        )
        return bool(getattr(result, "rowcount", 0))
