"""Participation configuration: weights, daily caps, decay, levels, badges and schedules.

The defaults below are the installation's; a TOML file (`FACILITATOR_PARTICIPATION_CONFIG`)
replaces any of them, and a community's `participation` setting overrides them again for
that community only. Names are configuration keys; what members read lives in prompts/.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from facilitator.domain.model import ParticipationKind as K

# Answers, thanked answers, shared resources, contributed lessons and presenting weigh far
# more than a plain message; bookkeeping events (joins, commands, buttons) earn nothing.
DEFAULT_WEIGHTS: dict[str, float] = {
    K.MESSAGE_POSTED: 1.0,
    K.QUESTION_ASKED: 2.0,
    K.ANSWER_GIVEN: 6.0,
    K.ANSWER_THANKED: 10.0,
    K.RESOURCE_SHARED: 5.0,
    K.THANKS_RECEIVED: 2.0,
    K.REACTION_RECEIVED: 0.5,
    K.REACTION_GIVEN: 0.2,
    K.POLL_VOTE: 1.0,
    K.WEBINAR_RSVP: 1.0,
    K.WEBINAR_ATTENDED: 3.0,
    K.WEBINAR_PRESENTED: 25.0,
    K.KNOWLEDGE_CONTRIBUTED: 15.0,
    K.KNOWLEDGE_APPROVED: 2.0,
    K.NEWCOMER_WELCOMED: 3.0,
}

# At most this many events of a kind count per member per local day.
DEFAULT_DAILY_CAPS: dict[str, int] = {
    K.MESSAGE_POSTED: 20,
    K.QUESTION_ASKED: 5,
    K.ANSWER_GIVEN: 10,
    K.ANSWER_THANKED: 10,
    K.RESOURCE_SHARED: 5,
    K.THANKS_RECEIVED: 10,
    K.REACTION_RECEIVED: 20,
    K.REACTION_GIVEN: 10,
    K.POLL_VOTE: 5,
    K.WEBINAR_RSVP: 3,
    K.WEBINAR_ATTENDED: 3,
    K.WEBINAR_PRESENTED: 2,
    K.KNOWLEDGE_CONTRIBUTED: 5,
    K.KNOWLEDGE_APPROVED: 10,
    K.NEWCOMER_WELCOMED: 10,
}

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
RECOGNISED_REACTIONS = (
    "👍",
    "🙏",
    "❤",
    "❤️",
    # Slack names its reactions.
    "+1",
    "thumbsup",
    "pray",
    "heart",
)


class Level(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    min_score: float = Field(ge=0)
    min_active_weeks: int = Field(ge=0)


class BadgeRule(BaseModel):
    """A badge earned once the member's events of `kinds` reach `threshold` (all time).

    The `pioneer` badge has no kinds: it is earned by the first contribution in a theme."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    kinds: tuple[str, ...] = ()
    threshold: int = Field(default=1, ge=1)


DEFAULT_LEVELS = (
    Level(key="newcomer", min_score=0, min_active_weeks=0),
    Level(key="participant", min_score=5, min_active_weeks=1),
    Level(key="contributor", min_score=40, min_active_weeks=2),
    Level(key="a_player", min_score=120, min_active_weeks=3),
)

PIONEER = "pioneer"
DEFAULT_BADGES = (
    BadgeRule(key="first_answer", kinds=(K.ANSWER_GIVEN,), threshold=1),
    BadgeRule(key="helper", kinds=(K.ANSWER_THANKED,), threshold=5),
    BadgeRule(
        key="knowledge_sharer",
        kinds=(K.RESOURCE_SHARED, K.KNOWLEDGE_CONTRIBUTED),
        threshold=5,
    ),
    BadgeRule(key="webinar_regular", kinds=(K.WEBINAR_ATTENDED,), threshold=3),
    BadgeRule(key="presenter", kinds=(K.WEBINAR_PRESENTED,), threshold=1),
    BadgeRule(key=PIONEER),
    BadgeRule(key="welcomer", kinds=(K.NEWCOMER_WELCOMED,), threshold=3),
)


class ParticipationConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    weights: dict[str, float] = Field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    daily_caps: dict[str, int] = Field(default_factory=lambda: dict(DEFAULT_DAILY_CAPS))
    # A point earned `half_life_days` ago counts half.
    half_life_days: float = Field(default=30.0, gt=0)
    # Consistency: how many of the last `consistency_weeks` weeks had a scored event.
    consistency_weeks: int = Field(default=8, ge=1, le=52)
    levels: tuple[Level, ...] = DEFAULT_LEVELS
    badges: tuple[BadgeRule, ...] = DEFAULT_BADGES
    a_player_level: str = "a_player"
    reactions: tuple[str, ...] = RECOGNISED_REACTIONS
    # Moderators, coordinators and admins out of rankings and recognition.
    exclude_staff: bool = False
    leaderboard_size: int = Field(default=10, ge=1, le=50)
    reasons_shown: int = Field(default=3, ge=1, le=10)
    # A reply with a welcome counts as welcoming a newcomer who joined this many days ago.
    newcomer_days: int = Field(default=14, ge=1)
    # The weekly recognition post in the group (opt-in per community).
    recognition_post: bool = False
    recognition_size: int = Field(default=3, ge=1, le=10)
    # A new badge or level is always told privately; also in the group when this is on.
    congratulate_in_group: bool = False
    # The coordinators' weekly summary: local day and time of the community.
    summary_enabled: bool = True
    summary_day: str = "mon"
    summary_time: str = "09:00"
    # Members at risk: active in the `at_risk_weeks` weeks before, silent this week.
    at_risk_weeks: int = Field(default=4, ge=1, le=26)
    summary_top: int = Field(default=5, ge=1, le=20)

    @field_validator("summary_day")
    @classmethod
    def _weekday(cls, value: str) -> str:
        day = value.strip().lower()[:3]
        if day not in WEEKDAYS:
            raise ValueError(f"summary_day must be one of {', '.join(WEEKDAYS)}")
        return day

    @field_validator("summary_time")
    @classmethod
    def _time(cls, value: str) -> str:
        hours, sep, minutes = value.strip().partition(":")
        if not (sep and hours.isdigit() and minutes.isdigit()):
            raise ValueError("summary_time must look like 09:00")
        if not (0 <= int(hours) < 24 and 0 <= int(minutes) < 60):
            raise ValueError("summary_time must be a time of day")
        return f"{int(hours):02d}:{int(minutes):02d}"

    @model_validator(mode="after")
    def _levels_ordered(self) -> ParticipationConfig:
        if not self.levels:
            raise ValueError("at least one level is needed")
        scores = [level.min_score for level in self.levels]
        if scores != sorted(scores):
            raise ValueError("levels must be listed from the lowest to the highest")
        return self

    def weight(self, kind: str) -> float:
        return self.weights.get(kind, 0.0)

    def cap(self, kind: str) -> int | None:
        return self.daily_caps.get(kind)

    @property
    def scored_kinds(self) -> tuple[str, ...]:
        return tuple(sorted(kind for kind, weight in self.weights.items() if weight > 0))

    @property
    def summary_weekday(self) -> int:
        return WEEKDAYS.index(self.summary_day)

    @property
    def summary_hour_minute(self) -> tuple[int, int]:
        hours, _, minutes = self.summary_time.partition(":")
        return int(hours), int(minutes)

    def overridden(self, overrides: Mapping[str, Any] | None) -> ParticipationConfig:
        """This configuration with a community's overrides (weights and caps merge by kind)."""
        if not overrides:
            return self
        data = self.model_dump()
        for name, value in overrides.items():
            if name in ("weights", "daily_caps") and isinstance(value, Mapping):
                data[name] = {**data[name], **value}
            else:
                data[name] = value
        return ParticipationConfig.model_validate(data)


def load_config(path: Path | None) -> ParticipationConfig:
    """The defaults, or those of a TOML file (weights and caps merge with the defaults)."""
    if path is None:
        return ParticipationConfig()
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    return ParticipationConfig().overridden(data)
