"""Core domain records: platforms, roles, communities, members and the participation ledger."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum

from facilitator.domain.text import keep_printable


class Platform(StrEnum):
    TELEGRAM = "telegram"
    SLACK = "slack"
    CONSOLE = "console"


class Role(IntEnum):
    """Roles are ordered: a higher role may do everything a lower one may."""

    MEMBER = 1
    MODERATOR = 2
    COORDINATOR = 3
    ADMIN = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(text) from None


class ParticipationKind(StrEnum):
    MESSAGE_POSTED = "message_posted"
    COMMAND_USED = "command_used"
    MEMBER_JOINED = "member_joined"
    MEMBER_LEFT = "member_left"
    REACTION_GIVEN = "reaction_given"
    BUTTON_PRESSED = "button_pressed"
    POLL_VOTE = "poll_vote"
    QUESTION_ASKED = "question_asked"
    ANSWER_GIVEN = "answer_given"
    RESOURCE_SHARED = "resource_shared"
    KNOWLEDGE_CONTRIBUTED = "knowledge_contributed"
    KNOWLEDGE_APPROVED = "knowledge_approved"
    # Credited to someone other than the event's author: the person thanked, the author of
    # the message reacted to, the answerer whose answer was thanked.
    THANKS_RECEIVED = "thanks_received"
    REACTION_RECEIVED = "reaction_received"
    ANSWER_THANKED = "answer_thanked"
    NEWCOMER_WELCOMED = "newcomer_welcomed"
    WEBINAR_RSVP = "webinar_rsvp"
    WEBINAR_ATTENDED = "webinar_attended"
    WEBINAR_PRESENTED = "webinar_presented"


@dataclass(frozen=True)
class PlatformUser:
    """A person as one platform presents them in an inbound event.

    An empty `display_name` means the platform did not give one (the console adapter).
    """

    platform: Platform
    user_id: str
    display_name: str
    locale_hint: str | None = None
    is_bot: bool = False
    is_platform_admin: bool = False

    def __post_init__(self) -> None:
        keep_printable(self, "display_name")


# The community setting that holds its rules (`Community.rules`).
RULES_SETTING = "rules"


@dataclass(frozen=True)
class Community:
    """One Telegram group or Slack channel that the bot facilitates."""

    id: int
    key: str
    platform: Platform
    chat_id: str
    title: str
    timezone: str
    language: str
    settings: Mapping[str, object] = field(default_factory=dict)
    active: bool = True

    def setting(self, name: str, default: object = None) -> object:
        return self.settings.get(name, default)

    @property
    def rules(self) -> str:
        """The rules its moderators set with /rules (shown by /rules, /start and the
        welcome), or "" where there are none."""
        rules = self.settings.get(RULES_SETTING, "")
        return rules.strip() if isinstance(rules, str) else ""


@dataclass(frozen=True)
class Member:
    """A platform identity together with the person it belongs to.

    Linked identities (`/link`) share one `person_id`, so language, roles and participation
    follow the person across platforms.
    """

    identity_id: int
    person_id: int
    platform: Platform
    platform_user_id: str
    display_name: str
    language: str | None = None
    timezone: str | None = None
    locale_hint: str | None = None
    opted_out_tracking: bool = False
    opted_out_nudges: bool = False


@dataclass(frozen=True)
class Membership:
    person_id: int
    community_id: int
    role: Role
    joined_at: datetime
    left_at: datetime | None = None


@dataclass(frozen=True)
class RoleGrant:
    """A role given by configuration or the CLI; `community_id` None means every community."""

    platform: Platform
    platform_user_id: str
    role: Role
    community_id: int | None = None


@dataclass(frozen=True)
class LedgerEntry:
    """One append-only participation event; (community, source event, kind, person) is unique."""

    community_id: int
    person_id: int
    identity_id: int
    kind: ParticipationKind
    occurred_at: datetime
    source_event_id: str
    ref: str | None = None


# A question keeps this many characters of its text (until it is answered).
QUESTION_TEXT = 1000


@dataclass(frozen=True)
class NewQuestion:
    """A question just asked, to be stored (`QuestionRepository.add`)."""

    community_id: int
    member: Member
    source_event_id: str
    message_id: str
    thread_id: str | None
    text: str
    lang: str
    asked_at: datetime


@dataclass(frozen=True)
class Question:
    """A question asked in a community's conversation; open until someone else replies."""

    id: int
    community_id: int
    person_id: int
    identity_id: int
    message_id: str
    thread_id: str | None
    text: str | None
    lang: str
    asked_at: datetime
    answered_at: datetime | None = None
    answered_by: int | None = None
    bot_answered: bool = False


@dataclass(frozen=True)
class DataSubject:
    """The person a `/mydata` or `/forgetme` is about, with all their platform accounts."""

    person_id: int
    identity_ids: tuple[int, ...]
