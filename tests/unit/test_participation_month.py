"""A simulated month of the demo community: A players, decay, caps and privacy, end to end."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from facilitator.domain.events import MessageReceived, PollVoteCast, ReactionChanged
from facilitator.domain.model import Platform, Role
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.features.participation.rollup import roll_forward
from facilitator.features.participation.scoring import tally
from facilitator.features.participation.service import Participation, Period
from facilitator.features.participation.simulation import SimulatedMonth, play, week_start
from facilitator.features.privacy.service import PersonalRecords
from tests.unit.participation_support import PlayedMonth


def service(played: PlayedMonth) -> Participation:
    found = played.app.services.feature(Participation)
    assert isinstance(found, Participation)
    return found


async def test_the_ledger_holds_exactly_what_the_script_did(played: PlayedMonth) -> None:
    community = await played.community()
    people = sorted(set(played.month.members) | set(played.month.joined))
    async with played.app.uow_factory() as uow:
        for who in people:
            member = await uow.members.identity(Platform.CONSOLE, who)
            assert member is not None
            stored = await uow.repo(ParticipationRepository).kind_counts(
                community.id, [member.person_id]
            )
            expected = {kind.value: n for kind, n in played.month.counts(who).items()}
            assert stored.get(member.person_id, {}) == expected, who


async def test_the_months_a_players_are_named_with_their_reasons(played: PlayedMonth) -> None:
    await played.app.roles.grant(Platform.CONSOLE, "lucas", Role.COORDINATOR, "demo")
    [reply] = await played.command("lucas", "aplayers")
    assert reply.splitlines() == [
        "2 A players in Knowledge Exchange Network (demo)",
        "• Elena Vargas (A player, 160 points): 10 answers thanked, 10 answers, "
        "4 resources shared",
        "• Gabriela Pérez (A player, 139 points): 5 lessons or FAQs contributed, "
        "3 answers thanked, presented a webinar",
    ]


async def test_a_players_are_explained_in_the_coordinators_language(played: PlayedMonth) -> None:
    [reply] = await played.command("ana", "aplayers")  # Ana reads Spanish
    assert reply.splitlines()[0] == "2 referentes en Knowledge Exchange Network (demo)"
    assert reply.splitlines()[2] == (
        "• Gabriela Pérez (Referente, 139 puntos): 5 lecciones o preguntas frecuentes "
        "aportadas, 3 respuestas agradecidas, presentó un webinario"
    )


async def test_members_may_not_list_a_players(played: PlayedMonth) -> None:
    [reply] = await played.command("karen", "aplayers")
    assert "A player" not in reply and "coordinator" in reply


async def test_points_fade_by_half_over_a_half_life(played: PlayedMonth) -> None:
    community = await played.community()
    elena = await played.person("elena")
    now = played.clock.now()
    async with played.app.uow_factory() as uow:
        today = (await service(played).standings(uow, community, now))[elena].score
        later = (await service(played).standings(uow, community, now + timedelta(days=30)))[
            elena
        ].score
    assert later == pytest.approx(today / 2)


async def test_daily_caps_keep_the_most_talkative_member_out_of_the_a_players(
    played: PlayedMonth,
) -> None:
    community = await played.community()
    diego = await played.person("diego")
    now = played.clock.now()
    uncapped = service(played).config.overridden({"daily_caps": {"message_posted": 1000}})
    async with played.app.uow_factory() as uow:
        capped = (await service(played).standings(uow, community, now))[diego]
        rows = await uow.repo(ParticipationRepository).daily_counts(
            community.id,
            timezone=community.timezone,
            since=None,
            until=now,
            kinds=uncapped.scored_kinds,
        )
    free = tally(rows, uncapped, now.date())[diego]
    assert capped.counts["message_posted"] == 188
    assert capped.credited["message_posted"] == 4 * 20 + 8
    assert capped.level == "contributor"
    assert free.level == "a_player"


async def test_thanking_or_liking_ones_own_message_earns_nothing(played: PlayedMonth) -> None:
    community = await played.community()
    hugo = await played.person("hugo")
    async with played.app.uow_factory() as uow:
        counts = (await uow.repo(ParticipationRepository).kind_counts(community.id, [hugo]))[hugo]
    assert counts["reaction_given"] == 4
    assert "thanks_received" not in counts and "reaction_received" not in counts


async def test_redelivered_events_count_once(played: PlayedMonth) -> None:
    community = await played.community()
    async with played.app.uow_factory() as uow:
        before = await uow.ledger.count(community.id)
    first_week = SimulatedMonth(
        members=played.month.members,
        steps=[s for s in played.month.steps if s.at < week_start(1) and _inbound(s.action)],
    )
    now = played.clock.now()

    def move(at: datetime) -> None:
        played.clock.current = at

    await play(played.app.core, played.app.uow_factory, first_week, move, redeliver=True)
    played.clock.current = now
    async with played.app.uow_factory() as uow:
        assert await uow.ledger.count(community.id) == before


def _inbound(action: object) -> bool:
    return isinstance(action, MessageReceived | ReactionChanged | PollVoteCast)


@pytest.mark.parametrize("period", ["week", "month", "all"])
async def test_opted_out_and_forgotten_members_are_absent_from_leaderboards(
    played: PlayedMonth, period: str
) -> None:
    [board] = await played.command("lucas", "leaderboard", period)
    assert "Carla" not in board and "João" not in board
    assert "Elena Vargas" in board


async def test_opted_out_and_forgotten_members_are_absent_from_every_standing(
    played: PlayedMonth,
) -> None:
    community = await played.community()
    carla, joao = await played.person("carla"), await played.person("joao")
    participation = service(played)
    async with played.app.uow_factory() as uow:
        excluded = await participation.excluded(uow, community)
        for period in Period:
            board = await participation.leaderboard(
                uow, community, played.clock.now(), period, viewer=carla
            )
            assert {r.standing.person_id for r in board.top}.isdisjoint({carla, joao})
            assert board.me is None
        assert joao not in await participation.standings(uow, community, played.clock.now())
        assert await uow.repo(ParticipationRepository).kind_counts(community.id, [joao]) == {}
    assert carla in excluded


async def test_forgotten_member_data_export_is_empty_but_for_the_erasure(
    played: PlayedMonth,
) -> None:
    joao = await played.person("joao")
    async with played.app.uow_factory() as uow:
        data = await played.app.services.feature(PersonalRecords).export(uow, joao)
    assert data["participation"] == [] and data["questions"] == []
    assert data["unanswered_lookups"] == []
    assert data["person"]["opted_out_tracking"] is True
    assert [i["display_name"] for i in data["identities"]] == ["joao"]


async def test_me_explains_score_level_badges_and_why(played: PlayedMonth) -> None:
    [reply] = await played.command("gabriela", "me")  # Gabriela reads Spanish
    lines = reply.splitlines()
    assert lines[:4] == [
        "Gabriela Pérez: Referente, 139 puntos",
        "Con actividad en 4 de las últimas 8 semanas.",
        "Estás en el nivel más alto. ¡Gracias por todo lo que aportas aquí!",
        "Insignias: Primera respuesta, Comparte conocimiento, Presenta webinarios, Abre camino",
    ]
    assert "• 5 lecciones o preguntas frecuentes aportadas: 55 puntos" in lines
    assert "• 4 reacciones recibidas: 1 punto" in lines


async def test_me_says_what_the_next_level_needs(played: PlayedMonth) -> None:
    [reply] = await played.command("lucas", "me")
    assert reply.splitlines()[:3] == [
        "Lucas Bennett: Participant, 14 points",
        "Active 4 of the last 8 weeks.",
        "Next level, Contributor: 27 more points.",
    ]


async def test_the_weekly_leaderboard_counts_only_the_last_seven_days(
    played: PlayedMonth,
) -> None:
    [board] = await played.command("lucas", "leaderboard", "week")
    lines = board.splitlines()
    assert lines[0] == "Most active in the last 7 days"
    community = await played.community()
    async with played.app.uow_factory() as uow:
        week = await service(played).standings(uow, community, played.clock.now(), Period.WEEK)
    top = max(week.values(), key=lambda s: s.score)
    assert lines[1].endswith(f": {top.rounded}")


async def boards(played: PlayedMonth, viewer: int) -> dict[Period, list[tuple[int, str, int]]]:
    community = await played.community()
    found = {}
    async with played.app.uow_factory() as uow:
        for period in (Period.WEEK, Period.MONTH, Period.ALL):
            board = await service(played).leaderboard(
                uow, community, played.clock.now(), period, viewer=viewer
            )
            rows = [(r.rank, r.name, round(r.standing.score, 6)) for r in board.top]
            if board.me is not None:
                rows.append((board.me.rank, "me", round(board.me.standing.score, 6)))
            found[period] = rows
    return found


async def roll(played: PlayedMonth) -> bool:
    community = await played.community()
    async with played.app.uow_factory() as uow:
        rolled = await roll_forward(
            uow, community, service(played).config_for(community), played.clock.now()
        )
        await uow.commit()
    return rolled


async def test_rolled_up_scores_give_the_same_boards_as_the_whole_ledger(
    played: PlayedMonth,
) -> None:
    viewer = await played.person("hugo")
    start = played.clock.now()
    try:
        for days in (0.5, 1.5, 2.5, 9.5):
            played.clock.current = start + timedelta(days=days)
            expected = await boards(played, viewer)  # not rolled up yet today: the ledger
            assert await roll(played)
            assert not await roll(played)  # once a day
            assert await boards(played, viewer) == expected, days
    finally:
        played.clock.current = start


async def test_todays_events_count_on_top_of_rolled_up_scores(played: PlayedMonth) -> None:
    start = played.clock.now()
    played.clock.current = start + timedelta(days=20, hours=15)
    try:
        await roll(played)
        rolled = await boards(played, await played.person("karen"))
        [shared] = await played.command(
            "karen", "share", "https://example.org/kit A toolkit #facilitation"
        )
        # Sharing is credited when a moderator approves the proposal.
        item_id = shared.split("(#")[1].split(")")[0]
        await played.command("ana", "approve", item_id)
        after = await boards(played, await played.person("karen"))
        community = await played.community()
        async with played.app.uow_factory() as uow:
            await uow.repo(ParticipationRepository).reset_scores(
                community.id, None
            )  # force the ledger path
            state = await uow.repo(ParticipationRepository).score_state(community.id)
            assert state is not None
            await uow.repo(ParticipationRepository).claim_score_state(
                community.id, state, replace(state, as_of=state.as_of - timedelta(days=1)), start
            )
            await uow.commit()
        assert after == await boards(played, await played.person("karen"))
        assert after != rolled
    finally:
        played.clock.current = start
