"""`facilitator report`: the weekly summary, offline, in text, Markdown, CSV, HTML or PNG."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.report import Format, render, render_network
from facilitator.features.participation.service import Participation
from facilitator.features.participation.summary import IsoWeek, network_summary, weekly_summary
from facilitator.i18n import SUPPORTED_LOCALES
from facilitator.observability import configure_logging
from facilitator.settings import Settings

if TYPE_CHECKING:
    from facilitator.ports import UnitOfWork

REPORTS_DIR = Path("var/reports")


def upgrade(settings: Settings) -> None:
    """Apply the migrations (Alembic loads only when a command runs, not with the CLI)."""
    from facilitator.storage import migrate

    migrate.upgrade(settings.database_url, schema=settings.database_schema)


class ReportError(Exception):
    pass


def report(
    community: Annotated[
        str | None,
        typer.Option(
            help="Community key; without it, the only community there is, or the network "
            "summary for admins when there are several."
        ),
    ] = None,
    network: Annotated[
        bool, typer.Option("--network", help="The network summary, even with one community.")
    ] = False,
    week: Annotated[
        str | None, typer.Option(help="ISO week, e.g. 2026-W47; default: the last complete one.")
    ] = None,
    output: Annotated[Format, typer.Option("--format", help="What to produce.")] = Format.TEXT,
    lang: Annotated[
        str | None, typer.Option(help="en, es or pt; default: the community's language.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(help="Write to this file (PNG default: var/reports/<community>-<week>.png)."),
    ] = None,
) -> None:
    """The coordinators' weekly summary of a community, as sent to them on Mondays, or the
    admins' summary of every community."""
    if network and community is not None:
        typer.echo("--network and --community exclude each other", err=True)
        raise typer.Exit(2)
    if lang is not None and lang not in SUPPORTED_LOCALES:
        typer.echo(f"unknown language {lang!r}: use en, es or pt", err=True)
        raise typer.Exit(2)
    try:
        chosen = IsoWeek.parse(week) if week else None
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    settings = Settings()
    configure_logging(settings.log_level)
    upgrade(settings)
    try:
        data, name, note = asyncio.run(
            _produce(settings, community, network, chosen, output, lang)
        )
    except ReportError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if note:
        typer.echo(note, err=True)
    if out is None and output is Format.PNG:
        out = REPORTS_DIR / f"{name}.png"
    if out is None:
        typer.echo(data.decode("utf-8"), nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    typer.echo(f"saved to {out}")


async def _produce(
    settings: Settings,
    key: str | None,
    network: bool,
    week: IsoWeek | None,
    output: Format,
    lang: str | None,
) -> tuple[bytes, str, str]:
    """The report's bytes, the file name it gets, and a note for the operator (or "")."""
    from facilitator.bootstrap import build_app
    from facilitator.features.knowledge.service import KnowledgeBase

    application = build_app(settings)
    try:
        catalogue = application.services.catalogue
        service = application.services.feature(Participation)
        assert isinstance(service, Participation)
        now = application.clock.now()
        async with application.uow_factory() as uow:
            note = ""
            if key is None and not network:
                communities = [c for c in await uow.communities.all() if c.active]
                if len(communities) == 1:
                    key = communities[0].key
                else:
                    network = True
                    if communities:
                        keys = ", ".join(sorted(c.key for c in communities))
                        note = (
                            f"network summary of {len(communities)} communities ({keys}); "
                            "for one of them: --community KEY"
                        )
            if key is None:
                communities = [c for c in await uow.communities.all() if c.active]
                chosen = week or IsoWeek.last_complete(now, settings.default_timezone)
                summary = await network_summary(
                    uow, communities, chosen, application.services.optional(KnowledgeBase)
                )
                data = render_network(
                    summary, output, catalogue, lang or settings.default_language
                )
                return data, f"network-{chosen}", note
            found = await uow.communities.by_key(key)
            if found is None:
                raise ReportError(f"no community with key {key!r}")
            chosen = week or IsoWeek.last_complete(now, found.timezone)
            summary_of_one = await weekly_summary(
                uow, found, chosen, service.config_for(found), service.admins
            )
        data = render(summary_of_one, output, catalogue, lang or found.language)
        return data, f"{found.key.replace(':', '_')}-{chosen}", note
    finally:
        await application.aclose()


def seed_activity() -> None:
    """Play the demo community's scripted month (2026-W45 to W48: questions, answers,
    thanks, webinars, newcomers) so that `report --community demo --week 2026-W47` and the
    chat's /leaderboard, /aplayers and /summary have something to show."""
    import yaml

    from facilitator.bootstrap import build_app
    from facilitator.features.participation.simulation import (
        ScriptClock,
        demo_month,
        play,
        week_start,
    )
    from facilitator.seeding import seed_demo_community

    settings = Settings()
    configure_logging(settings.log_level)
    upgrade(settings)
    spec = yaml.safe_load((settings.data_dir / "demo" / "community.yaml").read_text("utf-8"))

    async def main() -> int:
        clock = ScriptClock(week_start(0))
        application = build_app(settings, clock=clock)
        try:
            await seed_demo_community(application.uow_factory, settings.data_dir, clock)
            async with application.uow_factory() as uow:
                found = await uow.communities.by_key(spec["key"])
                # Played before: the month's weeks hold activity. What the demo chat added in
                # other weeks (`facilitator demo` writes at today's date) does not count.
                if found is None or await _played(uow, found.id):
                    return 0
            month = demo_month([person["name"] for person in spec["members"]])

            def move(at: datetime) -> None:
                clock.current = at

            played = await play(application.core, application.uow_factory, month, move)
            # The month's end, for `facilitator newsletter --month 2026-11`.
            from facilitator.features.digest.demo import seed_newsletter_month

            await seed_newsletter_month(application.uow_factory, spec["key"])
            return played
        finally:
            await application.aclose()

    steps = asyncio.run(main())
    if steps == 0:
        typer.echo(
            "the demo community already has activity in 2026-W45 to 2026-W48 (the month was "
            "played before): nothing played. To play it again, start from a new database "
            "(FACILITATOR_DATABASE_URL, by default var/facilitator.db)."
        )
    else:
        typer.echo(f"{steps} steps of the demo month played (2026-W45 to 2026-W48)")


async def _played(uow: UnitOfWork, community_id: int) -> bool:
    """Whether the scripted month is in the ledger already."""
    from facilitator.features.participation.simulation import WEEKS, week_start

    totals = await uow.repo(ParticipationRepository).kind_totals(
        community_id, week_start(0), week_start(WEEKS)
    )
    return sum(totals.values()) > 0
