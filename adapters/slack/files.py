"""Files members posted on Slack, fetched by id: files.info, then url_private on Slack's hosts."""

from __future__ import annotations

import logging

from adapters.slack.webapi import FileRefused, SlackWeb
from facilitator.domain.errors import DeliveryError, FileTooLarge, FileUnavailable
from facilitator.domain.events import FileRef
from facilitator.ports import FetchedFile

log = logging.getLogger(__name__)


class SlackFiles:
    """The `FileFetcher` of Slack. Only the file id is taken from the event: where the bytes
    are, their size, name and type come from files.info, and the download itself refuses any
    host but Slack's own (`SlackWeb.download_private`)."""

    def __init__(self, web: SlackWeb) -> None:
        self._web = web

    async def fetch(self, file: FileRef, limit: int) -> FetchedFile:
        try:
            response = await self._web.file_info(file.file_id)
        except DeliveryError as error:
            raise FileUnavailable(f"files.info: {error}") from None
        info = response.get("file")
        if not isinstance(info, dict):
            raise FileUnavailable("files.info without a file")
        size = info.get("size")
        if isinstance(size, int) and size > limit:
            raise FileTooLarge(size, limit)
        url = info.get("url_private_download") or info.get("url_private")
        if not isinstance(url, str) or not url:
            raise FileUnavailable("files.info without url_private")
        try:
            data = await self._web.download_private(url, limit)
        except FileRefused as refused:
            if refused.too_large:
                raise FileTooLarge(size if isinstance(size, int) else None, limit) from None
            raise FileUnavailable(refused.reason) from None
        name, mime = info.get("name"), info.get("mimetype")
        return FetchedFile(
            name=name if isinstance(name, str) and name else file.name or "document",
            mime_type=mime if isinstance(mime, str) else file.mime_type,
            data=data,
        )
