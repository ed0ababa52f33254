"""What the dashboard feature stores: one-time sign-in links and the sessions they open.

Only hashes of the link's token and of the session's id are stored: reading the tables
gives no way in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from facilitator.domain.model import DataSubject


@dataclass(frozen=True)
class Grant:
    """Who a link or a session lets in, and to which community."""

    person_id: int
    identity_id: int
    community_id: int
    expires_at: datetime


class DashboardRepository(Protocol):
    async def add_link(self, token_hash: str, grant: Grant, now: datetime) -> None: ...

    async def redeem_link(self, token_hash: str, now: datetime) -> Grant | None:
        """Use the link up, once: the grant if it exists, is unused and has not expired (one
        UPDATE, so two workers redeeming the same link never both succeed)."""
        ...

    async def add_session(self, session_hash: str, grant: Grant, now: datetime) -> None: ...

    async def open_session(self, session_hash: str, now: datetime) -> Grant | None:
        """The session's grant while it is open and unexpired."""
        ...

    async def end_session(self, session_hash: str, now: datetime) -> bool: ...

    async def purge(self, now: datetime) -> int:
        """Forget expired links and sessions; how many rows went."""
        ...

    async def export_person(self, subject: DataSubject) -> dict[str, Any]: ...

    async def forget_person(self, subject: DataSubject) -> dict[str, int]: ...
