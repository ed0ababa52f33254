"""The participation feature: the ledger's scores, badges, A players and the weekly summary."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.participation.commands import COMMANDS
from facilitator.features.participation.config import load_config
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.recognition import Recognition
from facilitator.features.participation.retention import Retention
from facilitator.features.participation.rollup import ScoreRollup
from facilitator.features.participation.service import Participation
from facilitator.features.participation.signals import is_thanks
from facilitator.features.participation.storage import SqlParticipationRepository
from facilitator.features.participation.tracking import Tracker
from facilitator.features.participation.weekly import WeeklyDigest
from facilitator.scheduling import IntervalJob


def setup(wiring: Wiring) -> Installed:
    settings, uow_factory = wiring.settings, wiring.uow_factory
    scoring = Participation(
        load_config(settings.participation_config), settings.admin_identities()
    )
    weekly = WeeklyDigest(
        uow_factory,
        scoring,
        wiring.services.catalogue,
        settings.admin_identities(),
        settings.default_timezone,
        knowledge=wiring.services.optional(KnowledgeBase),
    )
    retention = Retention(
        uow_factory,
        settings.retention_days,
        settings.retention_text_days,
        payload_days=settings.inbox_retention_days,
    )
    rollup = ScoreRollup(uow_factory, scoring.config_for)
    recognition = Recognition(uow_factory, scoring, wiring.services)
    return Installed(
        service=scoring,
        event_hooks=(Tracker(scoring.config),),
        # A "thanks!" in reply to a question thanks the asker (credited by the tracker).
        not_answers=(is_thanks,),
        jobs=(
            IntervalJob("retention.purge", 6 * 3600, retention.run),
            IntervalJob("summaries.weekly", 300, weekly.run),
            IntervalJob("scores.rollup", 600, rollup.run),
            IntervalJob("recognition.badges", 600, recognition.run),
        ),
    )


FEATURE = Feature(
    "participation",
    commands=COMMANDS,
    repositories={ParticipationRepository: SqlParticipationRepository},
    prompts=("participation",),
    setup=setup,
    personal_data=PersonalData(
        tables=("ledger", "participation_scores", "recognitions"),
        export=lambda uow, who: uow.repo(ParticipationRepository).export_person(who),
        forget=lambda uow, who: uow.repo(ParticipationRepository).forget_person(who),
    ),
)
