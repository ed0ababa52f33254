"""The community feature: /start, /help, /lang, /whoami, /link and the moderators' settings."""

from __future__ import annotations

from facilitator.feature import Feature
from facilitator.features.community import basics, commands

FEATURE = Feature(
    "community", commands=(*basics.COMMANDS, *commands.COMMANDS), prompts=("community",)
)
