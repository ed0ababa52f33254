"""The polls feature: /poll, votes (native on Telegram, buttons elsewhere), results."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.polls.commands import COMMANDS
from facilitator.features.polls.ports import PollRepository
from facilitator.features.polls.service import VOTE_ACTION, Polls
from facilitator.features.polls.storage import SqlPollRepository


def setup(wiring: Wiring) -> Installed:
    polls = Polls(wiring.uow_factory, wiring.services, wiring.messengers)
    polls.attach(wiring.dispatcher)
    return Installed(
        service=polls,
        buttons={VOTE_ACTION: polls.vote_button},
        poll_votes=polls.vote_native,
    )


FEATURE = Feature(
    "polls",
    commands=COMMANDS,
    repositories={PollRepository: SqlPollRepository},
    prompts=("polls",),
    setup=setup,
    personal_data=PersonalData(
        tables=("polls", "poll_votes"),
        export=lambda uow, who: uow.repo(PollRepository).export_person(who),
        forget=lambda uow, who: uow.repo(PollRepository).forget_person(who),
    ),
)
