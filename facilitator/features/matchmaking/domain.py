"""What a match is: a proposed introduction between an asker and an expert of another
community, and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MatchStatus(StrEnum):
    PROPOSED = "proposed"  # both asked; neither has learnt anything about the other
    INTRODUCED = "introduced"  # both accepted: names, handles and the question went across
    DECLINED = "declined"
    EXPIRED = "expired"  # one of them did not answer in time


class Answer(StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"


@dataclass(frozen=True)
class Match:
    """One month's proposed introduction. `question` is the asker's open question, shown to
    the expert only once both accepted; `theme` is all either learns before that."""

    round: str  # the month, "2026-12"
    asker_id: int
    expert_id: int
    asker_community_id: int
    expert_community_id: int
    question: str
    theme: str
    created_at: datetime
    status: MatchStatus = MatchStatus.PROPOSED
    asker_answer: Answer | None = None
    expert_answer: Answer | None = None
    introduced_at: datetime | None = None
    checked_back_at: datetime | None = None
    asker_met: bool | None = None
    expert_met: bool | None = None
    # The asker said they met: their next private message is what they learnt.
    awaiting_learning: bool = False
    learning_item_id: int | None = None
    id: int | None = None

    def side_of(self, person_id: int) -> str | None:
        if person_id == self.asker_id:
            return "asker"
        if person_id == self.expert_id:
            return "expert"
        return None
