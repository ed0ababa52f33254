"""Participation records read from the ledger: daily counts, message authors, members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True)
class DailyCount:
    """How many events of one kind a member had on one local day of the community."""

    person_id: int
    kind: str
    day: date
    count: int


@dataclass(frozen=True)
class MessageAuthor:
    """Who posted a message in a community (from its `message_posted` ledger entry)."""

    person_id: int
    identity_id: int
    source_event_id: str
    was_answer: bool = False


@dataclass(frozen=True)
class MemberFacts:
    """What rankings and summaries need to know about one member of a community."""

    person_id: int
    display_name: str
    role: str
    joined_at: datetime
    left_at: datetime | None
    opted_out: bool


@dataclass(frozen=True)
class ScoreState:
    """How far a community's rolled-up scores go (events before `as_of`, a local day), with
    which configuration, and when they were last rebuilt from the whole ledger."""

    as_of: date
    config_key: str
    rebuilt_on: date
