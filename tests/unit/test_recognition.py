"""Recognition that speaks: new badges and levels congratulated once, privately, in the
member's language; in the group only when the community turns it on; `/me` shows the next
badge. Every congratulation is checked against what the ledger says was earned."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import func, select

from facilitator.domain.events import (
    CommandInvoked,
    MemberLeft,
    MessageReceived,
    Origin,
    ReplyTarget,
)
from facilitator.domain.model import Platform, PlatformUser
from facilitator.features.participation.config import ParticipationConfig
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.scoring import badges_for
from facilitator.features.participation.storage import RecognitionRow
from facilitator.features.privacy.service import PersonalRecords
from facilitator.markup import Style
from tests.conftest import Harness

GROUP = "-100888"
JOB = "recognition.badges"


class Chat:
    """A Telegram group and its members' private chats, event by event."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.seq = 0
        self.names: dict[str, str] = {}
        self.languages: dict[str, str] = {}

    def origin(self, user: str, *, direct: bool = False) -> Origin:
        self.seq += 1
        return Origin(
            platform=Platform.TELEGRAM,
            event_id=f"rec:{self.seq}",
            chat_id=user if direct else GROUP,
            user=PlatformUser(
                Platform.TELEGRAM,
                user,
                self.names.get(user, user.title()),
                self.languages.get(user, "en"),
            ),
            occurred_at=self.harness.clock.now(),
            chat_title="Water CoP",
            is_direct=direct,
            message_id=str(self.seq),
        )

    async def say(self, user: str, text: str, reply_to: tuple[str, str] | None = None) -> str:
        origin = self.origin(user)
        target = ReplyTarget(reply_to[0], reply_to[1]) if reply_to else None
        await self.harness.dispatch(MessageReceived(origin, text, reply_to=target))
        return origin.message_id or ""

    async def command(self, user: str, text: str, *, direct: bool = False) -> list[str]:
        name, _, args = text.lstrip("/").partition(" ")
        return await self.harness.dispatch(
            CommandInvoked(self.origin(user, direct=direct), name, args)
        )

    async def answer(self, asker: str, answerer: str) -> None:
        """`asker` asks a question in the group and `answerer` replies to it."""
        question = await self.say(asker, f"Who has a template for lessons learned, {self.seq}?")
        await self.say(answerer, "I do, it is in the shared folder.", reply_to=(question, asker))

    async def thank(self, asker: str, answerer: str) -> None:
        question = await self.say(asker, f"Where is the water toolkit {self.seq}?")
        reply = await self.say(answerer, "Here, in the library.", reply_to=(question, asker))
        await self.say(asker, "Thanks a lot!", reply_to=(reply, answerer))

    async def run(self) -> int:
        """The recognition job, a minute after the last event."""
        self.harness.clock.advance(minutes=1)
        return await self.harness.job(JOB)

    async def deliver(self) -> list[tuple[str, str]]:
        before = len(self.harness.messenger.sent)
        await self.harness.app.dispatcher.dispatch_due()
        return [(d.chat_id, m.body.plain()) for d, m in self.harness.messenger.sent[before:]]

    async def set_participation(self, **values: object) -> None:
        async with self.harness.app.uow_factory() as uow:
            community = await uow.communities.by_chat(Platform.TELEGRAM, GROUP)
            assert community is not None
            current = community.setting("participation")
            merged = {**(current if isinstance(current, dict) else {}), **values}
            await uow.communities.update(
                replace(community, settings={**community.settings, "participation": merged})
            )
            await uow.commit()

    async def earned_in_ledger(self, user: str) -> tuple[str, ...]:
        """A recount: the badges the ledger's raw events give `user` now."""
        async with self.harness.app.uow_factory() as uow:
            community = await uow.communities.by_chat(Platform.TELEGRAM, GROUP)
            member = await uow.members.identity(Platform.TELEGRAM, user)
            assert community is not None and member is not None
            repo = uow.repo(ParticipationRepository)
            counts = await repo.kind_counts(community.id, [member.person_id])
            pioneers = await repo.pioneers(community.id)
        return badges_for(
            counts.get(member.person_id, {}),
            ParticipationConfig(),
            pioneer=member.person_id in pioneers,
        )

    async def recorded(self) -> int:
        async with self.harness.app.uow_factory() as uow:
            session = uow.session  # type: ignore[attr-defined]
            return int(await session.scalar(select(func.count()).select_from(RecognitionRow)))


async def test_a_first_answer_is_congratulated_privately_once(harness: Harness) -> None:
    chat = Chat(harness)
    await chat.command("201", "/start", direct=True)
    await chat.answer("101", "201")
    assert await chat.run() == 2  # the First answer badge, and the Participant level
    sent = await chat.deliver()
    assert [target for target, _ in sent] == ["201", "201"]
    texts = [text for _, text in sent]
    assert any("you earned the First answer badge in Water CoP" in t for t in texts)
    assert any("you are now Participant in Water CoP" in t for t in texts)
    assert await chat.earned_in_ledger("201") == ("first_answer",)
    assert "Water CoP" not in " ".join(harness.messenger.texts()[:1])  # nothing in the group
    # Never twice: the next runs, and a second answer, add nothing.
    assert await chat.run() == 0
    await chat.answer("102", "201")
    assert await chat.run() == 0
    assert await chat.deliver() == []
    assert await chat.recorded() == 2


async def test_the_congratulation_is_in_the_members_language(harness: Harness) -> None:
    chat = Chat(harness)
    chat.languages["202"] = "es"
    await chat.command("202", "/start", direct=True)
    await chat.answer("101", "202")
    await chat.run()
    texts = [text for _, text in await chat.deliver()]
    assert any("Ganaste la insignia Primera respuesta en Water CoP" in t for t in texts)
    assert any("Ahora tu nivel en Water CoP es Participante" in t for t in texts), texts


async def test_badges_earned_before_the_job_looked_are_not_congratulated(
    harness: Harness,
) -> None:
    chat = Chat(harness)
    await chat.command("203", "/start", direct=True)
    await chat.answer("101", "203")
    harness.clock.advance(days=2)  # earned long before: not news any more
    assert await chat.run() == 0
    assert await chat.recorded() == 0
    # A badge earned now still is: five thanked answers make a Helper.
    for _ in range(5):
        await chat.thank("104", "203")
    assert "helper" in await chat.earned_in_ledger("203")
    await chat.run()
    texts = [text for _, text in await chat.deliver()]
    assert any("you earned the Helper badge" in t for t in texts), texts
    assert not any("First answer" in t for t in texts)


async def test_telegram_members_who_never_started_the_bot_are_not_told_in_the_group(
    harness: Harness,
) -> None:
    chat = Chat(harness)
    await chat.answer("101", "204")
    await chat.run()
    assert await chat.deliver() == []  # no private chat: nothing, and no group mention
    assert await chat.recorded() == 2  # but recorded: not congratulated later out of the blue
    await chat.command("204", "/start", direct=True)
    assert await chat.run() == 0


async def test_the_group_hears_of_it_only_when_the_community_turns_it_on(
    harness: Harness,
) -> None:
    chat = Chat(harness)
    chat.names["205"] = "*Eve* $x=1 <b>"
    await chat.command("205", "/start", direct=True)
    await chat.answer("101", "205")
    await chat.set_participation(congratulate_in_group=True)
    assert await chat.run() == 3  # two private messages, one group message
    sent = await chat.deliver()
    [group] = [text for target, text in sent if target == GROUP]
    assert group.startswith("🎉 Congratulations:")
    assert "*Eve* $x=1 <b>: the First answer badge" in group
    assert "*Eve* $x=1 <b>: now Participant" in group
    # The name is the member's words, never markup.
    [message] = [m for d, m in harness.messenger.sent if d.chat_id == GROUP]
    styled = [s.text for b in message.body.blocks for s in b.spans if s.style is Style.BOLD]
    assert "*Eve* $x=1 <b>" in styled


async def test_coordinators_turn_group_congratulations_on_in_their_language(
    harness: Harness,
) -> None:
    chat = Chat(harness)
    await chat.say("101", "hello")
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, GROUP)
        member = await uow.members.identity(Platform.TELEGRAM, "301")
        if member is None:
            member = await uow.members.ensure(
                PlatformUser(Platform.TELEGRAM, "301", "Coord", "es"), harness.clock.now()
            )
        assert community is not None
        from facilitator.domain.model import Role

        await uow.members.set_role(
            member.person_id, community.id, Role.COORDINATOR, harness.clock.now()
        )
        await uow.commit()
    chat.languages["301"] = "es"
    said = await chat.command("301", "/participation felicitar sí")
    assert any("felicitar" in line for line in said), said
    refused = await chat.command("101", "/participation congratulate on")
    assert refused and "congratulate" not in " ".join(refused).lower().split("`")[1:2]
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, GROUP)
        assert community is not None
        assert community.setting("participation") == {"congratulate_in_group": True}


async def test_opted_out_members_and_members_who_left_get_nothing(harness: Harness) -> None:
    chat = Chat(harness)
    for user in ("206", "207", "208"):
        await chat.command(user, "/start", direct=True)
    await chat.command("206", "/optout tracking", direct=True)
    await chat.command("207", "/optout nudges", direct=True)
    await chat.answer("101", "206")
    await chat.answer("101", "207")
    await chat.answer("101", "208")
    await harness.dispatch(MemberLeft(chat.origin("208"), chat.origin("208").user))
    await chat.set_participation(congratulate_in_group=True)
    await chat.run()
    sent = await chat.deliver()
    assert [target for target, _ in sent] == [GROUP]  # 207 only in the group, by name
    assert "207" in sent[0][1] and "206" not in sent[0][1] and "208" not in sent[0][1]


async def test_a_congratulation_due_at_night_waits_for_the_morning(harness: Harness) -> None:
    chat = Chat(harness)
    await chat.command("209", "/start", direct=True)
    await chat.command("209", "/timezone Europe/Madrid", direct=True)
    harness.clock.current = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # 23:30 in Madrid
    await chat.answer("101", "209")
    assert await chat.run() == 2
    assert await chat.deliver() == []
    harness.clock.current = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)  # 08:00 in Madrid
    assert [target for target, _ in await chat.deliver()] == ["209", "209"]


async def test_two_workers_running_the_job_at_once_congratulate_once(
    any_harness: Harness,
) -> None:
    chat = Chat(any_harness)
    await chat.command("210", "/start", direct=True)
    await chat.answer("101", "210")
    any_harness.clock.advance(minutes=1)
    recognition = next(job for job in any_harness.app.jobs if job.job_id == JOB)
    runs = await asyncio.gather(
        *(recognition.run(any_harness.clock.now()) for _ in range(3)), return_exceptions=True
    )
    queued = sum(r for r in runs if isinstance(r, int))
    assert queued == 2, runs
    assert len(await chat.deliver()) == 2


async def test_me_shows_the_closest_badge_and_what_it_still_needs(harness: Harness) -> None:
    chat = Chat(harness)
    await chat.command("211", "/start", direct=True)
    await chat.thank("101", "211")
    [reply] = await chat.command("211", "/me")
    # One thanked answer of five: Helper needs four more (and First answer is earned).
    assert "Badges: First answer" in reply
    assert "Next badge, Helper: 4 more thanked answers." in reply
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, GROUP)
        member = await uow.members.identity(Platform.TELEGRAM, "211")
        assert community is not None and member is not None
        counts = await uow.repo(ParticipationRepository).kind_counts(
            community.id, [member.person_id]
        )
    assert 5 - counts[member.person_id]["answer_thanked"] == 4  # the recount
    chat.languages["211"] = "pt"
    [reply] = await chat.command("211", "/me")
    assert "Próximo selo, Ajuda constante: faltam 4 respostas agradecidas." in reply or (
        "Próximo selo" in reply and "faltam 4 respostas agradecidas" in reply
    )


async def test_mydata_exports_and_forgetme_erases_the_recognitions(harness: Harness) -> None:
    chat = Chat(harness)
    await chat.command("212", "/start", direct=True)
    await chat.command("213", "/start", direct=True)
    await chat.answer("101", "212")
    await chat.answer("101", "213")
    await chat.run()
    # Each answerer: First answer and Participant; the asker of both questions: Participant.
    assert await chat.recorded() == 5
    records = harness.app.services.feature(PersonalRecords)
    async with harness.app.uow_factory() as uow:
        member = await uow.members.identity(Platform.TELEGRAM, "212")
        assert member is not None
        exported = await records.export(uow, member.person_id)
        await records.forget(uow, member.person_id)
        await uow.commit()
    keys = sorted(row["key"] for row in exported["recognitions"])
    assert keys == ["first_answer", "participant"]
    assert await chat.recorded() == 3  # 213's and 101's stay


async def test_a_busy_day_names_twenty_in_the_group_and_counts_the_rest(
    harness: Harness,
) -> None:
    chat = Chat(harness)
    for n in range(23):
        await chat.answer("101", f"3{n:02d}")
    await chat.set_participation(congratulate_in_group=True)
    await chat.run()
    [group] = [text for target, text in await chat.deliver() if target == GROUP]
    # 23 answerers earned First answer and Participant, the asker Participant: 47 awards.
    assert len([line for line in group.splitlines() if line.startswith("• ")]) == 21
    assert group.splitlines()[-1] == "• and 27 more"
