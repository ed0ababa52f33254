"""Matchmaking's repository on SQLite and PostgreSQL: a pair is matched once ever, each side
once a round, answers and check-backs are recorded once, and erasure removes a person's
matches whichever side they were on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from facilitator.bootstrap import repositories
from facilitator.domain.model import DataSubject, Platform, PlatformUser
from facilitator.features.matchmaking.domain import Answer, Match, MatchStatus
from facilitator.features.matchmaking.ports import MatchRepository
from facilitator.storage.engine import session_factory
from facilitator.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.conftest import Database

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def uow(db: Database) -> SqlUnitOfWork:
    return SqlUnitOfWorkFactory(session_factory(db.engine), repositories())()


async def people(db: Database) -> tuple[int, int, list[int]]:
    """Two communities and three people: (andes, pampa, [ana, pia, pedro])."""
    async with uow(db) as u:
        andes, pampa = [
            await u.communities.add(
                key=key,
                platform=Platform.TELEGRAM,
                chat_id=chat,
                title=key,
                timezone="UTC",
                language="en",
                now=NOW,
            )
            for key, chat in (("andes", "-1"), ("pampa", "-2"))
        ]
        persons = []
        for uid in ("1", "2", "3"):
            member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, uid, uid), NOW)
            persons.append(member.person_id)
        await u.commit()
    return andes.id, pampa.id, persons


def proposal(andes: int, pampa: int, asker: int, expert: int, round_: str) -> Match:
    return Match(
        round=round_,
        asker_id=asker,
        expert_id=expert,
        asker_community_id=andes,
        expert_community_id=pampa,
        question="How?",
        theme="water",
        created_at=NOW,
    )


async def test_a_pair_once_ever_and_each_side_once_a_round(database: Database) -> None:
    andes, pampa, (ana, pia, pedro) = await people(database)
    async with uow(database) as u:
        repo = u.repo(MatchRepository)
        first = await repo.add(proposal(andes, pampa, ana, pia, "2026-11"))
        reversed_pair = await repo.add(proposal(pampa, andes, pia, ana, "2026-12"))
        same_asker = await repo.add(proposal(andes, pampa, ana, pedro, "2026-11"))
        same_expert = await repo.add(proposal(andes, pampa, pedro, pia, "2026-11"))
        next_month = await repo.add(proposal(andes, pampa, ana, pedro, "2026-12"))
        pairs = await repo.pairs_of([ana])
        await u.commit()

    assert first is not None and first.status is MatchStatus.PROPOSED
    assert reversed_pair is None and same_asker is None and same_expert is None
    assert next_month is not None
    assert pairs == {frozenset((ana, pia)), frozenset((ana, pedro))}


async def test_answers_introduction_and_check_back_happen_once(database: Database) -> None:
    andes, pampa, (ana, pia, _) = await people(database)
    async with uow(database) as u:
        repo = u.repo(MatchRepository)
        made = await repo.add(proposal(andes, pampa, ana, pia, "2026-11"))
        assert made is not None and made.id is not None
        mid = made.id
        assert await repo.answer(mid, "asker", Answer.ACCEPTED) is not None
        assert await repo.answer(mid, "asker", Answer.DECLINED) is None
        assert not await repo.introduce(mid, NOW)  # the expert has not answered
        assert await repo.answer(mid, "expert", Answer.ACCEPTED) is not None
        assert await repo.introduce(mid, NOW)
        assert not await repo.introduce(mid, NOW)
        assert not await repo.decline(mid)
        assert await repo.met(mid, "asker", True) is None  # not checked back on yet
        later = NOW + timedelta(days=8)
        assert await repo.due_check_back(NOW, later) == []
        [due] = await repo.due_check_back(later - timedelta(days=7), later)
        assert await repo.due_check_back(later - timedelta(days=7), later) == []
        met = await repo.met(mid, "asker", True)
        assert met is not None and met.awaiting_learning
        assert await repo.met(mid, "asker", False) is None
        assert (await repo.awaiting_learning(ana)) == met
        assert await repo.learnt(mid, 42)
        assert not await repo.learnt(mid, 43)
        assert await repo.awaiting_learning(ana) is None
        final = await repo.get(mid)
        await u.commit()

    assert due.id == mid
    assert final is not None and final.learning_item_id == 42
    assert final.status is MatchStatus.INTRODUCED and final.asker_met is True


async def test_expiry_and_erasure_on_either_side(database: Database) -> None:
    andes, pampa, (ana, pia, pedro) = await people(database)
    async with uow(database) as u:
        repo = u.repo(MatchRepository)
        await repo.set_opted_in(pia, True, NOW)
        await repo.set_opted_in(ana, True, NOW + timedelta(seconds=1))
        await repo.set_opted_in(pedro, True, NOW)
        await repo.set_opted_in(pedro, False, NOW)
        assert await repo.everyone_opted_in() == [pia, ana]
        await repo.add(proposal(andes, pampa, ana, pia, "2026-11"))
        await repo.add(proposal(andes, pampa, pedro, ana, "2026-12"))
        assert await repo.expire(NOW) == []
        expired = await repo.expire(NOW + timedelta(seconds=1))
        assert await repo.expire(NOW + timedelta(seconds=1)) == []
        erased = await repo.forget_person(DataSubject(ana, ()))
        left = await repo.pairs_of([pia, pedro])
        await u.commit()

    assert [m.status for m in expired] == [MatchStatus.EXPIRED] * 2
    assert erased == {"matches": 2, "match_opt_in": 1}
    assert left == set()
