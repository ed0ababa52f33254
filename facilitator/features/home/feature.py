"""The home feature: Slack's App Home tab, a member's overview across communities."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, Wiring
from facilitator.features.home.commands import COMMANDS, OPEN_FORM_ACTION, open_form


def setup(wiring: Wiring) -> Installed:
    return Installed(buttons={OPEN_FORM_ACTION: open_form})


FEATURE = Feature("home", commands=COMMANDS, prompts=("home",), setup=setup)
