"""The participation queries, the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from facilitator.bootstrap import FEATURES
from facilitator.domain.model import (
    LedgerEntry,
    ParticipationKind,
    Platform,
    PlatformUser,
    Role,
    RoleGrant,
)
from facilitator.features.participation.domain import DailyCount
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.storage import offset_segments
from facilitator.features.privacy.service import PersonalRecords
from tests.conftest import Database
from tests.storage.test_repository_contract import add_community, uow

K = ParticipationKind
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


async def record(
    db: Database, community_id: int, who: str, kind: ParticipationKind, at: datetime, **kw: str
) -> int:
    async with uow(db) as u:
        member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, who, who.title()), NOW)
        await u.members.join(member.person_id, community_id, NOW)
        await u.ledger.record(
            LedgerEntry(
                community_id,
                member.person_id,
                member.identity_id,
                kind,
                at,
                kw.get("event", f"{who}:{kind}:{at.isoformat()}"),
                kw.get("ref"),
            )
        )
        await u.commit()
    return member.person_id


async def test_counts_are_grouped_by_the_communitys_local_day(database: Database) -> None:
    community_id = await add_community(database)  # America/Santiago
    # 02:00 UTC on 4 November is still the 3rd in Santiago (UTC-3).
    ana = await record(
        database, community_id, "ana", K.MESSAGE_POSTED, datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
    )
    await record(
        database, community_id, "ana", K.MESSAGE_POSTED, datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
    )
    await record(
        database, community_id, "ana", K.MESSAGE_POSTED, datetime(2026, 11, 4, 4, 0, tzinfo=UTC)
    )
    await record(
        database, community_id, "ana", K.MEMBER_JOINED, datetime(2026, 11, 4, 4, 0, tzinfo=UTC)
    )
    async with uow(database) as u:
        rows = await u.repo(ParticipationRepository).daily_counts(
            community_id,
            timezone="America/Santiago",
            since=datetime(2026, 11, 1, tzinfo=UTC),
            until=datetime(2026, 11, 10, tzinfo=UTC),
            kinds=[K.MESSAGE_POSTED.value],
        )
    assert sorted(rows, key=lambda r: r.day) == [
        DailyCount(ana, "message_posted", date(2026, 11, 3), 2),
        DailyCount(ana, "message_posted", date(2026, 11, 4), 1),
    ]


async def test_local_days_follow_a_daylight_saving_change(database: Database) -> None:
    community_id = await add_community(database)
    # Santiago moves from UTC-4 to UTC-3 at 04:00 UTC on Sunday 6 September 2026.
    before = datetime(2026, 9, 5, 3, 30, tzinfo=UTC)  # 23:30 on the 4th, local
    after = datetime(2026, 9, 7, 2, 30, tzinfo=UTC)  # 23:30 on the 6th, local
    ana = await record(database, community_id, "ana", K.ANSWER_GIVEN, before)
    await record(database, community_id, "ana", K.ANSWER_GIVEN, after)
    async with uow(database) as u:
        rows = await u.repo(ParticipationRepository).daily_counts(
            community_id,
            timezone="America/Santiago",
            since=None,
            until=datetime(2026, 9, 30, tzinfo=UTC),
            kinds=[K.ANSWER_GIVEN.value],
        )
    assert sorted(r.day for r in rows) == [date(2026, 9, 4), date(2026, 9, 6)]
    assert {r.person_id for r in rows} == {ana}


def test_offset_segments_find_each_transition() -> None:
    segments = offset_segments(
        "America/Santiago", datetime(2026, 8, 1, tzinfo=UTC), datetime(2027, 5, 1, tzinfo=UTC)
    )
    offsets = [minutes for _, minutes in segments]
    assert offsets == [-240, -180, -240]
    first_change = segments[0][0]
    assert first_change is not None
    assert abs(first_change - datetime(2026, 9, 6, 4, 0, tzinfo=UTC)) < timedelta(minutes=1)


async def test_the_author_of_a_message_and_whether_it_answered(database: Database) -> None:
    community_id = await add_community(database)
    bea = await record(database, community_id, "bea", K.MESSAGE_POSTED, NOW, event="e:5", ref="5")
    await record(database, community_id, "bea", K.ANSWER_GIVEN, NOW, event="e:5", ref="q:1")
    await record(database, community_id, "bea", K.MESSAGE_POSTED, NOW, event="e:6", ref="6")
    async with uow(database) as u:
        answer = await u.repo(ParticipationRepository).message_author(community_id, "5")
        plain = await u.repo(ParticipationRepository).message_author(community_id, "6")
        unknown = await u.repo(ParticipationRepository).message_author(community_id, "7")
    assert answer is not None and answer.person_id == bea and answer.was_answer
    assert plain is not None and not plain.was_answer and plain.source_event_id == "e:6"
    assert unknown is None


async def test_staff_includes_roles_grants_and_configured_admins(database: Database) -> None:
    community_id = await add_community(database)
    ana = await record(database, community_id, "ana", K.MESSAGE_POSTED, NOW)
    bea = await record(database, community_id, "bea", K.MESSAGE_POSTED, NOW)
    cid = await record(database, community_id, "cid", K.MESSAGE_POSTED, NOW)
    await record(database, community_id, "dan", K.MESSAGE_POSTED, NOW)
    async with uow(database) as u:
        await u.members.set_role(ana, community_id, Role.MODERATOR, NOW)
        await u.grants.grant(RoleGrant(Platform.TELEGRAM, "bea", Role.COORDINATOR), NOW)
        await u.members.set_opt_out(cid, tracking=True)
        await u.commit()
    async with uow(database) as u:
        staff = await u.repo(ParticipationRepository).staff(
            community_id, [(Platform.TELEGRAM, "cid")]
        )
        opted_out = await u.repo(ParticipationRepository).opted_out(community_id)
    assert staff == {ana, bea, cid}
    assert opted_out == {cid}


async def test_forgetting_erases_participation_and_keeps_the_opt_out(database: Database) -> None:
    community_id = await add_community(database)
    ana = await record(database, community_id, "ana", K.MESSAGE_POSTED, NOW)
    bea = await record(database, community_id, "bea", K.MESSAGE_POSTED, NOW)
    async with uow(database) as u:
        erased = await PersonalRecords.of(FEATURES).forget(u, ana)
        await u.commit()
    assert erased["participation"] == 1
    async with uow(database) as u:
        assert await u.repo(ParticipationRepository).kind_counts(community_id, [ana, bea]) == {
            bea: {"message_posted": 1}
        }
        [member] = await u.members.by_person(ana)
        assert member.opted_out_tracking and member.display_name == "ana"
        # Recording them again is refused.
        assert not await u.ledger.record(
            LedgerEntry(community_id, ana, member.identity_id, K.MESSAGE_POSTED, NOW, "again")
        )


async def test_purge_deletes_what_is_past_retention(database: Database) -> None:
    community_id = await add_community(database)
    await record(database, community_id, "ana", K.MESSAGE_POSTED, NOW - timedelta(days=400))
    await record(database, community_id, "ana", K.MESSAGE_POSTED, NOW)
    async with uow(database) as u:
        purged = await u.repo(ParticipationRepository).purge(
            NOW - timedelta(days=365), NOW - timedelta(days=90)
        )
        await u.commit()
    assert purged["participation"] == 1
    async with uow(database) as u:
        assert await u.ledger.count(community_id) == 1
