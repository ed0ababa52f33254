"""The knowledge feature: FAQ and lesson lookups, the repository, gaps and proposals."""

from __future__ import annotations

from facilitator.feature import Feature, Installed, PersonalData, Wiring
from facilitator.features.knowledge.auto_answer import AutoAnswer
from facilitator.features.knowledge.commands import (
    COMMANDS,
    MORE_ACTION,
    PAGE_ACTION,
    SHOW_ACTION,
    answer_addressed_question,
    approve_button,
    next_page,
    read_more,
    show,
)
from facilitator.features.knowledge.embedding import Embedder, VectorSweep
from facilitator.features.knowledge.feedback import (
    ASK_EXPERT_ACTION,
    VOTE_ACTION,
    ask_expert,
    vote,
)
from facilitator.features.knowledge.gaps import SAVE_GAP_ACTION, GapCloser, note_reply
from facilitator.features.knowledge.ports import KnowledgeRepository, VectorRepository
from facilitator.features.knowledge.review import (
    EDIT_ACTION,
    KEEP_ACTION,
    RETIRE_ACTION,
    ReviewReminder,
    edit,
    keep,
    retire,
)
from facilitator.features.knowledge.saving import (
    APPROVE_ACTION,
    WITHDRAW_ACTION,
    ProposalNotice,
    save_gap_answer,
    withdraw_button,
)
from facilitator.features.knowledge.service import KnowledgeBase
from facilitator.features.knowledge.storage import SqlKnowledgeRepository, SqlVectorRepository
from facilitator.features.knowledge.text import guess_language
from facilitator.scheduling import IntervalJob

CLOSE_GAPS_JOB = "knowledge.close_gaps"
REVIEW_JOB = "knowledge.review_reminders"


def setup(wiring: Wiring) -> Installed:
    auto_answer = AutoAnswer(wiring.uow_factory, wiring.services, wiring.send)
    settings = wiring.settings
    knowledge = KnowledgeBase(semantic=settings.semantic, threads=settings.semantic_threads)
    embedder = Embedder(wiring.uow_factory, knowledge)
    sweep = VectorSweep(wiring.uow_factory, knowledge)
    closer = GapCloser(wiring.uow_factory, wiring.services, knowledge)
    notice = ProposalNotice(wiring.uow_factory, wiring.services)
    reminder = ReviewReminder(wiring.uow_factory, wiring.services)
    return Installed(
        service=knowledge,
        buttons={
            SHOW_ACTION: show,
            MORE_ACTION: read_more,
            PAGE_ACTION: next_page,
            SAVE_GAP_ACTION: save_gap_answer,
            WITHDRAW_ACTION: withdraw_button,
            APPROVE_ACTION: approve_button,
            KEEP_ACTION: keep,
            EDIT_ACTION: edit,
            RETIRE_ACTION: retire,
            VOTE_ACTION: vote,
            ASK_EXPERT_ACTION: ask_expert,
        },
        message_hooks=(answer_addressed_question, note_reply),
        guess_language=guess_language,
        jobs=(
            IntervalJob("knowledge.auto_answer", 60, auto_answer.run),
            # Starts soon after start-up (off the event loop), then looks again every 30 s.
            IntervalJob("knowledge.embed", 30, embedder.run, first_after=2),
            IntervalJob("knowledge.vectors_sweep", 6 * 3600, sweep.run),
            # After the repository changes: gaps an item now answers close, askers are told.
            IntervalJob(CLOSE_GAPS_JOB, 30, closer.run, first_after=5),
            # Moderators hear of new proposals at most every ten minutes, in one message.
            IntervalJob("knowledge.proposals", 600, notice.run, first_after=60),
            # Owners hear of items due for review once a month (the job looks daily).
            IntervalJob(REVIEW_JOB, 24 * 3600, reminder.run, first_after=300),
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
        tables=("knowledge_items", "knowledge_gaps", "knowledge_answers", "knowledge_votes"),
        export=lambda uow, who: uow.repo(KnowledgeRepository).export_person(who),
        forget=lambda uow, who: uow.repo(KnowledgeRepository).forget_person(who),
    ),
)
