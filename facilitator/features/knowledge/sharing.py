"""`/share` replying to a document: whose it is, fetching it, and reading its text."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from facilitator.context import CommandContext
from facilitator.domain.errors import FileTooLarge, FileUnavailable
from facilitator.domain.events import ReplyTarget
from facilitator.domain.model import Member, Role
from facilitator.features.knowledge.extract import (
    MAX_CHARS,
    MAX_FILE_BYTES,
    MAX_PAGES,
    ExtractionRefused,
    Refusal,
    extract,
    kind_of,
)

log = logging.getLogger(__name__)

_MEGABYTE = 1024 * 1024
_REFUSALS = {
    Refusal.UNSUPPORTED: "kb.share_file_unsupported",
    Refusal.TOO_MANY_PAGES: "kb.share_file_too_many_pages",
    Refusal.UNREADABLE: "kb.share_file_unreadable",
    Refusal.ZIP_BOMB: "kb.share_file_suspicious",
    Refusal.EMPTY: "kb.share_file_empty",
    Refusal.TIMEOUT: "kb.share_file_timeout",
}


@dataclass(frozen=True)
class SharedFile:
    """A document's text to propose, with its file name and whose file it was."""

    name: str
    text: str
    title: str | None
    cut: bool
    poster: Member | None


async def read_shared_file(ctx: CommandContext, target: ReplyTarget) -> SharedFile | None:
    """The text of the document `target` carries; None once the member has been told why
    not (not theirs, no document, wrong type, too big, unreadable, too slow)."""
    file = target.file
    if file is None:
        log.info("share refused: the replied message has no file")
        ctx.say("kb.share_file_missing", private=True)
        return None
    poster = None
    if target.user_id:
        poster = await ctx.uow.members.identity(ctx.origin.platform, target.user_id)
    own = poster is not None and poster.person_id == ctx.member.person_id
    if ctx.role < Role.MODERATOR and not own:
        log.warning("share refused: the file is another member's", extra={"role": ctx.role.label})
        ctx.say("kb.share_file_not_yours", private=True)
        return None
    name = file.name or "document"
    # Refused before fetching when the platform named a type we cannot read; a file it did
    # not describe is judged by what the fetch says.
    if (file.name or file.mime_type) and kind_of(file.name, file.mime_type) is None:
        log.info(
            "share refused: unsupported file type",
            extra={"mime_type": (file.mime_type or "")[:80]},
        )
        ctx.say(_REFUSALS[Refusal.UNSUPPORTED], private=True)
        return None
    if file.size is not None and file.size > MAX_FILE_BYTES:
        _too_big(ctx, file.size)
        return None
    fetcher = ctx.services.files.get(ctx.origin.platform)
    if fetcher is None:
        log.warning("share refused: no file fetcher", extra={"platform": ctx.origin.platform})
        ctx.say("kb.share_file_unavailable", private=True)
        return None
    try:
        fetched = await fetcher.fetch(file, MAX_FILE_BYTES)
    except FileTooLarge as exc:
        _too_big(ctx, exc.size)
        return None
    except FileUnavailable as exc:
        log.warning("share refused: file not fetched", extra={"error": str(exc)[:200]})
        ctx.say("kb.share_file_unavailable", private=True)
        return None
    # The platform's own account of the file (Slack's files.info) has the last word on its type.
    kind = kind_of(fetched.name, fetched.mime_type)
    if kind is None:
        log.info(
            "share refused: unsupported file type",
            extra={"mime_type": (fetched.mime_type or "")[:80]},
        )
        ctx.say(_REFUSALS[Refusal.UNSUPPORTED], private=True)
        return None
    try:
        extracted = await extract(fetched.data, kind)
    except ExtractionRefused as exc:
        log.warning(
            "share refused: no text from the file",
            extra={"reason": exc.reason.value, "kind": kind.value, "bytes": len(fetched.data)},
        )
        if exc.reason is Refusal.TOO_MANY_PAGES:
            ctx.say(_REFUSALS[exc.reason], pages=MAX_PAGES, private=True)
        else:
            ctx.say(_REFUSALS[exc.reason], private=True)
        return None
    log.info(
        "file read for sharing",
        extra={"kind": kind.value, "bytes": len(fetched.data), "cut": extracted.cut},
    )
    return SharedFile(
        name=fetched.name or name,
        text=extracted.text,
        title=extracted.title,
        cut=extracted.cut,
        poster=poster,
    )


def _too_big(ctx: CommandContext, size: int | None) -> None:
    log.info("share refused: file too big", extra={"bytes": size})
    ctx.say("kb.share_file_too_big", limit=MAX_FILE_BYTES // _MEGABYTE, private=True)


__all__ = ["MAX_CHARS", "SharedFile", "read_shared_file"]
