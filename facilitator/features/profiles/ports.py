"""The profiles feature's storage port: member profiles and private chats."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject, Platform
from facilitator.features.profiles.domain import MemberProfile


class ProfileRepository(Protocol):
    """Member profiles, time zones, private chats and question topics (facilitation)."""

    async def get(self, person_id: int) -> MemberProfile | None: ...
    async def save(self, profile: MemberProfile, now: datetime) -> None: ...
    async def in_community(self, community_id: int) -> list[MemberProfile]: ...
    async def shared_with_network(self, outside: int) -> list[tuple[int, MemberProfile]]:
        """(community, profile) of the current members of every other active community who
        let the network see their profile (`network`) and did not opt out of tracking; a
        member of `outside` is left out (that community lists them as its own)."""
        ...

    async def set_timezone(self, person_id: int, timezone: str | None) -> None: ...
    async def open_private_chat(self, identity_id: int, now: datetime) -> None: ...
    async def close_private_chat(
        self, platform: Platform, platform_user_id: str, now: datetime
    ) -> None: ...
    async def open_private_chats(self, identity_ids: Sequence[int]) -> set[int]:
        """Which of these identities the bot may write to privately."""
        ...

    async def set_question_topic(
        self, community_id: int, source_event_id: str, theme: str, terms: Sequence[str]
    ) -> None:
        """The theme and terms of the question an event asked (none if it stored none): kept
        when its text is dropped on answering."""
        ...

    async def answered_topics(self, community_id: int) -> list[tuple[int, str, tuple[str, ...]]]:
        """(answerer person, theme, terms) of every answered question with a topic."""
        ...

    async def contributions(self, community_id: int) -> list[tuple[int, str, str]]:
        """(person, theme, title) of every published item a member contributed."""
        ...

    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...
    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
