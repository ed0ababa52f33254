"""The profiles feature: /intro, /whois, /experts and /timezone."""

from __future__ import annotations

from facilitator.feature import Feature
from facilitator.features.profiles.commands import COMMANDS
from facilitator.features.profiles.ports import ProfileRepository
from facilitator.features.profiles.storage import SqlProfileRepository

FEATURE = Feature(
    "profiles",
    commands=COMMANDS,
    repositories={ProfileRepository: SqlProfileRepository},
    prompts=("profiles",),
)
