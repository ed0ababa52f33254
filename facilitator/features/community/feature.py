"""The community feature: /start, /help, /lang, /whoami, /link and the moderators' settings."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, Wiring
from facilitator.features.community import basics, commands
from facilitator.features.community.help import PrivateChats


def setup(wiring: Wiring) -> Installed:
    return Installed(service=PrivateChats(wiring.messengers))


FEATURE = Feature(
    "community",
    commands=(*basics.COMMANDS, *commands.COMMANDS),
    prompts=("community",),
    setup=setup,
)
