"""The network as one: what its communities have in common, for the admins' summary.

- A theme is shared when two or more communities have it: as the theme of a published item
  of their own repository (the installation-wide library is everyone's, so it does not
  count), or in an open question of theirs that names it (every word of the theme among the
  question's words).
- An unanswered question is shared when open gaps of two or more communities ask the same
  thing: grouped like `/gaps` groups them, by meaning across languages when a sentence
  encoder is loaded, else by shared words.
- Members active in several communities: counted all, named only if they did not opt out of
  tracking (someone who did is in no figure at all, so in practice never here).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from facilitator.domain.model import Community
from facilitator.features.participation.ports import ParticipationRepository
from facilitator.ports import UnitOfWork
from facilitator.text import fold

if TYPE_CHECKING:
    from facilitator.features.knowledge.service import KnowledgeBase

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class SharedTheme:
    theme: str  # as the first community's repository spells it
    in_repository: tuple[Community, ...]
    unanswered: tuple[Community, ...]  # communities with an open question naming it

    @property
    def communities(self) -> tuple[Community, ...]:
        seen = {c.id: c for c in (*self.in_repository, *self.unanswered)}
        return tuple(sorted(seen.values(), key=lambda c: c.id))


@dataclass(frozen=True)
class SharedQuestion:
    question: str  # the most frequent phrasing
    asked: int  # open gaps asking it, in every community together
    communities: tuple[Community, ...]


def theme_key(theme: str) -> str:
    """One spelling per theme: "Clean Water", "#clean-water" -> "clean-water"."""
    return "-".join(_WORD.findall(fold(theme).replace("_", " ")))


def _words(text: str) -> set[str]:
    return set(_WORD.findall(fold(text).replace("_", " ")))


async def shared_themes(
    uow: UnitOfWork, communities: Sequence[Community]
) -> tuple[SharedTheme, ...]:
    """Themes of two or more communities, those of the most communities first."""
    # Imported here, as `weekly_summary` does: the lookup engine loads numpy.
    from facilitator.features.knowledge.domain import ItemStatus
    from facilitator.features.knowledge.ports import KnowledgeRepository

    knowledge = uow.repo(KnowledgeRepository)
    spelling: dict[str, str] = {}
    in_repository: dict[str, list[Community]] = {}
    for community in communities:
        for item in await knowledge.in_scope(community.id, [ItemStatus.PUBLISHED]):
            key = theme_key(item.theme)
            if not key or item.community_id != community.id:
                continue
            spelling.setdefault(key, item.theme.strip().lstrip("#"))
            holders = in_repository.setdefault(key, [])
            if community not in holders:
                holders.append(community)
    unanswered: dict[str, list[Community]] = {}
    for community in communities:
        asked = [_words(gap.query) for gap in await knowledge.open_gaps(community.id)]
        for key in spelling:
            needed = set(key.split("-"))
            if any(needed <= words for words in asked):
                unanswered.setdefault(key, []).append(community)
    found = [
        SharedTheme(spelling[key], tuple(in_repository[key]), tuple(unanswered.get(key, ())))
        for key in spelling
    ]
    shared = [theme for theme in found if len(theme.communities) >= 2]
    shared.sort(key=lambda t: (-len(t.communities), theme_key(t.theme)))
    return tuple(shared)


async def shared_questions(
    uow: UnitOfWork, communities: Sequence[Community], base: KnowledgeBase | None = None
) -> tuple[SharedQuestion, ...]:
    """Open questions asked in two or more communities, the most widely asked first."""
    from facilitator.features.knowledge.gaps import group_gaps
    from facilitator.features.knowledge.ports import KnowledgeRepository

    knowledge = uow.repo(KnowledgeRepository)
    by_id = {c.id: c for c in communities}
    gaps = []
    for community in communities:
        gaps.extend(await knowledge.open_gaps(community.id))
    gaps.sort(key=lambda g: (g.created_at, g.id or 0))
    shared = []
    for group in await group_gaps(base, gaps):
        ids = sorted({g.community_id for g in group.gaps})
        if len(ids) >= 2:
            shared.append(
                SharedQuestion(group.representative, len(group.gaps), tuple(by_id[i] for i in ids))
            )
    shared.sort(key=lambda q: (-len(q.communities), -q.asked, fold(q.question)))
    return tuple(shared)


async def names_in_several(
    uow: UnitOfWork, communities: Sequence[Community], active: Sequence[set[int]]
) -> tuple[str, ...]:
    """The names of those active in more than one community, but for anyone who opted out
    of tracking in any of them; each by their name on the first such community's platform."""
    repo = uow.repo(ParticipationRepository)
    first: dict[int, Community] = {}
    seen: dict[int, int] = {}
    for community, people in zip(communities, active, strict=True):
        for person in people:
            seen[person] = seen.get(person, 0) + 1
            first.setdefault(person, community)
    several = {person for person, count in seen.items() if count > 1}
    if not several:
        return ()
    hidden: set[int] = set()
    for community in communities:
        hidden |= await repo.opted_out(community.id)
    names: list[str] = []
    for community in communities:
        mine = [p for p in several - hidden if first[p].id == community.id]
        found = await repo.display_names(community.id, mine)
        names.extend(found.get(p, "?") for p in mine)
    return tuple(sorted(names, key=fold))
