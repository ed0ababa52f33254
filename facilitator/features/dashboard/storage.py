"""The dashboard's tables: sign-in links and sessions, each stored as a hash only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from facilitator.domain.model import DataSubject
from facilitator.features.dashboard.ports import Grant
from facilitator.storage.models import Base
from facilitator.storage.personal import erase, json_value


class DashboardLinkRow(Base):
    """A `/dashboard` link: the SHA-256 of its token, whom it signs in, until when; used once."""

    __tablename__ = "dashboard_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class DashboardSessionRow(Base):
    """A signed-in browser: the SHA-256 of its session id (the cookie holds the id, signed)."""

    __tablename__ = "dashboard_sessions"

    session_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        ForeignKey("persons.id", ondelete="CASCADE"), index=True
    )
    identity_id: Mapped[int] = mapped_column(ForeignKey("identities.id", ondelete="CASCADE"))
    community_id: Mapped[int] = mapped_column(ForeignKey("communities.id", ondelete="CASCADE"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


def _grant(row: DashboardLinkRow | DashboardSessionRow) -> Grant:
    return Grant(row.person_id, row.identity_id, row.community_id, row.expires_at)


class SqlDashboardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _add(
        self,
        row: type[DashboardLinkRow] | type[DashboardSessionRow],
        key: dict[str, str],
        grant: Grant,
        now: datetime,
    ) -> None:
        self.session.add(
            row(
                **key,
                person_id=grant.person_id,
                identity_id=grant.identity_id,
                community_id=grant.community_id,
                created_at=now,
                expires_at=grant.expires_at,
            )
        )
        await self.session.flush()

    async def add_link(self, token_hash: str, grant: Grant, now: datetime) -> None:
        await self._add(DashboardLinkRow, {"token_hash": token_hash}, grant, now)

    async def redeem_link(self, token_hash: str, now: datetime) -> Grant | None:
        result = await self.session.execute(
            update(DashboardLinkRow)
            .where(
                DashboardLinkRow.token_hash == token_hash,
                DashboardLinkRow.used_at.is_(None),
                DashboardLinkRow.expires_at > now,
            )
            .values(used_at=now)
        )
        if not getattr(result, "rowcount", 0):
            return None
        row = await self.session.get(DashboardLinkRow, token_hash)
        return None if row is None else _grant(row)

    async def add_session(self, session_hash: str, grant: Grant, now: datetime) -> None:
        await self._add(DashboardSessionRow, {"session_hash": session_hash}, grant, now)

    async def open_session(self, session_hash: str, now: datetime) -> Grant | None:
        row = await self.session.scalar(
            select(DashboardSessionRow).where(
                DashboardSessionRow.session_hash == session_hash,
                DashboardSessionRow.ended_at.is_(None),
                DashboardSessionRow.expires_at > now,
            )
        )
        return None if row is None else _grant(row)

    async def end_session(self, session_hash: str, now: datetime) -> bool:
        result = await self.session.execute(
            update(DashboardSessionRow)
            .where(
                DashboardSessionRow.session_hash == session_hash,
                DashboardSessionRow.ended_at.is_(None),
            )
            .values(ended_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    async def purge(self, now: datetime) -> int:
        links = await self.session.execute(
            delete(DashboardLinkRow).where(DashboardLinkRow.expires_at <= now)
        )
        sessions = await self.session.execute(
            delete(DashboardSessionRow).where(
                or_(
                    DashboardSessionRow.expires_at <= now,
                    DashboardSessionRow.ended_at.is_not(None),
                )
            )
        )
        return int(getattr(links, "rowcount", 0) or 0) + int(getattr(sessions, "rowcount", 0) or 0)

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        rows = await self.session.scalars(
            select(DashboardSessionRow)
            .where(DashboardSessionRow.person_id == subject.person_id)
            .order_by(DashboardSessionRow.created_at)
        )
        return {
            "dashboard_sessions": [
                {
                    "community_id": row.community_id,
                    "signed_in": json_value(row.created_at),
                    "expires": json_value(row.expires_at),
                    "ended": json_value(row.ended_at),
                }
                for row in rows
            ]
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        person_id = subject.person_id
        return await erase(
            self.session,
            {
                "dashboard_links": delete(DashboardLinkRow).where(
                    DashboardLinkRow.person_id == person_id
                ),
                "dashboard_sessions": delete(DashboardSessionRow).where(
                    DashboardSessionRow.person_id == person_id
                ),
            },
        )
