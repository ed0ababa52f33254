"""One repository contract, run against SQLite and against PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from facilitator.bootstrap import FEATURES, repositories
from facilitator.domain.events import MessageReceived, Origin, ReactionChanged, ReplyTarget
from facilitator.domain.model import (
    LedgerEntry,
    Member,
    NewQuestion,
    ParticipationKind,
    Platform,
    PlatformUser,
    Role,
    RoleGrant,
)
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.privacy.service import PersonalRecords
from facilitator.storage.engine import session_factory
from facilitator.storage.models import QuestionRow
from facilitator.storage.uow import SqlUnitOfWork, SqlUnitOfWorkFactory
from tests.conftest import Database

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
BIG_TELEGRAM_ID = "-1001234567890123"  # beyond 32 bits: chat ids are 64-bit


def uow(db: Database) -> SqlUnitOfWork:
    return SqlUnitOfWorkFactory(session_factory(db.engine), repositories())()


def said(
    user: PlatformUser,
    event_id: str,
    message_id: str,
    reply_to: tuple[str, str | None] | None = None,
    chat: str = BIG_TELEGRAM_ID,
) -> MessageReceived:
    """A group message, as a batch of inbound events holds it (`uow.prefetch`)."""
    return MessageReceived(
        Origin(user.platform, event_id, chat, user, NOW, message_id=message_id),
        "…",
        reply_to=ReplyTarget(*reply_to) if reply_to else None,
    )


async def add_community(db: Database, chat: str = BIG_TELEGRAM_ID, key: str = "water") -> int:
    async with uow(db) as u:
        community = await u.communities.add(
            key=key,
            platform=Platform.TELEGRAM,
            chat_id=chat,
            title="Water",
            timezone="America/Santiago",
            language="es",
            settings={"purpose": {"en": "x"}},
            now=NOW,
        )
        await u.commit()
    return community.id


async def test_communities_round_trip_with_64_bit_chat_ids(database: Database) -> None:
    community_id = await add_community(database)
    async with uow(database) as u:
        found = await u.communities.by_chat(Platform.TELEGRAM, BIG_TELEGRAM_ID)
        assert found is not None and found.id == community_id
        assert found.settings == {"purpose": {"en": "x"}}
        assert (await u.communities.by_key("water")) == found
        assert await u.communities.by_chat(Platform.SLACK, BIG_TELEGRAM_ID) is None


async def test_timestamps_come_back_timezone_aware_in_utc(database: Database) -> None:
    community_id = await add_community(database)
    local = datetime(2026, 11, 2, 9, 0, tzinfo=UTC).astimezone(
        __import__("zoneinfo").ZoneInfo("America/Santiago")
    )
    async with uow(database) as u:
        member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "7", "Ana"), NOW)
        membership = await u.members.join(member.person_id, community_id, local)
        await u.commit()
    async with uow(database) as u:
        membership = await u.members.membership(member.person_id, community_id)  # type: ignore[assignment]
    assert membership is not None
    assert membership.joined_at == datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    assert membership.joined_at.utcoffset() == timedelta(0)


async def test_ensure_member_is_idempotent_and_tracks_display_name(database: Database) -> None:
    async with uow(database) as u:
        first = await u.members.ensure(
            PlatformUser(Platform.TELEGRAM, "9007199254740993", "Ana"), NOW
        )
        again = await u.members.ensure(
            PlatformUser(Platform.TELEGRAM, "9007199254740993", "Ana María", "es-419"), NOW
        )
        await u.commit()
    assert first.identity_id == again.identity_id and first.person_id == again.person_id
    assert again.display_name == "Ana María" and again.locale_hint == "es-419"


async def test_roles_and_grants(database: Database) -> None:
    community_id = await add_community(database)
    async with uow(database) as u:
        member = await u.members.ensure(PlatformUser(Platform.SLACK, "U1", "Bea"), NOW)
        await u.members.set_role(member.person_id, community_id, Role.MODERATOR, NOW)
        await u.grants.grant(RoleGrant(Platform.SLACK, "U1", Role.ADMIN), NOW)
        await u.grants.grant(RoleGrant(Platform.SLACK, "U1", Role.COORDINATOR), NOW)
        await u.commit()
    async with uow(database) as u:
        membership = await u.members.membership(member.person_id, community_id)
        assert membership is not None and membership.role is Role.MODERATOR
        grants = await u.grants.for_identity(Platform.SLACK, "U1")
        assert [g.role for g in grants] == [Role.COORDINATOR]  # a new grant replaces the old
        assert await u.grants.revoke(Platform.SLACK, "U1", None)
        assert not await u.grants.revoke(Platform.SLACK, "U1", None)
        await u.commit()


async def test_memberships_of_a_person_leave_out_the_communities_they_left(
    database: Database,
) -> None:
    water = await add_community(database)
    seeds = await add_community(database, chat="-100777", key="seeds")
    rivers = await add_community(database, chat="-100778", key="rivers")
    async with uow(database) as u:
        member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "7", "Ana"), NOW)
        await u.members.join(member.person_id, water, NOW)
        await u.members.join(member.person_id, seeds, NOW + timedelta(days=1))
        await u.members.join(member.person_id, rivers, NOW + timedelta(days=2))
        await u.members.leave(member.person_id, rivers, NOW + timedelta(days=3))
        await u.commit()
    async with uow(database) as u:
        found = await u.members.memberships(member.person_id)
    assert [m.community_id for m in found] == [seeds, water]


async def test_ledger_records_a_redelivered_event_once(database: Database) -> None:
    community_id = await add_community(database)
    async with uow(database) as u:
        member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "7", "Ana"), NOW)
        entry = LedgerEntry(
            community_id,
            member.person_id,
            member.identity_id,
            ParticipationKind.MESSAGE_POSTED,
            NOW,
            "update:1001",
        )
        assert await u.ledger.record(entry)
        assert not await u.ledger.record(entry)
        other_kind = LedgerEntry(
            community_id,
            member.person_id,
            member.identity_id,
            ParticipationKind.QUESTION_ASKED,
            NOW,
            "update:1001",
        )
        assert await u.ledger.record(other_kind)
        await u.commit()
    async with uow(database) as u:
        assert await u.ledger.count(community_id) == 2
        assert await u.ledger.count(community_id, ParticipationKind.MESSAGE_POSTED) == 1


async def test_merging_people_moves_identities_memberships_and_ledger(database: Database) -> None:
    community_id = await add_community(database)
    slack_community = await add_community(database, chat="C42", key="slack-water")
    async with uow(database) as u:
        tg = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "7", "Ana"), NOW)
        sl = await u.members.ensure(PlatformUser(Platform.SLACK, "U7", "ana"), NOW)
        await u.members.set_role(tg.person_id, community_id, Role.MEMBER, NOW)
        await u.members.set_role(sl.person_id, community_id, Role.MODERATOR, NOW)
        await u.members.join(sl.person_id, slack_community, NOW)
        await u.ledger.record(
            LedgerEntry(
                slack_community,
                sl.person_id,
                sl.identity_id,
                ParticipationKind.MESSAGE_POSTED,
                NOW,
                "ev1",
            )
        )
        await u.members.merge_people(tg.person_id, sl.person_id)
        await u.commit()
    async with uow(database) as u:
        people = await u.members.by_person(tg.person_id)
        assert {m.platform for m in people} == {Platform.TELEGRAM, Platform.SLACK}
        membership = await u.members.membership(tg.person_id, community_id)
        assert membership is not None and membership.role is Role.MODERATOR  # highest kept
        assert await u.members.membership(tg.person_id, slack_community) is not None
        assert await u.ledger.count(slack_community) == 1


async def test_link_codes_are_single_use(database: Database) -> None:
    async with uow(database) as u:
        member = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "7", "Ana"), NOW)
        await u.link_codes.put("ABCD2345", member.identity_id, NOW + timedelta(minutes=15))
        await u.commit()
    async with uow(database) as u:
        assert await u.link_codes.take("ABCD2345", NOW) == member.identity_id
        assert await u.link_codes.take("ABCD2345", NOW) is None
        await u.commit()


async def test_inbox_claims_each_event_once_and_releases_after_the_lease(
    database: Database,
) -> None:
    async with uow(database) as u:
        for n in range(5):
            assert await u.inbox.add(Platform.TELEGRAM, f"u{n}", "chat", f'{{"n": {n}}}', NOW)
        assert not await u.inbox.add(Platform.TELEGRAM, "u0", "chat", "{}", NOW)
        await u.commit()
    async with uow(database) as u:
        first = await u.inbox.claim(NOW, 30, 3)
        await u.commit()
    async with uow(database) as u:
        second = await u.inbox.claim(NOW, 30, 10)
        await u.commit()
    assert [r.delivery_id for r in first] == ["u0", "u1", "u2"]
    assert [r.delivery_id for r in second] == ["u3", "u4"]
    async with uow(database) as u:
        await u.inbox.mark_done(first[0].id, NOW)
        await u.inbox.mark_rejected(first[1].id, "bad", NOW)
        await u.commit()
    async with uow(database) as u:
        again = await u.inbox.claim(NOW + timedelta(seconds=31), 30, 10)
        await u.commit()
    assert [r.delivery_id for r in again] == ["u2", "u3", "u4"]
    assert all(r.attempts == 2 for r in again)


async def test_an_inbox_claim_for_some_platforms_leaves_the_others_stored(
    database: Database,
) -> None:
    async with uow(database) as u:
        await u.inbox.add(Platform.TELEGRAM, "t1", "chat", "{}", NOW)
        await u.inbox.add(Platform.CONSOLE, "c1", "demo", "{}", NOW)
        await u.commit()
    async with uow(database) as u:
        assert await u.inbox.claim(NOW, 30, 10, []) == []
        console = await u.inbox.claim(NOW, 30, 10, [Platform.CONSOLE, Platform.SLACK])
        await u.commit()
    async with uow(database) as u:
        telegram = await u.inbox.claim(NOW, 30, 10, [Platform.TELEGRAM])
        await u.commit()
    assert [r.delivery_id for r in console] == ["c1"]
    assert [r.delivery_id for r in telegram] == ["t1"]


async def test_concurrent_claims_never_hand_out_the_same_event(database: Database) -> None:
    async with uow(database) as u:
        for n in range(60):
            await u.inbox.add(Platform.SLACK, f"e{n}", f"c{n % 4}", "{}", NOW)
        await u.commit()

    async def claimer() -> list[str]:
        got: list[str] = []
        while True:
            async with uow(database) as u:
                batch = await u.inbox.claim(NOW, 60, 7)
                await u.commit()
            if not batch:
                return got
            got.extend(r.delivery_id for r in batch)

    results = await asyncio.gather(*(claimer() for _ in range(4)))
    everything = [d for result in results for d in result]
    assert sorted(everything) == sorted(f"e{n}" for n in range(60))


async def test_knowledge_upsert_is_keyed_and_every_change_gets_a_new_revision(
    database: Database,
) -> None:
    from facilitator.features.knowledge.domain import ItemStatus, ItemType, KnowledgeItem

    community_id = await add_community(database)
    item = KnowledgeItem(
        key="faq-1",
        type=ItemType.FAQ,
        title="Q?",
        body="A.",
        lang="es",
        tags=("a", "b"),
        alternates=("Q2?",),
        review_by=NOW.date(),
    )
    async with uow(database) as u:
        first = await u.repo(KnowledgeRepository).upsert(item, community_id, NOW)
        same = await u.repo(KnowledgeRepository).upsert(item, community_id, NOW)
        shared = await u.repo(KnowledgeRepository).upsert(item, None, NOW)  # same key, other scope
        await u.commit()
    assert first.id == same.id != shared.id
    async with uow(database) as u:
        assert (
            await u.repo(KnowledgeRepository).revision() == 2
        )  # the unchanged re-upsert wrote nothing
        edited = await u.repo(KnowledgeRepository).save(
            KnowledgeItem(**{**first.__dict__, "body": "B.", "status": ItemStatus.REMOVED}), NOW
        )
        await u.commit()
    async with uow(database) as u:
        changes = await u.repo(KnowledgeRepository).changed_since(2)
        assert [(rev, it.id, it.body, it.status) for rev, it in changes] == [
            (3, edited.id, "B.", ItemStatus.REMOVED)
        ]
        stored = await u.repo(KnowledgeRepository).get(shared.id or 0)
        assert stored is not None and stored.tags == ("a", "b") and stored.review_by == NOW.date()


async def test_knowledge_gaps_and_items_due_for_review(database: Database) -> None:
    from facilitator.features.knowledge.domain import ItemType, KnowledgeGap, KnowledgeItem

    community_id = await add_community(database)
    async with uow(database) as u:
        await u.repo(KnowledgeRepository).add_gap(KnowledgeGap(community_id, "x" * 900, "en", NOW))
        await u.repo(KnowledgeRepository).add_gap(
            KnowledgeGap(community_id, "old", "es", NOW - timedelta(days=40))
        )
        for key, due in [("a", NOW.date() - timedelta(days=1)), ("b", NOW.date())]:
            await u.repo(KnowledgeRepository).upsert(
                KnowledgeItem(
                    key=key, type=ItemType.LESSON, title=key, body="", lang="en", review_by=due
                ),
                community_id,
                NOW,
            )
        await u.commit()
    async with uow(database) as u:
        gaps = await u.repo(KnowledgeRepository).gaps_since(community_id, NOW - timedelta(days=30))
        due = await u.repo(KnowledgeRepository).due_for_review(community_id, NOW.date())
    assert [len(g.query) for g in gaps] == [500]
    assert [item.key for item in due] == ["a"]


async def test_the_unit_of_works_memo_answers_as_the_database_would(database: Database) -> None:
    """Authors and questions of replied-to messages, preloaded or written in the same unit of
    work, are what the database holds; a bulk change forgets them, so nothing stale is seen."""
    community_id = await add_community(database)
    ana, bea = (
        PlatformUser(Platform.TELEGRAM, uid, name) for uid, name in (("1", "Ana"), ("2", "Bea"))
    )

    def entry(member: Member, event: str, ref: str | None, kind: ParticipationKind) -> LedgerEntry:
        return LedgerEntry(
            community_id=community_id,
            person_id=member.person_id,
            identity_id=member.identity_id,
            kind=kind,
            occurred_at=NOW,
            source_event_id=event,
            ref=ref,
        )

    def posted(member: Member, event: str, message: str) -> LedgerEntry:
        return entry(member, event, message, ParticipationKind.MESSAGE_POSTED)

    async def asks(u: SqlUnitOfWork, member: Member, event: str, message: str, text: str) -> bool:
        return await u.questions.add(
            NewQuestion(
                community_id=community_id,
                member=member,
                source_event_id=event,
                message_id=message,
                thread_id=None,
                text=text,
                lang="en",
                asked_at=NOW,
            )
        )

    async with uow(database) as u:
        a = await u.members.ensure(ana, NOW)
        await u.ledger.add(posted(a, "e0", "m0"))  # an answer to something earlier
        await u.ledger.add(entry(a, "e0", None, ParticipationKind.ANSWER_GIVEN))
        await u.ledger.add(posted(a, "e1", "m1"))
        await asks(u, a, "e1", "m1", "¿Alguien?")
        await u.commit()

    async with uow(database) as u:
        # A batch in which Bea replies to m0 and m1 (Ana's), m2 and m3 (by someone the bot
        # never saw): prefetched, then answered from the memo.
        await u.prefetch(
            [
                said(bea, "e5", "m5", ("m0", "1")),
                said(bea, "e6", "m6", ("m1", "1")),
                said(bea, "e7", "m7", ("m2", None)),
                said(bea, "e8", "m8", ("m3", "404")),
            ],
            NOW,
        )
        b = await u.members.ensure(bea, NOW)
        asked = await u.questions.by_message(community_id, "m1")
        assert asked is not None and asked.person_id == a.person_id and asked.answered_at is None
        assert await u.questions.by_message(community_id, "m2") is None
        author = await u.repo(ParticipationRepository).message_author(community_id, "m1")
        assert author is not None and author.person_id == a.person_id and not author.was_answer
        assert await u.repo(ParticipationRepository).message_author(community_id, "m2") is None
        earlier = await u.repo(ParticipationRepository).message_author(community_id, "m0")
        assert earlier is not None and earlier.was_answer
        assert (await u.members.identity(Platform.TELEGRAM, "1")) == a
        assert await u.members.identity(Platform.TELEGRAM, "404") is None

        # Written in this unit: m2 is posted (as an answer) and asks a question itself.
        await u.ledger.add(posted(b, "e2", "m2"))
        await u.ledger.add(entry(b, "e2", "q", ParticipationKind.ANSWER_GIVEN))
        assert await u.questions.mark_answered(asked.id, b.person_id, NOW)
        answered = await u.questions.by_message(community_id, "m1")
        assert answered is not None and answered.answered_by == b.person_id
        assert answered.text is None
        assert await asks(u, b, "e2", "m2", "And?")
        memo_answer = await u.repo(ParticipationRepository).message_author(community_id, "m2")
        assert memo_answer is not None and memo_answer.was_answer
        assert memo_answer.person_id == b.person_id
        memo_question = await u.questions.by_message(community_id, "m2")
        assert memo_question is not None and memo_question.person_id == b.person_id

        # Forgetting Bea deletes her rows; the memo must not still know her post or question.
        await PersonalRecords.of(FEATURES).forget(u, b.person_id)
        assert await u.repo(ParticipationRepository).message_author(community_id, "m2") is None
        assert await u.questions.by_message(community_id, "m2") is None
        forgotten = await u.members.identity(Platform.TELEGRAM, "2")  # kept, name erased
        assert forgotten is not None and forgotten.display_name == "2"
        assert forgotten.opted_out_tracking
        await u.commit()

    async with uow(database) as u:  # what was committed agrees with what the memo said
        assert await u.repo(ParticipationRepository).message_author(community_id, "m2") is None
        again = await u.repo(ParticipationRepository).message_author(community_id, "m1")
        assert again is not None and again.person_id == a.person_id


async def test_people_the_unit_of_work_remembers_stay_current(database: Database) -> None:
    """A batch loads its people once (`ensure_people`, `preload`); a rename, an opt-out or a
    merge later in the same unit of work is what `identity` and the ledger see next."""
    community_id = await add_community(database)
    ana, bea = (
        PlatformUser(Platform.TELEGRAM, "1", "Ana"),
        PlatformUser(Platform.SLACK, "U2", "Bea"),
    )
    async with uow(database) as u:
        a, b = await u.members.ensure(ana, NOW), await u.members.ensure(bea, NOW)
        await u.commit()

    async with uow(database) as u:
        reaction = ReactionChanged(
            Origin(Platform.SLACK, "r1", "C1", bea, NOW), "+1", "m404", "U404", added=True
        )
        await u.prefetch([said(ana, "e1", "m1"), said(bea, "e2", "m2", ("m0", "U2"), "C1")], NOW)
        await u.prefetch([reaction], NOW)
        assert await u.members.ensure(ana, NOW) == a
        assert await u.members.by_person(a.person_id) == [a]
        assert await u.members.by_person(b.person_id) == [b]
        assert await u.members.identity(Platform.SLACK, "U2") == b
        assert await u.members.identity(Platform.SLACK, "U404") is None

        # A rename through `ensure` (an ORM flush), then an opt-out (a bulk UPDATE).
        await u.members.ensure(PlatformUser(Platform.TELEGRAM, "1", "Ana María"), NOW)
        renamed = await u.members.identity(Platform.TELEGRAM, "1")
        assert renamed is not None and renamed.display_name == "Ana María"
        await u.members.set_opt_out(a.person_id, tracking=True)
        opted = await u.members.identity(Platform.TELEGRAM, "1")
        assert opted is not None and opted.opted_out_tracking
        await u.ledger.add(
            LedgerEntry(
                community_id=community_id,
                person_id=a.person_id,
                identity_id=a.identity_id,
                kind=ParticipationKind.MESSAGE_POSTED,
                occurred_at=NOW,
                source_event_id="e1",
                ref="m1",
            )
        )
        assert await u.ledger.count(community_id) == 0  # opted out: not recorded

        # A rename seen by a batch, then a merge: Bea's Slack account becomes Ana's.
        renamed_bea = PlatformUser(Platform.SLACK, "U2", "Bea R.")
        await u.prefetch([said(renamed_bea, "e3", "m3", chat="C1")], NOW)
        again = await u.members.identity(Platform.SLACK, "U2")
        assert again is not None and again.display_name == "Bea R."
        await u.members.merge_people(a.person_id, b.person_id)
        merged = await u.members.identity(Platform.SLACK, "U2")
        assert merged is not None and merged.person_id == a.person_id
        await u.prefetch([said(ana, "e4", "m4")], NOW)
        linked = await u.members.by_person(a.person_id)
        assert [m.platform_user_id for m in linked] == ["1", "U2"]
        await u.commit()

    async with uow(database) as u:
        assert (await u.members.identity(Platform.SLACK, "U2")) == merged


async def test_questions_stored_together_are_new_once_each(database: Database) -> None:
    """A batch's questions, prefetched as new, are stored in one statement; each event's
    `add` finds its question new exactly once, and a question asked before is not new."""
    community_id = await add_community(database)

    def asked(member: Member, n: int) -> NewQuestion:
        return NewQuestion(
            community_id=community_id,
            member=member,
            source_event_id=f"chat:1:msg:{n}",
            message_id=str(n),
            thread_id=None,
            text=f"¿Pregunta {n}?",
            lang="es",
            asked_at=NOW,
        )

    async with uow(database) as u:
        ana = await u.members.ensure(PlatformUser(Platform.TELEGRAM, "1", "Ana"), NOW)
        assert await u.questions.add(asked(ana, 1))
        await u.commit()
    inserts: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("INSERT INTO questions"):
            inserts.append(statement)

    user = PlatformUser(Platform.TELEGRAM, "1", "Ana")
    async with uow(database) as u:
        await u.prefetch([said(user, f"chat:1:msg:{n}", str(n)) for n in (1, 2, 3)], NOW)
        event.listen(database.engine.sync_engine, "before_cursor_execute", count)
        try:
            assert [await u.questions.add(asked(ana, n)) for n in (1, 2, 3, 2)] == [
                False,
                True,
                True,
                False,
            ]
            stored = await u.questions.by_message(community_id, "2")
            assert stored is not None and stored.text == "¿Pregunta 2?"
            assert stored.answered_at is None
            await u.commit()
        finally:
            event.remove(database.engine.sync_engine, "before_cursor_execute", count)
    assert len(inserts) == 1
    async with uow(database) as u:
        again = await u.questions.by_message(community_id, "2")
        assert again == stored
        rows = await u.session.execute(  # type: ignore[attr-defined]
            select(QuestionRow.message_id).order_by(QuestionRow.message_id)
        )
        assert list(rows.scalars()) == ["1", "2", "3"]
