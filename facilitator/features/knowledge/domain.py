"""Knowledge repository items: FAQs, lessons, toolkits, documents, recordings and links."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum


class ItemType(StrEnum):
    FAQ = "faq"
    LESSON = "lesson"
    TOOLKIT = "toolkit"
    DOCUMENT = "document"
    RECORDING = "recording"
    LINK = "link"


class ItemStatus(StrEnum):
    PUBLISHED = "published"
    PROPOSED = "proposed"
    REJECTED = "rejected"
    REMOVED = "removed"
    WITHDRAWN = "withdrawn"  # a saved answer its author took back before approval


class GapStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"  # an item answers it (added, approved or linked by a moderator)
    DISMISSED = "dismissed"  # a moderator decided it needs no answer


@dataclass(frozen=True)
class KnowledgeItem:
    """One entry of a community's repository.

    `key` is the stable id given by the source (file front matter, YAML id) or generated;
    ingesting the same key twice updates the item instead of adding a second one.
    `title` is the question for an FAQ and the title otherwise; `body` is the answer or text.
    """

    key: str
    type: ItemType
    title: str
    body: str
    lang: str
    theme: str = ""
    tags: tuple[str, ...] = ()
    alternates: tuple[str, ...] = ()
    url: str | None = None
    source: str | None = None
    owner: str | None = None
    review_by: date | None = None
    # The key of the item this one translates (same scope): a lookup prefers the version in
    # the member's language.
    translation_of: str | None = None
    status: ItemStatus = ItemStatus.PUBLISHED
    created_at: datetime | None = None
    updated_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)
    # Set once stored: the database id (shown to moderators), the community it belongs to
    # (None: the installation-wide library) and the identity that contributed it.
    id: int | None = None
    community_id: int | None = None
    created_by: int | None = None
    # An answer saved from the chat: the identity whose words it is (credited on approval)
    # and a link to the message; a member responsible for keeping it current (reminded of
    # its review date); when moderators were told of it as a proposal.
    author_id: int | None = None
    source_link: str | None = None
    owner_id: int | None = None
    announced_at: datetime | None = None


@dataclass(frozen=True)
class KnowledgeGap:
    """A question the bot could not answer, and where it was asked (to tell the asker once
    an item answers it; a question asked privately is only ever answered privately)."""

    community_id: int
    query: str
    lang: str
    created_at: datetime
    person_id: int | None = None
    id: int | None = None
    identity_id: int | None = None
    platform: str | None = None
    chat_id: str | None = None
    message_id: str | None = None
    is_direct: bool = False
    status: GapStatus = GapStatus.OPEN
    closed_at: datetime | None = None
    item_id: int | None = None
    assigned_to: int | None = None
    # The first reply by someone else to the question's message: a candidate answer.
    answer_message_id: str | None = None
    answer_text: str | None = None
    answer_identity: int | None = None
    answer_link: str | None = None
    # Recorded by a 👎 on this item's answer: that item does not close it unless it changes.
    disliked_item: int | None = None


@dataclass(frozen=True)
class GivenAnswer:
    """An answer the bot gave (its 👍/👎 buttons name it)."""

    community_id: int
    item_id: int
    person_id: int | None
    query: str
    lang: str
    created_at: datetime
    id: int | None = None
    gap_id: int | None = None
