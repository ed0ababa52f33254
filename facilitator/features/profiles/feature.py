"""The profiles feature: /intro, /whois, /experts and /timezone."""

from __future__ import annotations

from facilitator.feature import Feature, PersonalData
from facilitator.features.profiles.commands import COMMANDS
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.features.profiles.storage import SqlProfileRepository

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
)
