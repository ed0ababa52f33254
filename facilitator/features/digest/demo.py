"""The demo community's newsletter month (2026-11): what the played month lacks for it.

The played month (`facilitator seed-activity`) brings new repository items and lookups the
repository could not answer. This adds, at the month's end, a webinar coming up in December
(with a meeting link, which the newsletter must not show), an open poll, answers to two of the
group's questions and to one asked privately (which must never appear), and naming choices:
Ana agrees to be named; Carla agrees too but opted out of tracking, so she is not."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from facilitator.domain.model import Platform
from facilitator.features.digest.domain import Frequency
from facilitator.features.digest.ports import DigestRepository
from facilitator.features.knowledge.domain import GapStatus, KnowledgeGap
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.polls.domain import PollDraft
from facilitator.features.polls.ports import PollRepository
from facilitator.features.webinars.domain import WebinarDraft
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.ports import UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

MONTH = "2026-11"
AT = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)  # 10:00 in Santiago, after the played weeks
WEBINAR_TITLE = "Monitoreo & evaluación del aprendizaje entre pares"
WEBINAR_LINK = "https://meet.example.org/kx-demo-diciembre"
POLL_QUESTION = "¿Qué tema prefieren para el webinar de enero?"
PRIVATE_QUESTION = "¿Pueden revisar en privado el informe de mi organización?"
# The group's questions answered at the month's end: (question, item key, who answered).
ANSWERS = (
    ("cómo medir el impacto de la cooperación sur-sur", "es-lesson-south-south-exchange", "ana"),
    ("plantilla de informe de webinar", "es-toolkit-webinars", "carla"),
)


async def _person(uow: UnitOfWork, name: str) -> tuple[int, int]:
    member = await uow.members.identity(Platform.CONSOLE, name)
    if member is None:
        raise LookupError(name)
    return member.person_id, member.identity_id


async def seed_newsletter_month(uow_factory: UnitOfWorkFactory, key: str = "demo") -> bool:
    """Add the month's end to the played demo month; False if there is no demo community or
    it was added before."""
    async with uow_factory() as uow:
        community = await uow.communities.by_key(key)
        if community is None:
            return False
        webinars = uow.repo(WebinarRepository)
        if any(w.title == WEBINAR_TITLE for w in await webinars.upcoming(community.id, AT)):
            return False
        bruno, _ = await _person(uow, "bruno")
        await webinars.add(
            community.id,
            WebinarDraft(
                title=WEBINAR_TITLE,
                starts_at=datetime(2026, 12, 3, 20, 0, tzinfo=UTC),
                timezone=community.timezone,
                link=WEBINAR_LINK,
                speaker="Bruno Carvalho",
                theme="monitoring",
            ),
            speaker_person_id=bruno,
            created_by=bruno,
            checkin_code="KXDIC",
            now=AT,
        )
        ana, _ = await _person(uow, "ana")
        await uow.repo(PollRepository).add(
            community.id,
            PollDraft(
                question=POLL_QUESTION,
                options=("Indicadores", "Incorporación de miembros", "Repositorio vivo"),
                closes_at=datetime(2026, 12, 4, 21, 0, tzinfo=UTC),
            ),
            ana,
            None,
            AT,
        )
        knowledge = uow.repo(KnowledgeRepository)
        open_gaps = await knowledge.open_gaps(community.id)
        for n, (query, item_key, who) in enumerate(ANSWERS):
            gap = next((g for g in open_gaps if g.query == query), None)
            item = await knowledge.by_key(community.id, item_key)
            if gap is None or gap.id is None or item is None:
                continue
            _, identity = await _person(uow, who)
            await knowledge.note_answer(gap.id, f"demo:answer:{n}", item.title, identity, None)
            await knowledge.settle_gaps([gap.id], GapStatus.CLOSED, AT, item.id)
        diego, diego_identity = await _person(uow, "diego")
        private = await knowledge.add_gap(
            KnowledgeGap(
                community.id,
                PRIVATE_QUESTION,
                "es",
                AT,
                diego,
                identity_id=diego_identity,
                platform=Platform.CONSOLE.value,
                chat_id="diego",
                message_id="demo:private:1",
                is_direct=True,
            )
        )
        answer = await knowledge.by_key(community.id, "es-toolkit-lessons-learned")
        _, ana_identity = await _person(uow, "ana")
        await knowledge.note_answer(private, "demo:private:2", "", ana_identity, None)
        await knowledge.settle_gaps([private], GapStatus.CLOSED, AT, answer.id if answer else None)
        digests = uow.repo(DigestRepository)
        carla, _ = await _person(uow, "carla")
        for person in (ana, carla):
            await digests.set_named(community.id, person, True, AT)
        await digests.choose(community.id, bruno, Frequency.WEEKLY, AT)
        await uow.commit()
    log.info("demo newsletter month seeded", extra={"community": key})
    return True
