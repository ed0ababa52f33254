"""Prompt catalogue: every user-facing sentence, per locale, rendered into rich text."""

from __future__ import annotations

import logging
import re
import string
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path

from babel import Locale
from babel import numbers as babel_numbers

from facilitator.markup import Block, RichText, Span, Style

log = logging.getLogger(__name__)

SOURCE_LOCALE = "en"
SUPPORTED_LOCALES = ("en", "es", "pt")

_PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
# Markup that prompt authors may use; values substituted into placeholders are never parsed.
_MARKUP = re.compile(r"(\*\*.+?\*\*|__.+?__|`.+?`)")

Template = str | Mapping[str, str]

# The CLDR locale whose number conventions each language follows: our Portuguese is Brazil's.
_NUMBER_LOCALES = {"en": "en", "es": "es", "pt": "pt_BR"}
# Placeholders holding the number of a stored object (`/poll close {id}`): members type it back
# into commands, so it is shown as digits only, never grouped.
_VERBATIM = frozenset({"id"})


def normalize_locale(tag: str | None) -> str | None:
    """Map a platform locale tag (pt-BR, es_419, en-US, es-LA) to a supported language."""
    if not tag:
        return None
    lang = re.split(r"[-_]", tag.strip().lower(), maxsplit=1)[0]
    return lang if lang in SUPPORTED_LOCALES else None


def resolve_locale(
    preference: str | None, platform_hint: str | None, community_default: str | None
) -> str:
    """Member preference, then the platform's hint, then the community default, then en."""
    for candidate in (preference, platform_hint, community_default):
        lang = normalize_locale(candidate)
        if lang:
            return lang
    return SOURCE_LOCALE


def placeholders(template: str) -> set[str]:
    return set(_PLACEHOLDER.findall(template))


class Catalogue:
    """Templates keyed by `file.section.key`; plural entries are tables of CLDR forms, `one`
    and `other` (`plural_form`), and optionally `zero`."""

    def __init__(self, messages: Mapping[str, Mapping[str, Template]]) -> None:
        self.messages = messages
        self._warned: set[tuple[str, str]] = set()

    @classmethod
    def load(cls, root: Path) -> Catalogue:
        messages: dict[str, dict[str, Template]] = {}
        for locale_dir in sorted(p for p in root.iterdir() if p.is_dir()):
            entries: dict[str, Template] = {}
            for path in sorted(locale_dir.glob("*.toml")):
                with path.open("rb") as fh:
                    data = tomllib.load(fh)
                _flatten(path.stem, data, entries)
            messages[locale_dir.name] = entries
        if SOURCE_LOCALE not in messages:
            raise FileNotFoundError(f"no {SOURCE_LOCALE} prompts under {root}")
        return cls(messages)

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(self.messages)

    def has(self, key: str) -> bool:
        return key in self.messages[SOURCE_LOCALE]

    def template(self, locale: str, key: str, count: int | None = None) -> str:
        entry = self.messages.get(locale, {}).get(key)
        if entry is None:
            entry = self.messages[SOURCE_LOCALE].get(key)
            if entry is None:
                raise KeyError(key)
            if (locale, key) not in self._warned:
                self._warned.add((locale, key))
                log.warning(
                    "prompt missing, falling back to en", extra={"locale": locale, "key": key}
                )
        if isinstance(entry, str):
            return entry
        return entry.get(plural_form(locale, count)) or entry["other"]

    def text(self, locale: str, key: str, /, **values: object) -> str:
        """Plain text (button labels, command descriptions): placeholders filled, markup kept.

        A plural entry picks its form from the `count` value."""
        template = self.template(locale, key, _count(values))
        return _fill(_strip_markup(template), values, locale)

    def render(self, locale: str, key: str, /, **values: object) -> RichText:
        """Rich text: the template's markup is parsed first, then values go in as literal text."""
        template = self.template(locale, key, _count(values))
        blocks = []
        for line in template.strip("\n").split("\n"):
            bullet = line.startswith("- ")
            if bullet:
                line = line[2:]
            blocks.append(Block(tuple(_spans(line, values, locale)), bullet=bullet))
        return RichText(tuple(blocks))


def plural_form(locale: str, count: int | None) -> str:
    """The form of a plural entry that `count` takes in that language: CLDR's category through
    Babel (`one` for 1 in every language we speak, and for 1.000.000 `many` in es, which our
    prompts leave to `other`), or `zero` for nothing at all.

    A `zero` form is not a CLDR category in en, es or pt but an explicit one (ICU's `=0`), for
    a sentence that reads differently when there is nothing to count ("no buttons are shown").
    Without it, zero takes `other` in all three languages: CLDR puts a whole zero in `one` in
    Portuguese (its rule, i = 0..1, is made for fractions, "1,5 quilo"), but in Brazil "0
    votos", never "0 voto"."""
    if count is None:
        return "other"
    if count == 0:
        return "zero"
    return str(_cldr_locale(_NUMBER_LOCALES.get(locale, SOURCE_LOCALE)).plural_form(abs(count)))


def _count(values: Mapping[str, object]) -> int | None:
    count = values.get("count")
    return count if isinstance(count, int) else None


def _flatten(prefix: str, data: Mapping[str, object], out: dict[str, Template]) -> None:
    for name, value in data.items():
        key = f"{prefix}.{name}"
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, Mapping) and set(value) <= {"zero", "one", "other"} and value:
            out[key] = {k: str(v) for k, v in value.items()}
        elif isinstance(value, Mapping):
            _flatten(key, value, out)
        else:
            raise ValueError(f"prompt {key} must be text or a table")


def format_number(locale: str, value: float) -> str:
    """A number as that language writes it (CLDR, through Babel): `1,234.5` in en, `1.234,5`
    in es and pt; at most three decimals."""
    return babel_numbers.format_decimal(value, locale=_number_locale(locale))


def format_percent(locale: str, fraction: float) -> str:
    """A share (0.25 for a quarter) as a whole percentage in that language: `25%` in en and
    pt, `25 %` in es (with a no-break space); a half rounds to the even neighbour."""
    return babel_numbers.format_percent(fraction, locale=_number_locale(locale))


def _number_locale(locale: str) -> Locale:
    """Babel's locale data for a language; en's for any other."""
    return _cldr_locale(_NUMBER_LOCALES.get(locale, _NUMBER_LOCALES[SOURCE_LOCALE]))


@cache
def _cldr_locale(name: str) -> Locale:
    return Locale.parse(name)  # read from Babel's data files on first use


def _shown(name: str, value: object, locale: str) -> str:
    """A placeholder's value as text: numbers (not flags, not ids) as the language writes them."""
    if isinstance(value, int | float) and not isinstance(value, bool) and name not in _VERBATIM:
        return format_number(locale, value)
    return str(value)


def _fill(template: str, values: Mapping[str, object], locale: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        return bidi_closed(_shown(name, values[name], locale))

    return _PLACEHOLDER.sub(value, template)


_EMBEDDINGS = "\u202a\u202b\u202d\u202e"  # LRE, RLE, LRO, RLO: closed by PDF
_ISOLATES = "\u2066\u2067\u2068"  # LRI, RLI, FSI: closed by PDI
_PDF, _PDI = "\u202c", "\u2069"
_OPENERS = re.compile(f"[{_EMBEDDINGS}{_ISOLATES}]")


def bidi_closed(value: str) -> str:
    """`value` with every bidi embedding, override and isolate it opens closed at its end.

    Inserted into a sentence, a name holding a right-to-left override would otherwise reverse
    the rest of the sentence; closed, it affects only itself (a line break ends them anyway)."""
    if not _OPENERS.search(value):
        return value
    open_: list[str] = []
    for char in value:
        if char == "\n":
            open_.clear()
        elif char in _EMBEDDINGS or char in _ISOLATES:
            open_.append(char)
        elif char == _PDF and open_ and open_[-1] in _EMBEDDINGS:
            open_.pop()
        elif char == _PDI and any(c in _ISOLATES for c in open_):
            while open_.pop() not in _ISOLATES:
                pass
    return value + "".join(_PDI if c in _ISOLATES else _PDF for c in reversed(open_))


def _strip_markup(template: str) -> str:
    return _MARKUP.sub(
        lambda m: m.group(0)[2:-2] if m.group(0)[0] != "`" else m.group(0)[1:-1], template
    )


def _spans(line: str, values: Mapping[str, object], locale: str) -> list[Span]:
    spans: list[Span] = []
    for part in _MARKUP.split(line):
        if not part:
            continue
        style = Style.PLAIN
        if part.startswith("**") and part.endswith("**") and len(part) > 4:
            style, part = Style.BOLD, part[2:-2]
        elif part.startswith("__") and part.endswith("__") and len(part) > 4:
            style, part = Style.ITALIC, part[2:-2]
        elif part.startswith("`") and part.endswith("`") and len(part) > 2:
            style, part = Style.CODE, part[1:-1]
        spans.append(Span(_fill(part, values, locale), style))
    return _merge(spans)


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in spans:
        if merged and merged[-1].style == span.style == Style.PLAIN:
            merged[-1] = Span(merged[-1].text + span.text)
        else:
            merged.append(span)
    return merged


def template_fields(template: str) -> set[str]:
    """Every `{field}` of a template, refusing format specs or attribute access."""
    fields = set()
    for _, name, spec, conv in string.Formatter().parse(template):
        if name is None:
            continue
        if spec or conv or not _PLACEHOLDER.fullmatch("{" + name + "}"):
            raise ValueError(f"only plain {{name}} placeholders are allowed: {name!r}")
        fields.add(name)
    return fields
