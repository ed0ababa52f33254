"""The engine's records of a person, for `/mydata` and `/forgetme`."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, false, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from facilitator.domain.model import DataSubject
from facilitator.domain.outbox import OutboxStatus
from facilitator.storage.models import (
    CommunityRow,
    IdentityRow,
    InboxRow,
    LinkCodeRow,
    MembershipRow,
    OutboxRow,
    PersonRow,
    QuestionRow,
    RoleGrantRow,
)
from facilitator.storage.personal import erase, json_value
from facilitator.storage.repositories import (
    INBOX_CLEARED,
    INBOX_FINISHED_STATUSES,
    INBOX_WAITING_STATUSES,
)

# What is still waiting to be sent to them: erased with them (what was sent stays, unnamed).
_QUEUED = (OutboxStatus.HELD.value, OutboxStatus.PENDING.value)


def _payload(raw: str) -> object:
    """A raw payload as the export shows it: its JSON parsed, or its text as stored."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


class SqlPersonRecordRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def _sent_by(self, identity_ids: tuple[int, ...]) -> ColumnElement[bool]:
        """Inbox rows sent from any of these accounts (in groups and privately, in every
        community: the inbox knows the platform account, not the community)."""
        accounts = (
            await self.session.execute(
                select(IdentityRow.platform, IdentityRow.platform_user_id).where(
                    IdentityRow.id.in_(identity_ids)
                )
            )
        ).all()
        if not accounts:
            return false()
        return or_(
            *(and_(InboxRow.platform == p, InboxRow.sender == user) for p, user in accounts)
        )

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
        received = await self.session.scalars(
            select(InboxRow)
            .where(await self._sent_by(ids), InboxRow.payload.is_not(None))
            .order_by(InboxRow.id)
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
            # What the platform sent us, as it sent it (their name, username, texts), while
            # the inbox keeps it (`inbox_retention_days` once handled).
            "received_payloads": [
                {
                    "platform": r.platform,
                    "delivery_id": r.delivery_id,
                    "status": r.status,
                    "received_at": json_value(r.received_at),
                    "payload": _payload(r.payload or ""),
                    "error": r.error,
                }
                for r in received
            ],
        }

    async def forget_person(self, subject: DataSubject) -> dict[str, int]:
        """Kept: the platform accounts (so that the opt-out holds when they write again), the
        opt-out itself, and their role in each community (so that permissions still work)."""
        person_id, ids = subject.person_id, subject.identity_ids
        theirs = await self._sent_by(ids)
        erased = await erase(
            self.session,
            {
                # The raw payloads they sent: cleared now once handled. A row still waiting
                # (this very button press, a message sent just before) is handled first and
                # cleared the moment it is finished (`forget`, see SqlInboxRepository):
                # clearing it now would drop an event they sent, unhandled.
                "inbox_payloads": update(InboxRow)
                .where(
                    theirs,
                    InboxRow.status.in_(INBOX_FINISHED_STATUSES),
                    InboxRow.payload.is_not(None),
                )
                .values(dict(INBOX_CLEARED)),
                "inbox_waiting": update(InboxRow)
                .where(theirs, InboxRow.status.in_(INBOX_WAITING_STATUSES))
                .values(forget=True),
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
