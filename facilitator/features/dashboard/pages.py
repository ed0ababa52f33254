"""The Members and Knowledge pages' tables, read through the features' ports and services
(participation's standings and weekly summary, knowledge's gaps and review dates, profiles,
nudges): the same rules as the chat's `/aplayers`, `/summary`, `/gaps` and `/review`.

Members who opted out of tracking never appear (participation leaves them out of standings
and summaries; the newcomers' list skips them here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from facilitator.domain.model import Community
from facilitator.features.dashboard.tables import RowAction, Table
from facilitator.features.knowledge.domain import ItemStatus
from facilitator.features.knowledge.gaps import group_gaps
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.nudges.domain import NudgeKind
from facilitator.features.nudges.ports import NudgeRepository
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.scoring import reasons
from facilitator.features.participation.service import Participation
from facilitator.features.participation.summary import IsoWeek, network_summary, weekly_summary
from facilitator.features.polls.domain import Poll
from facilitator.features.polls.ports import PollRepository
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.features.webinars.domain import Rsvp
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.i18n import Catalogue
from facilitator.localtime import local
from facilitator.ports import UnitOfWork

NEWCOMER_DAYS = 28
GAP_DAYS = 30
LISTED = 50


def _day(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment is not None else ""


def _reason(catalogue: Catalogue, locale: str, kind: str, count: int) -> str:
    prompt = f"participation.reasons.{kind}"
    if catalogue.has(prompt):
        return catalogue.text(locale, prompt, count=count)
    return f"{kind.replace('_', ' ')}: {count}"


async def members_tables(
    uow: UnitOfWork,
    participation: Participation,
    community: Community,
    now: datetime,
    catalogue: Catalogue,
    locale: str,
) -> list[Table]:
    yes, no = (catalogue.text(locale, f"dashboard.web.{w}") for w in ("yes", "no"))
    config = participation.config_for(community)
    ranked = await participation.a_players(uow, community, now)
    a_players = Table(
        "a_players",
        ("name", "points", "reasons"),
        tuple(
            (
                entry.name,
                str(entry.standing.rounded),
                ", ".join(
                    _reason(catalogue, locale, kind, count)
                    for kind, count in reasons(entry.standing, config.reasons_shown)
                ),
            )
            for entry in ranked[:LISTED]
        ),
    )
    week = IsoWeek.last_complete(now, community.timezone)
    summary = await weekly_summary(uow, community, week, config, participation.admins)
    rising = Table(
        "rising",
        ("name", "points", "before"),
        tuple(
            (line.name, str(line.points), f"{line.previous_points:.1f}") for line in summary.rising
        ),
    )
    nudges = uow.repo(NudgeRepository)
    at_risk_rows = []
    for line in summary.at_risk:
        nudged = await nudges.last(community.id, line.person_id, NudgeKind.REENGAGE)
        at_risk_rows.append(
            (
                line.name,
                line.last_active.isoformat() if line.last_active else "",
                str(line.active_weeks),
                _day(nudged),
            )
        )
    at_risk = Table(
        "at_risk", ("name", "last_active", "active_weeks", "nudged"), tuple(at_risk_rows)
    )
    facts = await uow.repo(ParticipationRepository).member_facts(community.id)
    since = now - timedelta(days=NEWCOMER_DAYS)
    joined = sorted(
        (f for f in facts if f.left_at is None and not f.opted_out and f.joined_at >= since),
        key=lambda f: f.joined_at,
        reverse=True,
    )[:LISTED]
    profiles = uow.repo(ProfileRepository)
    newcomer_rows = []
    for fact in joined:
        profile = await profiles.get(fact.person_id)
        introduced = profile is not None and bool(
            profile.expertise or profile.organisation or profile.country
        )
        welcomed = await nudges.last(community.id, fact.person_id, NudgeKind.WELCOME)
        newcomer_rows.append(
            (
                fact.display_name,
                _day(fact.joined_at),
                yes if welcomed is not None else no,
                yes if introduced else no,
            )
        )
    newcomers = Table(
        "newcomers", ("name", "joined", "welcomed", "introduced"), tuple(newcomer_rows)
    )
    return [a_players, rising, at_risk, newcomers]


async def knowledge_tables(
    uow: UnitOfWork, knowledge: KnowledgeBase, community: Community, now: datetime
) -> list[Table]:
    repo = uow.repo(KnowledgeRepository)
    found = await repo.gaps_since(community.id, now - timedelta(days=GAP_DAYS), open_only=True)
    groups = await group_gaps(knowledge, found)
    gaps = Table(
        "gaps",
        ("id", "question", "asked", "first_asked"),
        tuple(
            (
                str(group.first.id),
                group.representative,
                str(len(group.gaps)),
                _day(min(g.created_at for g in group.gaps)),
            )
            for group in groups[:LISTED]
        ),
        (
            RowAction("gap_dismiss"),
            RowAction("gap_link", "item"),
            RowAction("gap_assign", "member"),
        ),
    )
    due = await repo.due_for_review(community.id, now.date())
    scores = await repo.scores([i.id for i in due if i.id is not None])
    review = Table(
        "review",
        ("id", "title", "review_by", "votes"),
        tuple(
            (
                str(item.id),
                item.title,
                item.review_by.isoformat() if item.review_by else "",
                "{} / {}".format(*scores.get(item.id or 0, (0, 0))),
            )
            for item in due[:LISTED]
        ),
    )
    published = await repo.in_scope(community.id, [ItemStatus.PUBLISHED])
    used = await repo.answer_counts(community.id, now - timedelta(days=GAP_DAYS), now)
    titles_of = {item.id: item.title for item in published}
    most_used = Table(
        "most_used",
        ("id", "title", "answers"),
        tuple(
            (str(item_id), titles_of.get(item_id, ""), str(count))
            for item_id, count in sorted(used.items(), key=lambda pair: (-pair[1], pair[0]))[
                :LISTED
            ]
        ),
    )
    rated = await repo.scores([i.id for i in published if i.id is not None])
    titles = {item.id: item.title for item in published}
    worst = sorted(
        ((item_id, up, down) for item_id, (up, down) in rated.items() if down > 0),
        key=lambda row: (-(row[2] - row[1]), -row[2], row[0]),
    )
    worst_rated = Table(
        "worst_rated",
        ("id", "title", "up", "down"),
        tuple(
            (str(item_id), titles.get(item_id, ""), str(up), str(down))
            for item_id, up, down in worst[:LISTED]
        ),
    )
    proposed = [
        item
        for item in await repo.in_scope(community.id, [ItemStatus.PROPOSED])
        if item.community_id == community.id
    ]
    proposals = Table(
        "proposals",
        ("id", "title", "type", "proposed"),
        tuple(
            (str(item.id), item.title, item.type.value, _day(item.created_at))
            for item in sorted(proposed, key=lambda i: i.created_at or now)[:LISTED]
        ),
        (RowAction("approve"), RowAction("reject", "reason")),
    )
    return [gaps, most_used, review, worst_rated, proposals]


EVENT_DAYS = 90


def _local(moment: datetime, zone: str) -> str:
    return local(moment, zone).strftime("%Y-%m-%d %H:%M")


def _tally(counts: Sequence[int], options: Sequence[str]) -> str:
    return " · ".join(f"{option}: {count}" for option, count in zip(options, counts, strict=False))


async def events_tables(uow: UnitOfWork, community: Community, now: datetime) -> list[Table]:
    """Webinars of the last 90 days and to come, with their sign-ups and attendance; polls
    and surveys with their results. Only counts: never who voted or answered."""
    since = now - timedelta(days=EVENT_DAYS)
    webinars = uow.repo(WebinarRepository)
    polls = uow.repo(PollRepository)
    webinar_rows = []
    for webinar in (await webinars.starting_since(community.id, since))[:LISTED]:
        attendees = await webinars.attendees(webinar.id)
        feedback = ""
        if webinar.feedback_poll_id is not None:
            poll = await polls.get(webinar.feedback_poll_id)
            if poll is not None:
                feedback = _tally(await _poll_counts(polls, poll), poll.options)
        webinar_rows.append(
            (
                str(webinar.id),
                webinar.title,
                _local(webinar.starts_at, webinar.timezone),
                webinar.status.value,
                str(sum(1 for a in attendees if a.answer is Rsvp.GOING)),
                str(sum(1 for a in attendees if a.attended_at is not None)),
                feedback,
            )
        )
    found_polls = await polls.open_in(community.id, LISTED)
    found_polls += await polls.closed_between(community.id, since, now + timedelta(seconds=1))
    poll_rows = []
    for poll in sorted(found_polls, key=lambda p: p.created_at, reverse=True)[:LISTED]:
        counts = await _poll_counts(polls, poll)
        poll_rows.append(
            (
                str(poll.id),
                poll.question,
                poll.status.value,
                str(sum(counts)),
                _tally(counts, poll.options),
            )
        )
    surveys = uow.repo(SurveyRepository)
    listed = await surveys.in_community(community.id, LISTED)
    responses = await surveys.response_counts([s.id for s in listed if s.id is not None])
    survey_rows = tuple(
        (
            str(survey.id),
            survey.title,
            survey.status.value,
            str(responses.get(survey.id or 0, 0)),
            _day(survey.deadline),
        )
        for survey in listed
    )
    return [
        Table(
            "webinars",
            ("id", "title", "starts", "status", "going", "attended", "feedback"),
            tuple(webinar_rows),
        ),
        Table("polls", ("id", "question", "status", "cast", "results"), tuple(poll_rows)),
        Table("surveys", ("id", "title", "status", "responses", "deadline"), survey_rows),
    ]


async def _poll_counts(polls: PollRepository, poll: Poll) -> list[int]:
    """Votes per option: fixed at closing, else counted from the votes (never who cast them)."""
    if poll.final_counts is not None:
        return list(poll.final_counts)
    counts = [0] * len(poll.options)
    for chosen in (await polls.votes(poll.id)).values():
        for option in chosen:
            if 0 <= option < len(counts):
                counts[option] += 1
    return counts


async def network_tables(
    uow: UnitOfWork, knowledge: KnowledgeBase | None, now: datetime, zone: str
) -> list[Table]:
    """The admins' view: every active community's week side by side (the network summary's
    own figures), the themes and open questions they share, and who is active in several
    (named only if they did not opt out of tracking)."""
    communities = [c for c in await uow.communities.all() if c.active]
    week = IsoWeek.last_complete(now, zone)
    summary = await network_summary(uow, communities, week, knowledge)
    side_by_side = Table(
        "communities",
        (
            "community",
            "active_members",
            "newcomers",
            "messages",
            "questions_asked",
            "questions_answered",
            "gaps_closed",
        ),
        tuple(
            (
                line.community.title,
                str(line.figures.active_members),
                str(line.figures.newcomers),
                str(line.figures.messages),
                str(line.figures.questions_asked),
                str(line.figures.questions_answered),
                str(line.figures.gaps_closed),
            )
            for line in summary.lines
        ),
    )
    themes = Table(
        "shared_themes",
        ("theme", "communities"),
        tuple(
            (shared.theme, ", ".join(c.title for c in shared.communities))
            for shared in summary.themes
        ),
    )
    questions = Table(
        "shared_questions",
        ("question", "asked", "communities"),
        tuple(
            (shared.question, str(shared.asked), ", ".join(c.title for c in shared.communities))
            for shared in summary.questions
        ),
    )
    several = Table(
        "in_several",
        ("name",),
        tuple((name,) for name in summary.several_names),
    )
    return [side_by_side, themes, questions, several]
