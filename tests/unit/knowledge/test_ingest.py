"""Tests for parsing repository files into knowledge items."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from textwrap import dedent

import pytest

from facilitator.features.knowledge.domain import ItemStatus, ItemType, KnowledgeItem
from facilitator.features.knowledge.ingest import (
    IngestError,
    IngestFormatError,
    export_items,
    guess_language,
    parse_directory,
    parse_path,
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def error_of(path: Path) -> IngestError:
    with pytest.raises(IngestFormatError) as caught:
        parse_path(path)
    return caught.value.error


def minimal_pdf(text: str, title: str | None = None) -> bytes:
    """A one-page PDF with a single text object, xref offsets computed exactly."""
    content = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    if title is not None:
        objects.append(b"<< /Title (" + title.encode("latin-1") + b") >>")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    info = b" /Info 6 0 R" if title is not None else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info)
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at
    return bytes(out)


# --- Markdown -----------------------------------------------------------------------------


def test_markdown_front_matter_fills_every_field_and_the_text_becomes_the_body(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "critical-mass.md",
        """
        ---
        id: en-lesson-critical-mass
        type: toolkit
        title: Reaching critical mass
        lang: en
        theme: engagement
        tags: [members, growth]
        alternates: ["How many members do we need?"]
        url: https://example.org/critical-mass
        source: Network handbook
        owner: ana
        review_by: 2027-03-31
        ---

        A community needs a core of active members.

        Second paragraph.
        """,
    )

    [item] = parse_path(path)

    assert item == KnowledgeItem(
        key="en-lesson-critical-mass",
        type=ItemType.TOOLKIT,
        title="Reaching critical mass",
        body="A community needs a core of active members.\n\nSecond paragraph.",
        lang="en",
        theme="engagement",
        tags=("members", "growth"),
        alternates=("How many members do we need?",),
        url="https://example.org/critical-mass",
        source="Network handbook",
        owner="ana",
        review_by=date(2027, 3, 31),
    )


def test_markdown_type_defaults_to_lesson(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "---\nid: a\ntitle: A\nlang: pt\n---\nTexto.\n")

    [item] = parse_path(path)

    assert item.type is ItemType.LESSON
    assert item.status is ItemStatus.PUBLISHED


def test_markdown_faq_uses_the_title_as_question_and_the_body_as_answer(tmp_path: Path) -> None:
    path = write(tmp_path / "q.md", "---\nid: q\ntype: faq\ntitle: Why?\nlang: en\n---\nBecause.")

    [item] = parse_path(path)

    assert (item.type, item.title, item.body) == (ItemType.FAQ, "Why?", "Because.")


def test_markdown_without_front_matter_is_reported_on_line_1(tmp_path: Path) -> None:
    error = error_of(write(tmp_path / "a.md", "# Just a heading\n\nText.\n"))

    assert error.line == 1
    assert "front matter" in error.message


def test_markdown_front_matter_not_closed_is_reported(tmp_path: Path) -> None:
    error = error_of(write(tmp_path / "a.md", "---\nid: a\ntitle: A\nlang: en\n\nBody text.\n"))

    assert error.line == 1
    assert "not closed" in error.message


def test_markdown_front_matter_syntax_error_gives_the_file_line(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "---\nid: a\ntitle: [unclosed\nlang: en\n---\nBody\n")

    error = error_of(path)

    assert error.message.startswith("YAML syntax error")
    # The parser notices the problem on the line after the unclosed bracket (file line 4).
    assert error.line == 4


def test_markdown_front_matter_error_lines_count_the_opening_dashes(tmp_path: Path) -> None:
    path = write(tmp_path / "a.md", "---\nid: a\ntitle: A\nlang: fr\n---\nBody\n")

    error = error_of(path)

    assert error.line == 4
    assert "unsupported lang 'fr'" in error.message


# --- YAML -----------------------------------------------------------------------------------


def test_yaml_list_of_faqs_accepts_question_answer_and_title_body(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.yaml",
        """
        - id: f1
          question: What is a community of practice?
          answer: A group that learns together.
          lang: en
        - id: f2
          title: Who moderates?
          body: The facilitator.
          lang: en
        """,
    )

    items = parse_path(path)

    assert [(i.key, i.type, i.title, i.body) for i in items] == [
        ("f1", ItemType.FAQ, "What is a community of practice?", "A group that learns together."),
        ("f2", ItemType.FAQ, "Who moderates?", "The facilitator."),
    ]


def test_yaml_items_inherit_file_defaults_and_may_override_them(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.yml",
        """
        lang: es
        theme: webinars
        owner: bruno
        review_by: 2027-01-15
        items:
          - id: a
            question: ¿Cuánto dura un webinar?
            answer: Una hora.
          - id: b
            question: How long?
            answer: One hour.
            lang: en
            theme: engagement
            type: lesson
        """,
    )

    first, second = parse_path(path)

    assert (first.lang, first.theme, first.owner, first.review_by, first.type) == (
        "es",
        "webinars",
        "bruno",
        date(2027, 1, 15),
        ItemType.FAQ,
    )
    assert (second.lang, second.theme, second.owner, second.type) == (
        "en",
        "engagement",
        "bruno",
        ItemType.LESSON,
    )


def test_yaml_file_level_type_default_applies_to_items(tmp_path: Path) -> None:
    path = write(
        tmp_path / "links.yaml",
        """
        type: link
        lang: en
        items:
          - id: l1
            title: Example
            url: https://example.org/a
        """,
    )

    [item] = parse_path(path)

    assert item.type is ItemType.LINK
    assert item.body == ""


def test_empty_yaml_file_gives_no_items(tmp_path: Path) -> None:
    assert parse_path(write(tmp_path / "faq.yaml", "# nothing yet\n")) == []


@pytest.mark.parametrize(
    ("item_lines", "line", "fragment"),
    [
        ("  question: Q?\n  answer: A.\n  lang: en\n", 2, "needs an 'id'"),
        ("  id: x\n  answer: A.\n  lang: en\n", 2, "missing a 'question'"),
        ("  id: x\n  question: Q?\n  lang: en\n", 2, "needs an answer"),
        ("  id: x\n  question: Q?\n  answer: A.\n", 2, "missing 'lang'"),
        ("  id: x\n  question: Q?\n  answer: A.\n  lang: en\n  type: quiz\n", 6, "unknown type"),
        ("  id: x\n  question: Q?\n  answer: A.\n  lang: de\n", 5, "unsupported lang 'de'"),
        (
            "  id: x\n  question: Q?\n  answer: A.\n  lang: en\n  review_by: 31/12/2027\n",
            6,
            "YYYY-MM-DD",
        ),
        (
            "  id: x\n  question: Q?\n  answer: A.\n  lang: en\n  review_by: 2027-02-30\n",
            6,
            "YYYY-MM-DD",
        ),
        (
            "  id: x\n  question: Q?\n  answer: A.\n  lang: en\n  url: ftp://example.org/x\n",
            6,
            "http(s)",
        ),
        ("  id: x\n  question: Q?\n  answer: A.\n  lang: en\n  url: https://\n", 6, "http(s)"),
        ("  id: x\n  question: Q?\n  answer: A.\n  lang: en\n  colour: red\n", 6, "unknown key"),
        ("  id: x\n  question: Q?\n  answer: A.\n  lang: en\n  tags: solo\n", 6, "a list"),
    ],
    ids=[
        "missing-id",
        "missing-question",
        "missing-answer",
        "missing-lang",
        "unknown-type",
        "bad-lang",
        "bad-date-format",
        "impossible-date",
        "non-http-url",
        "url-without-host",
        "unknown-key",
        "tags-not-a-list",
    ],
)
def test_yaml_validation_error_names_the_problem_and_its_line(
    tmp_path: Path, item_lines: str, line: int, fragment: str
) -> None:
    path = tmp_path / "faq.yaml"
    # A lone "-" opens the item, so the item's first key is on line 2.
    path.write_text("-\n" + item_lines, encoding="utf-8")

    error = error_of(path)

    assert fragment in error.message
    assert error.line == line
    assert error.path == path


def test_yaml_syntax_error_reports_the_parser_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.yaml",
        """
        - id: a
          question: Q?
          answer: A.
           lang: en
        """,
    )

    error = error_of(path)

    assert error.message.startswith("YAML syntax error")
    assert error.line == 4


def test_yaml_duplicate_id_in_one_file_is_reported_on_the_second_item(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.yaml",
        """
        - {id: a, question: Q1, answer: A1., lang: en}
        - {id: a, question: Q2, answer: A2., lang: en}
        """,
    )

    error = error_of(path)

    assert error.line == 2
    assert "duplicate id 'a'" in error.message


def test_yaml_duplicate_key_in_one_item_is_reported(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.yaml",
        "- id: a\n  question: Q?\n  answer: first\n  answer: second\n  lang: en\n",
    )

    error = error_of(path)

    assert error.line == 4
    assert "duplicate key 'answer'" in error.message


def test_yaml_unknown_file_level_key_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "faq.yaml", "lang: en\nlanguage: en\nitems: []\n")

    error = error_of(path)

    assert error.line == 2
    assert "language" in error.message


# --- TOML -----------------------------------------------------------------------------------


def test_toml_items_inherit_defaults(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.toml",
        """
        [defaults]
        lang = "pt"
        theme = "monitoring"
        review_by = 2026-06-30

        [[item]]
        id = "t1"
        question = "Como medir o engajamento?"
        answer = "Conte quem participa."
        tags = ["métricas"]

        [[item]]
        id = "t2"
        title = "Relatório"
        body = "Texto."
        type = "document"
        review_by = "2027-01-01"
        """,
    )

    first, second = parse_path(path)

    assert (first.key, first.type, first.lang, first.theme, first.tags) == (
        "t1",
        ItemType.FAQ,
        "pt",
        "monitoring",
        ("métricas",),
    )
    assert first.review_by == date(2026, 6, 30)
    assert (second.type, second.review_by) == (ItemType.DOCUMENT, date(2027, 1, 1))


def test_toml_syntax_error_reports_the_line(tmp_path: Path) -> None:
    path = write(tmp_path / "faq.toml", '[[item]]\nid = "a"\nquestion = = "Q?"\n')

    error = error_of(path)

    assert error.message.startswith("TOML syntax error")
    assert error.line == 3


def test_toml_validation_error_points_at_the_key_line(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.toml",
        """
        [[item]]
        id = "a"
        question = "Q?"
        answer = "A."
        lang = "en"

        [[item]]
        id = "b"
        question = "Q?"
        answer = "A."
        lang = "en"
        type = "podcast"
        """,
    )

    error = error_of(path)

    assert error.line == 12
    assert "item 'b': unknown type 'podcast'" in error.message


def test_toml_datetime_is_not_accepted_as_review_date(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.toml",
        '[[item]]\nid = "a"\nquestion = "Q?"\nanswer = "A."\nlang = "en"\n'
        "review_by = 2027-01-01T10:00:00\n",
    )

    error = error_of(path)

    assert error.line == 6
    assert "YYYY-MM-DD" in error.message


# --- Documents ------------------------------------------------------------------------------


def test_text_file_becomes_a_document_keyed_by_its_relative_path(tmp_path: Path) -> None:
    write(
        tmp_path / "notes" / "visita.txt",
        """

        Visita de pares a Santiago
        El equipo espejo revisó los acuerdos y las lecciones de la visita.
        """,
    )

    result = parse_directory(tmp_path)

    [item] = result.items
    assert item.key == "file:notes/visita.txt"
    assert item.type is ItemType.DOCUMENT
    assert item.title == "Visita de pares a Santiago"
    assert item.body == "El equipo espejo revisó los acuerdos y las lecciones de la visita."
    assert item.lang == "es"


def test_empty_text_file_is_an_error(tmp_path: Path) -> None:
    assert "empty" in error_of(write(tmp_path / "a.txt", "\n  \n")).message


def test_file_that_is_not_utf8_reports_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"Title\nfine\ncaf\xe9\n")

    error = error_of(path)

    assert error.line == 3
    assert "UTF-8" in error.message


def test_pdf_text_is_extracted_and_the_metadata_title_is_used(tmp_path: Path) -> None:
    path = tmp_path / "docs" / "guide.pdf"
    path.parent.mkdir()
    path.write_bytes(minimal_pdf("Peer visits build trust between teams", "Exchange guide"))

    [item] = parse_directory(tmp_path).items

    assert item.key == "file:docs/guide.pdf"
    assert item.type is ItemType.DOCUMENT
    assert item.title == "Exchange guide"
    assert "Peer visits build trust between teams" in item.body
    assert item.lang == "en"


def test_pdf_without_metadata_title_takes_its_first_line(tmp_path: Path) -> None:
    path = tmp_path / "guide.pdf"
    path.write_bytes(minimal_pdf("Lessons learned"))

    [item] = parse_path(path)

    assert item.title == "Lessons learned"
    assert item.key == "file:guide.pdf"


def test_damaged_pdf_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.4\nthis is not a pdf")

    assert "PDF" in error_of(path).message


def test_docx_paragraphs_and_title_are_read(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Guia de webinars"
    document.add_paragraph("Como preparar um webinar")
    document.add_paragraph("Convide os membros com uma semana de antecedência e grave a sessão.")
    path = tmp_path / "webinars.docx"
    document.save(str(path))

    [item] = parse_path(path)

    assert item.key == "file:webinars.docx"
    assert item.title == "Guia de webinars"
    assert "grave a sessão" in item.body
    assert item.lang == "pt"


def test_docx_without_title_takes_its_first_paragraph(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = ""
    document.add_paragraph("")
    document.add_paragraph("Onboarding checklist")
    document.add_paragraph("Welcome each newcomer by name.")
    path = tmp_path / "onboarding.docx"
    document.save(str(path))

    [item] = parse_path(path)

    assert (item.title, item.body) == ("Onboarding checklist", "Welcome each newcomer by name.")


# --- Directories ----------------------------------------------------------------------------


def test_directory_walk_is_recursive_sorted_and_skips_readme_and_unknown_files(
    tmp_path: Path,
) -> None:
    write(tmp_path / "b" / "two.md", "---\nid: two\ntitle: Two\nlang: en\n---\nx\n")
    write(tmp_path / "a" / "one.md", "---\nid: one\ntitle: One\nlang: en\n---\nx\n")
    write(tmp_path / "a" / "README.md", "# About this folder\n")
    write(tmp_path / "a" / "picture.png", "not an image")
    write(tmp_path / ".git" / "x.md", "garbage")
    write(tmp_path / "c.yaml", "- {id: three, question: Q, answer: A., lang: en}\n")

    result = parse_directory(tmp_path)

    assert result.errors == []
    assert [item.key for item in result.items] == ["one", "two", "three"]


def test_malformed_file_gives_no_items_while_other_files_still_load(tmp_path: Path) -> None:
    write(
        tmp_path / "a.yaml",
        """
        - {id: good, question: Q, answer: A., lang: en}
        - {id: bad, question: Q, answer: A., lang: xx}
        """,
    )
    write(tmp_path / "b.md", "---\nid: fine\ntitle: Fine\nlang: es\n---\nTexto.\n")

    result = parse_directory(tmp_path)

    assert [item.key for item in result.items] == ["fine"]
    message = "item 'bad': unsupported lang 'xx' (expected one of en, es, pt)"
    assert result.errors == [IngestError(tmp_path / "a.yaml", 2, message)]
    assert str(result.errors[0]).startswith(f"{tmp_path / 'a.yaml'}:2: ")


def test_id_repeated_in_a_later_file_rejects_that_file(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", "- {id: same, question: Q, answer: A., lang: en}\n")
    write(
        tmp_path / "b.yaml",
        "- {id: other, question: Q, answer: A., lang: en}\n"
        "- {id: same, question: Q, answer: A., lang: en}\n",
    )

    result = parse_directory(tmp_path)

    assert [item.key for item in result.items] == ["same"]
    [error] = result.errors
    assert (error.path, error.line) == (tmp_path / "b.yaml", 2)
    assert error.message == "duplicate id 'same': already defined in a.yaml"


def test_ingesting_the_same_files_twice_gives_the_same_keys(tmp_path: Path) -> None:
    write(tmp_path / "notes.txt", "Title\nBody\n")
    write(tmp_path / "faq.yaml", "- {id: f, question: Q, answer: A., lang: en}\n")

    first = parse_directory(tmp_path).items
    second = parse_directory(tmp_path).items

    assert [i.key for i in first] == ["f", "file:notes.txt"]
    assert first == second


def test_missing_directory_is_reported(tmp_path: Path) -> None:
    result = parse_directory(tmp_path / "nowhere")

    assert result.items == []
    assert result.errors[0].path == tmp_path / "nowhere"


def test_unknown_extension_is_skipped_by_parse_path(tmp_path: Path) -> None:
    assert parse_path(write(tmp_path / "slides.pptx", "binary")) == []


# --- Export ---------------------------------------------------------------------------------


def test_export_then_parse_gives_back_equal_items(tmp_path: Path) -> None:
    items = [
        KnowledgeItem(
            key="es-faq-001",
            type=ItemType.FAQ,
            title="¿Qué es una comunidad de práctica?",
            body="Un grupo que aprende junto.\n\nSegundo párrafo: con «comillas» y: dos puntos.",
            lang="es",
            theme="facilitation",
            tags=("cop", "2027"),
            alternates=("¿Qué es una CoP?", "yes"),
            url="https://example.org/cop?x=1#a",
            source="Manual",
            owner="ana",
            review_by=date(2026, 6, 30),
        ),
        KnowledgeItem(
            key="file:docs/report 2024.pdf",
            type=ItemType.DOCUMENT,
            title="2024-05-01",
            body="line with trailing spaces   \n  indented line\n#not a comment",
            lang="pt",
            status=ItemStatus.PROPOSED,
            extra={"submitted_by": "carla", "count": "3"},
        ),
        KnowledgeItem(
            key="en-link",
            type=ItemType.LINK,
            title="null",
            body="",
            lang="en",
            url="http://example.org/",
        ),
    ]
    path = tmp_path / "export.yaml"
    path.write_text(export_items(items), encoding="utf-8")

    assert parse_path(path) == items


def test_export_writes_faqs_with_question_and_answer_keys() -> None:
    item = KnowledgeItem(key="k", type=ItemType.FAQ, title="Q?", body="A.", lang="en")

    text = export_items([item])

    assert "question: Q?" in text
    assert "answer: A." in text


def test_export_of_parsed_directory_round_trips(tmp_path: Path) -> None:
    write(
        tmp_path / "in" / "faq.yaml",
        """
        lang: pt
        theme: webinars
        items:
          - id: p1
            question: Quanto tempo dura?
            answer: |
              Uma hora.
              Com perguntas no final.
            review_by: 2027-05-01
        """,
    )
    write(tmp_path / "in" / "l.md", "---\nid: l\ntitle: L\nlang: en\n---\nBody **bold**.\n")
    items = parse_directory(tmp_path / "in").items
    out = tmp_path / "out.yaml"
    out.write_text(export_items(items), encoding="utf-8")

    assert parse_path(out) == items


# --- Language guess -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("The facilitator keeps the conversation going and welcomes new members.", "en"),
        ("El facilitador mantiene viva la conversación y da la bienvenida a los nuevos.", "es"),
        ("O facilitador mantém a conversa viva e dá as boas-vindas aos novos membros.", "pt"),
        ("12345 !!!", "en"),
    ],
)
def test_guess_language_recognises_english_spanish_and_portuguese(text: str, lang: str) -> None:
    assert guess_language(text) == lang


def test_translation_of_links_an_item_to_its_original_and_survives_export(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path / "faq.yaml",
        """
        lang: pt
        items:
          - id: pt-faq-009
            translation_of: en-faq-009
            question: Quem modera o grupo?
            answer: Ana e Bruno.
        """,
    )
    [item] = parse_path(path)
    assert item.translation_of == "en-faq-009"
    exported = write(tmp_path / "again" / "faq.yaml", export_items([item]))
    assert parse_path(exported)[0].translation_of == "en-faq-009"


def test_an_item_cannot_be_a_translation_of_itself(tmp_path: Path) -> None:
    path = write(
        tmp_path / "faq.yaml",
        """
        - id: pt-faq-009
          translation_of: pt-faq-009
          lang: pt
          question: Quem modera o grupo?
          answer: Ana e Bruno.
        """,
    )
    error = error_of(path)
    assert "'translation_of' names the item itself" in error.message and error.line == 2
