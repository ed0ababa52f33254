"""The weekly summary of the demo month: figures against the script, renderings, the job."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from facilitator.domain.events import (
    CommandInvoked,
    MessageReceived,
    PollVoteCast,
    ReactionChanged,
)
from facilitator.domain.model import Platform, Role
from facilitator.features.knowledge.ingest import parse_directory
from facilitator.features.participation.report import Format, render, to_html, to_markdown
from facilitator.features.participation.service import Participation
from facilitator.features.participation.simulation import (
    ApproveAllStep,
    SimulatedMonth,
    WebinarStep,
    week_start,
)
from facilitator.features.participation.summary import IsoWeek, WeeklySummary, weekly_summary
from facilitator.features.participation.weekly import WeeklyDigest
from facilitator.markup import Block, RichText, Span, Style
from tests.conftest import REPO_ROOT
from tests.unit.participation_support import PlayedMonth

# The repository the demo month is played on: its items' review dates, read from the files.
REVIEW_DATES = [
    item.review_by
    for item in parse_directory(REPO_ROOT / "data" / "knowledge").items
    if item.review_by is not None
]


def active_in(month: SimulatedMonth, week: int) -> set[str]:
    """Who was active in week `week`, recounted from the script's steps with this test's own
    definition, not the summary's (nor the simulator's, which borrows the summary's): a member
    is active who did something in the community themselves that week: wrote a message,
    reacted, voted, shared a resource, approved the resources shared, signed up for, attended
    or presented a webinar. Being thanked, reacted to or welcomed is not doing something;
    neither are other commands. Bots are no members; those who opted out or were forgotten
    are in no figure."""
    start, end = week_start(week), week_start(week + 1)
    doers: set[str] = set()
    for step in month.steps:
        if not start <= step.at < end:
            continue
        match step.action:
            case WebinarStep(who=who) | ApproveAllStep(who=who):
                doers.add(who)
            case (
                MessageReceived(origin=origin)
                | ReactionChanged(origin=origin, added=True)
                | PollVoteCast(origin=origin)
                | CommandInvoked(origin=origin, name="share")
            ) if not origin.user.is_bot:
                doers.add(origin.user.user_id)
    return doers - month.excluded


def expected_week(played: PlayedMonth, week: int) -> dict[str, object]:
    """What the script did in week `week` (0 is 2026-W45), with its active members recounted
    here (`active_in`), and the items past their review date by the end of that week, counted
    from the repository's files."""
    week_end = IsoWeek(2026, 45 + week).days[-1] + timedelta(days=1)
    overdue = sum(1 for day in REVIEW_DATES if day < week_end)
    scripted = played.month.expected_week(week)
    active = active_in(played.month, week)
    start, end = week_start(week), week_start(week + 1)
    newcomers = {
        who
        for who, at in played.month.joined.items()
        if start <= at < end and who not in played.month.excluded
    }
    return {
        **scripted,
        "active_members": len(active),
        "newcomers_active": len(newcomers & active),
        "items_overdue": overdue,
    }


W47 = IsoWeek(2026, 47)
FIGURE_NAMES = (
    "known_members",
    "active_members",
    "newcomers",
    "newcomers_active",
    "messages",
    "questions_asked",
    "questions_answered",
    "questions_unanswered",
    "median_answer_minutes",
    "poll_votes",
    "poll_voters",
    "webinar_rsvps",
    "webinar_attended",
    "unanswered_lookups",
    "gaps_closed",
    "median_gap_close_hours",
    "lookups_closed",
    "items_overdue",
)


def service(played: PlayedMonth) -> Participation:
    found = played.app.services.feature(Participation)
    assert isinstance(found, Participation)
    return found


async def summary_of(played: PlayedMonth, week: IsoWeek = W47) -> WeeklySummary:
    community = await played.community()
    async with played.app.uow_factory() as uow:
        return await weekly_summary(uow, community, week, service(played).config_for(community))


@pytest.mark.parametrize("week", range(4))
async def test_each_weeks_figures_match_what_the_script_did(
    played: PlayedMonth, week: int
) -> None:
    summary = await summary_of(played, IsoWeek(2026, 45 + week))
    expected = expected_week(played, week)
    got = {name: getattr(summary.figures, name) for name in FIGURE_NAMES}
    assert got == {name: expected[name] for name in FIGURE_NAMES}


async def test_week_over_week_compares_with_the_week_before(played: PlayedMonth) -> None:
    summary = await summary_of(played)
    before = expected_week(played, 1)
    assert summary.previous.messages == before["messages"]
    assert summary.previous.active_members == before["active_members"]


async def test_the_weeks_people_lists_name_the_right_members(played: PlayedMonth) -> None:
    summary = await summary_of(played)
    assert [line.name for line in summary.at_risk] == ["Felipe Duarte"]
    assert [line.name for line in summary.rising] == ["Inés Castro"]
    top = [line.name for line in summary.top]
    assert top[:3] == ["Elena Vargas", "Gabriela Pérez", "Inés Castro"]
    everyone = {line.name for line in (*summary.top, *summary.rising, *summary.at_risk)}
    assert not everyone & {"Carla Rojas", "João Almeida", "joao"}
    assert dict(summary.top[1].reasons)["webinar_presented"] == 1


async def test_activity_per_day_covers_the_seven_local_days(played: PlayedMonth) -> None:
    summary = await summary_of(played)
    assert summary.days[0].day.isoformat() == "2026-11-16"
    assert len(summary.days) == 7
    assert sum(day.messages for day in summary.days) == summary.figures.messages
    assert summary.days[1].messages == 45 + 4  # Diego's Tuesday, and the day's questions


async def test_the_most_asked_unanswered_questions_are_grouped(played: PlayedMonth) -> None:
    summary = await summary_of(played)
    assert summary.gaps[0] == ("cómo medir el impacto de la cooperación sur-sur", 2)


async def test_staff_leave_the_lists_when_the_community_says_so(played: PlayedMonth) -> None:
    community = await played.community()
    config = service(played).config_for(community).overridden({"exclude_staff": True})
    async with played.app.uow_factory() as uow:
        summary = await weekly_summary(uow, community, W47, config)
    names = {line.name for line in (*summary.top, *summary.rising, *summary.at_risk)}
    assert "Bruno Carvalho" not in names and "Ana Morales" not in names
    assert summary.figures.active_members == 11  # counts still include them


async def test_the_english_text_summary(played: PlayedMonth) -> None:
    text = render(await summary_of(played), Format.TEXT, played.app.services.catalogue, "en")
    lines = text.decode().splitlines()
    assert lines[0] == (
        "Weekly summary: Knowledge Exchange Network (demo), week 2026-W47 "
        "(2026-11-16 to 2026-11-22)"
    )
    assert "• Active members: 11 of 13 (85%) (+1 on last week)" in lines
    assert "• Questions: 6 asked, 5 answered, 1 unanswered (+2 on last week)" in lines
    assert "• Median time to a first answer: 40 minutes (+10 min on last week)" in lines
    assert "• Webinars: 6 sign-ups, 4 attended (+4 on last week)" in lines
    assert "• Felipe Duarte: active 2 weeks of the previous four, last on 2026-11-12" in lines


async def test_the_spanish_text_summary(played: PlayedMonth) -> None:
    text = render(await summary_of(played), Format.TEXT, played.app.services.catalogue, "es")
    lines = text.decode().splitlines()
    assert lines[0].startswith("Resumen semanal: Knowledge Exchange Network (demo), semana")
    assert "• Miembros activos: 11 de 13 (85\u00a0%) (+1 respecto de la semana pasada)" in lines
    assert "• Recién llegados: 2, 1 de ellos ya activos (+1 respecto de la semana pasada)" in lines
    assert any(
        line.startswith("• Gabriela Pérez: 46 puntos (presentó un webinario") for line in lines
    )


async def test_the_csv_carries_every_figure_with_last_weeks(played: PlayedMonth) -> None:
    data = render(await summary_of(played), Format.CSV, played.app.services.catalogue, "es")
    rows = list(csv.DictReader(io.StringIO(data.decode())))
    figures = {row["key"]: row for row in rows if row["section"] == "figure"}
    expected = expected_week(played, 2)
    previous = expected_week(played, 1)
    for name in FIGURE_NAMES:
        want = expected[name]
        assert figures[name]["value"] == ("" if want is None else str(int(want))), name
    assert figures["messages"]["previous"] == str(previous["messages"])
    assert figures["messages"]["change"] == str(expected["messages"] - previous["messages"])  # type: ignore[operator]
    days = [row for row in rows if row["section"] == "day"]
    assert len(days) == 7
    assert [row["key"] for row in rows if row["section"] == "at_risk"] == ["Felipe Duarte"]


@pytest.mark.parametrize("locale", ["en", "es"])
async def test_the_chart_is_a_png_image(played: PlayedMonth, locale: str) -> None:
    data = render(await summary_of(played), Format.PNG, played.app.services.catalogue, locale)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (900, 750)


async def test_html_and_markdown_keep_values_literal() -> None:
    hostile = RichText.of("<b>x</b> *y* [z](http://e)") + RichText(
        (Block((Span("<i>", Style.BOLD),)),)
    )
    page = to_html(hostile, "t<")
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<strong>&lt;i&gt;</strong>" in page
    assert "<title>t&lt;</title>" in page
    markdown = to_markdown(hostile)
    assert "\\*y\\*" in markdown and "\\[z\\]" in markdown and "**\\<i\\>**" in markdown


async def test_the_weekly_job_queues_each_coordinators_summary_once(played: PlayedMonth) -> None:
    app = played.app
    community = await played.community()
    async with app.uow_factory() as uow:
        settings = {**community.settings, "participation": {"recognition_post": True}}
        await uow.communities.update(replace(community, settings=settings))
        await uow.commit()
    await app.roles.grant(Platform.CONSOLE, "lucas", Role.ADMIN, None)
    digest = WeeklyDigest(
        app.uow_factory,
        service(played),
        app.services.catalogue,
        frozenset(),
        "America/Santiago",
    )
    too_early = datetime(2026, 11, 30, 11, 59, tzinfo=UTC)
    assert await digest.run(too_early) == 0
    due = datetime(2026, 11, 30, 12, 5, tzinfo=UTC)  # Monday 09:05 in Santiago
    queued = await digest.run(due)
    # Ana (coordinator) and Lucas (admin everywhere): three messages each, the group's
    # recognition post, and Lucas's network summary (its text, chart and CSV).
    assert queued == 3 * 2 + 1 + 3
    assert await digest.run(due + timedelta(minutes=5)) == 0
    async with app.uow_factory() as uow:
        ana = await uow.members.identity(Platform.CONSOLE, "ana")
        assert ana is not None
        text = await uow.outbox.by_key(f"summary:{community.id}:2026-W48:{ana.person_id}:1")
        chart = await uow.outbox.by_key(f"summary:{community.id}:2026-W48:{ana.person_id}:2")
        post = await uow.outbox.by_key(f"recognition:{community.id}:2026-W48")
    assert text is not None and chart is not None and post is not None
    assert text.destination.is_direct and text.destination.user_id == "ana"
    assert text.message.body.plain().startswith("Resumen semanal")  # Ana reads Spanish
    assert chart.message.attachment is not None
    assert chart.message.attachment.mime_type == "image/png"
    assert post.destination.chat_id == "demo" and post.destination.user_id is None
    recognition = post.message.body.plain()
    assert "Carla" not in recognition and "João" not in recognition


async def test_summary_command_sends_text_chart_and_csv_privately(played: PlayedMonth) -> None:
    before = len(played.messenger.sent)
    replies = await played.command("ana", "summary", "2026-W47")
    assert len(replies) == 3
    sent = played.messenger.sent[before:]
    assert all(d.user_id == "ana" and m.ephemeral for d, m in sent)
    assert [m.attachment.mime_type for _, m in sent if m.attachment] == ["image/png", "text/csv"]
    [refused] = await played.command("karen", "summary")
    assert "coordinator" in refused
    [bad] = await played.command("ana", "summary", "someday")
    assert bad.startswith('"someday" no es una semana válida')


async def test_coordinators_see_and_change_participation_settings(played: PlayedMonth) -> None:
    await played.app.roles.grant(Platform.CONSOLE, "karen", Role.COORDINATOR, "demo")
    done, shown = await played.command("karen", "participation", "day fri")
    assert done == "Done: day is now fri."
    assert (
        "Weekly summary to coordinators (summary): on, on Fri (day) at 09:00"
        " (time, America/Santiago)"
    ) in shown
    [bad] = await played.command("karen", "participation", "time 25:00")
    assert bad.startswith('"25:00" does not fit time.')
    community = await played.community()
    assert service(played).config_for(community).summary_day == "fri"


HOSTILE_NAMES = ("$\\sqrt{$", "$x^$", '=HYPERLINK("http://e.invalid","x")', "=cmd|' /C calc'!A0")


async def test_names_with_dollars_draw_as_text_and_formulas_never_reach_a_spreadsheet(
    played: PlayedMonth,
) -> None:
    summary = await summary_of(played)
    hostile = tuple(
        replace(line, name=name) for line, name in zip(summary.top, HOSTILE_NAMES, strict=False)
    )
    summary = replace(summary, top=hostile, gaps=(("=1+1 how do we vote", 2),))
    png = render(summary, Format.PNG, played.app.services.catalogue, "en")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    rows = list(
        csv.DictReader(
            io.StringIO(render(summary, Format.CSV, played.app.services.catalogue, "en").decode())
        )
    )
    keys = [
        row["key"] for row in rows if row["section"] in ("top_contributor", "unanswered_lookup")
    ]
    for name in (*HOSTILE_NAMES[2:], "=1+1 how do we vote"):
        assert "'" + name in keys  # shown as typed, never run
    assert not any(key.startswith(("=", "+", "@")) for key in keys)
    assert "$\\sqrt{$" in keys  # text that starts no formula stays as it is


def test_a_poll_option_with_dollars_is_drawn_as_text() -> None:
    from facilitator.features.polls.chart import bar_chart

    png = bar_chart("$\\sqrt{$ or $x^$?", ["$x^$", "$\\frac{", "plain"], [3, 1, 0], "en")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
