"""Files members posted on Telegram, fetched through the Bot API (getFile, then download)."""

from __future__ import annotations

import logging

from telegram import Bot
from telegram.error import TelegramError

from facilitator.domain.errors import FileTooLarge, FileUnavailable
from facilitator.domain.events import FileRef
from facilitator.ports import FetchedFile

log = logging.getLogger(__name__)


class TelegramFiles:
    """The `FileFetcher` of Telegram: a file by its file_id, never by a URL from a payload
    (PTB builds the download URL from the configured file base URL and getFile's path)."""

    def __init__(self, bot: Bot) -> None:
        self._bot = bot

    async def fetch(self, file: FileRef, limit: int) -> FetchedFile:
        if file.size is not None and file.size > limit:
            raise FileTooLarge(file.size, limit)
        try:
            found = await self._bot.get_file(file.file_id)
            if found.file_size is not None and found.file_size > limit:
                raise FileTooLarge(found.file_size, limit)
            data = bytes(await found.download_as_bytearray())
        except TelegramError as error:
            # The Bot API serves files of up to 20 MB and refuses bigger ones ("file is too
            # big"); the size check above comes first for files under our own limit.
            log.warning("telegram file not fetched", extra={"error": type(error).__name__})
            raise FileUnavailable(type(error).__name__) from None
        if len(data) > limit:
            raise FileTooLarge(len(data), limit)
        return FetchedFile(name=file.name or "document", mime_type=file.mime_type, data=data)
