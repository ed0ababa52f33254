"""Monthly matchmaking: members who said `/match on` and have an open question are proposed,
once a month, to an opted-in expert of a sibling community who shares their profile with the
network. Neither learns the other's name, handle or question until both accept; a decline
tells the other only that it did not happen; a week after an introduction both are asked
whether they met, and what the asker learnt becomes a draft in their community's
repository."""

from __future__ import annotations

import itertools
import json
import logging
from zoneinfo import ZoneInfo

import pytest

from facilitator.domain.events import ButtonPressed, MessageReceived, Origin, ReplyTarget
from facilitator.domain.model import Platform, PlatformUser
from facilitator.domain.outbox import OutboxStatus
from facilitator.features.knowledge.domain import ItemStatus
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.matchmaking.domain import MatchStatus
from facilitator.features.matchmaking.feature import ROUND_JOB
from facilitator.features.matchmaking.messages import (
    ACCEPT_ACTION,
    DECLINE_ACTION,
    KIND,
    MET_ACTION,
    MISSED_ACTION,
)
from facilitator.features.matchmaking.ports import MatchRepository
from facilitator.features.privacy.commands import FORGET_ACTION
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.markup import Style
from tests.conftest import Harness

ANDES, PAMPA, SELVA = "-100401", "-100402", "-100403"
TITLES = {ANDES: "Andes water network", PAMPA: "Pampa climate circle", SELVA: "Selva forum"}
QUESTION = "How can a rural water utility finance new pipes?"


class Network:
    """Members writing in three Telegram groups of one installation, and privately."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.seq = itertools.count(1)

    def origin(self, user: str, chat: str | None, locale: str) -> Origin:
        n = next(self.seq)
        return Origin(
            platform=Platform.TELEGRAM,
            event_id=f"mm{n}",
            chat_id=chat or user,
            user=PlatformUser(Platform.TELEGRAM, user, user.title(), locale),
            occurred_at=self.harness.clock.now(),
            chat_title=TITLES[chat] if chat else None,
            is_direct=chat is None,
            message_id=str(n),
        )

    async def say(
        self, user: str, chat: str | None, text: str, *, locale: str = "en"
    ) -> list[str]:
        return await self.harness.dispatch(MessageReceived(self.origin(user, chat, locale), text))

    async def press(self, user: str, action: str, value: str, *, locale: str = "en") -> list[str]:
        return await self.harness.dispatch(
            ButtonPressed(self.origin(user, None, locale), action, value)
        )

    async def round(self) -> int:
        return await self.harness.job(ROUND_JOB)

    async def person(self, user: str) -> int:
        async with self.harness.app.uow_factory() as uow:
            found = await uow.members.identity(Platform.TELEGRAM, user)
        assert found is not None
        return found.person_id

    async def matches(self) -> list[tuple[str, str, MatchStatus]]:
        """(asker, expert, status) of every match, by platform user id."""
        async with self.harness.app.uow_factory() as uow:
            names = {}
            for community in await uow.communities.all():
                for m, _ in await uow.members.members_of(community.id):
                    names[m.person_id] = m.platform_user_id
            repo = uow.repo(MatchRepository)
            found = [await repo.get(i) for i in range(1, 30)]
        return [(names[m.asker_id], names[m.expert_id], m.status) for m in found if m]

    async def told(self) -> list[tuple[str, str, tuple[str, ...]]]:
        """(recipient, text, button actions:values) of every matchmaking message queued."""
        async with self.harness.app.uow_factory() as uow:
            rows = await uow.outbox.listing(None, list(OutboxStatus), 500)
        found = sorted((r for r in rows if r.kind == KIND), key=lambda r: r.id)
        for row in found:
            assert row.destination.is_direct
        return [
            (
                r.destination.chat_id,
                r.message.body.plain(),
                tuple(f"{b.action}:{b.value}" for line in r.message.buttons for b in line),
            )
            for r in found
        ]


async def network(harness: Harness) -> Network:
    """Ana (Andes) asked the bot privately about water finance and takes part. Pia (Pampa)
    knows water, shares with the network and takes part; Pedro (Pampa) knows water and takes
    part but does not share; Alba (Andes) knows water, shares and takes part, but is Ana's own
    community; Sol (Selva) knows water and shares but did not say `/match on`."""
    net = Network(harness)
    await net.say("ana", ANDES, "hello andes")
    await net.say("ana", None, QUESTION)
    await net.say("ana", ANDES, "/match on")
    for user, chat, share, match in (
        ("alba", ANDES, True, True),
        ("pia", PAMPA, True, True),
        ("pedro", PAMPA, False, True),
        ("sol", SELVA, True, False),
    ):
        await net.say(user, chat, f'/intro "Org {user}" Chile "water utilities, finance"')
        await net.say(user, None, "/start")  # the bot may write to them privately
        if share:
            await net.say(user, chat, "/experts share on")
        if match:
            await net.say(user, chat, "/match on")
    return net


async def test_match_is_off_by_default_and_switched_by_the_member(harness: Harness) -> None:
    net = Network(harness)
    await net.say("ana", ANDES, "hello")

    [before] = await net.say("ana", ANDES, "/match")
    [on] = await net.say("ana", ANDES, "/match on")
    [now_on] = await net.say("ana", None, "/match")
    [off] = await net.say("ana", ANDES, "/match off")
    [si] = await net.say("ana", ANDES, "/match sí", locale="es")
    [nao] = await net.say("ana", ANDES, "/match não", locale="pt-BR")

    assert before.startswith("You do not take part in the monthly matchmaking.")
    assert on.startswith("Done: you are in next month's matchmaking.")
    assert now_on.startswith("You take part in the monthly matchmaking")
    assert off == "Done: you are out of the monthly matchmaking."
    assert si.startswith("Listo: participas en los encuentros del próximo mes.")
    assert nao == "Pronto: você saiu dos encontros mensais."
    async with harness.app.uow_factory() as uow:
        assert not await uow.repo(MatchRepository).opted_in(await net.person("ana"))


async def test_the_round_pairs_only_with_a_sharing_opted_in_expert_of_a_sibling_community(
    harness: Harness,
) -> None:
    net = await network(harness)

    assert await net.round() == 1

    # Pia: not Alba (Ana's own community), not Pedro (does not share), not Sol (not in).
    assert await net.matches() == [("ana", "pia", MatchStatus.PROPOSED)]
    # Running again the same day proposes nothing more: one match per member per round.
    assert await net.round() == 0
    assert len(await net.matches()) == 1


async def test_nobody_the_bot_cannot_write_to_privately_is_proposed(harness: Harness) -> None:
    net = await network(harness)
    await net.say("paz", PAMPA, '/intro "Org paz" Chile "water utilities, finance"')
    await net.say("paz", PAMPA, "/experts share on")
    await net.say("paz", PAMPA, "/match on")
    async with harness.app.uow_factory() as uow:
        pia = await uow.members.identity(Platform.TELEGRAM, "pia")
        assert pia is not None
        await uow.repo(ProfileRepository).close_private_chat(
            Platform.TELEGRAM, "pia", harness.clock.now()
        )
        await uow.commit()

    # Pia blocked the bot and Paz never started it: nobody can be asked for Ana.
    assert await net.round() == 0
    assert await net.told() == []
    await net.say("paz", None, "/start")
    assert await net.round() == 1
    assert await net.matches() == [("ana", "paz", MatchStatus.PROPOSED)]


async def test_no_round_outside_its_day_and_a_configured_day_is_kept(harness: Harness) -> None:
    net = await network(harness)
    harness.clock.advance(days=1)  # Tuesday 3 November

    assert await net.round() == 0
    harness.clock.advance(days=6)  # the second Monday is not the first
    assert await net.round() == 0
    assert await net.matches() == []


async def test_nobody_learns_anything_before_both_accept(harness: Harness) -> None:
    net = await network(harness)
    await net.round()
    [asker, expert] = await net.told()

    assert asker == (
        "ana",
        "This month's match\nA member of Pampa climate circle working on #water-utilities could"
        f" talk with you about your question: “{QUESTION}”\nWould you like an introduction?"
        " Neither of you learns the other's name, handle or question unless you both accept.",
        (f"{ACCEPT_ACTION}:1", f"{DECLINE_ACTION}:1"),
    )
    assert expert == (
        "pia",
        "This month's match\nSomeone in Andes water network has a question on"
        " #water-utilities. Would you talk with them?\nNeither of you learns the other's name,"
        " handle or question unless you both accept.",
        (f"{ACCEPT_ACTION}:1", f"{DECLINE_ACTION}:1"),
    )
    # Pia accepts first: she is told to wait, and still nothing of Ana reaches her.
    [waiting] = await net.press("pia", ACCEPT_ACTION, "1")
    assert waiting.startswith("Thank you! I will introduce you as soon as")
    for who, text, _ in await net.told():
        other = "Ana" if who == "pia" else "Pia"
        assert other not in text and "ana" not in text.lower().split()
        if who == "pia":
            assert QUESTION not in text and "finance" not in text
    assert harness.messenger.texts()[-1] == waiting and "Ana" not in waiting

    [both] = await net.press("ana", ACCEPT_ACTION, "1")

    assert both == "You both accepted: your introduction is on its way."
    intro_asker, intro_expert = (await net.told())[2:]
    assert intro_asker[:2] == (
        "ana",
        "Your introduction: Pia, of Pampa climate circle, is glad to talk with you about"
        " #water-utilities.\nWrite to them:\nPia",
    )
    assert intro_expert[:2] == (
        "pia",
        "Your introduction: Ana, of Andes water network, would like to talk with you about"
        f" #water-utilities. Their question: “{QUESTION}”\nWrite to them:\nAna",
    )
    # The handle is a mention of their account (the platform renders it as a link).
    async with harness.app.uow_factory() as uow:
        rows = await uow.outbox.listing(None, list(OutboxStatus), 500)
    [to_ana] = [r for r in rows if r.dedup_key == "matchmaking:intro:1:asker"]
    [mention] = [s for b in to_ana.message.body.blocks for s in b.spans if s.user_id]
    assert (mention.style, mention.user_id, mention.text) == (Style.MENTION, "pia", "Pia")
    assert await net.matches() == [("ana", "pia", MatchStatus.INTRODUCED)]


async def test_a_decline_tells_the_other_only_that_it_did_not_happen(harness: Harness) -> None:
    net = await network(harness)
    await net.round()
    await net.press("ana", ACCEPT_ACTION, "1")

    [declined] = await net.press("pia", DECLINE_ACTION, "1")

    assert declined.startswith("Noted: no introduction this month.")
    [(who, text, buttons)] = (await net.told())[2:]
    assert who == "ana" and buttons == ()
    assert text.startswith("This month's introduction did not happen.")
    assert "Pia" not in text and "Pampa" not in text
    assert await net.matches() == [("ana", "pia", MatchStatus.DECLINED)]
    # Next month they are never proposed to each other again.
    harness.clock.current = harness.clock.current.replace(month=12, day=7)
    assert await net.round() == 0


@pytest.mark.parametrize("action", [ACCEPT_ACTION, DECLINE_ACTION, MET_ACTION])
async def test_forged_buttons_are_refused_with_one_log_line(
    harness: Harness, action: str, caplog: pytest.LogCaptureFixture
) -> None:
    net = await network(harness)
    await net.round()
    await net.say("eve", PAMPA, "hello")
    told = len(await net.told())
    caplog.clear()

    with caplog.at_level(logging.WARNING, "facilitator.features.matchmaking"):
        [other] = await net.press("eve", action, "1")
        [missing] = await net.press("pia", action, "99")
        [garbage] = await net.press("pia", action, "1; drop")
    refusals = [r for r in caplog.records if r.name.startswith("facilitator.features.match")]

    assert other == missing == garbage
    assert other == "That button no longer does anything. Send the command again."
    assert len(refusals) == 3
    assert len(await net.told()) == told
    assert await net.matches() == [("ana", "pia", MatchStatus.PROPOSED)]


async def test_a_decided_match_cannot_be_answered_again(harness: Harness) -> None:
    net = await network(harness)
    await net.round()
    await net.press("pia", DECLINE_ACTION, "1")

    [again] = await net.press("pia", ACCEPT_ACTION, "1")
    [late] = await net.press("ana", ACCEPT_ACTION, "1")
    [early] = await net.press("ana", MET_ACTION, "1")

    assert again == late == early == "That match is decided already."
    assert await net.matches() == [("ana", "pia", MatchStatus.DECLINED)]


async def test_an_unanswered_proposal_expires_and_whoever_accepted_is_told(
    harness: Harness,
) -> None:
    net = await network(harness)
    await net.round()
    await net.press("pia", ACCEPT_ACTION, "1")
    harness.clock.advance(days=7, minutes=1)

    await net.round()

    assert await net.matches() == [("ana", "pia", MatchStatus.EXPIRED)]
    [(who, text, _)] = (await net.told())[2:]
    assert who == "pia" and text.startswith("This month's introduction did not happen.")
    [late] = await net.press("ana", ACCEPT_ACTION, "1")
    assert late == "That match is decided already."


async def test_the_check_back_turns_what_the_asker_learnt_into_a_draft(harness: Harness) -> None:
    net = await network(harness)
    await net.round()
    await net.press("pia", ACCEPT_ACTION, "1")
    await net.press("ana", ACCEPT_ACTION, "1")
    harness.clock.advance(days=6)
    await net.round()
    assert len(await net.told()) == 4  # no check-back before the week is over
    harness.clock.advance(days=1, minutes=1)

    await net.round()
    await net.round()  # once only

    checks = (await net.told())[4:]
    assert checks == [
        (
            "ana",
            "A week ago you were introduced to Pia (Pampa climate circle). Did you meet?",
            (f"{MET_ACTION}:1", f"{MISSED_ACTION}:1"),
        ),
        (
            "pia",
            "A week ago you were introduced to Ana (Andes water network). Did you meet?",
            (f"{MET_ACTION}:1", f"{MISSED_ACTION}:1"),
        ),
    ]
    [glad] = await net.press("pia", MET_ACTION, "1")
    [ask] = await net.press("ana", MET_ACTION, "1")
    assert glad.startswith("Glad to hear it.")
    assert ask.startswith("Great! What did you learn?") and "Andes water network" in ask

    learnt = "Blend a <b>$5</b> tariff with =SUM(grants) & a green bond."
    [proposed] = await net.say("ana", None, learnt)

    assert proposed.startswith("Thank you! What you learnt is proposed to Andes water network")
    async with harness.app.uow_factory() as uow:
        andes = await uow.communities.by_chat(Platform.TELEGRAM, ANDES)
        assert andes is not None
        item = await uow.repo(KnowledgeRepository).by_key(andes.id, "match:1")
        unannounced = await uow.repo(KnowledgeRepository).unannounced()
    assert item is not None and [i.id for i in unannounced] == [item.id]
    assert (item.title, item.body, item.status) == (QUESTION, learnt, ItemStatus.PROPOSED)
    assert f"#{item.id}" in proposed
    # The next private text is an ordinary question again.
    after = await net.say("ana", None, "What is a green bond?")
    assert not any("proposed" in t for t in after)


async def test_an_expert_who_left_is_never_matched_until_they_come_back(harness: Harness) -> None:
    net = await network(harness)
    pia = await net.person("pia")
    async with harness.app.uow_factory() as uow:
        pampa = await uow.communities.by_chat(Platform.TELEGRAM, PAMPA)
        assert pampa is not None
        await uow.members.leave(pia, pampa.id, harness.clock.now())
        await uow.commit()

    assert await net.round() == 0
    # She comes back: she is a candidate again.
    await net.say("pia", PAMPA, "back again")
    assert await net.round() == 1
    assert await net.matches() == [("ana", "pia", MatchStatus.PROPOSED)]


async def test_mydata_shows_her_side_and_forgetme_removes_the_matches_and_the_opt_in(
    harness: Harness,
) -> None:
    net = await network(harness)
    await net.round()
    pia = await net.person("pia")

    await net.say("pia", None, "/mydata")
    [export] = [m for _, m in harness.messenger.sent if m.attachment is not None][-1:]
    assert export.attachment is not None
    data = json.loads(export.attachment.content.decode())
    mine = json.dumps(data)
    assert '"matches_as_expert"' in mine and "water-utilities" in mine
    assert QUESTION not in mine  # the question is not hers before both accepted
    await net.say("pia", None, "/forgetme")
    await net.press("pia", FORGET_ACTION, "confirm")

    assert await net.matches() == []
    async with harness.app.uow_factory() as uow:
        assert not await uow.repo(MatchRepository).opted_in(pia)
    # Ana is never proposed a person who is gone.
    assert await net.round() == 0


async def test_an_asker_who_left_after_the_introduction_proposes_nothing_there(
    harness: Harness,
) -> None:
    net = await network(harness)
    await net.round()
    await net.press("pia", ACCEPT_ACTION, "1")
    await net.press("ana", ACCEPT_ACTION, "1")
    harness.clock.advance(days=8)
    await net.round()
    await net.press("ana", MET_ACTION, "1")
    ana = await net.person("ana")
    async with harness.app.uow_factory() as uow:
        andes = await uow.communities.by_chat(Platform.TELEGRAM, ANDES)
        assert andes is not None
        await uow.members.leave(ana, andes.id, harness.clock.now())
        await uow.commit()

    [kept_out] = await net.say("ana", None, "Tariffs and bonds together.")

    assert kept_out.startswith("Thank you! You are no longer a member of that community")
    async with harness.app.uow_factory() as uow:
        assert await uow.repo(KnowledgeRepository).by_key(andes.id, "match:1") is None


async def test_proposals_wait_for_the_end_of_each_persons_quiet_hours(harness: Harness) -> None:
    net = await network(harness)
    await net.say("pia", PAMPA, "/timezone Asia/Tokyo")
    harness.clock.current = harness.clock.current.replace(hour=23, minute=30)  # still Monday

    assert await net.round() == 1

    async with harness.app.uow_factory() as uow:
        rows = await uow.outbox.listing(None, list(OutboxStatus), 500)
        andes = await uow.communities.by_chat(Platform.TELEGRAM, ANDES)
    assert andes is not None
    due = {r.destination.chat_id: r.due_at for r in rows if r.kind == KIND}
    # 23:30 UTC is night in Ana's community: her message waits for 8:00 there. In Tokyo it
    # is 8:30 in the morning: Pia's goes at once.
    ana_local = due["ana"].astimezone(ZoneInfo(andes.timezone))
    local_now = harness.clock.now().astimezone(ZoneInfo(andes.timezone))
    assert local_now.hour >= 21 or local_now.hour < 8
    assert (ana_local.hour, ana_local.minute) == (8, 0) and due["ana"] > harness.clock.now()
    assert due["pia"] == harness.clock.now()


async def test_a_flood_of_presses_answers_once(harness: Harness) -> None:
    net = await network(harness)
    await net.round()

    answers = [(await net.press("pia", ACCEPT_ACTION, "1"))[0] for _ in range(10)]

    assert answers[0].startswith("Thank you! I will introduce you")
    assert answers[1:] == ["That match is decided already."] * 9
    assert len(await net.told()) == 2  # no message to Ana for any of them
    assert await net.matches() == [("ana", "pia", MatchStatus.PROPOSED)]


async def test_an_asker_who_left_their_community_is_not_matched_on_its_questions(
    harness: Harness,
) -> None:
    net = await network(harness)
    ana = await net.person("ana")
    async with harness.app.uow_factory() as uow:
        andes = await uow.communities.by_chat(Platform.TELEGRAM, ANDES)
        assert andes is not None
        await uow.members.leave(ana, andes.id, harness.clock.now())
        await uow.commit()

    assert await net.round() == 0
    assert await net.told() == []


async def test_a_question_asked_in_the_group_counts_until_someone_answers_it(
    harness: Harness,
) -> None:
    net = Network(harness)
    await net.say("ana", ANDES, "hello andes")
    await net.say("ana", None, "/start")
    await net.say("ana", ANDES, "/match on")
    await net.say("pia", PAMPA, '/intro "Org" Chile "water utilities, finance"')
    await net.say("pia", PAMPA, "/experts share on")
    await net.say("pia", PAMPA, "/match on")
    await net.say("pia", None, "/start")
    asked = net.origin("ana", ANDES, "en")
    await harness.dispatch(MessageReceived(asked, "Who knows how water utilities finance pipes?"))
    answer = MessageReceived(
        net.origin("alba", ANDES, "en"),
        "Ask the regional development bank.",
        reply_to=ReplyTarget(message_id=asked.message_id or "", user_id="ana"),
    )
    assert await net.round() == 1
    [(who, text, _)] = (await net.told())[:1]
    assert who == "ana" and "“Who knows how water utilities finance pipes?”" in text

    # An answered question no longer counts (next month, with a new expert).
    ana = await net.person("ana")
    async with harness.app.uow_factory() as uow:
        andes = await uow.communities.by_chat(Platform.TELEGRAM, ANDES)
        assert andes is not None
        before = await uow.repo(MatchRepository).open_questions(ana, andes.id, asked.occurred_at)
    await harness.dispatch(answer)
    async with harness.app.uow_factory() as uow:
        after = await uow.repo(MatchRepository).open_questions(ana, andes.id, asked.occurred_at)
    assert [text for text, _ in before] == ["Who knows how water utilities finance pipes?"]
    assert after == []


async def test_among_fitting_experts_the_one_ranked_first_at_home_is_proposed(
    harness: Harness,
) -> None:
    net = await network(harness)
    await net.say("paz", PAMPA, '/intro "Org paz" Chile "water utilities, finance"')
    await net.say("paz", PAMPA, "/experts share on")
    await net.say("paz", PAMPA, "/match on")
    await net.say("paz", None, "/start")
    # Paz answered a question on water finance in Pampa: `/experts` ranks her above Pia.
    asked = net.origin("eve", PAMPA, "en")
    await harness.dispatch(MessageReceived(asked, "How do water utilities finance pipes?"))
    await harness.dispatch(
        MessageReceived(
            net.origin("paz", PAMPA, "en"),
            "With a blended loan from the development bank.",
            reply_to=ReplyTarget(message_id=asked.message_id or "", user_id="eve"),
        )
    )
    [experts] = await net.say("eve", PAMPA, "/experts water utilities")
    assert experts.splitlines()[1:3] == ["• Paz (Org paz, Chile)", "• Pia (Org pia, Chile)"]

    assert await net.round() == 1

    assert await net.matches() == [("ana", "paz", MatchStatus.PROPOSED)]
