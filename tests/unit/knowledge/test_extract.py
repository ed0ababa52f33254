"""Reading a posted document: PDF and DOCX text within the limits, zip bombs refused, and a
read that takes too long given up."""

from __future__ import annotations

import asyncio
import io
import threading
import zipfile

import docx
import pytest
from pypdf import PdfWriter

from facilitator.features.knowledge import extract as extraction
from facilitator.features.knowledge.extract import (
    MAX_CHARS,
    MAX_PAGES,
    DocumentKind,
    Extracted,
    ExtractionRefused,
    Refusal,
    extract,
    extract_text,
    kind_of,
)
from tests.unit.knowledge.test_ingest import minimal_pdf


def docx_bytes(*paragraphs: str, title: str | None = None) -> bytes:
    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    for text in paragraphs:
        document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def with_member(archive: bytes, name: str, data: bytes) -> bytes:
    """The archive with one more member, deflated."""
    out = io.BytesIO(archive)
    with zipfile.ZipFile(out, "a", compression=zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr(name, data)
    return out.getvalue()


def refusal(data: bytes, kind: DocumentKind) -> Refusal:
    with pytest.raises(ExtractionRefused) as caught:
        extract_text(data, kind)
    return caught.value.reason


def test_the_kind_comes_from_the_type_or_else_the_name() -> None:
    assert kind_of("notes.bin", "application/pdf") is DocumentKind.PDF
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert kind_of(None, docx_type) is DocumentKind.DOCX
    assert kind_of("Report.DOCX", None) is DocumentKind.DOCX
    assert kind_of("guide.pdf", "application/octet-stream") is DocumentKind.PDF
    assert kind_of("photo.jpg", "image/jpeg") is None
    assert kind_of("old.doc", "application/msword") is None


def test_pdf_text_and_title_are_read() -> None:
    read = extract_text(minimal_pdf("Peer visits build trust", "Exchange guide"), DocumentKind.PDF)
    assert read == Extracted("Peer visits build trust", "Exchange guide", cut=False)


def test_docx_paragraphs_are_read() -> None:
    read = extract_text(docx_bytes("First step", "Second step"), DocumentKind.DOCX)
    assert read.text == "First step\nSecond step" and read.cut is False


def test_a_pdf_of_more_than_200_pages_is_refused_before_reading_them() -> None:
    writer = PdfWriter()
    for _ in range(MAX_PAGES + 1):
        writer.add_blank_page(width=200, height=200)
    out = io.BytesIO()
    writer.write(out)
    assert refusal(out.getvalue(), DocumentKind.PDF) is Refusal.TOO_MANY_PAGES


def test_text_longer_than_200000_characters_is_cut_and_says_so() -> None:
    paragraph = "word " * 2000  # 10,000 characters
    read = extract_text(docx_bytes(*[paragraph] * 21), DocumentKind.DOCX)
    assert read.cut is True and len(read.text) == MAX_CHARS
    assert read.text.startswith("word word")


def test_a_docx_with_a_member_that_unpacks_a_thousandfold_is_refused() -> None:
    # Five megabytes of zeros deflate to a few kilobytes: the shape of a zip bomb.
    bomb = with_member(docx_bytes("Looks harmless"), "word/media/image1.bin", bytes(5 << 20))
    assert len(bomb) < 100_000
    with pytest.raises(ExtractionRefused) as caught:
        extract_text(bomb, DocumentKind.DOCX)
    assert caught.value.reason is Refusal.ZIP_BOMB
    assert "compressed" in caught.value.detail


def test_a_docx_that_unpacks_to_more_than_the_limit_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    document = docx_bytes("An ordinary document")
    assert extract_text(document, DocumentKind.DOCX).text == "An ordinary document"
    # The same document against a smaller budget: the declared sizes alone decide.
    monkeypatch.setattr(extraction, "MAX_UNPACKED_BYTES", 1000)
    assert refusal(document, DocumentKind.DOCX) is Refusal.ZIP_BOMB


def test_damaged_and_empty_documents_are_refused() -> None:
    assert refusal(b"%PDF-1.4\nthis is not a pdf", DocumentKind.PDF) is Refusal.UNREADABLE
    assert refusal(b"PK\x03\x04 not really a zip", DocumentKind.DOCX) is Refusal.UNREADABLE
    assert refusal(docx_bytes("   "), DocumentKind.DOCX) is Refusal.EMPTY


async def test_a_read_that_takes_too_long_is_given_up_without_blocking_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    started = threading.Event()

    def stuck(data: bytes, kind: DocumentKind) -> Extracted:
        started.set()
        release.wait(10)
        return Extracted("late", None, cut=False)

    monkeypatch.setattr(extraction, "extract_text", stuck)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    running = asyncio.create_task(ticker())
    try:
        with pytest.raises(ExtractionRefused) as caught:
            await extract(b"%PDF", DocumentKind.PDF, within=0.2)
    finally:
        running.cancel()
        release.set()
    assert caught.value.reason is Refusal.TIMEOUT
    assert started.is_set()
    # The loop kept running other work while the reader was stuck in its thread.
    assert ticks > 10
