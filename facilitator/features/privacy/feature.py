"""The privacy feature: /optout, /optin, /mydata and /forgetme.

`/mydata` and `/forgetme` run every feature's `personal_data` hooks; this feature's own
hooks cover the engine's tables (the person, their accounts, memberships, roles, questions and
the messages queued for them)."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, Wiring
from facilitator.features.privacy.commands import COMMANDS, FORGET_ACTION, forget_pressed
from facilitator.features.privacy.ports import PersonRecordRepository
from facilitator.features.privacy.service import PERSON_RECORDS, PersonalRecords
from facilitator.features.privacy.storage import SqlPersonRecordRepository


def setup(wiring: Wiring) -> Installed:
    records = PersonalRecords.of(wiring.features)
    return Installed(service=records, buttons={FORGET_ACTION: forget_pressed})


FEATURE = Feature(
    "privacy",
    commands=COMMANDS,
    repositories={PersonRecordRepository: SqlPersonRecordRepository},
    setup=setup,
    personal_data=PERSON_RECORDS,
)
