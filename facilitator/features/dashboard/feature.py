"""The dashboard feature: sign-in links from the chat and the sessions they open; the pages
themselves are a surface, `adapters/web`."""

from __future__ import annotations

from datetime import datetime

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.dashboard.commands import COMMANDS
from facilitator.features.dashboard.ports import DashboardRepository
from facilitator.features.dashboard.service import Dashboard
from facilitator.features.dashboard.storage import SqlDashboardRepository
from facilitator.scheduling import IntervalJob


def setup(wiring: Wiring) -> Installed:
    settings = wiring.settings
    service = Dashboard(
        wiring.uow_factory,
        wiring.services,
        settings.public_url,
        enabled=settings.dashboard_secret is not None,
    )

    async def purge(now: datetime) -> int:
        async with wiring.uow_factory() as uow:
            gone = await uow.repo(DashboardRepository).purge(now)
            await uow.commit()
        return gone

    return Installed(service=service, jobs=(IntervalJob("web_sessions.purge", 3600, purge),))


FEATURE = Feature(
    "dashboard",
    commands=COMMANDS,
    repositories={DashboardRepository: SqlDashboardRepository},
    prompts=("dashboard",),
    setup=setup,
    personal_data=PersonalData(
        tables=("dashboard_links", "dashboard_sessions"),
        export=lambda uow, who: uow.repo(DashboardRepository).export_person(who),
        forget=lambda uow, who: uow.repo(DashboardRepository).forget_person(who),
    ),
)
