"""The community feature: /start, /help, /lang, /whoami, /link, /rules and the moderators'
settings."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, Wiring
from facilitator.features.community import basics, commands, rules
from facilitator.features.community.help import PrivateChats


def setup(wiring: Wiring) -> Installed:
    return Installed(service=PrivateChats(wiring.messengers))


FEATURE = Feature(
    "community",
    commands=(*basics.COMMANDS, *rules.COMMANDS, *commands.COMMANDS),
    prompts=("community",),
    setup=setup,
)
