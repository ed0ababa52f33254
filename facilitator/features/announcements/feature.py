"""The announcements feature: posts to the group at their time, private copies on request."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.announcements.commands import COMMANDS
from facilitator.features.announcements.ports import AnnouncementRepository
from facilitator.features.announcements.service import JOB, Announcements
from facilitator.features.announcements.storage import SqlAnnouncementRepository
from facilitator.scheduling import IntervalJob


def setup(wiring: Wiring) -> Installed:
    service = Announcements(wiring.uow_factory, wiring.services)
    service.attach(wiring.dispatcher)
    return Installed(
        service=service,
        # Every minute: an announcement goes out within the minute it is due.
        jobs=(IntervalJob(JOB, 60, service.run, first_after=30),),
    )


FEATURE = Feature(
    "announcements",
    commands=COMMANDS,
    repositories={AnnouncementRepository: SqlAnnouncementRepository},
    prompts=("announcements",),
    setup=setup,
    personal_data=PersonalData(
        tables=("announcements", "announcement_subscribers"),
        export=lambda uow, who: uow.repo(AnnouncementRepository).export_person(who),
        forget=lambda uow, who: uow.repo(AnnouncementRepository).forget_person(who),
    ),
)
