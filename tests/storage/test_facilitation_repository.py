"""Profiles, nudges, polls and webinars in storage, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facilitator.bootstrap import FEATURES, repositories
from facilitator.domain.model import LedgerEntry, ParticipationKind, Platform, PlatformUser
from facilitator.domain.outbox import OutboxEntry
from facilitator.features.nudges.domain import NudgeKind
from facilitator.features.nudges.ports import NudgeRepository
from facilitator.features.polls.domain import PollDraft
from facilitator.features.polls.ports import PollRepository
from facilitator.features.privacy.service import PersonalRecords
from facilitator.features.profiles.domain import MemberProfile
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.features.webinars.domain import Rsvp, WebinarDraft
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.markup import Destination, OutboundMessage, RichText
from facilitator.storage.engine import session_factory
from facilitator.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.conftest import Database

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)

WHAT_THEY_HAD = (
    "profile",
    "private_chats",
    "nudges",
    "poll_votes",
    "webinar_answers",
    "queued_messages",
)


def uow(db: Database) -> SqlUnitOfWork:
    return SqlUnitOfWorkFactory(session_factory(db.engine), repositories())()


async def setup(db: Database) -> tuple[int, int, int]:
    """A community with one member: (community id, person id, identity id)."""
    async with uow(db) as u:
        community = await u.communities.add(
            key="water",
            platform=Platform.TELEGRAM,
            chat_id="-1001",
            title="Water",
            timezone="America/Santiago",
            language="es",
            now=NOW,
        )
        member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "7", "Ana"), NOW)
        await u.members.join(member.person_id, community.id, NOW)
        await u.commit()
    return community.id, member.person_id, member.identity_id


async def test_profiles_private_chats_and_the_nudge_log(database: Database) -> None:
    community_id, person_id, identity_id = await setup(database)
    async with uow(database) as u:
        await u.repo(ProfileRepository).save(
            MemberProfile(person_id, "BID", "Chile", ("agua",)), NOW
        )
        await u.repo(ProfileRepository).open_private_chat(identity_id, NOW)
        assert await u.repo(NudgeRepository).record(
            community_id, person_id, NudgeKind.REENGAGE, "a", NOW, "k"
        )
        assert not await u.repo(NudgeRepository).record(
            community_id, person_id, NudgeKind.REENGAGE, "a", NOW, "k"
        )
        later = NOW + timedelta(days=3)
        await u.repo(NudgeRepository).record(
            community_id, person_id, NudgeKind.REENGAGE, "b", later, "k2"
        )
        await u.ledger.record(
            LedgerEntry(
                community_id, person_id, identity_id, ParticipationKind.MESSAGE_POSTED, NOW, "e1"
            )
        )
        await u.commit()
    async with uow(database) as u:
        [profile] = await u.repo(ProfileRepository).in_community(community_id)
        assert (profile.organisation, profile.expertise) == ("BID", ("agua",))
        assert await u.repo(ProfileRepository).open_private_chats([identity_id]) == {identity_id}
        await u.repo(ProfileRepository).close_private_chat(Platform.TELEGRAM, "7", NOW)
        assert await u.repo(ProfileRepository).open_private_chats([identity_id]) == set()
        assert (
            await u.repo(NudgeRepository).last(community_id, person_id, NudgeKind.REENGAGE)
            == later
        )
        activity = await u.repo(NudgeRepository).activity(community_id)
        assert activity[person_id].messages == 1 and activity[person_id].last_at == NOW


async def test_polls_keep_one_vote_per_member_and_their_final_counts(database: Database) -> None:
    community_id, person_id, _ = await setup(database)
    async with uow(database) as u:
        poll = await u.repo(PollRepository).add(
            community_id, PollDraft("Q?", ("A", "B")), person_id, None, NOW
        )
        await u.repo(PollRepository).vote(poll.id, person_id, [0], NOW)
        await u.repo(PollRepository).vote(poll.id, person_id, [1], NOW)
        await u.repo(PollRepository).set_refs(poll.id, "77", "5830001")
        await u.commit()
    async with uow(database) as u:
        assert await u.repo(PollRepository).votes(poll.id) == {person_id: (1,)}
        found = await u.repo(PollRepository).by_native_ref("5830001")
        assert found is not None and found.message_ref == "77"
        assert await u.repo(PollRepository).close(poll.id, [0, 1], NOW)
        assert not await u.repo(PollRepository).close(poll.id, [9, 9], NOW)  # closed once
        await u.commit()
    async with uow(database) as u:
        [closed] = await u.repo(PollRepository).closed_between(
            community_id, NOW, NOW + timedelta(hours=1)
        )
    assert closed.final_counts == (0, 1)


async def test_open_polls_of_a_community_come_newest_first(database: Database) -> None:
    community_id, person_id, _ = await setup(database)
    async with uow(database) as u:
        ids = [
            (
                await u.repo(PollRepository).add(
                    community_id, PollDraft(q, ("A", "B")), person_id, None, NOW
                )
            ).id
            for q in ("First?", "Second?", "Third?")
        ]
        await u.repo(PollRepository).close(ids[1], [0, 0], NOW)
        await u.commit()
    async with uow(database) as u:
        assert [p.question for p in await u.repo(PollRepository).open_in(community_id, 5)] == [
            "Third?",
            "First?",
        ]
        assert [p.question for p in await u.repo(PollRepository).open_in(community_id, 1)] == [
            "Third?"
        ]
        assert await u.repo(PollRepository).open_in(community_id + 1, 5) == []


async def test_webinars_not_over_are_those_to_come_and_those_running(
    database: Database,
) -> None:
    community_id, person_id, _ = await setup(database)
    starts = {"ended": -timedelta(hours=1), "running": -timedelta(minutes=30)}
    starts |= {"later": timedelta(days=1)}
    async with uow(database) as u:
        for title, offset in starts.items():
            await u.repo(WebinarRepository).add(
                community_id,
                WebinarDraft(title, NOW + offset, "America/Santiago"),
                speaker_person_id=None,
                created_by=person_id,
                checkin_code=title[:6].upper(),
                now=NOW - timedelta(days=2),
            )
        await u.commit()
    async with uow(database) as u:
        found = await u.repo(WebinarRepository).not_over(community_id, NOW)
        assert [w.title for w in found] == ["running", "later"]
        upcoming = await u.repo(WebinarRepository).upcoming(community_id, NOW)
        assert [w.title for w in upcoming] == ["later"]
        assert await u.repo(WebinarRepository).not_over(community_id + 1, NOW) == []


async def test_forgetting_a_person_erases_their_facilitation_data(database: Database) -> None:
    community_id, person_id, identity_id = await setup(database)
    async with uow(database) as u:
        await u.repo(ProfileRepository).save(MemberProfile(person_id, "BID"), NOW)
        await u.repo(ProfileRepository).open_private_chat(identity_id, NOW)
        await u.repo(NudgeRepository).record(
            community_id, person_id, NudgeKind.WELCOME, "joined", NOW, None
        )
        poll = await u.repo(PollRepository).add(
            community_id, PollDraft("Q?", ("A", "B")), None, None, NOW
        )
        await u.repo(PollRepository).vote(poll.id, person_id, [0], NOW)
        webinar = await u.repo(WebinarRepository).add(
            community_id,
            WebinarDraft("W", NOW + timedelta(days=1), "UTC"),
            speaker_person_id=None,
            created_by=None,
            checkin_code="ABCD",
            now=NOW,
        )
        await u.repo(WebinarRepository).answer(webinar.id, person_id, Rsvp.GOING, NOW)
        await u.outbox.add(
            OutboxEntry(
                "dm",
                "test",
                Destination(Platform.TELEGRAM, "7", is_direct=True),
                OutboundMessage(RichText.of("hi")),
                NOW,
                person_id=person_id,
            ),
            NOW,
        )
        await u.commit()
    async with uow(database) as u:
        erased = await PersonalRecords.of(FEATURES).forget(u, person_id)
        await u.commit()
    assert {k: erased[k] for k in WHAT_THEY_HAD} == dict.fromkeys(WHAT_THEY_HAD, 1)
    async with uow(database) as u:
        assert await u.repo(ProfileRepository).get(person_id) is None
        assert await u.outbox.counts(None) == {}
        assert await u.repo(WebinarRepository).attendees(webinar.id) == []
