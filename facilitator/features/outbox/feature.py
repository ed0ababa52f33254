"""The outbox feature: /outbox for moderators (the outbox itself is the engine's delivery)."""

from __future__ import annotations

from facilitator.feature import Feature
from facilitator.features.outbox.commands import COMMANDS

FEATURE = Feature("outbox", commands=COMMANDS, prompts=("outbox",))
