"""Questions asked in groups: recognised, answered by people, or by the bot when allowed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from facilitator.domain.events import MessageReceived, Origin, ReplyTarget
from facilitator.domain.model import ParticipationKind, Platform, PlatformUser, Role
from facilitator.features.knowledge.auto_answer import AutoAnswer
from facilitator.features.knowledge.loading import ingest_directory
from facilitator.questions import is_question
from tests.conftest import REPO_ROOT, Harness


@pytest.mark.parametrize(
    "text",
    [
        "Does anyone have a template for lessons learned?",
        "¿Alguien tiene una plantilla de lecciones aprendidas?",
        "alguien tiene una plantilla para lecciones aprendidas",
        "Alguém tem um modelo de lições aprendidas",
        "how do we measure engagement in the network",
        "Por que o webinar foi cancelado",
        "any idea who runs the Panama hub",
    ],
)
def test_questions_are_recognised_in_three_languages(text: str) -> None:
    assert is_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "Thanks a lot!",
        "Gracias por compartir",
        "Obrigado, pessoal",
        "ok",
        "/faq what",
        "Here is the link",
    ],
)
def test_statements_and_commands_are_not_questions(text: str) -> None:
    assert not is_question(text)


def group_origin(user: str, message_id: str, minutes: int, harness: Harness) -> Origin:
    return Origin(
        platform=Platform.TELEGRAM,
        event_id=f"tg:{message_id}",
        chat_id="-100",
        user=PlatformUser(Platform.TELEGRAM, user, user.title(), "en"),
        occurred_at=harness.clock.now() + timedelta(minutes=minutes),
        message_id=message_id,
    )


async def ledger_count(harness: Harness, kind: ParticipationKind) -> int:
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-100")
        assert community is not None
        return await uow.ledger.count(community.id, kind)


async def test_a_reply_by_someone_else_answers_the_question_once(harness: Harness) -> None:
    await harness.dispatch(
        MessageReceived(group_origin("ana", "1", 0, harness), "Who runs the Panama hub?")
    )
    own = MessageReceived(
        group_origin("ana", "2", 1, harness), "anyone?", reply_to=ReplyTarget("1", "ana")
    )
    await harness.dispatch(own)  # the asker's own follow-up is not an answer
    for n in ("3", "4"):
        reply = MessageReceived(
            group_origin("bea", n, 2, harness), "Carlos does.", reply_to=ReplyTarget("1", "ana")
        )
        await harness.dispatch(reply)
    assert await ledger_count(harness, ParticipationKind.QUESTION_ASKED) == 2  # incl. "anyone?"
    assert await ledger_count(harness, ParticipationKind.ANSWER_GIVEN) == 1
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-100")
        assert community is not None
        question = await uow.questions.by_message(community.id, "1")
    assert question is not None and question.answered_at is not None
    assert question.text is None  # the text is dropped once no feature needs it


async def enable_auto_answer(harness: Harness) -> AutoAnswer:
    await harness.dispatch(MessageReceived(group_origin("ana", "0", -60, harness), "hello all"))
    async with harness.app.uow_factory() as uow:
        community = await uow.communities.by_chat(Platform.TELEGRAM, "-100")
        assert community is not None
        await uow.communities.update(
            community.__class__(**{**community.__dict__, "settings": {"auto_answer": True}})
        )
        await uow.commit()
    await ingest_directory(
        harness.app.uow_factory, REPO_ROOT / "data" / "knowledge", None, harness.clock
    )
    return AutoAnswer(harness.app.uow_factory, harness.app.services, harness.app.sender)


async def test_an_unanswered_question_is_answered_by_the_bot_once_after_the_delay(
    harness: Harness,
) -> None:
    job = await enable_auto_answer(harness)
    await harness.dispatch(
        MessageReceived(group_origin("ana", "10", 0, harness), "What does the facilitator do?")
    )
    assert await job.run(harness.clock.now() + timedelta(minutes=5)) == 0  # people go first
    assert await job.run(harness.clock.now() + timedelta(minutes=11)) == 1
    assert await job.run(harness.clock.now() + timedelta(minutes=30)) == 0  # at most once
    destination, message = harness.messenger.sent[-1]
    assert destination.chat_id == "-100" and destination.reply_to_message_id == "10"
    assert message.body.plain().startswith("I found this in our repository")
    assert "What does the facilitator do?" in message.body.plain()


async def test_the_bot_stays_quiet_when_a_person_already_answered(harness: Harness) -> None:
    job = await enable_auto_answer(harness)
    await harness.dispatch(
        MessageReceived(group_origin("ana", "20", 0, harness), "What does the facilitator do?")
    )
    await harness.dispatch(
        MessageReceived(
            group_origin("bea", "21", 3, harness),
            "They keep the conversation going.",
            reply_to=ReplyTarget("20", "ana"),
        )
    )
    assert await job.run(harness.clock.now() + timedelta(minutes=15)) == 0


async def test_auto_answer_is_off_unless_a_coordinator_turns_it_on(harness: Harness) -> None:
    await harness.dispatch(
        MessageReceived(group_origin("ana", "30", 0, harness), "What does the facilitator do?")
    )
    await ingest_directory(
        harness.app.uow_factory, REPO_ROOT / "data" / "knowledge", None, harness.clock
    )
    job = AutoAnswer(harness.app.uow_factory, harness.app.services, harness.app.sender)
    assert await job.run(harness.clock.now() + timedelta(minutes=15)) == 0


async def test_coordinator_switches_auto_answer_with_set(harness: Harness) -> None:
    await harness.grant("ana", Role.COORDINATOR)
    [bad] = await harness.say("/set auto_answer maybe", user="ana")
    [done] = await harness.say("/set auto_answer on", user="ana")
    [shown] = await harness.say("/settings", user="ana")
    assert bad.startswith('"maybe" is not a valid value. Choose one of: on, off.')
    assert done == 'Setting auto_answer is now "on".'
    assert "Answers group questions by itself: on" in shown
