"""The bookmarks feature: members keep repository items and list them privately."""

from __future__ import annotations

from facilitator.feature import Feature, PersonalData
from facilitator.features.bookmarks.commands import COMMANDS
from facilitator.features.bookmarks.ports import BookmarkRepository
from facilitator.features.bookmarks.storage import SqlBookmarkRepository

FEATURE = Feature(
    "bookmarks",
    commands=COMMANDS,
    repositories={BookmarkRepository: SqlBookmarkRepository},
    prompts=("bookmarks",),
    personal_data=PersonalData(
        tables=("bookmarks",),
        export=lambda uow, who: uow.repo(BookmarkRepository).export_person(who),
        forget=lambda uow, who: uow.repo(BookmarkRepository).forget_person(who),
    ),
)
