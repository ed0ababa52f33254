"""Surveys through the demo's transcript: a moderator writes one, sends it privately through
the outbox, members answer with buttons and a message, and the results (text, CSV, chart)
go privately to the moderator. Every figure is checked against a recount of the stored rows.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections import Counter
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import text

from facilitator.domain.events import ButtonPressed, MemberJoined, MemberLeft, Origin
from facilitator.domain.model import DataSubject, Platform, PlatformUser, Role
from facilitator.domain.outbox import OutboxStatus
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.surveys.answering import DONE_ACTION, PICK_ACTION, SUBMIT_ACTION
from facilitator.features.surveys.domain import Answer, Survey
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.features.surveys.results import chart_panels, tally
from facilitator.features.surveys.service import (
    DEADLINE_JOB,
    INVITE_KIND,
    REMIND_KIND,
    START_ACTION,
)
from tests.conftest import Harness

MEMBERS = ("ana", "ben", "cai", "dee", "eve", "fay", "gus")

THREE = (
    "/survey new Spring check-in\n"
    "scale: How useful were the sessions?\n"
    "choice: Which day suits you? | Monday | Wednesday | Friday\n"
    "text: What should we change?"
)


async def setup(harness: Harness, *members: str) -> None:
    """A community with a coordinator (cora) and members who have written in it."""
    await harness.grant("cora", Role.COORDINATOR)
    for member in members:
        await harness.say("hello everyone", user=member)
    harness.messenger.clear()


async def press(harness: Harness, user: str, action: str, value: str) -> list[str]:
    harness.seq += 1
    before = len(harness.messenger.sent)
    payload = json.dumps(
        {
            "kind": "button",
            "action": action,
            "value": value,
            "id": f"b:{harness.seq}",
            "user_id": user,
            "name": user.title(),
            "locale": "en",
            "at": harness.clock.now().isoformat(),
        }
    )
    await harness.app.inbox.accept(Platform.CONSOLE, f"b:{harness.seq}", payload, "demo")
    await harness.app.inbox.process_pending()
    return [m.body.plain() for _, m in harness.messenger.sent[before:]]


async def queued(harness: Harness, kind: str) -> list[tuple[str, str]]:
    """(recipient, text) of the private messages of a kind in the outbox, oldest first."""
    async with harness.app.uow_factory() as uow:
        rows = await uow.outbox.listing(None, list(OutboxStatus), 500)
    found = sorted((r for r in rows if r.kind == kind), key=lambda r: r.id)
    return [(r.destination.chat_id, r.message.body.plain()) for r in found]


async def stored(harness: Harness, survey_id: int = 1) -> tuple[Survey, list[Answer]]:
    async with harness.app.uow_factory() as uow:
        repo = uow.repo(SurveyRepository)
        survey = await repo.get(survey_id)
        answers = await repo.answers(survey_id)
    assert survey is not None
    return survey, answers


async def answer_three(harness: Harness, user: str, scale: int, day: int, said: str) -> None:
    [first] = await press(harness, user, START_ACTION, "1")
    assert "Question 1 of 3" in first and "How useful were the sessions?" in first
    [second] = await press(harness, user, PICK_ACTION, f"1:0:{scale}")
    assert "Question 2 of 3" in second
    [third] = await press(harness, user, PICK_ACTION, f"1:1:{day}")
    assert "Question 3 of 3" in third and "Write your answer as a message here." in third
    [thanks] = await harness.say(said, user=user)
    assert thanks == "Thank you! Your answers to “Spring check-in” are in."


async def test_a_member_is_refused_writing_a_survey_in_their_language(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await setup(harness, "ana")
    with caplog.at_level(logging.WARNING):
        [refused] = await harness.say(THREE, user="ana", locale="es")
    assert refused.startswith("Lo siento, /survey new requiere el rol de moderación")
    [record] = [r for r in caplog.records if r.getMessage() == "command refused for lack of role"]
    assert record.__dict__["command"] == "survey.new"
    async with harness.app.uow_factory() as uow:
        assert await uow.repo(SurveyRepository).get(1) is None


async def test_a_three_question_survey_is_sent_answered_and_summed_up_from_its_rows(
    harness: Harness,
) -> None:
    await setup(harness, "ana", "ben", "cai")
    [created] = await harness.say(THREE, user="cora")
    assert created.startswith("Survey #1 “Spring check-in” is ready, with 3 questions.")
    [sent] = await harness.say("/survey send 1", user="cora")
    # Everyone who is in the community, cora included; privately, with the Answer button.
    assert sent.startswith("Survey #1 is open and on its way privately to 4 members")
    invites = await queued(harness, INVITE_KIND)
    assert sorted(to for to, _ in invites) == ["ana", "ben", "cai", "cora"]
    assert all("Spring check-in" in said and "3 questions" in said for _, said in invites)
    # Sending again queues nothing twice.
    [again] = await harness.say("/survey send 1", user="cora")
    assert "Nobody new to send it to" in again

    await answer_three(harness, "ana", 4, 2, "More evening sessions.")
    await answer_three(harness, "ben", 2, 2, "Shorter talks.")
    # Answering twice is refused.
    [twice] = await press(harness, "ana", START_ACTION, "1")
    assert twice == "You have answered that survey already. Thank you!"

    [shown] = await harness.say("/survey results 1", user="cora")
    survey, answers = await stored(harness)
    # The recount, from the raw rows.
    scale = [int(a.value) for a in answers if a.question == 0]
    days = Counter(int(a.value) for a in answers if a.question == 1)
    texts = sorted(a.value for a in answers if a.question == 2)
    assert sorted(scale) == [2, 4] and texts == ["More evening sessions.", "Shorter talks."]
    assert "📊 Survey #1: Spring check-in: 2 responses." in shown
    assert f"Average: {sum(scale) / len(scale):g} of 5" in shown
    for point in range(1, 6):
        count = scale.count(point)
        assert f"• {point}: {count} ({round(100 * count / len(scale))}%)" in shown
    for index, option in enumerate(survey.questions[1].options):
        count = days[index]
        assert f"• {option}: {count} ({round(100 * count / 2)}%)" in shown
    assert "“More evening sessions.”" in shown and "“Shorter talks.”" in shown
    # Named answers carry who and when.
    assert {a.person_id for a in answers} != {None}
    assert all(a.answered_at == harness.clock.now() for a in answers)

    [listed] = await harness.say("/survey list", user="cora")
    assert "#1 Spring check-in: open; responses: 2" in listed


async def test_the_results_csv_and_chart_go_privately_to_the_moderator(harness: Harness) -> None:
    await setup(harness, "ana", "ben")
    await harness.say(THREE, user="cora")
    await harness.say("/survey send 1", user="cora")
    hostile = '=HYPERLINK("http://x") <b>bold</b> $5 *star*'
    await answer_three(harness, "ana", 5, 0, hostile)
    await answer_three(harness, "ben", 1, 2, "-2+3 @here")
    harness.messenger.clear()
    [note] = await harness.say("/survey results 1 csv", user="cora")
    assert note == "Survey #1: 2 responses, one row each."
    [(to, message)] = harness.messenger.sent
    assert to.user_id == "cora" and message.attachment is not None
    assert message.attachment.filename == "survey-1.csv"
    rows = list(csv.reader(io.StringIO(message.attachment.content.decode())))
    assert rows[0] == [
        "person",
        "answered at",
        "How useful were the sessions?",
        "Which day suits you?",
        "What should we change?",
    ]
    assert sorted(rows[1:]) == sorted(
        [
            ["Ana", harness.clock.now().isoformat(), "5", "Monday", "'" + hostile],
            ["Ben", harness.clock.now().isoformat(), "1", "Friday", "'-2+3 @here"],
        ]
    )
    # In the text, the member's words are literal text, never markup.
    [shown] = await harness.say("/survey results 1", user="cora")
    assert f"“{hostile}”" in shown
    harness.messenger.clear()
    [chart] = await harness.say("/survey results 1 chart", user="cora")
    assert chart == "Survey #1: 2 responses."
    [(_, drawn)] = harness.messenger.sent
    assert drawn.attachment is not None and drawn.attachment.content.startswith(b"\x89PNG")
    # What the chart draws, against a recount of the stored rows.
    survey, answers = await stored(harness)
    panels = chart_panels(tally(survey, answers), lambda key: key)
    scale = Counter(int(a.value) for a in answers if a.question == 0)
    days = Counter(int(a.value) for a in answers if a.question == 1)
    assert [(p.title, p.labels, p.counts) for p in panels] == [
        (
            "1. How useful were the sessions?",
            ("1", "2", "3", "4", "5"),
            tuple(scale[point] for point in range(1, 6)),
        ),
        (
            "2. Which day suits you?",
            ("Monday", "Wednesday", "Friday"),
            tuple(days[option] for option in range(3)),
        ),
    ]
    assert sum(sum(p.counts) for p in panels) == 4


async def test_the_net_promoter_score_matches_a_recount(harness: Harness) -> None:
    await setup(harness, *MEMBERS)
    await harness.say(
        "/survey new Recommend?\nnps: How likely are you to recommend us?", user="cora"
    )
    await harness.say("/survey send 1", user="cora")
    given = dict(zip(MEMBERS, (10, 9, 9, 8, 6, 3, 0), strict=True))
    for member, score in given.items():
        await press(harness, member, START_ACTION, "1")
        [thanks] = await press(harness, member, PICK_ACTION, f"1:0:{score}")
        assert thanks.startswith("Thank you!")
    [shown] = await harness.say("/survey results 1", user="cora")
    _, answers = await stored(harness)
    values = [int(a.value) for a in answers]
    assert sorted(values) == sorted(given.values())
    promoters = sum(v >= 9 for v in values)
    detractors = sum(v <= 6 for v in values)
    passives = len(values) - promoters - detractors
    score = round(100 * (promoters - detractors) / len(values))
    assert score == 0  # three promoters, three detractors
    assert (
        f"Net promoter score: {score} ({promoters} promoters, {passives} passives, "
        f"{detractors} detractors)"
    ) in shown
    assert f"Average: {round(sum(values) / len(values), 1):g} of 10" in shown


async def test_anonymous_results_are_hidden_below_five_responses_and_rows_name_nobody(
    harness: Harness,
) -> None:
    await setup(harness, *MEMBERS)
    await harness.say(
        "/survey new Honest feedback\nscale: How is it going?\ntext: Anything else?\nanonymous",
        user="cora",
    )
    await harness.say("/survey send 1", user="cora")
    [(_, invite), *_] = await queued(harness, INVITE_KIND)
    assert "Anonymous: your answers are kept without your name" in invite
    for number, member in enumerate(MEMBERS[:4], 1):
        await press(harness, member, START_ACTION, "1")
        await press(harness, member, PICK_ACTION, f"1:0:{number}")
        await harness.say(f"note {number}", user=member)
    [hidden] = await harness.say("/survey results 1", user="cora")
    assert hidden.startswith("Survey #1 is anonymous: its results are shown only from 5")
    assert "It has 4 so far." in hidden
    [no_csv] = await harness.say("/survey results 1 csv", user="cora")
    assert no_csv == hidden
    await press(harness, MEMBERS[4], START_ACTION, "1")
    await press(harness, MEMBERS[4], PICK_ACTION, "1:0:5")
    await harness.say("note 5", user=MEMBERS[4])
    [shown] = await harness.say("/survey results 1", user="cora")
    assert "5 responses." in shown and "Average: 3 of 5" in shown
    assert all(f"“note {n}”" in shown for n in range(1, 6))

    # The table: answers with no person and no time; who answered is a separate set.
    async with harness.app.storage.engine.connect() as connection:
        rows = (
            await connection.execute(
                text("SELECT person_id, answered_at, response FROM survey_answers")
            )
        ).all()
        respondents = (await connection.execute(text("SELECT * FROM survey_respondents"))).all()
    assert len(rows) == 10
    assert {(person, at) for person, at, _ in rows} == {(None, None)}
    assert len({response for _, _, response in rows}) == 5
    assert len(respondents) == 5 and len(respondents[0]) == 2  # survey and person, no time

    # The CSV has no person or time columns, and its rows in no stored order.
    harness.messenger.clear()
    await harness.say("/survey results 1 csv", user="cora")
    attachment = harness.messenger.sent[-1][1].attachment
    assert attachment is not None
    table = list(csv.reader(io.StringIO(attachment.content.decode())))
    assert table[0] == ["How is it going?", "Anything else?"]
    assert sorted(table[1:]) == [[str(n), f"note {n}"] for n in range(1, 6)]

    # /mydata has nothing of an anonymous answer; /forgetme leaves it.
    async with harness.app.uow_factory() as uow:
        ana = await uow.members.identity(Platform.CONSOLE, "ana")
        assert ana is not None
        subject = DataSubject(ana.person_id, (ana.identity_id,))
        repo = uow.repo(SurveyRepository)
        exported = await repo.export_person(subject)
        assert exported["survey_answers"] == []
        assert exported["surveys_answered"] == [{"survey_id": 1}]
        forgotten = await repo.forget_person(subject)
        await uow.commit()
    assert forgotten["survey_answers"] == 0 and forgotten["surveys_answered"] == 1
    _, answers = await stored(harness)
    assert len(answers) == 10


async def test_named_answers_are_exported_and_forgotten(harness: Harness) -> None:
    await setup(harness, "ana", "ben")
    await harness.say(THREE, user="cora")
    await harness.say("/survey send 1", user="cora")
    await answer_three(harness, "ana", 3, 1, "Mine")
    await answer_three(harness, "ben", 4, 1, "His")
    async with harness.app.uow_factory() as uow:
        ana = await uow.members.identity(Platform.CONSOLE, "ana")
        assert ana is not None
        subject = DataSubject(ana.person_id, (ana.identity_id,))
        repo = uow.repo(SurveyRepository)
        exported = await repo.export_person(subject)
        assert [row["value"] for row in exported["survey_answers"]] == ["3", "1", "Mine"]
        assert (await repo.forget_person(subject))["survey_answers"] == 3
        await uow.commit()
    _, answers = await stored(harness)
    assert sorted(a.value for a in answers) == ["1", "4", "His"]


async def test_reminders_go_once_to_those_who_have_not_answered_and_the_deadline_closes(
    harness: Harness,
) -> None:
    await setup(harness, "ana", "ben", "cai")
    await harness.say(
        "/survey new Quick one\nscale: Good week?\ndeadline: 2026-11-05 12:00", user="cora"
    )
    await harness.say("/survey send 1", user="cora")
    invites = await queued(harness, INVITE_KIND)
    # The deadline in the community's time zone (the members set none of their own).
    assert all("You can answer until 2026-11-05 12:00." in said for _, said in invites)
    await press(harness, "ana", START_ACTION, "1")
    await press(harness, "ana", PICK_ACTION, "1:0:5")
    assert await harness.job(DEADLINE_JOB) == 0  # three days before: nothing yet
    harness.clock.advance(days=2, hours=4)  # 16:00 UTC: 23 hours before 12:00 in Santiago
    reminded = await harness.job(DEADLINE_JOB)
    reminders = await queued(harness, REMIND_KIND)
    assert sorted(to for to, _ in reminders) == ["ben", "cai", "cora"] and reminded == 3
    assert all(said.startswith("⏰ A reminder: Quick one") for _, said in reminders)
    harness.clock.advance(hours=1)
    assert await harness.job(DEADLINE_JOB) == 0
    assert len(await queued(harness, REMIND_KIND)) == 3
    harness.clock.advance(days=1)
    assert await harness.job(DEADLINE_JOB) == 1  # closed
    [closed] = await press(harness, "ben", START_ACTION, "1")
    assert closed == "That survey is closed: it takes no more answers."
    [listed] = await harness.say("/survey list", user="cora")
    assert "#1 Quick one: closed; responses: 1" in listed


async def test_forged_buttons_are_refused_with_one_log_line_each(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await setup(harness, "ana", "ben")
    await harness.say("/survey new Forgery\nchoice: Pick | a | b\nscale: Rate", user="cora")
    await harness.say("/survey send 1", user="cora")
    await press(harness, "ana", START_ACTION, "1")
    forged = [
        (START_ACTION, "99", "That button no longer does anything."),  # no such survey
        (PICK_ACTION, "1:0:7", "That button no longer does anything."),  # no option 7
        (PICK_ACTION, "1:1:3", "That button no longer does anything."),  # not on question 2
        (PICK_ACTION, "1:0:x", "That button no longer does anything."),
        (PICK_ACTION, "1:0", "That button no longer does anything."),
        (DONE_ACTION, "1:0", "That button no longer does anything."),  # not multiple choice
        (SUBMIT_ACTION, '{"fields": {"q0": "0"}}', "That button no longer does anything."),
    ]
    for action, value, told in forged:
        caplog.clear()
        with caplog.at_level(logging.INFO):
            [said] = await press(harness, "ana", action, value)
        assert said.startswith(told), (action, value)
        refusals = [r for r in caplog.records if r.getMessage() == "survey answer refused"]
        assert len(refusals) == 1, (action, value)
    # Ben never pressed Answer: his forged press of Ana's question is refused too.
    [said] = await press(harness, "ben", PICK_ACTION, "1:0:1")
    assert said.startswith("That button no longer does anything.")
    # A value out of range in a form is refused, and nothing is stored.
    [said] = await press(
        harness,
        "ana",
        SUBMIT_ACTION,
        json.dumps({"fields": {"q0": "5", "q1": "3"}, "metadata": json.dumps({"context": "1"})}),
    )
    assert said.startswith("Some answers were missing or not among the choices")
    await harness.say("/survey close 1", user="cora")
    [said] = await press(harness, "ana", PICK_ACTION, "1:0:1")
    assert said == "That survey is closed: it takes no more answers."
    _, answers = await stored(harness)
    assert answers == []


async def test_a_member_who_left_cannot_answer_until_they_come_back(harness: Harness) -> None:
    await setup(harness, "ana")
    await harness.say("/survey new Stay?\nscale: Rate us", user="cora")
    await harness.say("/survey send 1", user="cora")
    origin = Origin(
        Platform.CONSOLE,
        "left:1",
        "demo",
        PlatformUser(Platform.CONSOLE, "cora", "Cora"),
        harness.clock.now(),
    )
    ana = PlatformUser(Platform.CONSOLE, "ana", "Ana")
    await harness.dispatch(MemberLeft(origin, ana))
    # Pressed in her private chat (a press in the group would make her a member again).
    private = replace_id(origin, "press:1", ana, is_direct=True)
    [refused] = await harness.dispatch(ButtonPressed(private, START_ACTION, "1"))
    assert refused == (
        "That survey is for the members of its community, and you are not one of them now."
    )
    await harness.dispatch(MemberJoined(replace_id(origin, "join:1"), ana))
    harness.messenger.clear()
    [first] = await press(harness, "ana", START_ACTION, "1")
    assert "Question 1 of 1" in first
    [thanks] = await press(harness, "ana", PICK_ACTION, "1:0:4")
    assert thanks.startswith("Thank you!")


def replace_id(
    origin: Origin, event_id: str, user: PlatformUser | None = None, *, is_direct: bool = False
) -> Origin:
    return replace(
        origin,
        event_id=event_id,
        user=user or origin.user,
        is_direct=is_direct,
        chat_id=user.user_id if user and is_direct else origin.chat_id,
    )


async def test_multiple_choice_toggles_until_done(harness: Harness) -> None:
    await setup(harness, "ana")
    await harness.say("/survey new Topics\nmulti: Which? | water | soil | seeds", user="cora")
    await harness.say("/survey send 1", user="cora")
    await press(harness, "ana", START_ACTION, "1")
    [empty] = await press(harness, "ana", DONE_ACTION, "1:0")
    assert empty == "Choose at least one option, then press Done."
    await press(harness, "ana", PICK_ACTION, "1:0:0")
    await press(harness, "ana", PICK_ACTION, "1:0:2")
    await press(harness, "ana", PICK_ACTION, "1:0:0")  # water off again
    buttons = [b.label for row in harness.messenger.sent[-1][1].buttons for b in row]
    assert buttons == ["water", "soil", "✓ seeds", "Done ✓"]
    [thanks] = await press(harness, "ana", DONE_ACTION, "1:0")
    assert thanks.startswith("Thank you!")
    [shown] = await harness.say("/survey results 1", user="cora")
    assert "• water: 0 (0%)" in shown and "• seeds: 1 (100%)" in shown


async def test_the_annual_evaluation_turns_needs_into_knowledge_gaps(harness: Harness) -> None:
    await setup(harness, "ana", "ben")
    [created] = await harness.say("/survey template annual", user="cora")
    assert created.startswith("Survey #1 “Annual evaluation” is ready, with 4 questions.")
    await harness.say("/survey send 1", user="cora")
    for member, need in (("ana", "A glossary of irrigation terms"), ("ben", "Seed suppliers")):
        [first] = await press(harness, member, START_ACTION, "1")
        assert "How useful is this community to you?" in first
        await press(harness, member, PICK_ACTION, "1:0:4")
        [third] = await press(harness, member, PICK_ACTION, "1:1:9")
        assert "What do you need that you do not find here yet?" in third
        await harness.say(need, user=member)
        [thanks] = await harness.say("Nothing", user=member)
        assert thanks == "Thank you! Your answers to “Annual evaluation” are in."
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        gaps = await uow.repo(KnowledgeRepository).open_gaps(community.id)
    assert sorted(g.query for g in gaps) == ["A glossary of irrigation terms", "Seed suppliers"]
    assert all(g.community_id == community.id for g in gaps)


async def test_another_communitys_survey_is_not_reachable(harness: Harness) -> None:
    await setup(harness, "ana")
    async with harness.app.uow_factory() as uow:
        other = await uow.communities.add(
            key="other",
            platform=Platform.CONSOLE,
            chat_id="elsewhere",
            title="Elsewhere",
            timezone="UTC",
            language="en",
            now=harness.clock.now(),
        )
        await uow.repo(SurveyRepository).add(
            Survey(other.id, None, "Theirs", (), False, harness.clock.now())
        )
        await uow.commit()
    for line in ("/survey results 1", "/survey send 1", "/survey close 1"):
        [said] = await harness.say(line, user="cora")
        assert said.startswith("There is no survey #1 in this community."), line
    assert await queued(harness, INVITE_KIND) == []


async def test_a_survey_with_a_bad_line_explains_the_syntax(harness: Harness) -> None:
    await setup(harness)
    [said] = await harness.say("/survey new Oops\nrating: How?", user="cora")
    assert said.startswith("I do not understand this line: “rating: How?”.")
    [said] = await harness.say("/survey new Oops\nchoice: Only one | a", user="cora")
    assert "needs 2 to 10 options" in said
    [said] = await harness.say("/survey new Late\nscale: x\ndeadline: 2020-01-01", user="cora")
    assert said.startswith("That closing time has already passed")


async def test_invitations_respect_opt_outs_and_wait_for_the_end_of_quiet_hours(
    harness: Harness,
) -> None:
    await setup(harness, "ana", "ben")
    [opted] = await harness.say("/optout nudges", user="ben")
    assert opted  # ben turned reminders off
    harness.clock.advance(hours=15)  # 03:00 UTC: midnight in Santiago, within 21-8
    await harness.say("/survey new Night owl\nscale: Awake?", user="cora")
    await harness.say("/survey send 1", user="cora")
    async with harness.app.uow_factory() as uow:
        rows = await uow.outbox.listing(None, list(OutboxStatus), 500)
    invites = [r for r in rows if r.kind == INVITE_KIND]
    assert sorted(r.destination.chat_id for r in invites) == ["ana", "cora"]
    # Due at 08:00 in Santiago (11:00 UTC), the end of the quiet hours.
    assert {r.due_at for r in invites} == {harness.clock.now() + timedelta(hours=8)}


async def test_a_survey_sent_close_to_its_deadline_is_reminded_only_after_twelve_hours(
    harness: Harness,
) -> None:
    await setup(harness, "ana")
    # Sent 20 hours before its deadline (12:00 in Santiago is 15:00 UTC on 3 November).
    harness.clock.advance(hours=7)
    await harness.say("/survey new Soon\nscale: Ok?\ndeadline: 2026-11-03 12:00", user="cora")
    await harness.say("/survey send 1", user="cora")
    await press(harness, "ana", START_ACTION, "1")  # started, not finished
    assert await harness.job(DEADLINE_JOB) == 0
    harness.clock.advance(hours=11, minutes=59)
    assert await harness.job(DEADLINE_JOB) == 0
    harness.clock.advance(minutes=1)
    assert await harness.job(DEADLINE_JOB) == 2  # ana and cora, 8 hours before the deadline
    harness.clock.advance(hours=8)
    assert await harness.job(DEADLINE_JOB) == 1
    # Closing forgot ana's unfinished answers.
    async with harness.app.uow_factory() as uow:
        ana = await uow.members.identity(Platform.CONSOLE, "ana")
        assert ana is not None
        assert await uow.repo(SurveyRepository).pending_draft(ana.person_id) is None


async def test_a_survey_typed_on_one_line_is_separated_by_semicolons(harness: Harness) -> None:
    await setup(harness, "ana")
    [created] = await harness.say(
        "/survey new Quick; escala: ¿Útil?; opción: ¿Día? | lunes | martes; anónima",
        user="cora",
    )
    assert created.startswith("Survey #1 “Quick” is ready, with 2 questions.")
    survey, _ = await stored(harness)
    assert survey.anonymous
    assert [(q.kind.value, q.text, q.options) for q in survey.questions] == [
        ("scale", "¿Útil?", ()),
        ("choice", "¿Día?", ("lunes", "martes")),
    ]


async def test_an_anonymous_annual_evaluation_makes_gaps_that_name_nobody(
    harness: Harness,
) -> None:
    await setup(harness, "ana")
    [created] = await harness.say("/survey template annual anonymous", user="cora")
    assert created.startswith("Survey #1 “Annual evaluation” is ready")
    await harness.say("/survey send 1", user="cora")
    sent_at = harness.clock.now()
    harness.clock.advance(hours=5)
    await press(harness, "ana", START_ACTION, "1")
    await press(harness, "ana", PICK_ACTION, "1:0:2")
    await press(harness, "ana", PICK_ACTION, "1:1:6")
    await harness.say("Mentors for newcomers", user="ana")
    await harness.say("More meetups", user="ana")
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        [gap] = await uow.repo(KnowledgeRepository).open_gaps(community.id)
    assert gap.query == "Mentors for newcomers"
    assert (gap.person_id, gap.identity_id, gap.created_at) == (None, None, sent_at)
    survey, answers = await stored(harness)
    assert survey.anonymous and {(a.person_id, a.answered_at) for a in answers} == {(None, None)}


async def test_pressing_answer_again_halfway_keeps_the_answers_so_far(harness: Harness) -> None:
    await setup(harness, "ana")
    await harness.say(THREE, user="cora")
    await harness.say("/survey send 1", user="cora")
    await press(harness, "ana", START_ACTION, "1")
    await press(harness, "ana", PICK_ACTION, "1:0:4")
    for _ in range(3):  # pressed again, and again: the same place, nothing lost
        [again] = await press(harness, "ana", START_ACTION, "1")
        assert "Question 2 of 3" in again
    await press(harness, "ana", PICK_ACTION, "1:1:0")
    [thanks] = await harness.say("Fewer slides.", user="ana")
    assert thanks.startswith("Thank you!")
    _, answers = await stored(harness)
    assert sorted((a.question, a.value) for a in answers) == [
        (0, "4"),
        (1, "0"),
        (2, "Fewer slides."),
    ]
