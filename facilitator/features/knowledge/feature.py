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
from facilitator.features.knowledge.embedding import Embedder, VectorSweep
from facilitator.features.knowledge.ports import KnowledgeRepository, VectorRepository
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.knowledge.storage import SqlKnowledgeRepository, SqlVectorRepository
from facilitator.features.knowledge.text import guess_language
from facilitator.scheduling import IntervalJob


def setup(wiring: Wiring) -> Installed:
    auto_answer = AutoAnswer(wiring.uow_factory, wiring.services, wiring.send)
    settings = wiring.settings
    knowledge = KnowledgeBase(semantic=settings.semantic, threads=settings.semantic_threads)
    embedder = Embedder(wiring.uow_factory, knowledge)
    sweep = VectorSweep(wiring.uow_factory, knowledge)
    return Installed(
        service=knowledge,
        buttons={SHOW_ACTION: show},
        message_hooks=(answer_addressed_question,),
        guess_language=guess_language,
        jobs=(
            IntervalJob("knowledge.auto_answer", 60, auto_answer.run),
            # Starts soon after start-up (off the event loop), then looks again every 30 s.
            IntervalJob("knowledge.embed", 30, embedder.run, first_after=2),
            IntervalJob("knowledge.vectors_sweep", 6 * 3600, sweep.run),
        ),
    )


FEATURE = Feature(
    "knowledge",
    commands=COMMANDS,
    repositories={
        KnowledgeRepository: SqlKnowledgeRepository,
        VectorRepository: SqlVectorRepository,
    },
    prompts=("kb",),
    setup=setup,
    personal_data=PersonalData(
        tables=("knowledge_items", "knowledge_gaps"),
        export=lambda uow, who: uow.repo(KnowledgeRepository).export_person(who),
        forget=lambda uow, who: uow.repo(KnowledgeRepository).forget_person(who),
    ),
)
