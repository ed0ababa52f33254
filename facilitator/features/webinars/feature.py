"""The webinars feature: announcements, RSVPs, reminders, check-in and recordings."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.polls.service import Polls
from facilitator.features.webinars.commands import COMMANDS
from facilitator.features.webinars.ports import WebinarRepository
from facilitator.features.webinars.service import CHECKIN_ACTION, RSVP_ACTION, Webinars
from facilitator.features.webinars.storage import SqlWebinarRepository


def setup(wiring: Wiring) -> Installed:
    # Feedback after a webinar is a poll: the polls feature is set up first.
    webinars = Webinars(wiring.uow_factory, wiring.services, wiring.services.feature(Polls))
    webinars.attach(wiring.dispatcher)
    return Installed(
        service=webinars,
        buttons={RSVP_ACTION: webinars.rsvp_button, CHECKIN_ACTION: webinars.checkin_button},
    )


FEATURE = Feature(
    "webinars",
    commands=COMMANDS,
    repositories={WebinarRepository: SqlWebinarRepository},
    prompts=("webinars",),
    setup=setup,
    personal_data=PersonalData(
        tables=("webinars", "webinar_rsvps"),
        export=lambda uow, who: uow.repo(WebinarRepository).export_person(who),
        forget=lambda uow, who: uow.repo(WebinarRepository).forget_person(who),
    ),
)
