"""What each inbound event adds to the participation ledger, and what it never adds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from facilitator.domain.events import (
    CommandInvoked,
    MemberJoined,
    MessageReceived,
    Origin,
    ReactionChanged,
    ReplyTarget,
)
from facilitator.domain.model import Platform, PlatformUser
from facilitator.features.participation.ports import ParticipationRepository
from tests.conftest import Harness

CHAT = "-100777"


class Group:
    """A Telegram group driven event by event; message ids are the event numbers."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.seq = 0

    def origin(self, user: str, *, is_bot: bool = False, event: str | None = None) -> Origin:
        self.seq += 1
        return Origin(
            platform=Platform.TELEGRAM,
            event_id=event or f"chat:{CHAT}:msg:{self.seq}",
            chat_id=CHAT,
            user=PlatformUser(Platform.TELEGRAM, user, user.title(), "en", is_bot=is_bot),
            occurred_at=self.harness.clock.now() + timedelta(minutes=self.seq),
            chat_title="Water CoP",
            message_id=str(self.seq),
        )

    async def say(
        self, user: str, text: str, reply_to: tuple[str, str] | None = None, **kw: bool
    ) -> str:
        origin = self.origin(user)
        target = ReplyTarget(reply_to[0], reply_to[1]) if reply_to else None
        await self.harness.dispatch(MessageReceived(origin, text, reply_to=target, **kw))
        return origin.message_id or ""

    async def react(
        self, user: str, message_id: str, emoji: str, author: str | None = None
    ) -> None:
        origin = self.origin(user)
        await self.harness.dispatch(ReactionChanged(origin, emoji, message_id, author, True))

    async def counts(self, user: str) -> dict[str, int]:
        async with self.harness.app.uow_factory() as uow:
            community = await uow.communities.by_chat(Platform.TELEGRAM, CHAT)
            member = await uow.members.identity(Platform.TELEGRAM, user)
            assert community is not None and member is not None
            found = await uow.repo(ParticipationRepository).kind_counts(
                community.id, [member.person_id]
            )
        return found.get(member.person_id, {})


@pytest.fixture
def group(harness: Harness) -> Group:
    return Group(harness)


@pytest.mark.parametrize("thanks", ["Thanks a lot!", "¡Muchas gracias!", "Obrigada, Bea 🙂", "🙏"])
async def test_a_thanks_reply_credits_the_person_replied_to(group: Group, thanks: str) -> None:
    tip = await group.say("bea", "The template is in the shared folder.")
    await group.say("ana", thanks, reply_to=(tip, "bea"))
    assert (await group.counts("bea")).get("thanks_received") == 1
    assert "thanks_received" not in await group.counts("ana")


async def test_an_answer_thanked_twice_is_a_thanked_answer_once(group: Group) -> None:
    question = await group.say("ana", "Who has a template for lessons learned?")
    answer = await group.say(
        "bea", "I do, it is in the shared folder.", reply_to=(question, "ana")
    )
    await group.say("ana", "Thanks!", reply_to=(answer, "bea"))
    await group.say("carl", "Gracias, me sirvió también", reply_to=(answer, "bea"))
    bea = await group.counts("bea")
    assert bea["answer_given"] == 1
    assert bea["thanks_received"] == 2
    assert bea["answer_thanked"] == 1


async def test_thanks_in_reply_to_ones_own_answered_question_thanks_the_answerer(
    group: Group,
) -> None:
    # A Slack thread: every reply points at the thread's first message, the question.
    question = await group.say("ana", "Does anyone know the visa rules for Panama?")
    await group.say("bea", "Yes, ninety days without a visa.", reply_to=(question, "ana"))
    await group.say("ana", "Thank you!", reply_to=(question, "ana"))
    bea = await group.counts("bea")
    assert bea["answer_thanked"] == 1 and bea["thanks_received"] == 1


async def test_thanks_to_oneself_earns_nothing(group: Group) -> None:
    mine = await group.say("ana", "Here is my summary of the call.")
    await group.say("ana", "Thanks!", reply_to=(mine, "ana"))
    await group.react("ana", mine, "👍")
    counts = await group.counts("ana")
    assert "thanks_received" not in counts and "reaction_received" not in counts


async def test_a_thanks_reply_to_a_question_does_not_answer_it(group: Group) -> None:
    question = await group.say("ana", "Who runs the Panama hub?")
    await group.say("bea", "Thanks for asking, I wondered too", reply_to=(question, "ana"))
    assert "answer_given" not in await group.counts("bea")


@pytest.mark.parametrize("emoji", ["👍", "🙏", "❤", "❤️", "👍🏽"])
async def test_recognised_reactions_credit_the_messages_author(group: Group, emoji: str) -> None:
    tip = await group.say("bea", "The webinar recording is online.")
    await group.react("ana", tip, emoji)  # Telegram: the reaction does not name the author
    assert (await group.counts("bea")).get("reaction_received") == 1
    assert (await group.counts("ana")).get("reaction_given") == 1


async def test_slack_named_reactions_with_skin_tones_credit_the_named_author(group: Group) -> None:
    await group.say("bea", "hello")
    await group.react("ana", "1700000000.0001", "+1::skin-tone-3", author="bea")
    await group.react("carl", "1700000000.0001", "pray", author="bea")
    await group.react("carl", "1700000000.0002", "heart", author="someone_never_seen")
    assert (await group.counts("bea")).get("reaction_received") == 2


async def test_other_reactions_and_toggling_a_reaction_count_once_or_not_at_all(
    group: Group,
) -> None:
    tip = await group.say("bea", "Slides attached.")
    await group.react("ana", tip, "😂")
    for _ in range(3):  # added, removed and added again: new platform events each time
        await group.react("ana", tip, "👍")
    assert (await group.counts("bea")).get("reaction_received") == 1


async def test_links_and_files_in_messages_are_shared_resources(group: Group) -> None:
    await group.say("bea", "See https://example.org/guide", has_link=True)
    await group.say("bea", "Our toolkit (PDF attached)", has_file=True)
    await group.say("bea", "No resource here")
    assert (await group.counts("bea")).get("resource_shared") == 2


async def test_welcoming_a_newcomer_counts_and_greeting_an_old_member_does_not(
    group: Group, harness: Harness
) -> None:
    old = await group.say("carl", "Hello, I have been here for ages.")
    newcomer = PlatformUser(Platform.TELEGRAM, "dora", "Dora", "es")
    await harness.dispatch(MemberJoined(group.origin("dora"), newcomer))
    intro = await group.say("dora", "Hola, soy Dora, de Lima.")
    await group.say("bea", "¡Bienvenida, Dora!", reply_to=(intro, "dora"))
    await group.say("bea", "Welcome back Carl!", reply_to=(old, "carl"))
    assert (await group.counts("bea")).get("newcomer_welcomed") == 1


async def test_edits_and_bot_messages_never_add_anything(group: Group, harness: Harness) -> None:
    await group.say("bea", "First version https://example.org", has_link=True)
    edited = group.origin("bea", event=f"chat:{CHAT}:msg:1:edit:1")
    await harness.dispatch(
        MessageReceived(edited, "Second version https://example.org", has_link=True, is_edit=True)
    )
    await group.say("relaybot", "Thanks everyone!", reply_to=("1", "bea"))
    bot = group.origin("relaybot", is_bot=True)
    await harness.dispatch(MessageReceived(bot, "Thanks!", reply_to=ReplyTarget("1", "bea")))
    assert await group.counts("bea") == {
        "message_posted": 1,
        "resource_shared": 1,
        "thanks_received": 1,
    }


async def test_a_redelivered_event_counts_once(group: Group, harness: Harness) -> None:
    tip = await group.say("bea", "Template: https://example.org/t", has_link=True)
    origin = group.origin("ana")
    thanks = MessageReceived(origin, "Thanks!", reply_to=ReplyTarget(tip, "bea"))
    for _ in range(3):
        await harness.dispatch(thanks)
    assert await group.counts("bea") == {
        "message_posted": 1,
        "resource_shared": 1,
        "thanks_received": 1,
    }
    assert await group.counts("ana") == {"message_posted": 1}


async def test_an_opted_out_member_is_neither_recorded_nor_credited(
    group: Group, harness: Harness
) -> None:
    tip = await group.say("bea", "Template: https://example.org/t", has_link=True)
    await harness.dispatch(CommandInvoked(group.origin("bea"), "optout", "tracking"))
    await group.say("bea", "Another link https://example.org/u", has_link=True)
    await group.say("ana", "Thanks!", reply_to=(tip, "bea"))
    await group.react("ana", tip, "👍")
    assert await group.counts("bea") == {"message_posted": 1, "resource_shared": 1}
