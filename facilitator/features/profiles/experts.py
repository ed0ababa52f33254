"""Who knows a theme: from members' profiles, their contributions and the questions they
answered."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from facilitator.features.knowledge.service import KnowledgeBase, Outcome
from facilitator.features.knowledge.text import analyse, guess_language
from facilitator.features.profiles.domain import MemberProfile
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.ports import UnitOfWork
from facilitator.text import fold

LANGUAGES = ("en", "es", "pt")
PROFILE_WEIGHT = 3.0
CONTRIBUTION_WEIGHT = 2.0
ANSWER_WEIGHT = 1.0
# A few answers or contributions count; a hundred do not drown a stated expertise.
MAX_COUNTED = 4
TOPIC_CONFIDENCE = 0.3


@dataclass(frozen=True)
class Topic:
    """What a question or a `/experts` query is about: a repository theme and stemmed terms
    (in every language, so that "agua" finds "water" only through the theme)."""

    theme: str
    terms: frozenset[str]

    def matches(self, theme: str, terms: Iterable[str]) -> bool:
        if self.theme and fold(theme).lstrip("#") == self.theme:
            return True
        return bool(self.terms & set(terms))


def terms_of(text: str, lang: str | None = None) -> frozenset[str]:
    languages = (lang,) if lang else LANGUAGES
    found: set[str] = set()
    for language in languages:
        found.update(analyse(text, language, max_terms=30))
    return frozenset(term for term in found if len(term) > 2)


def topic_of_text(base: KnowledgeBase | None, community_id: int, text: str) -> Topic:
    """The repository theme a question is closest to (if any), and its own terms."""
    lang = guess_language(text)
    theme = ""
    if base is not None:
        result = base.lookup(community_id, text, lang=lang)
        item = result.best or (result.suggestions[0] if result.suggestions else None)
        plausible = result.outcome is not Outcome.UNKNOWN or result.confidence >= TOPIC_CONFIDENCE
        if item is not None and item.theme and plausible:
            theme = fold(item.theme)
    return Topic(theme, terms_of(text, lang))


def topic_of_query(query: str) -> Topic:
    """`/experts water` or `/experts #water`: the words are a theme and terms at once."""
    cleaned = query.strip().lstrip("#")
    return Topic(fold(cleaned).replace(" ", "-"), terms_of(cleaned.replace("-", " ")))


def profile_matches(expertise: Iterable[str], topic: Topic) -> bool:
    phrases = list(expertise)
    if topic.theme and any(
        fold(p).strip().lstrip("#").replace(" ", "-") == topic.theme for p in phrases
    ):
        return True
    return bool(phrases) and bool(topic.terms & terms_of(" ".join(phrases)))


async def rank_experts(
    uow: UnitOfWork, community_id: int, topic: Topic, exclude: Iterable[int] = ()
) -> list[tuple[int, float]]:
    """(person, score) of current members who know the topic, best first."""
    excluded = set(exclude)
    scores: dict[int, float] = {}
    for profile in await uow.repo(ProfileRepository).in_community(community_id):
        if profile_matches(profile.expertise, topic):
            scores[profile.person_id] = scores.get(profile.person_id, 0.0) + PROFILE_WEIGHT
    contributed: Counter[int] = Counter()
    for person, theme, title in await uow.repo(ProfileRepository).contributions(community_id):
        if topic.matches(theme, terms_of(title)):
            contributed[person] += 1
    answered: Counter[int] = Counter()
    for person, theme, terms in await uow.repo(ProfileRepository).answered_topics(community_id):
        if topic.matches(theme, terms):
            answered[person] += 1
    for person, count in contributed.items():
        scores[person] = scores.get(person, 0.0) + CONTRIBUTION_WEIGHT * min(count, MAX_COUNTED)
    for person, count in answered.items():
        scores[person] = scores.get(person, 0.0) + ANSWER_WEIGHT * min(count, MAX_COUNTED)
    members = {
        m.person_id for m, ms in await uow.members.members_of(community_id) if not ms.left_at
    }
    ranked = [
        (person, score)
        for person, score in scores.items()
        if person in members and person not in excluded and score > 0
    ]
    ranked.sort(key=lambda pair: (-pair[1], pair[0]))
    return ranked


@dataclass(frozen=True)
class NetworkExpert:
    """An expert of another community, as the network may see them: nothing but their name,
    their community and what they said they know."""

    name: str
    community: str
    expertise: tuple[str, ...]


async def network_experts(
    uow: UnitOfWork, asker_community: int, topic: Topic, limit: int
) -> list[NetworkExpert]:
    """Members of other communities whose profile matches the topic and who shared it with
    the network (`/experts share on`). Only what they stated counts: their answers and
    contributions stay their own community's."""
    shared = await uow.repo(ProfileRepository).shared_with_network(outside=asker_community)
    matching: dict[int, list[MemberProfile]] = {}
    for community_id, profile in shared:
        if profile_matches(profile.expertise, topic):
            matching.setdefault(community_id, []).append(profile)
    found: list[NetworkExpert] = []
    seen: set[int] = set()
    for community_id, profiles in matching.items():
        community = await uow.communities.get(community_id)
        if community is None:
            continue
        names = {
            m.person_id: m.display_name
            for m, _ in await uow.members.members_of(community_id)
            if not m.opted_out_tracking
        }
        for profile in profiles:
            if profile.person_id in names and profile.person_id not in seen:
                seen.add(profile.person_id)
                found.append(
                    NetworkExpert(names[profile.person_id], community.title, profile.expertise)
                )
            if len(found) >= limit:
                return found
    return found
