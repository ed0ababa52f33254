"""The text of a document posted in chat (PDF, DOCX), read within limits and off the loop."""

from __future__ import annotations

import asyncio
import io
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import PurePath

from facilitator.features.knowledge.ingest import DocumentTooLong, docx_text, pdf_text

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_PAGES = 200
MAX_CHARS = 200_000
TIMEOUT_SECONDS = 30.0
# A DOCX is a zip archive: what its members unpack to is checked before any XML is parsed.
MAX_UNPACKED_BYTES = 50 * 1024 * 1024
# Word's XML compresses well, but not a thousandfold; a bomb's members do.
MAX_RATIO = 100
MAX_MEMBERS = 2_000
_SMALL_MEMBER = 1024 * 1024

_PDF_TYPES = frozenset({"application/pdf", "application/x-pdf"})
_DOCX_TYPES = frozenset(
    {"application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
)


class DocumentKind(StrEnum):
    PDF = "pdf"
    DOCX = "docx"


class Refusal(StrEnum):
    """Why a document gave no text; each has its own reply."""

    UNSUPPORTED = "unsupported"
    TOO_MANY_PAGES = "too_many_pages"
    UNREADABLE = "unreadable"
    ZIP_BOMB = "zip_bomb"
    EMPTY = "empty"
    TIMEOUT = "timeout"


class ExtractionRefused(Exception):
    def __init__(self, reason: Refusal, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Extracted:
    """A document's text (cut to `MAX_CHARS` when longer: `cut` says so) and its title."""

    text: str
    title: str | None
    cut: bool


def kind_of(name: str | None, mime_type: str | None) -> DocumentKind | None:
    """PDF or DOCX, by the type the platform gave or else by the name's suffix."""
    mime = (mime_type or "").split(";")[0].strip().lower()
    if mime in _PDF_TYPES:
        return DocumentKind.PDF
    if mime in _DOCX_TYPES:
        return DocumentKind.DOCX
    suffix = PurePath(name or "").suffix.lower()
    if suffix == ".pdf":
        return DocumentKind.PDF
    if suffix == ".docx":
        return DocumentKind.DOCX
    return None


def check_archive(data: bytes) -> None:
    """Refuse a zip whose members would unpack to too much, or too many times their size.

    The sizes are those the archive declares; zipfile then refuses to unpack a member past
    its declared size, so a lying header cannot get around the check."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise ExtractionRefused(Refusal.UNREADABLE, f"not a zip archive: {exc}") from exc
    if len(members) > MAX_MEMBERS:
        raise ExtractionRefused(Refusal.ZIP_BOMB, f"{len(members)} members")
    total = sum(member.file_size for member in members)
    if total > MAX_UNPACKED_BYTES:
        raise ExtractionRefused(Refusal.ZIP_BOMB, f"unpacks to {total} bytes")
    for member in members:
        ratio = member.file_size / max(member.compress_size, 1)
        # Small members may compress very well (an empty style sheet); only big ones matter.
        if ratio > MAX_RATIO and member.file_size > _SMALL_MEMBER:
            raise ExtractionRefused(Refusal.ZIP_BOMB, f"a member compressed {ratio:.0f}:1")


def extract_text(data: bytes, kind: DocumentKind) -> Extracted:
    """The document's text within the limits; raises `ExtractionRefused`. Blocking: call it
    through `extract`."""
    try:
        if kind is DocumentKind.PDF:
            text, title = pdf_text(io.BytesIO(data), max_pages=MAX_PAGES)
        else:
            check_archive(data)
            text, title = docx_text(io.BytesIO(data))
    except DocumentTooLong as exc:
        raise ExtractionRefused(Refusal.TOO_MANY_PAGES, str(exc)) from exc
    except ValueError as exc:
        raise ExtractionRefused(Refusal.UNREADABLE, str(exc)) from exc
    text = text.strip()
    if not text:
        raise ExtractionRefused(Refusal.EMPTY)
    cut = len(text) > MAX_CHARS
    return Extracted(text[:MAX_CHARS] if cut else text, (title or "").strip() or None, cut)


async def extract(
    data: bytes, kind: DocumentKind, *, within: float = TIMEOUT_SECONDS
) -> Extracted:
    """`extract_text` in a worker thread, so the event loop keeps serving others; past
    `within` seconds the member is answered. The thread cannot be stopped and finishes on its own;
    the page and size limits bound how long that can be."""
    try:
        async with asyncio.timeout(within):
            return await asyncio.to_thread(extract_text, data, kind)
    except TimeoutError as exc:
        raise ExtractionRefused(Refusal.TIMEOUT, f"after {within}s") from exc
