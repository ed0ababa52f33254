"""An announcement: its versions per language, where and when it is posted."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class AnnouncementStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENT = "sent"
    CANCELLED = "cancelled"


# Every community's own language first is how a post is read; the others follow in this order.
LANGUAGES = ("en", "es", "pt")


@dataclass(frozen=True)
class AnnouncementDraft:
    """What a moderator asked for. `versions` maps a language to its text, the first given
    first; `targets` are community keys (empty: the community it was sent from), or
    `network` alone for every community; `when` None is now."""

    versions: Mapping[str, str]
    when: datetime | None = None
    pin: bool = False
    targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Announcement:
    community_id: int
    author_id: int | None
    versions: Mapping[str, str]
    due_at: datetime
    pin: bool
    created_at: datetime
    status: AnnouncementStatus = AnnouncementStatus.SCHEDULED
    sent_at: datetime | None = None
    id: int | None = None

    def version_for(self, *languages: str | None) -> str:
        """The text in the first of `languages` it has, else its first version."""
        for language in languages:
            if language and language in self.versions:
                return self.versions[language]
        return next(iter(self.versions.values()))
