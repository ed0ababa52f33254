"""/share replying to a document: its poster or a moderator proposes its text, which waits
for approval like a shared link; everyone else, and every file that cannot be read, gets a
reply in their language and a log line."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from facilitator.domain.errors import FileTooLarge, FileUnavailable
from facilitator.domain.events import CommandInvoked, FileRef, Origin, ReplyTarget
from facilitator.domain.model import Platform, PlatformUser, Role
from facilitator.features.knowledge.domain import ItemStatus, ItemType, KnowledgeItem
from facilitator.features.knowledge.extract import MAX_FILE_BYTES
from facilitator.features.knowledge.ports import KnowledgeRepository
from facilitator.ports import FetchedFile
from tests.conftest import Harness
from tests.unit.knowledge.test_extract import docx_bytes, with_member
from tests.unit.knowledge.test_ingest import minimal_pdf

PDF = FileRef("file-1", "field-visits.pdf", "application/pdf", 900)


@dataclass
class StoredFiles:
    """A platform's files by id, recording what was fetched."""

    files: dict[str, bytes] = field(default_factory=dict)
    fetched: list[str] = field(default_factory=list)
    failure: Exception | None = None

    async def fetch(self, file: FileRef, limit: int) -> FetchedFile:
        self.fetched.append(file.file_id)
        if self.failure is not None:
            raise self.failure
        data = self.files[file.file_id]
        if len(data) > limit:
            raise FileTooLarge(len(data), limit)
        return FetchedFile(file.name or "document", file.mime_type, data)


@pytest.fixture
def stored(harness: Harness) -> StoredFiles:
    files = StoredFiles({"file-1": minimal_pdf("Budget a daily allowance per person")})
    harness.app.services.files[Platform.CONSOLE] = files
    return files


async def share(
    harness: Harness,
    user: str,
    note: str = "",
    *,
    file: FileRef | None = PDF,
    poster: str = "ana",
    locale: str = "en",
) -> list[str]:
    harness.seq += 1
    origin = Origin(
        platform=Platform.CONSOLE,
        event_id=f"share:{harness.seq}",
        chat_id="demo",
        user=PlatformUser(Platform.CONSOLE, user, user.title(), locale),
        occurred_at=datetime(2026, 11, 2, 12, tzinfo=UTC),
        message_id=f"t:{harness.seq}",
    )
    target = ReplyTarget("t:1", poster, text="here is the guide", file=file)
    return await harness.dispatch(CommandInvoked(origin, "share", note, reply_to=target))


async def proposals(harness: Harness) -> list[KnowledgeItem]:
    community = await harness.community()
    async with harness.app.uow_factory() as uow:
        repo = uow.repo(KnowledgeRepository)
        return await repo.in_scope(community.id, [ItemStatus.PROPOSED])


async def members(harness: Harness, *users: str) -> None:
    await harness.community()
    for user in users:
        await harness.say("hello everyone", user=user)


async def test_the_poster_proposes_the_text_of_their_pdf_and_the_file_is_not_kept(
    harness: Harness, stored: StoredFiles
) -> None:
    await members(harness, "ana")
    [reply] = await share(harness, "ana", "#budgets Field visit guide")
    [item] = await proposals(harness)
    assert reply == (
        f"Thank you! The text of field-visits.pdf (35 characters) is waiting for a "
        f"moderator's review as #{item.id}. Only the text is kept in the repository, not the "
        "file itself."
    )
    assert item.body == "Budget a daily allowance per person"
    assert (item.title, item.theme, item.type) == (
        "Field visit guide",
        "budgets",
        ItemType.DOCUMENT,
    )
    assert item.source == "field-visits.pdf" and item.author_id is None
    assert stored.fetched == ["file-1"]


async def test_another_member_is_refused_in_their_language_and_it_is_logged(
    harness: Harness, stored: StoredFiles, caplog: pytest.LogCaptureFixture
) -> None:
    await members(harness, "ana", "bruno")
    with caplog.at_level(logging.WARNING):
        [reply] = await share(harness, "bruno", locale="es")
    assert reply == (
        "Solo quien publicó ese archivo, o alguien de la moderación, "
        "puede proponerlo para el repositorio."
    )
    assert "share refused: the file is another member's" in caplog.messages
    assert stored.fetched == [] and await proposals(harness) == []


async def test_a_moderator_proposes_a_members_file_and_the_member_is_its_author(
    harness: Harness, stored: StoredFiles
) -> None:
    await members(harness, "ana", "bruno")
    await harness.grant("bruno", Role.MODERATOR)
    [reply] = await share(harness, "bruno")
    [item] = await proposals(harness)
    assert reply.startswith("Thank you! The text of field-visits.pdf")
    async with harness.app.uow_factory() as uow:
        ana = await uow.members.identity(Platform.CONSOLE, "ana")
    assert ana is not None and item.author_id == ana.identity_id
    assert item.title == "field-visits"  # no note, no title in the PDF: the file's name


async def test_each_unusable_file_gets_its_own_reply(
    harness: Harness, stored: StoredFiles, caplog: pytest.LogCaptureFixture
) -> None:
    await members(harness, "ana")
    stored.files["broken"] = b"%PDF-1.4\nthis is not a pdf"
    cases = [
        (None, "That message has no document."),
        (FileRef("x", "photo.jpg", "image/jpeg", 10), "I can only read PDF and DOCX files."),
        (FileRef("x", "big.pdf", "application/pdf", MAX_FILE_BYTES + 1), "That file is too big"),
        (FileRef("broken", "broken.pdf", "application/pdf"), "I could not read that file"),
    ]
    with caplog.at_level(logging.INFO):
        for file, expected in cases:
            [reply] = await share(harness, "ana", file=file)
            assert reply.startswith(expected), (file, reply)
        stored.failure = FileUnavailable("gone")
        [reply] = await share(harness, "ana")
        assert reply.startswith("I could not get that file from the chat just now.")
    assert stored.fetched == ["broken", "file-1"]  # the others were refused before fetching
    assert await proposals(harness) == []
    for line in (
        "share refused: the replied message has no file",
        "share refused: unsupported file type",
        "share refused: file too big",
        "share refused: no text from the file",
        "share refused: file not fetched",
    ):
        assert line in caplog.messages


async def test_a_long_document_is_cut_and_the_member_is_told(
    harness: Harness, stored: StoredFiles
) -> None:
    await members(harness, "ana")
    stored.files["long"] = docx_bytes(*["word " * 2000] * 21)
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    [proposed, cut] = await share(harness, "ana", file=FileRef("long", "long.docx", docx_type))
    assert "(200,000 characters)" in proposed
    assert (
        cut == "The document was longer than 200,000 characters, so only its beginning was kept."
    )
    [item] = await proposals(harness)
    assert len(item.body) == 200_000


async def test_without_a_file_or_a_link_share_still_asks_for_the_link(harness: Harness) -> None:
    await members(harness, "ana")
    [missing] = await harness.say("/share", user="ana")
    assert missing == "Something is missing: web address."
    [wrong] = await harness.say("/share #budgets guide", user="ana")
    assert wrong.startswith('"#budgets" is not a web address.')


async def test_a_zip_bomb_docx_is_refused_with_its_own_reply(
    harness: Harness, stored: StoredFiles
) -> None:
    await members(harness, "ana")
    stored.files["bomb"] = with_member(docx_bytes("Harmless"), "word/media/a.bin", bytes(5 << 20))
    docx_type = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    [reply] = await share(harness, "ana", file=FileRef("bomb", "bomb.docx", docx_type))
    assert reply.startswith("That document would unpack to far more than its size")
    assert await proposals(harness) == []


async def test_a_file_the_platform_did_not_describe_is_judged_once_fetched(
    harness: Harness, stored: StoredFiles
) -> None:
    await members(harness, "ana")
    stored.files["bare"] = minimal_pdf("A guide without a name")
    [refused] = await share(harness, "ana", file=FileRef("bare"))
    # Fetched as "document" with no type: still nothing it can read.
    assert refused.startswith("I can only read PDF and DOCX files.")
    assert stored.fetched == ["bare"]
