"""The polls feature's storage port."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject
from facilitator.features.polls.domain import Poll, PollDraft


class PollRepository(Protocol):
    async def add(
        self,
        community_id: int,
        draft: PollDraft,
        created_by: int | None,
        thread_id: str | None,
        now: datetime,
    ) -> Poll: ...
    async def get(self, poll_id: int) -> Poll | None: ...
    async def by_native_ref(self, native_ref: str) -> Poll | None: ...
    async def latest_open(self, community_id: int) -> Poll | None: ...
    async def open_in(self, community_id: int, limit: int) -> list[Poll]:
        """The community's open polls, the newest first."""
        ...

    async def set_refs(
        self, poll_id: int, message_ref: str | None, native_ref: str | None
    ) -> None: ...
    async def vote(
        self, poll_id: int, person_id: int, options: Sequence[int], now: datetime
    ) -> None:
        """A member's choice, replacing the previous one; no options withdraws the vote."""
        ...

    async def votes(self, poll_id: int) -> dict[int, tuple[int, ...]]: ...
    async def close(self, poll_id: int, counts: Sequence[int], now: datetime) -> bool: ...
    async def closed_between(
        self, community_id: int, since: datetime, until: datetime
    ) -> list[Poll]: ...
    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...
    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
