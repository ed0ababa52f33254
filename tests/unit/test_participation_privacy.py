"""Privacy: opting out and in, the data export, erasure, and the retention job."""

from __future__ import annotations

import json
from datetime import timedelta

from facilitator.domain.events import ButtonPressed, Origin
from facilitator.domain.model import Platform, PlatformUser
from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.participation.retention import Retention
from facilitator.features.privacy.service import PersonalRecords
from tests.conftest import Harness


async def person_of(harness: Harness, user: str) -> int:
    async with harness.app.uow_factory() as uow:
        member = await uow.members.identity(Platform.CONSOLE, user)
    assert member is not None
    return member.person_id


async def recorded(harness: Harness) -> int:
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        return await uow.ledger.count(community.id)


async def test_optout_tracking_stops_recording_and_optin_resumes_it(harness: Harness) -> None:
    await harness.community()
    await harness.say("a first message")  # the console sends plain lines to the group
    before = await recorded(harness)
    [reply] = await harness.say("/optout tracking")
    assert reply.startswith("Done: I no longer record your participation")
    await harness.say("a message nobody records")
    assert await recorded(harness) == before
    [reply] = await harness.say("/optin tracking")
    assert reply == "Done: I record your participation again."
    await harness.say("recorded again")
    assert await recorded(harness) == before + 1


async def test_optout_without_argument_stops_tracking_and_nudges(harness: Harness) -> None:
    await harness.community()
    [reply] = await harness.say("/optout", locale="es")
    assert reply.startswith("Listo: ya no registro tu participación ni te enviaré recordatorios")
    async with harness.app.uow_factory() as uow:
        [member] = await uow.members.by_person(await person_of(harness, "carla"))
    assert member.opted_out_tracking and member.opted_out_nudges


async def test_optout_nudges_keeps_tracking(harness: Harness) -> None:
    await harness.community()
    await harness.say("/optout nudges", locale="pt")
    async with harness.app.uow_factory() as uow:
        [member] = await uow.members.by_person(await person_of(harness, "carla"))
    assert member.opted_out_nudges and not member.opted_out_tracking


async def test_me_tells_an_opted_out_member_nothing_is_kept(harness: Harness) -> None:
    await harness.community()
    await harness.say("/optout tracking")
    [reply] = await harness.say("/me")
    assert reply.startswith("You opted out of participation tracking")


async def test_mydata_sends_everything_stored_privately_as_a_file(harness: Harness) -> None:
    await harness.community()
    await harness.say("Who has the workshop agenda?")
    await harness.say("/lang es")
    before = len(harness.messenger.sent)
    await harness.say("/mydata")
    [(destination, message)] = harness.messenger.sent[before:]
    assert destination.user_id == "carla" and message.ephemeral
    assert message.body.plain().startswith(
        "Esto es todo lo que guardo sobre ti. Registros de participación: 2."
    )
    assert message.attachment is not None
    data = json.loads(message.attachment.content)
    assert data["person"]["language"] == "es"
    assert [i["user_id"] for i in data["identities"]] == ["carla"]
    assert {e["kind"] for e in data["participation"]} == {"message_posted", "question_asked"}
    assert data["questions"][0]["text"] == "Who has the workshop agenda?"
    assert data["memberships"][0]["community"] == "demo"


async def test_forgetme_asks_first_then_erases_and_stops_tracking(harness: Harness) -> None:
    await harness.community()
    await harness.say("Who has the workshop agenda?")
    await harness.say("Here: https://example.org/agenda")
    [question] = await harness.say("/forgetme")
    assert question.startswith("This erases everything I store about you")
    assert harness.messenger.sent[-1][1].buttons[0][0].action == "privacy_forget"
    assert await recorded(harness) > 0
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id="press:1",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, "carla", "Carla"),
        occurred_at=harness.clock.now(),
    )
    [done] = await harness.dispatch(ButtonPressed(origin, "privacy_forget", "confirm"))
    assert done.startswith("Done: I erased your data (")
    assert await recorded(harness) == 0
    await harness.say("still here, not recorded")
    assert await recorded(harness) == 0
    records = harness.app.services.feature(PersonalRecords)
    async with harness.app.uow_factory() as uow:
        data = await records.export(uow, await person_of(harness, "carla"))
    assert data["questions"] == [] and data["participation"] == []


async def press(harness: Harness, action: str, value: str, user: str = "carla") -> None:
    """A button pressed in the console, stored in the inbox and handled as any event is."""
    harness.seq += 1
    payload = {
        "kind": "button",
        "action": action,
        "value": value,
        "id": f"b:{harness.seq}",
        "user_id": user,
        "locale": "en",
        "at": harness.clock.now().isoformat(),
    }
    await harness.app.inbox.accept(
        Platform.CONSOLE, f"b:{harness.seq}", json.dumps(payload), "demo", user
    )
    await harness.app.inbox.process_pending()


async def raw_payloads(harness: Harness) -> dict[str, str | None]:
    """The sender and payload of every stored inbox row, by delivery id."""
    from sqlalchemy import select

    from facilitator.storage.models import InboxRow

    async with harness.app.uow_factory() as uow:
        found = await uow.session.execute(  # type: ignore[attr-defined]
            select(InboxRow.delivery_id, InboxRow.payload)
        )
        return {delivery_id: payload for delivery_id, payload in found}


async def test_mydata_includes_the_raw_messages_the_member_sent(harness: Harness) -> None:
    await harness.community()
    await harness.say("My number is 555-0100")
    await harness.say("Bea's own words", user="bea")
    before = len(harness.messenger.sent)
    await harness.say("/mydata")
    [(_, message)] = harness.messenger.sent[before:]
    assert message.attachment is not None
    received = json.loads(message.attachment.content)["received_payloads"]
    assert [(r["payload"]["text"], r["payload"]["name"]) for r in received] == [
        ("My number is 555-0100", "Carla"),
        ("/mydata", "Carla"),  # being handled as it was exported
    ]


async def test_forgetme_clears_the_members_raw_messages_and_not_anothers(
    harness: Harness,
) -> None:
    await harness.community()
    await harness.say("My number is 555-0100")
    await harness.say("Bea's own words", user="bea")
    await harness.say("/forgetme")
    await press(harness, "privacy_forget", "confirm")
    assert harness.messenger.sent[-1][1].body.plain().startswith("Done: I erased your data (")

    stored = await raw_payloads(harness)
    # Carla's message, her /forgetme and the press itself (cleared once it was handled).
    assert stored["t:1"] is None and stored["t:3"] is None and stored["b:4"] is None
    assert "Bea's own words" in (stored["t:2"] or "")
    redelivered = json.dumps({"kind": "text", "text": "My number is 555-0100", "id": "t:1"})
    assert not await harness.app.inbox.accept(Platform.CONSOLE, "t:1", redelivered, "demo")


async def test_retention_drops_old_events_and_old_question_texts(harness: Harness) -> None:
    await harness.community()
    await harness.say("Who has the workshop agenda?")
    harness.clock.advance(days=100)
    await harness.say("A recent message")
    job = Retention(harness.app.uow_factory, events_days=60, texts_days=30, payload_days=7)
    purged = await job.run(harness.clock.now())
    assert (purged["participation"], purged["question_texts"]) == (2, 1)
    # The stored raw message handled long ago: its payload cleared, its row deleted.
    assert (purged["inbox_payloads"], purged["inbox_rows"]) == (1, 1)
    assert await recorded(harness) == 1
    assert await job.run(harness.clock.now()) == {
        "participation": 0,
        "question_texts": 0,
        "unanswered_lookups": 0,
        "inbox_payloads": 0,
        "inbox_rows": 0,
    }


async def test_the_retention_job_is_declared_for_every_process(harness: Harness) -> None:
    jobs = {job.job_id: job for job in harness.app.jobs}
    assert "retention.purge" in jobs
    assert harness.app.settings.retention_days == 365
    clock_now = harness.clock.now()
    assert await jobs["retention.purge"].run(clock_now + timedelta(days=1)) is not None


async def test_other_features_data_is_exported_and_erased_too(harness: Harness) -> None:
    await harness.community()
    await harness.say('/intro "Fondo Regional" "Chile" "facilitation, monitoring"')
    before = len(harness.messenger.sent)
    await harness.say("/mydata")
    [(_, message)] = harness.messenger.sent[before:]
    assert message.attachment is not None
    exported = json.loads(message.attachment.content)
    assert exported["profile"][0]["organisation"] == "Fondo Regional"
    person = await person_of(harness, "carla")
    records = harness.app.services.feature(PersonalRecords)
    async with harness.app.uow_factory() as uow:
        await records.forget(uow, person)
        await uow.commit()
    async with harness.app.uow_factory() as uow:
        data = await records.export(uow, person)
    assert "Fondo Regional" not in json.dumps(data, ensure_ascii=False)


async def test_after_forgetme_no_row_points_at_the_person_but_their_kept_account(
    harness: Harness,
) -> None:
    """A recount from the tables themselves: every column that refers to a person (the
    inventory in test_personal_data) is read back after the erasure."""
    await harness.community()
    await harness.say('/intro "Fondo Regional" "Chile" "facilitation, monitoring"')
    await harness.say("Who has the workshop agenda?")
    await harness.say("/faq nothing matches this zebra question")
    await harness.say('/poll "Lunch or dinner?" Lunch Dinner')
    await harness.dispatch(
        ButtonPressed(
            Origin(
                platform=Platform.CONSOLE,
                event_id="press:vote",
                chat_id="demo",
                user=PlatformUser(Platform.CONSOLE, "carla", "Carla"),
                occurred_at=harness.clock.now(),
            ),
            "poll_vote",
            "1:0",
        )
    )
    await harness.say("Who knows about monitoring?", user="bea")
    demo = await harness.community()
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).upsert(
            KnowledgeItem("agenda", ItemType.FAQ, "The agenda", "Here.", "en"),
            demo.id,
            harness.clock.now(),
        )
        await uow.commit()
    await harness.say(f"/bookmark {item.id}")
    person = await person_of(harness, "carla")
    records = harness.app.services.feature(PersonalRecords)
    async with harness.app.uow_factory() as uow:
        subject = await records.subject(uow, person)
        before = await rows_pointing_at(uow, person, subject.identity_ids)
        exported = await records.export(uow, person)
    assert {
        "member_profiles",
        "questions",
        "knowledge_gaps",
        "poll_votes",
        "polls",
        "bookmarks",
    } <= {table for table, _ in before}
    async with harness.app.uow_factory() as uow:
        erased = await records.forget(uow, person)
        await uow.commit()
    someone_else = await person_of(harness, "bea")
    async with harness.app.uow_factory() as uow:
        after = await rows_pointing_at(uow, person, subject.identity_ids)
        bea = await rows_pointing_at(uow, someone_else, ())
    # Kept on purpose: the person and their account (so that the opt-out holds), and their
    # membership (so that their role still works).
    assert after == {("identities", "person_id"), ("memberships", "person_id")}
    assert ("questions", "person_id") in bea  # somebody else's data is untouched
    kinds = (
        "profile",
        "poll_votes",
        "unanswered_lookups",
        "questions",
        "participation",
        "bookmarks",
    )
    for kind in kinds:
        assert erased[kind] == len(exported[kind]) > 0, kind
    assert erased["bookmarks"] == len(exported["bookmarks"]) == 1


async def rows_pointing_at(
    uow: object, person_id: int, identity_ids: tuple[int, ...]
) -> set[tuple[str, str]]:
    """(table, column) of every column that points at the person or their accounts and still
    holds a row doing so."""
    from sqlalchemy import func, select

    from facilitator.bootstrap import models

    session = uow.session  # type: ignore[attr-defined]
    found: set[tuple[str, str]] = set()
    for table in models().metadata.sorted_tables:
        for column in table.columns:
            for key in column.foreign_keys:
                target = key.column.table.name
                if target not in ("persons", "identities"):
                    continue
                wanted = person_id if target == "persons" else None
                match = (
                    column == wanted if wanted is not None else column.in_(identity_ids or (-1,))
                )
                if await session.scalar(select(func.count()).select_from(table).where(match)):
                    found.add((table.name, column.name))
    return found
