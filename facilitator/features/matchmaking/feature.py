"""The matchmaking feature: monthly, opt-in introductions across the network's communities."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.matchmaking.commands import (
    COMMANDS,
    accept_button,
    decline_button,
    met_button,
    missed_button,
    skip_button,
    take_learning,
)
from facilitator.features.matchmaking.messages import (
    ACCEPT_ACTION,
    DECLINE_ACTION,
    MET_ACTION,
    MISSED_ACTION,
    SKIP_ACTION,
)
from facilitator.features.matchmaking.ports import MatchRepository
from facilitator.features.matchmaking.rounds import MatchRounds
from facilitator.features.matchmaking.storage import SqlMatchRepository
from facilitator.scheduling import IntervalJob

ROUND_JOB = "match.round"


def setup(wiring: Wiring) -> Installed:
    settings = wiring.settings
    rounds = MatchRounds(
        wiring.uow_factory,
        wiring.services,
        day=settings.match_day,
        expiry_days=settings.match_expiry_days,
        check_back_days=settings.match_check_back_days,
    )
    return Installed(
        service=rounds,
        buttons={
            ACCEPT_ACTION: accept_button,
            DECLINE_ACTION: decline_button,
            MET_ACTION: met_button,
            MISSED_ACTION: missed_button,
            SKIP_ACTION: skip_button,
        },
        message_claims=(take_learning,),
        # Looks hourly: pairs on the round's day (once: a pair and a round's side are
        # unique), expires proposals and checks back on introductions as they come due.
        jobs=(IntervalJob(ROUND_JOB, 3600, rounds.run, first_after=300),),
    )


FEATURE = Feature(
    "matchmaking",
    commands=COMMANDS,
    repositories={MatchRepository: SqlMatchRepository},
    prompts=("matchmaking",),
    setup=setup,
    personal_data=PersonalData(
        tables=("matches", "match_opt_ins"),
        export=lambda uow, who: uow.repo(MatchRepository).export_person(who),
        forget=lambda uow, who: uow.repo(MatchRepository).forget_person(who),
    ),
)
