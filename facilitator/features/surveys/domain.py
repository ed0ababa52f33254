"""A survey's types: its questions, its state, an answer, and what a question's answers add
up to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

SCALE = range(1, 6)  # a scale question's answers: 1 (not at all) to 5 (very)
NPS = range(0, 11)  # "how likely are you to recommend…": 0 to 10
MIN_ANONYMOUS_RESPONSES = 5  # an anonymous survey's results are shown from this many up


class QuestionKind(StrEnum):
    SCALE = "scale"
    CHOICE = "choice"
    MULTIPLE = "multiple"
    TEXT = "text"
    NPS = "nps"

    @property
    def has_options(self) -> bool:
        return self in (QuestionKind.CHOICE, QuestionKind.MULTIPLE)


class SurveyStatus(StrEnum):
    DRAFT = "draft"  # created, not sent yet
    OPEN = "open"
    CLOSED = "closed"


@dataclass(frozen=True)
class Question:
    kind: QuestionKind
    # As its author typed it; empty for a template's question, whose text is the prompt `key`
    # (each member reads it in their own language).
    text: str = ""
    options: tuple[str, ...] = ()
    key: str | None = None
    # A template's "what do you need" question: its answers become knowledge gaps.
    gaps: bool = False


@dataclass(frozen=True)
class Survey:
    community_id: int
    created_by: int | None
    title: str
    questions: tuple[Question, ...]
    anonymous: bool
    created_at: datetime
    deadline: datetime | None = None
    status: SurveyStatus = SurveyStatus.DRAFT
    template: str | None = None
    id: int | None = None
    sent_at: datetime | None = None
    reminded_at: datetime | None = None
    closed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.status is SurveyStatus.OPEN


@dataclass(frozen=True)
class Answer:
    """One answer to one question. `response` groups the answers of one submission (a random
    token, not a sequence); an anonymous survey's answers have no person and no time (see
    docs/architecture.md, "Surveys", for what that does and does not hide).

    `value`: a scale or NPS answer's number, a choice's option number, a multiple choice's
    option numbers joined by commas, or the text as written."""

    response: str
    question: int
    value: str
    person_id: int | None = None
    answered_at: datetime | None = None


@dataclass(frozen=True)
class Draft:
    """A member's answers so far, while they answer one question at a time (a chat with
    buttons); made into answers when the last question is answered."""

    survey_id: int
    person_id: int
    position: int
    values: dict[int, str] = field(default_factory=dict)
