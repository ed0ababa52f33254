"""The knowledge feature: FAQ and lesson lookups, the repository, gaps and proposals."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.knowledge.auto_answer import AutoAnswer
from facilitator.features.knowledge.commands import (
    COMMANDS,
    SHOW_ACTION,
    answer_addressed_question,
    show,
)
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.knowledge.storage import SqlKnowledgeRepository
from facilitator.features.knowledge.text import guess_language
from facilitator.scheduling import IntervalJob


def setup(wiring: Wiring) -> Installed:
    auto_answer = AutoAnswer(wiring.uow_factory, wiring.services, wiring.send)
    return Installed(
        service=KnowledgeBase(),
        buttons={SHOW_ACTION: show},
        message_hooks=(answer_addressed_question,),
        guess_language=guess_language,
        jobs=(IntervalJob("knowledge.auto_answer", 60, auto_answer.run),),
    )


FEATURE = Feature(
    "knowledge",
    commands=COMMANDS,
    repositories={KnowledgeRepository: SqlKnowledgeRepository},
    prompts=("kb",),
    setup=setup,
    personal_data=PersonalData(
        tables=("knowledge_items", "knowledge_gaps"),
        export=lambda uow, who: uow.repo(KnowledgeRepository).export_person(who),
        forget=lambda uow, who: uow.repo(KnowledgeRepository).forget_person(who),
    ),
)
