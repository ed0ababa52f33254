"""The living repository: an answer given in chat is saved, approved and closes the gap it
answers; the asker is told privately; moderators work through gaps and proposals."""

from __future__ import annotations

from datetime import timedelta

from facilitator.domain.model import DataSubject, ParticipationKind, Platform, Role
from facilitator.domain.outbox import OutboxStatus
from facilitator.features.knowledge.domain import GapStatus, ItemStatus
from facilitator.features.knowledge.feature import CLOSE_GAPS_JOB, REVIEW_JOB
from facilitator.features.knowledge.feedback import ASK_EXPERT_ACTION, EXPERT_KIND, VOTE_ACTION
from facilitator.features.knowledge.gaps import ANSWERED_KIND, SUGGEST_KIND
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.review import EDIT_ACTION, KEEP_ACTION, RETIRE_ACTION
from facilitator.features.knowledge.saving import (
    APPROVE_ACTION,
    DECISION_KIND,
    SAVED_KIND,
    WITHDRAW_ACTION,
)
from facilitator.features.participation.config import ParticipationConfig
from facilitator.features.participation.summary import IsoWeek, figures_for, weekly_summary
from tests.conftest import Harness
from tests.unit.knowledge.test_knowledge_commands import seeded

QUESTION = "/faq how do we budget travel for field visits to remote municipalities"
ANSWER = (
    "We budget a fixed daily allowance per person and book transport three weeks ahead; "
    "the regional office pays fuel for visits to remote municipalities."
)


async def outbox(harness: Harness, kind: str) -> list[tuple[str, str, str, bool]]:
    """(dedup key, recipient, text, has a group fallback) of the queued rows of a kind."""
    async with harness.app.uow_factory() as uow:
        rows = await uow.outbox.listing(None, list(OutboxStatus), 500)
    return [
        (r.dedup_key, r.destination.chat_id, r.message.body.plain(), r.fallback is not None)
        for r in rows
        if r.kind == kind
    ]


async def gaps_of(harness: Harness) -> list[tuple[str, GapStatus, int | None]]:
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        found = await uow.repo(KnowledgeRepository).gaps_since(
            community.id, harness.clock.now() - timedelta(days=30)
        )
    return [(g.query, g.status, g.item_id) for g in found]


async def ledger_count(harness: Harness, kind: ParticipationKind) -> int:
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        return await uow.ledger.count(community.id, kind)


def saved_id(reply: str) -> int:
    return int(reply.split("(#")[1].split(")")[0])


async def press(harness: Harness, user: str, action: str, value: str) -> list[str]:
    harness.seq += 1
    before = len(harness.messenger.sent)
    payload = (
        f'{{"kind": "button", "action": "{action}", "value": "{value}", "id": "b:{harness.seq}",'
        f' "user_id": "{user}", "locale": "en", "at": "{harness.clock.now().isoformat()}"}}'
    )
    await harness.app.inbox.accept(Platform.CONSOLE, f"b:{harness.seq}", payload, "demo")
    await harness.app.inbox.process_pending()
    return [m.body.plain() for _, m in harness.messenger.sent[before:]]


async def test_an_answer_in_chat_becomes_knowledge_and_the_asker_is_told(
    harness: Harness,
) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    [unknown] = await harness.say(QUESTION, user="ana")
    assert unknown.startswith("I don't know that one yet.")
    question_id = harness.last_id
    assert await gaps_of(harness) == [(QUESTION[5:], GapStatus.OPEN, None)]

    # An expert answers in the thread: the moderators are offered to save it, once.
    assert await harness.say(ANSWER, user="carla", reply_to=question_id) == []
    answer_id = harness.last_id
    [(_, to, text, _)] = await outbox(harness, SUGGEST_KIND)
    # In the community's language: Bruno never told the bot his.
    assert to == "bruno" and "Carla respondió a" in text and "fixed daily allowance" in text
    await harness.say("Also: keep receipts.", user="dave", reply_to=question_id)
    assert len(await outbox(harness, SUGGEST_KIND)) == 1

    # A moderator saves it by replying /save: the question is the gap it answered.
    [saved] = await harness.say("/save", user="bruno", reply_to=answer_id)
    assert saved.startswith("Saved as a draft for the repository")
    item_id = saved_id(saved)
    [(_, to, text, _)] = await outbox(harness, SAVED_KIND)
    assert to == "carla" and f"(#{item_id})" in text
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(item_id)
    assert item is not None and item.status is ItemStatus.PROPOSED
    assert item.title == QUESTION[5:] and item.body == ANSWER and item.lang == "en"
    contributed = await ledger_count(harness, ParticipationKind.KNOWLEDGE_CONTRIBUTED)

    # Approval publishes it and credits whose words it is; she hears of it.
    [approved] = await harness.say(f"/approve {item_id}", user="bruno")
    assert approved.startswith(f"Approved and published: #{item_id}")
    assert await ledger_count(harness, ParticipationKind.KNOWLEDGE_CONTRIBUTED) == (
        contributed + 1
    )
    decisions = await outbox(harness, DECISION_KIND)
    assert [(to, "now published" in text) for _, to, text, _ in decisions] == [("carla", True)]

    # The job closes the gap and tells the asker privately, with the answer.
    assert await harness.job(CLOSE_GAPS_JOB) == 1
    assert await gaps_of(harness) == [(QUESTION[5:], GapStatus.CLOSED, item_id)]
    [(_key, to, text, fallback)] = await outbox(harness, ANSWERED_KIND)
    assert to == "ana" and "Your question has an answer." in text and "fixed daily" in text
    assert fallback  # asked in the group: a mention there if she cannot be written to
    assert await harness.job(CLOSE_GAPS_JOB) == 0  # nothing changed, nothing told twice
    await harness.app.dispatcher.dispatch_due()
    private = [m.body.plain() for d, m in harness.messenger.sent if d.is_direct]
    assert any("Your question has an answer." in text for text in private)

    # Another member's paraphrase is now answered, and /gaps no longer lists the question.
    [answer] = await harness.say(
        "/faq how should we budget travel for field visits to remote towns?", user="zoe"
    )
    assert answer.startswith(QUESTION[5:].capitalize()) or QUESTION[5:] in answer
    [gaps] = await harness.say("/gaps", user="bruno")
    assert gaps == "No unanswered questions in the last 30 days."

    # The week's summary counts one gap closed, as a recount of the rows does.
    community = await harness.community()
    week = IsoWeek.containing(harness.clock.now().date())
    start, end = week.bounds(community.timezone)
    async with harness.app.uow_factory() as uow:
        figures = await figures_for(uow, community, start, end)
    recount = [g for g in await gaps_of(harness) if g[1] is GapStatus.CLOSED]
    assert figures.gaps_closed == len(recount) == 1
    assert figures.unanswered_lookups == 1
    assert figures.median_gap_close_hours == 0.0


async def test_only_a_moderator_or_the_author_saves_and_only_the_author_withdraws(
    harness: Harness,
) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say(ANSWER, user="carla")
    answer_id = harness.last_id
    [refused] = await harness.say("/save How do we budget travel?", user="zoe", reply_to=answer_id)
    assert refused.startswith("Only a moderator, or the person who wrote that answer")
    [no_reply] = await harness.say("/save How do we budget travel?", user="bruno")
    assert no_reply.startswith("Reply /save to the message")
    [which] = await harness.say("/save", user="bruno", reply_to=answer_id)
    assert which.startswith("Which question does it answer?")
    # The author may save her own answer; a member with markup in the question is kept as text.
    [saved] = await harness.say(
        "/save How do we budget *travel* = $100?", user="carla", reply_to=answer_id
    )
    item_id = saved_id(saved)
    assert await outbox(harness, SAVED_KIND) == []  # she saved it herself: no notice
    # Someone else cannot withdraw it, not even with a forged button.
    [not_theirs] = await press(harness, "zoe", WITHDRAW_ACTION, str(item_id))
    assert not_theirs == f"Item #{item_id} is not a draft of yours."
    [forged] = await press(harness, "zoe", WITHDRAW_ACTION, "not-a-number")
    assert forged.startswith("That button no longer does anything.")
    [withdrawn] = await harness.say(f"/withdraw {item_id}", user="carla")
    assert withdrawn.startswith(f"Withdrawn: #{item_id}")
    [late] = await harness.say(f"/approve {item_id}", user="bruno")
    assert late == f"Item #{item_id} is not waiting for review."
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(item_id)
    assert item is not None and item.status is ItemStatus.WITHDRAWN
    assert item.title == "How do we budget *travel* = $100?"


async def test_forgetme_removes_the_authors_credit_and_the_link_to_her_message(
    harness: Harness,
) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say(ANSWER, user="carla")
    [saved] = await harness.say(
        "/save How do we budget travel?", user="bruno", reply_to=harness.last_id
    )
    item_id = saved_id(saved)
    await harness.say(f"/approve {item_id}", user="bruno")
    async with harness.app.uow_factory() as uow:
        carla = await uow.members.identity(Platform.CONSOLE, "carla")
        assert carla is not None
        subject = DataSubject(carla.person_id, (carla.identity_id,))
        erased = await uow.repo(KnowledgeRepository).forget_person(subject)
        await uow.commit()
    assert erased["saved_answers"] == 1
    async with harness.app.uow_factory() as uow:
        item = await uow.repo(KnowledgeRepository).get(item_id)
    assert item is not None and item.status is ItemStatus.PUBLISHED
    assert item.author_id is None and item.owner is None and item.source_link is None


async def test_moderators_hear_of_proposals_in_one_message_and_proposers_of_the_decision(
    harness: Harness,
) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    first = saved_id((await harness.say("/share https://example.org/a A guide", user="carla"))[0])
    second = saved_id((await harness.say("/share https://example.org/b Spam", user="zoe"))[0])
    assert await harness.job("knowledge.proposals") == 1
    [(_, to, text, _)] = await outbox(harness, "knowledge.proposals")
    assert to == "bruno" and text.startswith("2 propuestas nuevas para el repositorio:")
    assert await harness.job("knowledge.proposals") == 0  # each proposal announced once
    # The button approves, for a moderator only.
    [refused] = await press(harness, "zoe", APPROVE_ACTION, str(first))
    assert refused.startswith("Sorry, /approve is for the moderator role")
    [approved] = await press(harness, "bruno", APPROVE_ACTION, str(first))
    assert approved.startswith(f"Approved and published: #{first}")
    await harness.say(f"/reject {second} off topic", user="bruno")
    told = {to: text for _, to, text, _ in await outbox(harness, DECISION_KIND)}
    assert "now published" in told["carla"]
    assert told["zoe"].endswith("The moderator's reason: off topic")


async def test_gaps_are_grouped_and_moderators_dismiss_link_and_assign_them(
    harness: Harness,
) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    for user, text in [
        ("ana", "/faq claim travel expenses xyzzy"),
        ("zoe", "/faq claim travel expenses xyzzy how"),
        ("dave", "/faq zorblax quantum fridge"),
        ("eve", "/faq qwzx plover snorkblat"),
    ]:
        await harness.say(text, user=user)
    [listing] = await harness.say("/gaps", user="bruno")
    lines = listing.splitlines()
    assert lines[1] == "• 1: claim travel expenses xyzzy (2×)"
    assert lines[-1].startswith("Reply /gaps dismiss ID")
    [dismissed] = await harness.say("/gaps dismiss 3", user="bruno")
    assert dismissed == "Dismissed 1 question: zorblax quantum fridge"
    [refused] = await harness.say("/gaps dismiss 4", user="zoe")
    assert refused.startswith("Sorry, /gaps dismiss is for the moderator role")
    [unknown] = await harness.say("/gaps link 99 1", user="bruno")
    assert unknown.startswith("There is no")
    [linked] = await harness.say("/gaps link 2 1", user="bruno")
    assert linked.startswith("Linked 2 questions to #1")
    told = {to for _, to, _, _ in await outbox(harness, ANSWERED_KIND)}
    assert told == {"ana", "zoe"}
    [assigned] = await harness.say("/gaps assign 4 @dave", user="bruno")
    assert assigned == "Asked Dave privately to answer: qwzx plover snorkblat"
    [(_, to, text, _)] = await outbox(harness, "knowledge.gap_assigned")
    assert to == "dave" and "qwzx plover snorkblat" in text
    statuses = {query: status for query, status, _ in await gaps_of(harness)}
    assert statuses == {
        "claim travel expenses xyzzy": GapStatus.CLOSED,
        "claim travel expenses xyzzy how": GapStatus.CLOSED,
        "zorblax quantum fridge": GapStatus.DISMISSED,
        "qwzx plover snorkblat": GapStatus.OPEN,
    }


async def test_a_thanked_answer_is_suggested_to_the_moderators_once(harness: Harness) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    await harness.say(ANSWER, user="carla")
    answer_id = harness.last_id
    await harness.say("thanks!", user="ana", reply_to=answer_id)
    await harness.say("gracias!!", user="zoe", reply_to=answer_id)
    [(_, to, text, _)] = await outbox(harness, SUGGEST_KIND)
    assert to == "bruno" and "Ana agradeció este mensaje" in text and "/save" in text


async def test_owners_are_reminded_monthly_and_answer_with_buttons(harness: Harness) -> None:
    community = await harness.community()
    await harness.grant("bruno", Role.MODERATOR)
    for member in ("carla", "zoe"):
        await harness.say("/help", user=member)  # members of the community
    # Two items due for review: one kept by Carla, one by Zoe, who then leaves.
    [first] = await harness.say(
        '/faq add "How do we close a season?" "With a retro."', user="bruno"
    )
    [second] = await harness.say('/faq add "Who books rooms?" "The secretariat."', user="bruno")
    first_id, second_id = (int(r.split("#")[1].split(":")[0]) for r in (first, second))
    await harness.say(f"/faq edit {first_id} owner @carla", user="bruno")
    await harness.say(f"/faq edit {second_id} owner @zoe", user="bruno")
    for item_id in (first_id, second_id):
        await harness.say(f"/faq edit {item_id} review 2026-10-01", user="bruno")
    [refused] = await harness.say(f"/faq edit {first_id} owner @zoe", user="carla")
    assert refused.startswith(f"Item #{first_id} is not yours to review")
    async with harness.app.uow_factory() as uow:
        zoe = await uow.members.identity(Platform.CONSOLE, "zoe")
        assert zoe is not None
        await uow.members.leave(zoe.person_id, community.id, harness.clock.now())
        await uow.commit()

    assert await harness.job(REVIEW_JOB) == 2  # Carla for hers, Bruno (staff) for Zoe's
    assert await harness.job(REVIEW_JOB) == 0  # once a month
    reminders = {to: text for _, to, text, _ in await outbox(harness, "knowledge.review")}
    assert f"#{first_id} How do we close a season?" in reminders["carla"]
    assert f"#{second_id}" not in reminders["carla"] and f"#{second_id}" in reminders["bruno"]

    # Buttons: a forged press by someone else is refused; the owner keeps, edits, a moderator
    # retires.
    [not_yours] = await press(harness, "zoe", KEEP_ACTION, str(first_id))
    assert not_yours.startswith(f"Item #{first_id} is not yours to review")
    [kept] = await press(harness, "carla", KEEP_ACTION, str(first_id))
    assert kept == f"Thank you: #{first_id} stays as it is; next review by 2027-11-02."
    [how] = await press(harness, "carla", EDIT_ACTION, str(first_id))
    assert f"/faq edit {first_id} answer" in how
    [edited] = await harness.say(
        f"/faq edit {first_id} answer With a retro and cake.", user="carla"
    )
    assert edited == f"Item #{first_id} updated (answer)."
    [retired] = await press(harness, "bruno", RETIRE_ACTION, str(second_id))
    assert retired.startswith(f"Retired from the repository: #{second_id}")
    [stale] = await press(harness, "bruno", RETIRE_ACTION, str(second_id))
    assert stale.startswith("That button no longer does anything.")

    # Next month: nothing is due any more.
    harness.clock.advance(days=31)
    assert await harness.job(REVIEW_JOB) == 0


async def test_the_weekly_figures_count_overdue_items(harness: Harness) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    community = await harness.community()
    week = IsoWeek.containing(harness.clock.now().date())
    start, end = week.bounds(community.timezone)
    async with harness.app.uow_factory() as uow:
        before = await figures_for(uow, community, start, end)
        items = await uow.repo(KnowledgeRepository).in_scope(community.id, [ItemStatus.PUBLISHED])
    recount = sum(1 for i in items if i.review_by is not None and i.review_by < end.date())
    assert before.items_overdue == recount
    [added] = await harness.say('/faq add "Old question?" "Old answer."', user="bruno")
    item_id = int(added.split("#")[1].split(":")[0])
    await harness.say(f"/faq edit {item_id} review 2026-01-01", user="bruno")
    async with harness.app.uow_factory() as uow:
        after = await figures_for(uow, community, start, end)
    assert after.items_overdue == recount + 1


async def test_answers_carry_votes_and_a_thumbs_down_becomes_one_gap(harness: Harness) -> None:
    await seeded(harness)
    await harness.grant("bruno", Role.MODERATOR)
    [answer] = await harness.say("/faq what does a facilitator do", user="ana")
    assert answer.startswith("What does the facilitator do?")
    buttons = harness.messenger.sent[-1][1].buttons
    [[up, down]] = buttons
    assert (up.label, down.label) == ("👍", "👎") and down.value.endswith(":down")
    answer_id = down.value.split(":")[0]

    # Forged or stale presses change nothing.
    for value in ("x:down", f"{answer_id}:sideways", "999999:down"):
        [stale] = await press(harness, "zoe", VOTE_ACTION, value)
        assert stale.startswith("That button no longer does anything."), value
    [thanks] = await press(harness, "zoe", VOTE_ACTION, up.value)
    assert thanks == "Thanks for rating the answer."
    [noted] = await press(harness, "ana", VOTE_ACTION, down.value)
    assert noted.startswith("Thanks: I noted that this answer did not help")
    ask = harness.messenger.sent[-1][1].buttons[0][0]
    # Zoe changes her mind: still one vote each, and still one gap for the answer.
    await press(harness, "zoe", VOTE_ACTION, down.value)
    gaps = [g for g in await gaps_of(harness) if g[1] is GapStatus.OPEN]
    assert gaps == [("what does a facilitator do", GapStatus.OPEN, None)]
    async with harness.app.uow_factory() as uow:
        [item_id] = {
            i.id
            for i in await uow.repo(KnowledgeRepository).in_scope((await harness.community()).id)
            if i.title == "What does the facilitator do?"
        }
        scores = await uow.repo(KnowledgeRepository).scores([item_id])
    assert scores == {item_id: (0, 2)}

    # Only the one who disliked it asks for an expert; the moderators hear of it once.
    [not_hers] = await press(harness, "zoe", ASK_EXPERT_ACTION, ask.value)
    assert not_hers.startswith("That button no longer does anything.")
    [asked] = await press(harness, "ana", ASK_EXPERT_ACTION, ask.value)
    assert asked.startswith("I asked the moderators to find an expert")
    await press(harness, "ana", ASK_EXPERT_ACTION, ask.value)
    [(_, to, text, _)] = await outbox(harness, EXPERT_KIND)
    assert to == "bruno" and "/gaps assign" in text

    # The disliked item does not close the gap; once it is edited, it does.
    assert await harness.job(CLOSE_GAPS_JOB) == 0
    await harness.say(
        f"/faq edit {item_id} answer A facilitator keeps the conversation alive.", user="bruno"
    )
    assert await harness.job(CLOSE_GAPS_JOB) == 1

    # The score shows in the week's summary.
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        summary = await weekly_summary(
            uow, community, IsoWeek.containing(harness.clock.now().date()), ParticipationConfig()
        )
    assert summary.rated == ((item_id, "What does the facilitator do?", 0, 2),)


async def test_doc_add_faq_edit_fields_and_review_do_what_they_say(harness: Harness) -> None:
    await harness.community()
    await harness.grant("bruno", Role.MODERATOR)
    [refused] = await harness.say("/doc add https://example.org/r Rec", user="zoe")
    assert refused.startswith("Sorry, /doc add is for the moderator role")
    [doc] = await harness.say(
        "/doc add https://example.org/rec Webinar on tariffs #water type:recording", user="bruno"
    )
    doc_id = int(doc.split("#")[1].split(":")[0])
    [added] = await harness.say('/faq add "How do we set tariffs?" "By cost."', user="bruno")
    faq_id = int(added.split("#")[1].split(":")[0])
    for field, value in (
        ("question", "How do we set water tariffs?"),
        ("theme", "#Water"),
        ("alternate", "pricing water for small utilities"),
        ("review", "2026-10-01"),
    ):
        [done] = await harness.say(f"/faq edit {faq_id} {field} {value}", user="bruno")
        assert done == f"Item #{faq_id} updated ({field}).", field
    [bad] = await harness.say(f"/faq edit {faq_id} review someday", user="bruno")
    assert bad.startswith('"someday" is not a date.')
    async with harness.app.uow_factory() as uow:
        repo = uow.repo(KnowledgeRepository)
        recording, faq = await repo.get(doc_id), await repo.get(faq_id)
    assert recording is not None and faq is not None
    assert (recording.type.value, recording.theme, recording.url) == (
        "recording",
        "water",
        "https://example.org/rec",
    )
    assert (faq.title, faq.theme, faq.alternates) == (
        "How do we set water tariffs?",
        "water",
        ("pricing water for small utilities",),
    )
    assert faq.review_by is not None and faq.review_by.isoformat() == "2026-10-01"
    # The alternate phrasing finds it; /lesson #water lists the recording; /review lists the FAQ.
    [answer] = await harness.say("/faq pricing water for small utilities", user="zoe")
    assert answer.startswith("How do we set water tariffs?")
    [listing] = await harness.say("/lesson #water", user="zoe")
    assert listing.startswith("1 item in the repository")
    assert harness.messenger.sent[-1][1].buttons[0][0].label == "Webinar on tariffs"
    [review] = await harness.say("/review", user="bruno")
    assert f"#{faq_id} How do we set water tariffs?: review by 2026-10-01" in review
