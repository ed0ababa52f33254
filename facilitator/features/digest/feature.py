"""The digest feature: an opt-in private digest, followed themes, and the newsletter."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.digest.commands import COMMANDS
from facilitator.features.digest.ports import DigestRepository
from facilitator.features.digest.service import EVERY_SECONDS, JOB_ID, Digests
from facilitator.features.digest.storage import SqlDigestRepository
from facilitator.scheduling import IntervalJob


def setup(wiring: Wiring) -> Installed:
    digests = Digests(wiring.uow_factory, wiring.services)
    return Installed(service=digests, jobs=(IntervalJob(JOB_ID, EVERY_SECONDS, digests.send_due),))


FEATURE = Feature(
    "digest",
    commands=COMMANDS,
    repositories={DigestRepository: SqlDigestRepository},
    prompts=("digest",),
    setup=setup,
    personal_data=PersonalData(
        tables=("digest_members", "digest_follows"),
        export=lambda uow, who: uow.repo(DigestRepository).export_person(who),
        forget=lambda uow, who: uow.repo(DigestRepository).forget_person(who),
    ),
)
