"""Checks that the seed repository in data/ loads cleanly and is parallel in all languages."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import yaml

from facilitator.features.knowledge.domain import ItemType, KnowledgeItem
from facilitator.features.knowledge.ingest import (
    LANGUAGES,
    IngestResult,
    export_items,
    guess_language,
    parse_directory,
    parse_path,
)

DATA = Path(__file__).resolve().parents[3] / "data"
THEMES = {
    "facilitation",
    "engagement",
    "knowledge-management",
    "webinars",
    "south-south-cooperation",
    "monitoring",
}


@cache
def seed() -> IngestResult:
    return parse_directory(DATA / "knowledge")


def items_in(lang: str, *types: ItemType) -> list[KnowledgeItem]:
    return [i for i in seed().items if i.lang == lang and (not types or i.type in types)]


def test_every_seed_file_loads_without_errors() -> None:
    assert [str(error) for error in seed().errors] == []


def test_seed_ids_are_unique() -> None:
    counts = Counter(item.key for item in seed().items)
    assert [key for key, n in counts.items() if n > 1] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_has_at_least_25_faqs(lang: str) -> None:
    assert len(items_in(lang, ItemType.FAQ)) >= 25


def test_every_language_has_the_same_number_of_faqs() -> None:
    counts = {lang: len(items_in(lang, ItemType.FAQ)) for lang in LANGUAGES}
    assert len(set(counts.values())) == 1, counts


# Items written in one language only, to show answers across languages.
ONLY_IN = {"pt": {"pt-toolkit-knowledge-fair"}}


def test_languages_carry_the_same_items_linked_as_translations() -> None:
    english = {item.key for item in items_in("en")}
    for lang in ("es", "pt"):
        items = [i for i in items_in(lang) if i.key not in ONLY_IN.get(lang, set())]
        assert {i.translation_of for i in items} == english
        assert all(i.translation_of == "en-" + i.key.removeprefix(f"{lang}-") for i in items)
    for lang, keys in ONLY_IN.items():
        only = [i for i in items_in(lang) if i.key in keys]
        assert len(only) == len(keys) and all(i.translation_of is None for i in only)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_theme_is_used_in_each_language(lang: str) -> None:
    assert {item.theme for item in items_in(lang)} == THEMES


@pytest.mark.parametrize("lang", LANGUAGES)
def test_each_language_has_at_least_six_lessons_or_toolkits_of_150_to_400_words(
    lang: str,
) -> None:
    lessons = items_in(lang, ItemType.LESSON, ItemType.TOOLKIT)

    assert len(lessons) >= 6
    assert {
        i.key: len(i.body.split()) for i in lessons if not 150 <= len(i.body.split()) <= 400
    } == {}
    assert all(re.fullmatch(rf"{lang}-(lesson|toolkit)-[a-z0-9-]+", i.key) for i in lessons)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_faqs_have_numbered_ids_alternates_tags_and_short_answers(lang: str) -> None:
    for item in items_in(lang, ItemType.FAQ):
        assert re.fullmatch(rf"{lang}-faq-\d{{3}}", item.key), item.key
        assert 1 <= len(item.alternates) <= 3, item.key
        assert item.tags, item.key
        sentences = [s for s in re.split(r"(?<=[.!?])\s+", item.body) if s]
        assert 2 <= len(sentences) <= 5, item.key


def test_links_point_only_to_example_org() -> None:
    urls = [item.url for item in seed().items if item.url]

    assert urls
    assert {urlsplit(url).hostname for url in urls} == {"example.org"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_review_dates_include_future_and_already_past_ones(lang: str) -> None:
    dates = [item.review_by for item in items_in(lang) if item.review_by is not None]

    assert any(d.year == 2027 for d in dates)
    assert sum(d <= date(2026, 9, 30) for d in dates) >= 2


def test_demo_community_has_twelve_members_with_valid_fields() -> None:
    community = yaml.safe_load((DATA / "demo" / "community.yaml").read_text(encoding="utf-8"))

    assert community["key"] == "demo"
    assert set(community["purpose"]) == set(LANGUAGES)
    ZoneInfo(community["timezone"])
    members = community["members"]
    assert len(members) == 12
    assert len({m["name"] for m in members}) == 12
    roles = {m["name"]: m["role"] for m in members}
    assert roles.pop("ana") == "coordinator"
    assert roles.pop("bruno") == "moderator"
    assert set(roles.values()) == {"member"}
    assert {m["lang"] for m in members} == set(LANGUAGES)
    for member in members:
        ZoneInfo(member["timezone"])
        assert set(member["expertise"]) <= THEMES, member["name"]
        assert member["display_name"] and member["organisation"] and member["country"]


def test_item_owners_are_demo_members() -> None:
    community = yaml.safe_load((DATA / "demo" / "community.yaml").read_text(encoding="utf-8"))
    names = {member["name"] for member in community["members"]}

    assert {item.owner for item in seed().items} <= names


def test_exporting_the_whole_seed_reads_back_to_equal_items(tmp_path: Path) -> None:
    path = tmp_path / "export.yaml"
    path.write_text(export_items(seed().items), encoding="utf-8")

    assert parse_path(path) == seed().items


def test_language_guesser_recognises_every_lesson_of_the_seed() -> None:
    lessons = [i for i in seed().items if i.type in {ItemType.LESSON, ItemType.TOOLKIT}]

    assert {
        i.key: guess_language(i.body) for i in lessons if guess_language(i.body) != i.lang
    } == {}
