"""The demo community's simulated month, played through the real core, for several tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from facilitator.bootstrap import App
from facilitator.domain.events import CommandInvoked, Origin
from facilitator.domain.model import Community, Platform, PlatformUser
from facilitator.features.participation.simulation import (
    CHAT_ID,
    ScriptClock,
    SimulatedMonth,
    demo_month,
    play,
    week_start,
)
from facilitator.seeding import seed_demo_community
from tests.conftest import (
    REPO_ROOT,
    RecordingMessenger,
    build_test_app,
    make_settings,
    sqlite_with_tables,
)


@dataclass
class PlayedMonth:
    app: App
    month: SimulatedMonth
    clock: ScriptClock
    messenger: RecordingMessenger
    seq: int = 0

    async def community(self) -> Community:
        async with self.app.uow_factory() as uow:
            found = await uow.communities.by_key("demo")
        assert found is not None
        return found

    async def person(self, who: str) -> int:
        async with self.app.uow_factory() as uow:
            member = await uow.members.identity(Platform.CONSOLE, who)
        assert member is not None
        return member.person_id

    async def command(
        self, who: str, name: str, args: str = "", *, locale: str = "en", direct: bool = False
    ) -> list[str]:
        """A command typed by `who` now (the clock's time); returns what the bot said."""
        self.seq += 1
        origin = Origin(
            platform=Platform.CONSOLE,
            event_id=f"test:{self.seq}",
            chat_id=who if direct else CHAT_ID,
            user=PlatformUser(Platform.CONSOLE, who, "", locale_hint=locale),
            occurred_at=self.clock.now(),
            chat_title="demo",
            is_direct=direct,
        )
        before = len(self.messenger.sent)
        async with self.app.uow_factory() as uow:
            replies = await self.app.core.handle(CommandInvoked(origin, name, args), uow)
            await uow.commit()
        await self.app.sender(replies)
        return [message.body.plain() for _, message in self.messenger.sent[before:]]


def _demo_month() -> SimulatedMonth:
    spec = yaml.safe_load((REPO_ROOT / "data" / "demo" / "community.yaml").read_text("utf-8"))
    return demo_month([person["name"] for person in spec["members"]])


async def play_demo_month(
    directory: Path, *, url: str | None = None, schema: str | None = None
) -> PlayedMonth:
    """Seed the demo community (data/demo) and play its month through the core."""
    clock = ScriptClock(week_start(0) - timedelta(days=1))
    settings = make_settings(url or sqlite_with_tables(directory / "month.db"), schema)
    app = build_test_app(settings, clock=clock)
    messenger = RecordingMessenger()
    from adapters.console.adapter import ConsoleDecoder

    app.attach(Platform.CONSOLE, messenger, ConsoleDecoder())
    await seed_demo_community(app.uow_factory, REPO_ROOT / "data", clock)
    month = _demo_month()

    def move(at: datetime) -> None:
        clock.current = at

    await play(app.core, app.uow_factory, month, move)
    clock.current = week_start(4)  # Monday after the month, 00:00 local
    return PlayedMonth(app, month, clock, messenger)


async def open_played_month(database: Path) -> PlayedMonth:
    """The core on `database`, a copy of a month played by `play_demo_month`, with the clock
    at the Monday after the month, as `play_demo_month` leaves it."""
    from adapters.console.adapter import ConsoleDecoder

    clock = ScriptClock(week_start(4))
    app = build_test_app(make_settings(f"sqlite+aiosqlite:///{database}"), clock=clock)
    messenger = RecordingMessenger()
    app.attach(Platform.CONSOLE, messenger, ConsoleDecoder())
    return PlayedMonth(app, _demo_month(), clock, messenger)
