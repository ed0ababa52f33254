"""The surveys feature: questionnaires sent privately, answered with buttons, a free-text
message or a form, reminded, closed at their deadline, and summed up for the moderators."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.surveys.answering import (
    DONE_ACTION,
    PICK_ACTION,
    SUBMIT_ACTION,
    done_button,
    pick_button,
    start_button,
    submit_button,
    take_text,
)
from facilitator.features.surveys.commands import COMMANDS
from facilitator.features.surveys.ports import SurveyRepository
from facilitator.features.surveys.service import DEADLINE_JOB, START_ACTION, SurveyDeadlines
from facilitator.features.surveys.storage import SqlSurveyRepository
from facilitator.scheduling import IntervalJob


def setup(wiring: Wiring) -> Installed:
    deadlines = SurveyDeadlines(wiring.uow_factory, wiring.services.catalogue)
    return Installed(
        buttons={
            START_ACTION: start_button,
            PICK_ACTION: pick_button,
            DONE_ACTION: done_button,
            SUBMIT_ACTION: submit_button,
        },
        message_claims=(take_text,),
        # Every quarter of an hour: reminders and closing happen within 15 minutes of their time.
        jobs=(IntervalJob(DEADLINE_JOB, 900, deadlines.run, first_after=90),),
    )


FEATURE = Feature(
    "surveys",
    commands=COMMANDS,
    repositories={SurveyRepository: SqlSurveyRepository},
    prompts=("surveys",),
    setup=setup,
    # An anonymous survey's answers name nobody: neither hook can reach them (docs/deploy.md).
    personal_data=PersonalData(
        tables=("surveys", "survey_answers", "survey_respondents", "survey_drafts"),
        export=lambda uow, who: uow.repo(SurveyRepository).export_person(who),
        forget=lambda uow, who: uow.repo(SurveyRepository).forget_person(who),
    ),
)
