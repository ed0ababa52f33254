"""Parse repository files (Markdown, YAML, TOML, text, PDF, DOCX) into knowledge items."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import yaml

from facilitator.domain.text import printable
from facilitator.features.knowledge.domain import ItemStatus, ItemType, KnowledgeItem
from facilitator.features.knowledge.text import guess_language
from facilitator.localtime import parse_date

__all__ = [
    "LANGUAGES",
    "SUPPORTED_SUFFIXES",
    "DocumentTooLong",
    "IngestError",
    "IngestFormatError",
    "IngestResult",
    "docx_text",
    "export_items",
    "guess_language",
    "parse_directory",
    "parse_path",
    "pdf_text",
]

LANGUAGES: tuple[str, ...] = ("en", "es", "pt")

_MARKDOWN = frozenset({".md", ".markdown"})
_YAML = frozenset({".yaml", ".yml"})
_TOML = frozenset({".toml"})
_TEXT = frozenset({".txt"})
_PDF = frozenset({".pdf"})
_DOCX = frozenset({".docx"})
SUPPORTED_SUFFIXES: frozenset[str] = _MARKDOWN | _YAML | _TOML | _TEXT | _PDF | _DOCX

# Keys an item may carry. Anything else is reported: a silently ignored typo such as
# `review-by` would otherwise leave an item without its review date and nobody would notice.
_COMMON_KEYS = frozenset(
    {
        "id",
        "type",
        "title",
        "question",
        "lang",
        "theme",
        "tags",
        "alternates",
        "url",
        "source",
        "owner",
        "review_by",
        "translation_of",
        "status",
        "extra",
    }
)
_ITEM_KEYS = _COMMON_KEYS | {"answer", "body"}
_FRONT_MATTER_KEYS = _COMMON_KEYS
_DEFAULT_KEYS = frozenset({"lang", "theme", "type", "owner", "review_by"})

_TOML_LINE_RE = re.compile(r"at line (\d+)")
_TOML_ITEM_HEADER_RE = re.compile(r"^\s*\[\[\s*item\s*\]\]\s*(#.*)?$")
_TOML_DEFAULTS_HEADER_RE = re.compile(r"^\s*\[\s*defaults\s*\]\s*(#.*)?$")
_TOML_HEADER_RE = re.compile(r"^\s*\[")
_MAX_TITLE = 200

# Dates stay strings while loading YAML so that an impossible date such as 2027-02-30 becomes a
# validation error with a line number instead of a ValueError raised inside PyYAML, and so the
# exporter can write plain dates that this loader reads back unchanged.
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


def _without_timestamps(
    resolvers: Mapping[Any, list[tuple[str, Any]]],
) -> dict[Any, list[tuple[str, Any]]]:
    return {
        first: [(tag, regexp) for tag, regexp in entries if tag != _TIMESTAMP_TAG]
        for first, entries in resolvers.items()
    }


def _represent_str(dumper: Any, data: str) -> Any:
    # Literal blocks keep multi-line answers readable in exported files.
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Loader = type(
    "_Loader",
    (yaml.SafeLoader,),
    {"yaml_implicit_resolvers": _without_timestamps(yaml.SafeLoader.yaml_implicit_resolvers)},
)
_representers: dict[Any, Any] = {**yaml.SafeDumper.yaml_representers, str: _represent_str}
_Dumper = type(
    "_Dumper",
    (yaml.SafeDumper,),
    {
        "yaml_implicit_resolvers": _without_timestamps(yaml.SafeDumper.yaml_implicit_resolvers),
        "yaml_representers": _representers,
    },
)


@dataclass(frozen=True)
class IngestError:
    """A file that could not be ingested; `line` is 1-based when the parser knows it."""

    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line is not None else str(self.path)
        return f"{where}: {self.message}"


@dataclass
class IngestResult:
    """Items from every well-formed file and one error per malformed file."""

    items: list[KnowledgeItem] = field(default_factory=list)
    errors: list[IngestError] = field(default_factory=list)


class IngestFormatError(ValueError):
    """Raised by `parse_path` when a file is malformed; carries the `IngestError`."""

    def __init__(self, error: IngestError) -> None:
        super().__init__(str(error))
        self.error = error


class _ParseError(Exception):
    """A problem inside one file; turned into an `IngestError` once the path is attached."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


@dataclass
class _Record:
    """Raw key/value pairs of one item (or of the file defaults) with their source lines."""

    fields: dict[str, object]
    line: int | None = None
    key_lines: dict[str, int] = field(default_factory=dict)

    def line_of(self, key: str) -> int | None:
        return self.key_lines.get(key, self.line)


# --------------------------------------------------------------------------------------------
# Public API


def parse_path(path: Path, root: Path | None = None) -> list[KnowledgeItem]:
    """Parse one file into items.

    Files with an unsupported extension and files named README.md give an empty list.
    `root` is the folder that file-derived keys (``file:<relative path>``) are relative to;
    it defaults to the file's own folder.
    Raises `IngestFormatError` when the file is malformed; no partial result is returned.
    """
    return [item for item, _line in _parse_located(path, root)]


def parse_directory(root: Path) -> IngestResult:
    """Parse every supported file below `root`, in sorted order.

    A malformed file adds one error and no items; the other files still load. An id already
    seen earlier in the same run makes the later file malformed.
    """
    result = IngestResult()
    if root.is_file():
        files: Iterable[Path] = [root]
        base = root.parent
    elif root.is_dir():
        files = _walk(root)
        base = root
    else:
        result.errors.append(IngestError(root, None, "no such file or directory"))
        return result

    seen: dict[str, Path] = {}
    for path in files:
        try:
            located = _parse_located(path, base)
        except IngestFormatError as exc:
            result.errors.append(exc.error)
            continue
        clash = next(((item, line) for item, line in located if item.key in seen), None)
        if clash is not None:
            item, line = clash
            first = _relative(seen[item.key], base)
            message = f"duplicate id '{item.key}': already defined in {first}"
            result.errors.append(IngestError(path, line, message))
            continue
        for item, _line in located:
            seen[item.key] = path
            result.items.append(item)
    return result


def export_items(items: Iterable[KnowledgeItem]) -> str:
    """Write items as a YAML document that `parse_path` reads back to equal items.

    Timestamps are not written: they belong to the database, not to the repository files.
    """
    document = {"items": [_item_to_mapping(item) for item in items]}
    dumped: str = yaml.dump(
        document,
        Dumper=_Dumper,
        allow_unicode=True,
        sort_keys=False,
        default_flow_style=False,
        width=99,
    )
    return "# Knowledge items exported by Facilitator (kb export).\n" + dumped


# --------------------------------------------------------------------------------------------
# Files


def _walk(root: Path) -> list[Path]:
    found: list[Path] = []
    # os.walk does not follow symlinked folders, so a link loop cannot hang an ingest run.
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        # Hidden files and Office lock files (~$report.docx) are never content.
        found.extend(Path(folder) / name for name in files if not name.startswith((".", "~$")))
    # Sorting whole relative paths gives one order whatever the file system returns, so
    # "which file defined this id first" has the same answer on every machine.
    return sorted(found, key=lambda path: path.relative_to(root).parts)


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _parse_located(path: Path, root: Path | None) -> list[tuple[KnowledgeItem, int | None]]:
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES or path.name.lower() == "readme.md":
        return []
    rel = _relative(path, root if root is not None else path.parent)
    located: list[tuple[KnowledgeItem, int | None]]
    try:
        if suffix in _PDF:
            located = [(_parse_pdf(path, rel), None)]
        elif suffix in _DOCX:
            located = [(_parse_docx(path, rel), None)]
        else:
            text = _read_text(path)
            if suffix in _MARKDOWN:
                located = [_parse_markdown(text)]
            elif suffix in _YAML:
                located = _parse_yaml_items(text)
            elif suffix in _TOML:
                located = _parse_toml_items(text)
            else:
                located = [(_parse_text(text, rel), None)]
        located = [(_printable_item(item), line) for item, line in located]
        _check_unique(located)
    except _ParseError as exc:
        raise IngestFormatError(IngestError(path, exc.line, exc.message)) from exc
    return located


def _printable_item(item: KnowledgeItem) -> KnowledgeItem:
    """The item with its texts as inbound text is kept (`domain.text.printable`).

    Files carry control characters too: a NUL from a PDF's text layer or a YAML `"\\0"`
    escape, which PostgreSQL cannot store, and terminal escapes that `kb export` would print."""

    def optional(value: str | None) -> str | None:
        return printable(value) if value is not None else None

    return replace(
        item,
        key=printable(item.key),
        title=printable(item.title),
        body=printable(item.body),
        lang=printable(item.lang),
        theme=printable(item.theme),
        tags=tuple(printable(tag) for tag in item.tags),
        alternates=tuple(printable(text) for text in item.alternates),
        url=optional(item.url),
        source=optional(item.source),
        owner=optional(item.owner),
        extra={printable(k): printable(v) for k, v in item.extra.items()},
    )


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _ParseError(f"cannot read file: {exc.strerror or exc}") from exc
    try:
        # utf-8-sig drops the byte-order mark that Windows editors like to add.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise _ParseError("file is not valid UTF-8 text", line) from exc
    # Bodies should not depend on the editor that saved the file (line ends, stray controls
    # that would stop the YAML and TOML parsers).
    return printable(text)


def _check_unique(located: list[tuple[KnowledgeItem, int | None]]) -> None:
    seen: set[str] = set()
    for item, line in located:
        if item.key in seen:
            raise _ParseError(f"duplicate id '{item.key}' in this file", line)
        seen.add(item.key)


# --------------------------------------------------------------------------------------------
# YAML and Markdown


def _load_yaml(text: str, line_offset: int = 0) -> tuple[Any, object]:
    """Return the node tree (for line numbers) and the plain data of one YAML document."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data: object = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + line_offset if mark is not None else None
        detail = exc.problem or "invalid YAML"
        if exc.context:
            detail = f"{detail} ({exc.context})"
        raise _ParseError(f"YAML syntax error: {detail}", line) from exc
    except yaml.YAMLError as exc:
        raise _ParseError(f"YAML error: {exc}") from exc
    finally:
        loader.dispose()
    if node is not None:
        _check_duplicate_keys(node, line_offset)
    return node, data


def _check_duplicate_keys(node: Any, line_offset: int) -> None:
    # PyYAML keeps the last of two equal keys without a word; in a hand-edited FAQ that
    # usually means a pasted answer overwrote another one.
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    line = key_node.start_mark.line + 1 + line_offset
                    raise _ParseError(f"duplicate key '{key_node.value}'", line)
                seen.add(key_node.value)
            _check_duplicate_keys(value_node, line_offset)
    elif isinstance(node, yaml.SequenceNode):
        for child in node.value:
            _check_duplicate_keys(child, line_offset)


def _node_line(node: Any, line_offset: int) -> int:
    line: int = node.start_mark.line + 1 + line_offset
    return line


def _key_lines(node: Any, line_offset: int) -> dict[str, int]:
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _value in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                lines[str(key_node.value)] = _node_line(key_node, line_offset)
    return lines


def _mapping_value_node(node: Any, key: str) -> Any:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.value == key:
            return value_node
    return None


def _parse_yaml_items(text: str) -> list[tuple[KnowledgeItem, int | None]]:
    node, data = _load_yaml(text)
    if data is None:
        return []
    defaults = _Record({})
    if isinstance(data, dict):
        unknown = sorted(str(k) for k in data if k != "items" and k not in _DEFAULT_KEYS)
        if unknown:
            key_lines = _key_lines(node, 0)
            raise _ParseError(
                f"unknown file-level key '{unknown[0]}' (expected 'items' and optional "
                f"defaults: {', '.join(sorted(_DEFAULT_KEYS))})",
                key_lines.get(unknown[0]),
            )
        if "items" not in data:
            raise _ParseError("missing key 'items': expected a list of items under 'items'", 1)
        defaults = _Record({k: v for k, v in data.items() if k != "items"}, 1, _key_lines(node, 0))
        entries = data["items"]
        items_node = _mapping_value_node(node, "items")
        if entries is None:
            return []
    elif isinstance(data, list):
        entries, items_node = data, node
    else:
        raise _ParseError("expected a list of items or a mapping with an 'items' list", 1)
    if not isinstance(entries, list):
        raise _ParseError("'items' must be a list", _node_line(items_node, 0))

    located: list[tuple[KnowledgeItem, int | None]] = []
    for entry, entry_node in zip(entries, items_node.value, strict=True):
        line = _node_line(entry_node, 0)
        if not isinstance(entry, dict):
            raise _ParseError("each item must be a mapping of keys to values", line)
        record = _Record(_str_keys(entry), line, _key_lines(entry_node, 0))
        item = _build_item(record, defaults, ItemType.FAQ, _ITEM_KEYS)
        located.append((item, line))
    return located


def _parse_markdown(text: str) -> tuple[KnowledgeItem, int | None]:
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        raise _ParseError("missing YAML front matter: the file must start with a '---' line", 1)
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == "---"), None)
    if end is None:
        raise _ParseError("front matter is not closed: add a '---' line after it", 1)
    # The opening '---' is line 1, so front-matter line n is file line n + 1.
    node, data = _load_yaml("".join(lines[1:end]), line_offset=1)
    if not isinstance(data, dict):
        raise _ParseError("front matter must be a mapping of keys to values", 2)
    record = _Record(_str_keys(data), 1, _key_lines(node, 1))
    for key in ("body", "answer"):
        if key in record.fields:
            raise _ParseError(
                f"'{key}' is not allowed in front matter: the text after it is the body",
                record.line_of(key),
            )
    body = "".join(lines[end + 1 :]).strip()
    return _build_item(record, _Record({}), ItemType.LESSON, _FRONT_MATTER_KEYS, body), 1


def _str_keys(mapping: dict[Any, Any]) -> dict[str, object]:
    return {str(k): v for k, v in mapping.items()}


# --------------------------------------------------------------------------------------------
# TOML


def _parse_toml_items(text: str) -> list[tuple[KnowledgeItem, int | None]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.14 adds `lineno`; earlier versions only put the line in the message.
        line = getattr(exc, "lineno", None)
        if not isinstance(line, int):
            match = _TOML_LINE_RE.search(str(exc))
            line = int(match.group(1)) if match else None
        raise _ParseError(f"TOML syntax error: {exc}", line) from exc

    item_lines, defaults_line, key_lines = _toml_lines(text)
    unknown = sorted(k for k in data if k not in {"defaults", "item"})
    if unknown:
        raise _ParseError(
            f"unknown top-level key '{unknown[0]}' (expected a [defaults] table "
            "and [[item]] tables)"
        )
    raw_defaults = data.get("defaults", {})
    if not isinstance(raw_defaults, dict):
        raise _ParseError("'defaults' must be a table", defaults_line)
    defaults = _Record(raw_defaults, defaults_line, key_lines.get(-1, {}))
    bad = sorted(k for k in raw_defaults if k not in _DEFAULT_KEYS)
    if bad:
        raise _ParseError(
            f"unknown default '{bad[0]}' (allowed: {', '.join(sorted(_DEFAULT_KEYS))})",
            defaults.line_of(bad[0]),
        )
    entries = data.get("item", [])
    if not isinstance(entries, list):
        raise _ParseError("'item' must be an array of tables: write each one as [[item]]")
    # Header positions are found by scanning the text; if the scan disagrees with the parser
    # (a header inside a multi-line string, say) it is safer to give no line than a wrong one.
    if len(item_lines) != len(entries):
        item_lines, key_lines = [None] * len(entries), {}
    located: list[tuple[KnowledgeItem, int | None]] = []
    for index, entry in enumerate(entries):
        line = item_lines[index]
        if not isinstance(entry, dict):
            raise _ParseError("each item must be a table", line)
        record = _Record(entry, line, key_lines.get(index, {}))
        located.append((_build_item(record, defaults, ItemType.FAQ, _ITEM_KEYS), line))
    return located


def _toml_lines(text: str) -> tuple[list[int | None], int | None, dict[int, dict[str, int]]]:
    """Locate [[item]] headers, the [defaults] header and each key line (-1 = defaults)."""
    item_lines: list[int | None] = []
    defaults_line: int | None = None
    key_lines: dict[int, dict[str, int]] = {}
    current: int | None = None
    key_re = re.compile(r"^\s*\"?([A-Za-z0-9_-]+)\"?\s*=")
    for number, line in enumerate(text.splitlines(), start=1):
        if _TOML_ITEM_HEADER_RE.match(line):
            item_lines.append(number)
            current = len(item_lines) - 1
        elif _TOML_DEFAULTS_HEADER_RE.match(line):
            defaults_line = number
            current = -1
        elif _TOML_HEADER_RE.match(line):
            current = None
        elif current is not None and (match := key_re.match(line)):
            key_lines.setdefault(current, {}).setdefault(match.group(1), number)
    return item_lines, defaults_line, key_lines


# --------------------------------------------------------------------------------------------
# Documents: text, PDF, DOCX


def _document(rel: str, text: str, title_hint: str | None, fallback_title: str) -> KnowledgeItem:
    lines = [line.strip() for line in text.strip().splitlines()]
    if not any(lines):
        raise _ParseError("no text found in the document (a scanned PDF needs OCR first)")
    first = next(i for i, line in enumerate(lines) if line)
    if title_hint and title_hint.strip():
        title, body = title_hint.strip(), text.strip()
    elif len(lines[first]) > _MAX_TITLE:
        # Text extracted without line breaks has no usable first line; the file name is better.
        title, body = fallback_title, text.strip()
    else:
        title = lines[first]
        body = "\n".join(text.strip().splitlines()[first + 1 :]).strip()
    return KnowledgeItem(
        key=f"file:{rel}",
        type=ItemType.DOCUMENT,
        title=title,
        body=body,
        lang=guess_language(text),
    )


def _parse_text(text: str, rel: str) -> KnowledgeItem:
    if not text.strip():
        raise _ParseError("file is empty")
    return _document(rel, text, None, Path(rel).stem)


class DocumentTooLong(ValueError):
    """A PDF with more pages than the caller accepts; `pages` is how many it has."""

    def __init__(self, pages: int, limit: int) -> None:
        super().__init__(f"{pages} pages, more than {limit}")
        self.pages = pages
        self.limit = limit


def pdf_text(source: Path | BinaryIO, max_pages: int | None = None) -> tuple[str, str | None]:
    """A PDF's text, page after page, and the title its metadata gives.

    Raises `DocumentTooLong` when it has more than `max_pages` pages (counted before any page
    is read) and ValueError when it cannot be read."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(source)
        count = len(reader.pages)
        if max_pages is not None and count > max_pages:
            raise DocumentTooLong(count, max_pages)
        pages = [page.extract_text() or "" for page in reader.pages]
        meta_title = reader.metadata.title if reader.metadata is not None else None
    except DocumentTooLong:
        raise
    # pypdf signals a damaged file with many unrelated exception types (PdfReadError,
    # KeyError, ValueError, struct.error, ...); any of them means "cannot read this PDF".
    except Exception as exc:
        raise ValueError(f"cannot read PDF: {exc}") from exc
    return "\n\n".join(pages), meta_title if isinstance(meta_title, str) else None


def docx_text(source: Path | BinaryIO) -> tuple[str, str | None]:
    """A DOCX document's paragraphs as text, and the title of its properties.

    Raises ValueError when it cannot be read. It does not look at the archive's sizes: a
    file from outside (`facilitator.features.knowledge.extract`) is checked before."""
    import docx

    try:
        document = docx.Document(str(source) if isinstance(source, Path) else source)
        paragraphs = [paragraph.text for paragraph in document.paragraphs]
        meta_title = document.core_properties.title
    # A corrupt DOCX surfaces as BadZipFile, KeyError or python-docx's own errors.
    except Exception as exc:
        raise ValueError(f"cannot read DOCX: {exc}") from exc
    return "\n".join(paragraphs), meta_title if isinstance(meta_title, str) else None


def _parse_pdf(path: Path, rel: str) -> KnowledgeItem:
    try:
        text, meta_title = pdf_text(path)
    except ValueError as exc:
        raise _ParseError(str(exc)) from exc
    return _document(rel, text, meta_title, path.stem)


def _parse_docx(path: Path, rel: str) -> KnowledgeItem:
    try:
        text, meta_title = docx_text(path)
    except ValueError as exc:
        raise _ParseError(str(exc)) from exc
    return _document(rel, text, meta_title, path.stem)


# --------------------------------------------------------------------------------------------
# Validation


def _build_item(
    record: _Record,
    defaults: _Record,
    default_type: ItemType,
    allowed: frozenset[str],
    body: str | None = None,
) -> KnowledgeItem:
    for key in record.fields:
        if key not in allowed:
            raise _ParseError(
                f"unknown key '{key}' (allowed: {', '.join(sorted(allowed))})",
                record.line_of(key),
            )

    key = _required_text(record, "id", "every item needs an 'id'")
    if "\n" in key:
        raise _ParseError("'id' must be a single line", record.line_of("id"))
    who = f"item '{key}'"

    raw_type, type_line = _lookup(record, defaults, "type")
    item_type = default_type
    if raw_type is not None:
        value = str(raw_type).strip().lower()
        if value not in {t.value for t in ItemType}:
            raise _ParseError(
                f"{who}: unknown type '{raw_type}' "
                f"(expected one of {', '.join(t.value for t in ItemType)})",
                type_line,
            )
        item_type = ItemType(value)

    if "question" in record.fields and "title" in record.fields:
        raise _ParseError(f"{who}: give either 'question' or 'title', not both", record.line)
    title_key = "question" if "question" in record.fields else "title"
    title = _text(record, title_key, who)
    if not title:
        what = "a 'question'" if item_type is ItemType.FAQ else "a 'title'"
        raise _ParseError(f"{who}: missing {what}", record.line_of(title_key))

    if body is None:
        if "answer" in record.fields and "body" in record.fields:
            raise _ParseError(f"{who}: give either 'answer' or 'body', not both", record.line)
        body_key = "answer" if "answer" in record.fields else "body"
        body = _text(record, body_key, who)
    if item_type is ItemType.FAQ and not body:
        raise _ParseError(f"{who}: an FAQ needs an answer", record.line)

    raw_lang, lang_line = _lookup(record, defaults, "lang")
    if raw_lang is None or not str(raw_lang).strip():
        raise _ParseError(
            f"{who}: missing 'lang' (one of {', '.join(LANGUAGES)})", record.line_of("lang")
        )
    lang = str(raw_lang).strip().lower()
    if lang not in LANGUAGES:
        raise _ParseError(
            f"{who}: unsupported lang '{raw_lang}' (expected one of {', '.join(LANGUAGES)})",
            lang_line,
        )

    theme_value, theme_line = _lookup(record, defaults, "theme")
    owner_value, owner_line = _lookup(record, defaults, "owner")
    review_value, review_line = _lookup(record, defaults, "review_by")
    url = _text(record, "url", who) or None
    if url is not None:
        _check_url(url, who, record.line_of("url"))
    if item_type is ItemType.LINK and url is None:
        raise _ParseError(f"{who}: an item of type link needs a 'url'", record.line)

    status = ItemStatus.PUBLISHED
    raw_status = record.fields.get("status")
    if raw_status is not None:
        value = str(raw_status).strip().lower()
        if value not in {s.value for s in ItemStatus}:
            raise _ParseError(
                f"{who}: unknown status '{raw_status}' "
                f"(expected one of {', '.join(s.value for s in ItemStatus)})",
                record.line_of("status"),
            )
        status = ItemStatus(value)

    return KnowledgeItem(
        key=key,
        type=item_type,
        title=title,
        body=body,
        lang=lang,
        theme=_as_text(theme_value, "theme", who, theme_line),
        tags=_text_list(record, "tags", who),
        alternates=_text_list(record, "alternates", who),
        url=url,
        source=_text(record, "source", who) or None,
        owner=_as_text(owner_value, "owner", who, owner_line) or None,
        review_by=_as_date(review_value, who, review_line),
        translation_of=_translation_of(record, key, who),
        status=status,
        extra=_extra(record, who),
    )


def _translation_of(record: _Record, key: str, who: str) -> str | None:
    value = _text(record, "translation_of", who).strip()
    if value == key:
        raise _ParseError(
            f"{who}: 'translation_of' names the item itself", record.line_of("translation_of")
        )
    return value or None


def _lookup(record: _Record, defaults: _Record, key: str) -> tuple[object, int | None]:
    # An item's own value wins over the file-level default; an empty value inherits it.
    if record.fields.get(key) is not None:
        return record.fields[key], record.line_of(key)
    return defaults.fields.get(key), defaults.line_of(key)


def _as_text(value: object, key: str, who: str, line: int | None) -> str:
    if value is None:
        return ""
    # Numbers are accepted because YAML turns an unquoted `title: 2030` into an int.
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise _ParseError(f"{who}: '{key}' must be text", line)
    return str(value).strip()


def _text(record: _Record, key: str, who: str) -> str:
    return _as_text(record.fields.get(key), key, who, record.line_of(key))


def _required_text(record: _Record, key: str, message: str) -> str:
    value = _as_text(record.fields.get(key), key, "item", record.line_of(key))
    if not value:
        raise _ParseError(message, record.line_of(key))
    return value


def _text_list(record: _Record, key: str, who: str) -> tuple[str, ...]:
    value = record.fields.get(key)
    if value is None:
        return ()
    line = record.line_of(key)
    if not isinstance(value, list):
        raise _ParseError(f"{who}: '{key}' must be a list", line)
    texts = (_as_text(element, key, who, line) for element in value)
    return tuple(text for text in texts if text)


def _as_date(value: object, who: str, line: int | None) -> date | None:
    if value is None:
        return None
    # datetime is a subclass of date; a time of day is not a review deadline.
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    found = parse_date(str(value))
    if found is not None:
        return found
    raise _ParseError(f"{who}: 'review_by' must be a date written YYYY-MM-DD, got '{value}'", line)


def _check_url(url: str, who: str, line: int | None) -> None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        host = None
        parts = None
    if parts is None or parts.scheme not in {"http", "https"} or not host or " " in url:
        raise _ParseError(
            f"{who}: 'url' must be an http(s) address with a host, got '{url}'", line
        )


def _extra(record: _Record, who: str) -> dict[str, str]:
    value = record.fields.get("extra")
    if value is None:
        return {}
    line = record.line_of("extra")
    if not isinstance(value, dict):
        raise _ParseError(f"{who}: 'extra' must be a mapping of names to text", line)
    return {str(k): _as_text(v, f"extra.{k}", who, line) for k, v in value.items()}


def _item_to_mapping(item: KnowledgeItem) -> dict[str, object]:
    faq = item.type is ItemType.FAQ
    out: dict[str, object] = {
        "id": item.key,
        "type": item.type.value,
        "question" if faq else "title": item.title,
        "lang": item.lang,
    }
    if item.theme:
        out["theme"] = item.theme
    if item.tags:
        out["tags"] = list(item.tags)
    if item.alternates:
        out["alternates"] = list(item.alternates)
    if item.url:
        out["url"] = item.url
    if item.source:
        out["source"] = item.source
    if item.owner:
        out["owner"] = item.owner
    if item.review_by:
        out["review_by"] = item.review_by.isoformat()
    if item.translation_of:
        out["translation_of"] = item.translation_of
    if item.status is not ItemStatus.PUBLISHED:
        out["status"] = item.status.value
    if item.extra:
        out["extra"] = dict(item.extra)
    if item.body:
        out["answer" if faq else "body"] = item.body
    return out
