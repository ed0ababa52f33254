"""The reports feature: members flag messages to the moderators, who resolve them."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.reports.commands import (
    COMMANDS,
    RESOLVE_ACTION,
    ReportExpiry,
    forwarded_hint,
    resolve_button,
)
from facilitator.features.reports.platforms import ReportPlatforms
from facilitator.features.reports.ports import ReportRepository
from facilitator.features.reports.storage import SqlReportRepository
from facilitator.scheduling import IntervalJob

EXPIRY_JOB = "report.expiry"


def setup(wiring: Wiring) -> Installed:
    expiry = ReportExpiry(wiring.uow_factory, wiring.settings.report_expiry_days)
    return Installed(
        service=ReportPlatforms(wiring.messengers),
        buttons={RESOLVE_ACTION: resolve_button},
        message_hooks=(forwarded_hint,),
        # Looks hourly: a report leaves the list within the hour its period ends.
        jobs=(IntervalJob(EXPIRY_JOB, 3600, expiry.run, first_after=120),),
    )


FEATURE = Feature(
    "reports",
    commands=COMMANDS,
    repositories={ReportRepository: SqlReportRepository},
    prompts=("reports",),
    setup=setup,
    personal_data=PersonalData(
        tables=("reports",),
        export=lambda uow, who: uow.repo(ReportRepository).export_person(who),
        forget=lambda uow, who: uow.repo(ReportRepository).forget_person(who),
    ),
)
