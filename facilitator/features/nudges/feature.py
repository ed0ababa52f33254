"""The nudges feature: welcomes, follow-ups, re-engagement and unanswered questions."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.nudges.commands import COMMANDS
from facilitator.features.nudges.ports import NudgeRepository
from facilitator.features.nudges.service import Nudges
from facilitator.features.nudges.storage import SqlNudgeRepository
from facilitator.scheduling import IntervalJob


def setup(wiring: Wiring) -> Installed:
    nudges = Nudges(wiring.uow_factory, wiring.services)
    return Installed(
        service=nudges,
        event_hooks=(nudges.on_event,),
        jobs=(IntervalJob("nudges:unanswered", 900, nudges.check_unanswered),),
        schedules=(nudges.schedules(),),
    )


FEATURE = Feature(
    "nudges",
    commands=COMMANDS,
    repositories={NudgeRepository: SqlNudgeRepository},
    prompts=("nudges",),
    setup=setup,
    personal_data=PersonalData(
        tables=("nudges",),
        export=lambda uow, who: uow.repo(NudgeRepository).export_person(who),
        forget=lambda uow, who: uow.repo(NudgeRepository).forget_person(who),
    ),
)
