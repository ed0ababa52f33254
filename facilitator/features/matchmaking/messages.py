"""Private messages of matchmaking: queued through the outbox in the person's language, after
their quiet hours."""

from __future__ import annotations

from datetime import datetime

from facilitator.domain.model import Community, Member, Platform
from facilitator.domain.outbox import OutboxEntry
from facilitator.features.knowledge.gaps import direct, locale_of
from facilitator.features.nudges.config import NudgeConfig
from facilitator.features.nudges.quiet import after_quiet_hours
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.i18n import Catalogue
from facilitator.markup import Button, OutboundMessage, RichText
from facilitator.ports import UnitOfWork

ACCEPT_ACTION = "match_accept"
DECLINE_ACTION = "match_decline"
MET_ACTION = "match_met"
MISSED_ACTION = "match_missed"
SKIP_ACTION = "match_skip"
KIND = "matchmaking"


async def reachable(uow: UnitOfWork, person_id: int, community: Community) -> Member | None:
    """The person's account the bot may write to privately (on Telegram, only one that
    started the bot, as for nudges): the one on the community's platform, else any. None
    if there is none: a proposal nobody can receive is never made, and nothing about a match
    is ever said in a group instead."""
    accounts = await uow.members.by_person(person_id)
    telegram = [m.identity_id for m in accounts if m.platform is Platform.TELEGRAM]
    opened = await uow.repo(ProfileRepository).open_private_chats(telegram)
    usable = [
        m for m in accounts if m.platform is not Platform.TELEGRAM or m.identity_id in opened
    ]
    same = [m for m in usable if m.platform is community.platform]
    found = same or usable
    return found[0] if found else None


async def queue(
    uow: UnitOfWork,
    community: Community,
    member: Member,
    key: str,
    body: RichText,
    now: datetime,
    buttons: tuple[tuple[Button, ...], ...] = (),
) -> bool:
    """Queue a private message once per key. It waits for the end of the person's quiet
    hours; an opt-out of nudges does not hold it back, since `/match on` asked for it."""
    due = after_quiet_hours(
        now, member.timezone or community.timezone, NudgeConfig.of(community).quiet
    )
    return await uow.outbox.add(
        OutboxEntry(
            dedup_key=f"{KIND}:{key}",
            kind=KIND,
            destination=direct(member),
            message=OutboundMessage(body, buttons=buttons),
            due_at=due,
            community_id=community.id,
            person_id=member.person_id,
        ),
        now,
    )


def yes_no(
    catalogue: Catalogue, locale: str, yes: tuple[str, str], no: tuple[str, str], match_id: int
) -> tuple[tuple[Button, ...], ...]:
    """One row of two buttons, each naming the match."""
    return (
        (
            Button(catalogue.text(locale, yes[0]), yes[1], str(match_id)),
            Button(catalogue.text(locale, no[0]), no[1], str(match_id)),
        ),
    )


def locale(member: Member, community: Community) -> str:
    return locale_of(member, community)
