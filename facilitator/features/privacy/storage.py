"""The engine's records of a person, for `/mydata` and `/forgetme`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.domain.model import DataSubject
from facilitator.domain.outbox import OutboxStatus
from facilitator.storage.models import (
    CommunityRow,
    IdentityRow,
    LinkCodeRow,
    MembershipRow,
    OutboxRow,
    PersonRow,
    QuestionRow,
    RoleGrantRow,
)
from facilitator.storage.personal import erase, json_value

# What is still waiting to be sent to them: erased with them (what was sent stays, unnamed).
_QUEUED = (OutboxStatus.HELD.value, OutboxStatus.PENDING.value)


class SqlPersonRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def export_person(self, subject: DataSubject) -> dict[str, Any]:
        person = await self.session.get(PersonRow, subject.person_id)
        if person is None:
            return {}
        ids = subject.identity_ids
        identities = list(
            await self.session.scalars(select(IdentityRow).where(IdentityRow.id.in_(ids)))
        )
        keys = {c.id: c.key for c in await self.session.scalars(select(CommunityRow))}

        def community(community_id: int | None) -> str:
            return keys.get(community_id, str(community_id)) if community_id else "*"

        memberships = await self.session.scalars(
            select(MembershipRow).where(MembershipRow.person_id == subject.person_id)
        )
        grants: list[RoleGrantRow] = []
        for identity in identities:
            grants.extend(
                await self.session.scalars(
                    select(RoleGrantRow).where(
                        RoleGrantRow.platform == identity.platform,
                        RoleGrantRow.platform_user_id == identity.platform_user_id,
                    )
                )
            )
        questions = await self.session.scalars(
            select(QuestionRow)
            .where(QuestionRow.person_id == subject.person_id)
            .order_by(QuestionRow.asked_at)
        )
        codes = await self.session.scalars(
            select(LinkCodeRow).where(LinkCodeRow.identity_id.in_(ids))
        )
        queued = await self.session.scalars(
            select(OutboxRow)
            .where(OutboxRow.person_id == subject.person_id)
            .order_by(OutboxRow.created_at, OutboxRow.id)
        )
        return {
            "person": {
                "id": person.id,
                "language": person.language,
                "timezone": person.timezone,
                "opted_out_tracking": person.opted_out_tracking,
                "opted_out_nudges": person.opted_out_nudges,
                "created_at": json_value(person.created_at),
            },
            "identities": [
                {
                    "platform": i.platform,
                    "user_id": i.platform_user_id,
                    "display_name": i.display_name,
                    "locale_hint": i.locale_hint,
                    "created_at": json_value(i.created_at),
                    "last_seen_at": json_value(i.last_seen_at),
                }
                for i in identities
            ],
            "memberships": [
                {
                    "community": community(m.community_id),
                    "role": m.role,
                    "joined_at": json_value(m.joined_at),
                    "left_at": json_value(m.left_at),
                    "last_active_at": json_value(m.last_active_at),
                }
                for m in memberships
            ],
            "role_grants": [
                {
                    "platform": g.platform,
                    "user_id": g.platform_user_id,
                    "community": community(g.community_id),
                    "role": g.role,
                    "granted_at": json_value(g.granted_at),
                }
                for g in grants
            ],
            "questions": [
                {
                    "community": community(q.community_id),
                    "text": q.text,
                    "language": q.lang,
                    "asked_at": json_value(q.asked_at),
                    "answered_at": json_value(q.answered_at),
                }
                for q in questions
            ],
            "link_codes": [{"expires_at": json_value(code.expires_at)} for code in codes],
            "messages_to_them": [
                {
                    "community": community(m.community_id),
                    "kind": m.kind,
                    "status": m.status,
                    "message": m.message,
                    "due_at": json_value(m.due_at),
                    "sent_at": json_value(m.sent_at),
                }
                for m in queued
            ],
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        """Kept: the platform accounts (so that the opt-out holds when they write again), the
        opt-out itself, and their role in each community (so that permissions still work)."""
        person_id, ids = subject.person_id, subject.identity_ids
        erased = await erase(
            self.session,
            {
                "questions": delete(QuestionRow).where(QuestionRow.person_id == person_id),
                "link_codes": delete(LinkCodeRow).where(LinkCodeRow.identity_id.in_(ids)),
                "queued_messages": delete(OutboxRow).where(
                    OutboxRow.person_id == person_id, OutboxRow.status.in_(_QUEUED)
                ),
            },
        )
        await erase(
            self.session,
            {
                "answers": update(QuestionRow)
                .where(QuestionRow.answered_by == person_id)
                .values(answered_by=None),
                "messages_sent": update(OutboxRow)
                .where(OutboxRow.person_id == person_id)
                .values(person_id=None),
                "identities": update(IdentityRow)
                .where(IdentityRow.id.in_(ids))
                .values(display_name=IdentityRow.platform_user_id, locale_hint=None),
                "memberships": update(MembershipRow)
                .where(MembershipRow.person_id == person_id)
                .values(last_active_at=None),
                "person": update(PersonRow)
                .where(PersonRow.id == person_id)
                .values(
                    language=None, timezone=None, opted_out_tracking=True, opted_out_nudges=True
                ),
            },
        )
        return erased
