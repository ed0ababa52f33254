"""The monthly round: each opted-in member with an open question is proposed to an opted-in
expert of a sibling community; proposals nobody answered expire; introductions get a
check-back a week later.

Pairing reads the asker's open questions (knowledge gaps: questions the repository could not
answer, asked in the group or privately; and questions asked in the group that nobody
answered), of which only the asker is told before both accept, and
the network's experts (`profiles.experts`: members who shared their profile with the network,
`/experts share on`, and did not opt out of tracking), ranked as `/experts` ranks them in
their own community. Neither side learns the other's name, handle or the question before
both accept (`commands.py`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from facilitator.context import Services
from facilitator.domain.model import Community
from facilitator.features.knowledge.domain import KnowledgeGap
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.render import clip
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.matchmaking.domain import Answer, Match
from facilitator.features.matchmaking.messages import (
    ACCEPT_ACTION,
    DECLINE_ACTION,
    MET_ACTION,
    MISSED_ACTION,
    locale,
    queue,
    reachable,
    yes_no,
)
from facilitator.features.matchmaking.ports import MatchRepository
from facilitator.features.profiles.domain import MemberProfile
from facilitator.features.profiles.experts import (
    PROFILE_WEIGHT,
    Topic,
    profile_matches,
    rank_experts,
    topic_of_text,
)
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.ports import UnitOfWork, UnitOfWorkFactory
from facilitator.text import fold

log = logging.getLogger(__name__)

MAX_QUESTION = 500
# Questions asked within this many days count as open questions for a round.
QUESTION_DAYS = 90


def round_of(now: datetime) -> str:
    return now.strftime("%Y-%m")


def is_round_day(now: datetime, day: int) -> bool:
    """The round's day (UTC): that day of the month, or with 0 the month's first Monday."""
    if day == 0:
        return now.weekday() == 0 and now.day <= 7
    return now.day == day


@dataclass(frozen=True)
class Candidate:
    person_id: int
    community_id: int
    profile: MemberProfile


def theme_label(topic: Topic, expertise: tuple[str, ...]) -> str:
    """The theme both are told of: the repository's theme, else the expert's matching
    phrase."""
    if topic.theme:
        return topic.theme[:64]
    fitting = [p for p in expertise if profile_matches((p,), topic)] or list(expertise)
    return fold(fitting[0]).strip().lstrip("#").replace(" ", "-")[:64] if fitting else ""


class MatchRounds:
    """The job: expire, check back, and on the round's day pair."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        services: Services,
        *,
        day: int,
        expiry_days: int,
        check_back_days: int,
    ) -> None:
        self._uow_factory = uow_factory
        self._services = services
        self._day = day
        self._expiry = timedelta(days=expiry_days)
        self._check_back = timedelta(days=check_back_days)

    async def run(self, now: datetime) -> int:
        """How many matches were proposed."""
        async with self._uow_factory() as uow:
            await self._expire(uow, now)
            await self._check_back_on(uow, now)
            proposed = await self.pair(uow, now) if is_round_day(now, self._day) else 0
            await uow.commit()
        return proposed

    # -- pairing ---------------------------------------------------------------------------

    async def pair(self, uow: UnitOfWork, now: datetime) -> int:
        repo = uow.repo(MatchRepository)
        round_ = round_of(now)
        taken: set[int] = set()
        for made in await repo.in_round(round_):
            taken.update((made.asker_id, made.expert_id))
        opted = await repo.everyone_opted_in()
        willing = set(opted)
        pairs = await repo.pairs_of(opted)
        communities = {c.id: c for c in await uow.communities.all() if c.active}
        base = self._services.optional(KnowledgeBase)
        gaps_by_community: dict[int, list[KnowledgeGap]] = {}
        experts_by_community: dict[int, list[tuple[int, MemberProfile]]] = {}
        proposed = 0
        for person in opted:
            if person in taken:
                continue
            for membership in await uow.members.memberships(person):
                here = communities.get(membership.community_id)
                if here is None or membership.left_at is not None:
                    continue
                if here.id not in gaps_by_community:
                    gaps_by_community[here.id] = await uow.repo(KnowledgeRepository).open_gaps(
                        here.id
                    )
                    experts_by_community[here.id] = await uow.repo(
                        ProfileRepository
                    ).shared_with_network(outside=here.id)
                mine = await self._questions(
                    repo, gaps_by_community[here.id], person, here.id, now
                )
                if not mine or await reachable(uow, person, here) is None:
                    continue
                candidates = [
                    Candidate(p.person_id, c, p)
                    for c, p in experts_by_community[here.id]
                    if c in communities
                    and p.person_id in willing
                    and p.person_id not in taken
                    and p.person_id != person
                    and frozenset((person, p.person_id)) not in pairs
                ]
                found = await self._first_match(
                    uow,
                    base,
                    here,
                    mine,
                    [
                        c
                        for c in candidates
                        if await reachable(uow, c.person_id, communities[c.community_id])
                    ],
                )
                if found is None:
                    continue
                question, expert, theme = found
                match = await repo.add(
                    Match(
                        round=round_,
                        asker_id=person,
                        expert_id=expert.person_id,
                        asker_community_id=here.id,
                        expert_community_id=expert.community_id,
                        question=clip(question, MAX_QUESTION),
                        theme=theme,
                        created_at=now,
                    )
                )
                if match is None:
                    continue
                taken.update((person, expert.person_id))
                pairs.add(frozenset((person, expert.person_id)))
                await self._propose(uow, match, here, communities[expert.community_id], now)
                proposed += 1
                log.info(
                    "match proposed",
                    extra={"match": match.id, "community": here.key, "round": round_},
                )
                break
        return proposed

    async def _questions(
        self,
        repo: MatchRepository,
        gaps: list[KnowledgeGap],
        person: int,
        community_id: int,
        now: datetime,
    ) -> list[str]:
        """The person's open questions in a community, newest first: the repository's gaps
        (asked the bot, in the group or privately) and the questions they asked the group
        that nobody answered, within `QUESTION_DAYS`."""
        since = now - timedelta(days=QUESTION_DAYS)
        asked = [
            (g.query, g.created_at)
            for g in gaps
            if g.person_id == person and g.created_at >= since
        ]
        asked += await repo.open_questions(person, community_id, since)
        asked.sort(key=lambda pair: pair[1], reverse=True)
        return list(dict.fromkeys(text for text, _ in asked))

    async def _first_match(
        self,
        uow: UnitOfWork,
        base: KnowledgeBase | None,
        here: Community,
        questions: list[str],
        candidates: list[Candidate],
    ) -> tuple[str, Candidate, str] | None:
        """The newest question some candidate knows the theme of, the best of those
        candidates, and the theme both will be told of."""
        if not candidates:
            return None
        for question in questions:
            topic = topic_of_text(base, here.id, question)
            fitting = [c for c in candidates if profile_matches(c.profile.expertise, topic)]
            if not fitting:
                continue
            scores: dict[int, float] = {}
            for community_id in {c.community_id for c in fitting}:
                for expert, score in await rank_experts(uow, community_id, topic):
                    scores[expert] = max(scores.get(expert, 0.0), score)
            fitting.sort(key=lambda c: (-scores.get(c.person_id, PROFILE_WEIGHT), c.person_id))
            best = fitting[0]
            return question, best, theme_label(topic, best.profile.expertise)
        return None

    async def _propose(
        self,
        uow: UnitOfWork,
        match: Match,
        asker_home: Community,
        expert_home: Community,
        now: datetime,
    ) -> None:
        """Both are asked, each told only the other's community and the theme; the asker
        sees their own question, the expert does not."""
        catalogue = self._services.catalogue
        assert match.id is not None
        asker = await reachable(uow, match.asker_id, asker_home)
        expert = await reachable(uow, match.expert_id, expert_home)
        if asker is not None:
            lang = locale(asker, asker_home)
            await queue(
                uow,
                asker_home,
                asker,
                f"propose:{match.id}:asker",
                catalogue.render(
                    lang,
                    "matchmaking.propose_asker",
                    community=expert_home.title,
                    theme=match.theme,
                    question=match.question,
                ),
                now,
                yes_no(
                    catalogue,
                    lang,
                    ("matchmaking.accept_button", ACCEPT_ACTION),
                    ("matchmaking.decline_button", DECLINE_ACTION),
                    match.id,
                ),
            )
        if expert is not None:
            lang = locale(expert, expert_home)
            await queue(
                uow,
                expert_home,
                expert,
                f"propose:{match.id}:expert",
                catalogue.render(
                    lang,
                    "matchmaking.propose_expert",
                    community=asker_home.title,
                    theme=match.theme,
                ),
                now,
                yes_no(
                    catalogue,
                    lang,
                    ("matchmaking.accept_button", ACCEPT_ACTION),
                    ("matchmaking.decline_button", DECLINE_ACTION),
                    match.id,
                ),
            )

    # -- expiry and check-back -------------------------------------------------------------

    async def _expire(self, uow: UnitOfWork, now: datetime) -> None:
        for match in await uow.repo(MatchRepository).expire(now - self._expiry):
            log.info("match expired", extra={"match": match.id})
            await not_this_month(uow, self._services, match, now, "expired")

    async def _check_back_on(self, uow: UnitOfWork, now: datetime) -> None:
        catalogue = self._services.catalogue
        for match in await uow.repo(MatchRepository).due_check_back(now - self._check_back, now):
            assert match.id is not None
            for side, person, other, home_id, other_home_id in (
                (
                    "asker",
                    match.asker_id,
                    match.expert_id,
                    match.asker_community_id,
                    match.expert_community_id,
                ),
                (
                    "expert",
                    match.expert_id,
                    match.asker_id,
                    match.expert_community_id,
                    match.asker_community_id,
                ),
            ):
                home = await uow.communities.get(home_id)
                other_home = await uow.communities.get(other_home_id)
                if home is None or other_home is None:
                    continue
                member = await reachable(uow, person, home)
                them = await reachable(uow, other, other_home)
                if member is None or them is None:
                    continue
                lang = locale(member, home)
                await queue(
                    uow,
                    home,
                    member,
                    f"check:{match.id}:{side}",
                    catalogue.render(
                        lang,
                        "matchmaking.check_back",
                        name=them.display_name,
                        community=other_home.title,
                    ),
                    now,
                    yes_no(
                        catalogue,
                        lang,
                        ("matchmaking.met_button", MET_ACTION),
                        ("matchmaking.missed_button", MISSED_ACTION),
                        match.id,
                    ),
                )
            log.info("match checked back on", extra={"match": match.id})


async def not_this_month(
    uow: UnitOfWork,
    services: Services,
    match: Match,
    now: datetime,
    why: str,
    *,
    skip: int | None = None,
) -> None:
    """Tell each side (but `skip`, who declined) that no introduction happens this month,
    and nothing about the other."""
    for side, person, home_id in (
        ("asker", match.asker_id, match.asker_community_id),
        ("expert", match.expert_id, match.expert_community_id),
    ):
        if person == skip:
            continue
        if (
            why == "expired"
            and (match.asker_answer if side == "asker" else match.expert_answer)
            is not Answer.ACCEPTED
        ):
            continue
        home = await uow.communities.get(home_id)
        if home is None:
            continue
        member = await reachable(uow, person, home)
        if member is None:
            continue
        await queue(
            uow,
            home,
            member,
            f"{why}:{match.id}:{side}",
            services.catalogue.render(locale(member, home), "matchmaking.not_this_month"),
            now,
        )
