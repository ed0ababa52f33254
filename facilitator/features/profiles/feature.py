"""The profiles feature: /intro, /whois, /experts and /timezone."""

from __future__ import annotations

from datetime import datetime

from facilitator.domain.outbox import OutboxRecord
from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.profiles.commands import COMMANDS
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.features.profiles.storage import SqlProfileRepository
from facilitator.ports import UnitOfWork


async def close_private_chat(uow: UnitOfWork, row: OutboxRecord, now: datetime) -> None:
    """A message the platform could not deliver privately: nudges go to the group for this
    person until they write to the bot privately again."""
    destination = row.destination
    await uow.repo(ProfileRepository).close_private_chat(
        destination.platform, destination.user_id or destination.chat_id, now
    )


def setup(wiring: Wiring) -> Installed:
    wiring.dispatcher.unreachable_hooks.append(close_private_chat)
    return Installed()


FEATURE = Feature(
    "profiles",
    commands=COMMANDS,
    repositories={ProfileRepository: SqlProfileRepository},
    prompts=("profiles",),
    personal_data=PersonalData(
        tables=("member_profiles", "private_chats", "question_topics"),
        export=lambda uow, who: uow.repo(ProfileRepository).export_person(who),
        forget=lambda uow, who: uow.repo(ProfileRepository).forget_person(who),
    ),
    setup=setup,
)
