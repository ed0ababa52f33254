"""Prompt catalogue: locales mirror en, every key used in code exists, values stay literal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from facilitator.bootstrap import build_registry
from facilitator.i18n import Catalogue, normalize_locale, placeholders, resolve_locale
from facilitator.markup import Style

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = Catalogue.load(ROOT / "prompts")
NAMESPACES = sorted({key.split(".", 1)[0] for key in CATALOGUE.messages["en"]})
_NS = "|".join(NAMESPACES)
KEY_LITERAL = re.compile(rf"[\"']((?:{_NS})\.[a-z0-9_.]+)[\"']")
FILE_SUFFIXES = (".yaml", ".yml", ".toml", ".json", ".md", ".py")
FSTRING_KEY = re.compile(rf"f[\"']((?:{_NS})\.[a-z0-9_.]*)\{{")


def _forms(entry: object) -> list[str]:
    return [entry] if isinstance(entry, str) else list(entry.values())  # type: ignore[attr-defined]


@pytest.mark.parametrize("locale", ["es", "pt"])
def test_every_locale_has_the_keys_and_placeholders_of_english(locale: str) -> None:
    english = CATALOGUE.messages["en"]
    other = CATALOGUE.messages[locale]
    assert sorted(set(english) - set(other)) == []
    assert sorted(set(other) - set(english)) == []
    for key, entry in english.items():
        wanted = set().union(*(placeholders(form) for form in _forms(entry)))
        got = set().union(*(placeholders(form) for form in _forms(other[key])))
        assert got == wanted, key


def test_templates_use_only_plain_name_placeholders() -> None:
    bad = re.compile(r"\{[^a-z_}]|\{[a-z_0-9]*[^a-z_0-9}][^}]*\}")
    for locale, entries in CATALOGUE.messages.items():
        for key, entry in entries.items():
            for form in _forms(entry):
                assert not bad.search(form), (locale, key, form)


def test_every_prompt_key_used_in_code_exists_in_english() -> None:
    used: set[str] = set()
    prefixes: set[str] = set()
    for path in [*ROOT.glob("facilitator/**/*.py"), *ROOT.glob("adapters/**/*.py")]:
        if "storage" in path.relative_to(ROOT).parts:
            continue  # table and column names ("polls.id") are not prompts
        source = path.read_text("utf-8")
        used.update(k for k in KEY_LITERAL.findall(source) if not k.endswith(FILE_SUFFIXES))
        prefixes.update(FSTRING_KEY.findall(source))
    for spec in build_registry().all():
        used.update({spec.summary_key, spec.usage_key})
        for child in spec.subcommands:
            used.update({child.summary_key, child.usage_key})
    missing = sorted(key for key in used if not CATALOGUE.has(key))
    assert missing == []
    for prefix in prefixes:
        assert any(key.startswith(prefix) for key in CATALOGUE.messages["en"]), prefix
    assert len(used) > 40


def test_dynamic_keys_for_roles_languages_and_arguments_exist() -> None:
    for key in ["member", "moderator", "coordinator", "admin"]:
        assert CATALOGUE.has(f"core.roles.{key}")
    for key in ["en", "es", "pt"]:
        assert CATALOGUE.has(f"core.languages.{key}")
    for spec in build_registry().all():
        for arg in (*spec.args, *(a for child in spec.subcommands for a in child.args)):
            assert CATALOGUE.has(f"core.args.{arg.name}"), arg.name


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("pt-BR", "pt"),
        ("es-419", "es"),
        ("es_LA", "es"),
        ("en-US", "en"),
        ("fr", None),
        ("", None),
    ],
)
def test_platform_locale_tags_map_to_supported_languages(tag: str, expected: str | None) -> None:
    assert normalize_locale(tag) == expected


def test_locale_resolution_order() -> None:
    assert resolve_locale("pt", "es-419", "en") == "pt"
    assert resolve_locale(None, "es-419", "pt") == "es"
    assert resolve_locale(None, "fr-FR", "pt") == "pt"
    assert resolve_locale(None, None, None) == "en"


def test_missing_translation_falls_back_to_english_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    catalogue = Catalogue({"en": {"a.b": "Hello {name}"}, "es": {}})
    assert catalogue.text("es", "a.b", name="Ana") == "Hello Ana"
    assert catalogue.text("es", "a.b", name="Ana") == "Hello Ana"
    assert [r.getMessage() for r in caplog.records].count(
        "prompt missing, falling back to en"
    ) == 1


def test_plural_forms_follow_count() -> None:
    one = CATALOGUE.text("en", "community.members.header", count=1)
    many = CATALOGUE.text("en", "community.members.header", count=3)
    assert (one, many) == ("1 member", "3 members")


@pytest.mark.parametrize("hostile", ["<b>x</b>", "**bold**", "a & b", "@here", "`code`", "__i__"])
def test_values_never_become_markup(hostile: str) -> None:
    body = CATALOGUE.render("en", "core.start.greeting", name=hostile, community="c")
    spans = [span for block in body.blocks for span in block.spans]
    value_spans = [span for span in spans if hostile in span.text]
    assert value_spans and all(span.text == hostile for span in value_spans)
    assert value_spans[0].style is Style.BOLD  # the template's own markup around {name}


@pytest.mark.parametrize(
    ("name", "shown"),
    [
        ("\u202eevil", "\u202eevil\u202c"),  # a right-to-left override, closed after the name
        ("\u2067a\u202bb", "\u2067a\u202bb\u202c\u2069"),  # closed innermost first
        ("\u202ex\u202c", "\u202ex\u202c"),  # already closed: unchanged
        ("\u200fRLM", "\u200fRLM"),  # a mark opens nothing
    ],
)
def test_a_value_cannot_reverse_the_sentence_around_it(name: str, shown: str) -> None:
    text = CATALOGUE.text("en", "core.welcome", name=name, community="Water")
    assert shown in text
    assert text.endswith(CATALOGUE.text("en", "core.welcome", name="x", community="Water")[-20:])


def test_template_markup_becomes_styles_and_bullets() -> None:
    body = CATALOGUE.render("en", "core.help.line", usage="/x", summary="does x")
    [block] = body.blocks
    assert block.bullet
    assert [(s.text, s.style) for s in block.spans] == [
        ("/x", Style.CODE),
        (": does x", Style.PLAIN),
    ]
