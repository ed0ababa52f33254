"""The privacy feature: /optout, /optin, /mydata and /forgetme."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, Wiring
from facilitator.features.privacy.commands import COMMANDS, FORGET_ACTION, forget_pressed


def setup(wiring: Wiring) -> Installed:
    return Installed(buttons={FORGET_ACTION: forget_pressed})


FEATURE = Feature("privacy", commands=COMMANDS, setup=setup)
