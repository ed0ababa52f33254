"""Weekly summary and leaderboard benchmark: one community with 10,000 members and 1,000,000
participation events over a year, on SQLite and PostgreSQL.

Times `weekly_summary` for the last complete week (every figure, the week before, the people
lists) and `/leaderboard week|month|all` end to end through the core, each the median of
several runs after one warm-up. Targets: summary under 2 s, leaderboard under 100 ms.

    python bench/summary.py                      # SQLite in a temporary file
    python bench/summary.py --postgres postgresql+asyncpg://postgres@127.0.0.1:5432/test
    python bench/summary.py --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from anywhere: `python bench/summary.py`
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402

from bench.benchmarks_doc import machine, write_section  # noqa: E402
from facilitator.bootstrap import build_app  # noqa: E402
from facilitator.domain.events import CommandInvoked, Origin  # noqa: E402
from facilitator.domain.model import ParticipationKind as K  # noqa: E402
from facilitator.domain.model import Platform, PlatformUser  # noqa: E402
from facilitator.features.knowledge.storage import KnowledgeGapRow  # noqa: E402
from facilitator.features.participation.domain import ScoreState  # noqa: E402
from facilitator.features.participation.ports import ParticipationRepository  # noqa: E402
from facilitator.features.participation.rollup import config_key, roll_forward  # noqa: E402
from facilitator.features.participation.service import Participation  # noqa: E402
from facilitator.features.participation.summary import IsoWeek, weekly_summary  # noqa: E402
from facilitator.settings import Settings  # noqa: E402
from facilitator.storage.engine import create_engine  # noqa: E402
from facilitator.storage.models import (  # noqa: E402
    Base,
    CommunityRow,
    IdentityRow,
    LedgerRow,
    MembershipRow,
    PersonRow,
    QuestionRow,
)

SECTION = "## Participation: weekly summary and leaderboard"
TIMEZONE = "America/Santiago"
CHAT = "-1009000000001"
# "Now": Monday 23 November 2026, 09:00 in Santiago, when the summary of 2026-W47 is due.
NOW = dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC)
DAYS = 365
KIND_MIX = (
    (K.MESSAGE_POSTED, 52.0),
    (K.REACTION_GIVEN, 11.0),
    (K.REACTION_RECEIVED, 11.0),
    (K.QUESTION_ASKED, 5.0),
    (K.ANSWER_GIVEN, 4.0),
    (K.THANKS_RECEIVED, 3.0),
    (K.ANSWER_THANKED, 2.0),
    (K.RESOURCE_SHARED, 3.0),
    (K.POLL_VOTE, 3.0),
    (K.WEBINAR_RSVP, 1.5),
    (K.WEBINAR_ATTENDED, 1.0),
    (K.KNOWLEDGE_CONTRIBUTED, 0.5),
    (K.KNOWLEDGE_APPROVED, 0.3),
    (K.NEWCOMER_WELCOMED, 0.2),
    (K.WEBINAR_PRESENTED, 0.05),
)


async def populate(url: str, schema: str | None, members: int, events: int, seed: int) -> int:
    """Fill a fresh database; returns the community id."""
    rng = random.Random(seed)
    engine = create_engine(url, schema=schema)
    start = NOW - dt.timedelta(days=DAYS)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        result = await conn.execute(
            insert(CommunityRow)
            .values(
                key="bench",
                platform="telegram",
                chat_id=CHAT,
                title="Benchmark network",
                timezone=TIMEZONE,
                language="es",
                settings={},
                active=True,
                created_at=start,
            )
            .returning(CommunityRow.id)
        )
        community_id = int(result.scalar_one())
        joined = [
            start + dt.timedelta(seconds=rng.randrange(DAYS * 86400)) for _ in range(members)
        ]
        await conn.execute(
            insert(PersonRow),
            [
                {"id": n + 1, "created_at": joined[n], "opted_out_tracking": n % 500 == 7}
                for n in range(members)
            ],
        )
        await conn.execute(
            insert(IdentityRow),
            [
                {
                    "id": n + 1,
                    "person_id": n + 1,
                    "platform": "telegram",
                    "platform_user_id": str(10_000_000 + n),
                    "display_name": f"Member {n}",
                    "created_at": joined[n],
                    "last_seen_at": joined[n],
                }
                for n in range(members)
            ],
        )
        await conn.execute(
            insert(MembershipRow),
            [
                {
                    "person_id": n + 1,
                    "community_id": community_id,
                    "role": "coordinator" if n < 3 else "moderator" if n < 10 else "member",
                    "joined_at": joined[n],
                }
                for n in range(members)
            ],
        )
        kinds = [kind.value for kind, _ in KIND_MIX]
        weights = [weight for _, weight in KIND_MIX]
        # A few members do most of the talking (a Zipf-like spread of activity).
        activity = [1.0 / (rank + 1) ** 0.8 for rank in range(members)]
        batch: list[dict[str, Any]] = []
        questions: list[dict[str, Any]] = []
        persons = rng.choices(range(1, members + 1), weights=activity, k=events)
        chosen_kinds = rng.choices(kinds, weights=weights, k=events)
        for n in range(events):
            person = persons[n]
            at = start + dt.timedelta(seconds=rng.randrange(DAYS * 86400))
            kind = chosen_kinds[n]
            batch.append(
                {
                    "community_id": community_id,
                    "person_id": person,
                    "identity_id": person,
                    "kind": kind,
                    "occurred_at": at,
                    "source_event_id": f"e{n}",
                    "ref": str(n) if kind == "message_posted" else None,
                }
            )
            if kind == "question_asked":
                answered = rng.random() < 0.8
                questions.append(
                    {
                        "community_id": community_id,
                        "person_id": person,
                        "identity_id": person,
                        "source_event_id": f"e{n}",
                        "message_id": str(n),
                        "lang": "es",
                        "asked_at": at,
                        "answered_at": at + dt.timedelta(minutes=rng.randrange(5, 600))
                        if answered
                        else None,
                        "bot_answered": False,
                    }
                )
            if len(batch) == 20_000:
                await conn.execute(insert(LedgerRow), batch)
                batch = []
        if batch:
            await conn.execute(insert(LedgerRow), batch)
        for offset in range(0, len(questions), 20_000):
            await conn.execute(insert(QuestionRow), questions[offset : offset + 20_000])
        await conn.execute(
            insert(KnowledgeGapRow),
            [
                {
                    "community_id": community_id,
                    "query": rng.choice(
                        (
                            "cómo medir el impacto de la cooperación sur-sur",
                            "plantilla de términos de referencia",
                            "how to run a webinar with breakout rooms",
                            "indicadores de participación",
                        )
                    )
                    + f" {n % 7}",
                    "lang": "es",
                    "created_at": start + dt.timedelta(seconds=rng.randrange(DAYS * 86400)),
                }
                for n in range(5_000)
            ],
        )
    async with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            await conn.execute(text("ANALYZE"))
        else:
            await conn.execute(text("ANALYZE"))
    await engine.dispose()
    return community_id


class FixedClock:
    def now(self) -> dt.datetime:
        return NOW


async def measure(url: str, schema: str | None, runs: int) -> dict[str, Any]:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        database_schema=schema,
        prompts_dir=ROOT / "prompts",
        data_dir=ROOT / "data",
        # One member asks /leaderboard a dozen times within the fixed minute: timed, not
        # rate-limited.
        member_budget_per_minute=0,
    )
    app = build_app(settings, clock=FixedClock())
    service = app.services.feature(Participation)
    assert isinstance(service, Participation)
    timings: dict[str, list[float]] = {}
    week = IsoWeek.last_complete(NOW, TIMEZONE)
    facts: dict[str, Any] = {}
    try:
        async with app.uow_factory() as uow:
            community = await uow.communities.by_chat(Platform.TELEGRAM, CHAT)
            assert community is not None
            facts["events"] = await uow.ledger.count(community.id)
            start, end = week.bounds(TIMEZONE)
            facts["events_in_week"] = sum(
                (
                    await uow.repo(ParticipationRepository).kind_totals(community.id, start, end)
                ).values()
            )
        for _ in range(runs + 1):
            async with app.uow_factory() as uow:
                began = time.perf_counter()
                summary = await weekly_summary(uow, community, week, service.config_for(community))
                timings.setdefault("summary", []).append(time.perf_counter() - began)
            facts["active_members"] = summary.figures.active_members
            facts["messages"] = summary.figures.messages
        # Rankings read rolled-up scores once the daily job has run (participation/rollup.py);
        # the time of that job is reported, and the rankings without it as well.
        async with app.uow_factory() as uow:
            await uow.repo(ParticipationRepository).reset_scores(community.id, None)
            await uow.commit()
        for label in ("leaderboard all (before the daily roll-up)",):
            origin = Origin(
                platform=Platform.TELEGRAM,
                event_id=f"bench:cold:{uuid.uuid4().hex[:6]}",
                chat_id=CHAT,
                user=PlatformUser(Platform.TELEGRAM, "10000042", "Member 42"),
                occurred_at=NOW,
                chat_title="Benchmark network",
            )
            async with app.uow_factory() as uow:
                began = time.perf_counter()
                await app.core.handle(CommandInvoked(origin, "leaderboard", "all"), uow)
                timings.setdefault(label, []).extend([0.0, time.perf_counter() - began])
        async with app.uow_factory() as uow:
            began = time.perf_counter()
            await roll_forward(uow, community, service.config_for(community), NOW)
            await uow.commit()
            timings["daily roll-up (full rebuild)"] = [0.0, time.perf_counter() - began]
        async with app.uow_factory() as uow:
            await uow.repo(ParticipationRepository).claim_score_state(
                community.id,
                await uow.repo(ParticipationRepository).score_state(community.id),
                # Yesterday's rows, rebuilt today already: the next roll-up is one day forward.
                ScoreState(
                    NOW.date() - dt.timedelta(days=1),
                    config_key(service.config_for(community)),
                    NOW.date(),
                ),
                NOW,
            )
            await uow.commit()
        async with app.uow_factory() as uow:
            began = time.perf_counter()
            await roll_forward(uow, community, service.config_for(community), NOW)
            await uow.commit()
            timings["daily roll-up (one day forward)"] = [0.0, time.perf_counter() - began]
        for period in ("week", "month", "all"):
            for n in range(runs + 1):
                origin = Origin(
                    platform=Platform.TELEGRAM,
                    event_id=f"bench:{period}:{n}:{uuid.uuid4().hex[:6]}",
                    chat_id=CHAT,
                    user=PlatformUser(Platform.TELEGRAM, "10000042", "Member 42"),
                    occurred_at=NOW,
                    chat_title="Benchmark network",
                )
                async with app.uow_factory() as uow:
                    began = time.perf_counter()
                    replies = await app.core.handle(
                        CommandInvoked(origin, "leaderboard", period), uow
                    )
                    elapsed = time.perf_counter() - began
                timings.setdefault(f"leaderboard {period}", []).append(elapsed)
                facts[f"leaderboard {period}"] = replies[0][1].body.plain().splitlines()[1]
    finally:
        await app.aclose()
    # The first run warms caches (SQLite's page cache, SQLAlchemy's statement cache).
    result = {name: statistics.median(values[1:]) for name, values in timings.items()}
    return {"timings_s": result, "facts": facts, "week": str(week)}


async def run(args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"members": args.members, "events": args.events}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        began = time.perf_counter()
        await populate(url, None, args.members, args.events, args.seed)
        results["sqlite_populate_s"] = time.perf_counter() - began
        results["sqlite"] = await measure(url, None, args.runs)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.postgres)
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            began = time.perf_counter()
            await populate(args.postgres, schema, args.members, args.events, args.seed)
            results["postgresql_populate_s"] = time.perf_counter() - began
            results["postgresql"] = await measure(args.postgres, schema, args.runs)
        finally:
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            await admin.dispose()
    return results


def report(command: str, result: dict[str, Any]) -> str:
    lines = [
        SECTION,
        "",
        f"- Machine: {machine()}",
        f"- Date: {dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Command: `{command}`",
        f"- Data: one community, {result['members']:,} members, {result['events']:,} ledger "
        f"events spread over {DAYS} days (a Zipf-like spread of activity over members; "
        "message, reaction, question, answer, thanks, resource, poll, webinar and knowledge "
        "kinds), with a question row per question asked and 5,000 unanswered lookups. The "
        "summary is of the last complete week before Monday 2026-11-23 09:00 America/Santiago "
        "(2026-W47); `/leaderboard` runs through the core (`Facilitator.handle`) in its own "
        "unit of work. Each time is the median of the runs after one warm-up run.",
        "",
        "| measurement | SQLite | PostgreSQL | target |",
        "|---|---:|---:|---:|",
    ]
    sqlite = result["sqlite"]["timings_s"]
    postgres = result.get("postgresql", {}).get("timings_s", {})
    targets: dict[str, float | None] = {
        "summary": 2.0,
        "leaderboard week": 0.1,
        "leaderboard month": 0.1,
        "leaderboard all": 0.1,
        "leaderboard all (before the daily roll-up)": None,
        "daily roll-up (full rebuild)": None,
        "daily roll-up (one day forward)": None,
    }
    for name, target in targets.items():
        mine = sqlite.get(name)
        theirs = postgres.get(name)

        def shown(value: float | None, target: float | None = target) -> str:
            if value is None:
                return "n/a"
            if target is None:
                return f"{value * 1000:,.0f} ms"
            ok = "met" if value < target else "NOT met"
            return f"{value * 1000:,.0f} ms ({ok})"

        goal = "" if target is None else f"< {target * 1000:,.0f} ms"
        lines.append(f"| {name} | {shown(mine)} | {shown(theirs)} | {goal} |")
    facts = result["sqlite"]["facts"]
    lines += [
        "",
        f"Events in the summarised week: {facts['events_in_week']:,}; active members "
        f"{facts['active_members']:,}; messages {facts['messages']:,}. Populating took "
        f"{result['sqlite_populate_s']:.0f} s on SQLite"
        + (
            f" and {result['postgresql_populate_s']:.0f} s on PostgreSQL."
            if "postgresql_populate_s" in result
            else "."
        ),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=47)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL URL (a schema is made)")
    parser.add_argument("--write", type=Path, default=None, help="docs/benchmarks.md to update")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    print(json.dumps(result, indent=2, default=str))
    if args.write is not None:
        given = argv if argv is not None else sys.argv[1:]
        write_section(
            args.write, SECTION, report("python bench/summary.py " + " ".join(given), result)
        )


if __name__ == "__main__":
    main()
