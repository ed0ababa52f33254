"""Sending a survey to a community's members, reminding those who have not answered, and
closing it at its deadline. Every message goes through the outbox as a nudge: opt-outs and
quiet hours apply, and its deduplication key makes it happen once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from facilitator.domain.model import Community, Member
from facilitator.features.knowledge.gaps import locale_of, tell
from facilitator.features.surveys.domain import Survey, SurveyStatus
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.features.surveys.results import survey_title
from facilitator.i18n import Catalogue
from facilitator.localtime import show
from facilitator.markup import Button, OutboundMessage, RichText
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

START_ACTION = "survey_start"
INVITE_KIND = "survey.invite"
REMIND_KIND = "survey.remind"
# Those who have not answered are reminded once, this long before the deadline, and never
# sooner than `REMIND_AFTER` after the survey was sent (an invitation is reminder enough).
REMIND_BEFORE = timedelta(hours=24)
REMIND_AFTER = timedelta(hours=12)
DEADLINE_JOB = "survey.deadlines"


def invitation(
    catalogue: Catalogue,
    survey: Survey,
    community: Community,
    member: Member,
    *,
    reminder: bool,
) -> OutboundMessage:
    locale = locale_of(member, community)

    def t(key: str) -> str:
        return catalogue.text(locale, key)

    parts = [
        catalogue.render(
            locale,
            "surveys.reminder" if reminder else "surveys.invite",
            title=survey_title(survey, t),
            community=community.title,
            count=len(survey.questions),
        )
    ]
    if survey.deadline is not None:
        when = show(survey.deadline, member.timezone or community.timezone)
        parts.append(catalogue.render(locale, "surveys.invite_deadline", deadline=when))
    if survey.anonymous:
        parts.append(catalogue.render(locale, "surveys.invite_anonymous"))
    button = Button(catalogue.text(locale, "surveys.answer_button"), START_ACTION, str(survey.id))
    return OutboundMessage(RichText.join(parts), buttons=((button,),))


async def current_members(uow: UnitOfWork, community_id: int) -> list[Member]:
    return [m for m, held in await uow.members.members_of(community_id) if held.left_at is None]


async def send_survey(
    uow: UnitOfWork, catalogue: Catalogue, survey: Survey, community: Community, now: datetime
) -> int:
    """Queue the survey privately to every current member who has not answered it; how many
    were queued (again: only those not queued before)."""
    assert survey.id is not None
    repo = uow.repo(SurveyRepository)
    answered = await repo.respondents(survey.id)
    queued = 0
    for member in await current_members(uow, community.id):
        if member.person_id in answered:
            continue
        if await tell(
            uow,
            community,
            member,
            f"survey:{survey.id}:invite:{member.person_id}",
            INVITE_KIND,
            invitation(catalogue, survey, community, member, reminder=False),
            now,
            nudge=True,
            fallback_in_group=True,
        ):
            queued += 1
    return queued


def reminding(survey: Survey, now: datetime) -> bool:
    """Whether the survey's one reminder is due now."""
    if survey.deadline is None or survey.reminded_at is not None or survey.sent_at is None:
        return False
    return survey.deadline - REMIND_BEFORE <= now and now - survey.sent_at >= REMIND_AFTER


class SurveyDeadlines:
    """The job: a day before a survey's deadline, those who have not answered are reminded
    once; at the deadline the survey closes."""

    def __init__(self, uow_factory: UnitOfWorkFactory, catalogue: Catalogue) -> None:
        self._uow_factory = uow_factory
        self._catalogue = catalogue

    async def run(self, now: datetime) -> int:
        done = 0
        async with self._uow_factory() as uow:
            repo = uow.repo(SurveyRepository)
            for survey in await repo.open_with_deadline():
                assert survey.id is not None and survey.deadline is not None
                if survey.deadline <= now:
                    if await repo.set_status(survey.id, SurveyStatus.CLOSED, now):
                        await repo.drop_drafts(survey.id)
                        log.info("survey closed at its deadline", extra={"survey": survey.id})
                        done += 1
                elif reminding(survey, now):
                    done += await self._remind(uow, survey, now)
            await uow.commit()
        return done

    async def _remind(self, uow: UnitOfWork, survey: Survey, now: datetime) -> int:
        assert survey.id is not None
        repo = uow.repo(SurveyRepository)
        community = await uow.communities.get(survey.community_id)
        if community is None or not await repo.mark_reminded(survey.id, now):
            return 0
        answered = await repo.respondents(survey.id)
        reminded = 0
        for member in await current_members(uow, community.id):
            if member.person_id in answered:
                continue
            if await tell(
                uow,
                community,
                member,
                f"survey:{survey.id}:remind:{member.person_id}",
                REMIND_KIND,
                invitation(self._catalogue, survey, community, member, reminder=True),
                now,
                nudge=True,
            ):
                reminded += 1
        log.info("survey reminders queued", extra={"survey": survey.id, "count": reminded})
        return reminded
