"""Behaviour of the knowledge lookup index on small hand-written banks in en, es and pt."""

from __future__ import annotations

import pytest

from facilitator.features.knowledge.search import (
    ANSWER_THRESHOLD,
    SUGGEST_THRESHOLD,
    Document,
    SearchConfig,
    SearchIndex,
)

BANK = [
    Document(
        "en-webinar",
        "en",
        "How do I join the monthly webinar?",
        body="Open the calendar invite and click the video link five minutes early.",
        tags=("events",),
        theme="events",
    ),
    Document(
        "en-recordings",
        "en",
        "Where can I watch recordings of past sessions?",
        body="Every session is recorded and published in the shared drive within two days.",
        theme="events",
    ),
    Document(
        "en-certificate",
        "en",
        "How do I get a certificate of completion?",
        alternates=("Can I receive a diploma when I finish the course?",),
        body="Complete all modules and the final quiz; the certificate arrives by email.",
        theme="courses",
    ),
    Document(
        "en-password",
        "en",
        "I forgot my password, how do I reset it?",
        body="Use the 'forgot password' link on the login page.",
        theme="account",
    ),
    Document(
        "en-lesson-budget",
        "en",
        "Planning a community budget",
        body="This lesson walks through a simple yearly budget for a volunteer group.",
        type="lesson",
        theme="courses",
    ),
    Document(
        "es-cooperacion",
        "es",
        "¿Qué es la cooperación entre comunidades?",
        body="Es el trabajo conjunto de dos o más comunidades para compartir recursos.",
        theme="comunidad",
    ),
    Document(
        "es-grabaciones",
        "es",
        "¿Dónde están las grabaciones de las sesiones?",
        body="Las grabaciones se publican en la carpeta compartida.",
        theme="eventos",
    ),
    Document(
        "es-inscripcion",
        "es",
        "¿Cómo me inscribo en un taller?",
        body="Rellena el formulario de inscripción en la página del taller.",
        theme="eventos",
    ),
    Document(
        "pt-registo",
        "pt",
        "Como faço o registo da minha associação?",
        body="O registo é feito online com o cartão de cidadão.",
        theme="associações",
    ),
    Document(
        "pt-pagamentos",
        "pt",
        "Quais as modalidades de pagamento disponíveis?",
        body="Aceitamos cartão de crédito e referência multibanco.",
        theme="pagamentos",
    ),
    Document(
        "pt-actos",
        "pt",
        "Que tipo de actos posso pedir online?",
        body="Pode pedir certidões e registos.",
        theme="associações",
    ),
]


@pytest.fixture
def index() -> SearchIndex:
    idx = SearchIndex()
    idx.bulk_load(BANK)
    return idx


def top(
    index: SearchIndex,
    query: str,
    lang: str | None = None,
    types: set[str] | None = None,
    theme: str | None = None,
) -> str | None:
    hits = index.search(query, lang=lang, types=types, theme=theme)
    return hits[0].id if hits else None


def test_exact_question_is_found_first_with_answer_confidence(index: SearchIndex) -> None:
    hits = index.search("How do I join the monthly webinar?", lang="en")
    assert hits[0].id == "en-webinar"
    assert hits[0].confidence >= ANSWER_THRESHOLD


def test_accentless_spanish_query_finds_accented_item(index: SearchIndex) -> None:
    assert top(index, "que es la cooperacion entre comunidades", lang="es") == "es-cooperacion"


def test_accented_query_finds_item_typed_without_accents() -> None:
    idx = SearchIndex()
    idx.bulk_load([Document("a", "es", "Reglas de cooperacion"), Document("b", "es", "Horario")])
    assert top(idx, "cooperación", lang="es") == "a"


def test_query_case_does_not_matter(index: SearchIndex) -> None:
    assert top(index, "WHERE CAN I WATCH RECORDINGS", lang="en") == "en-recordings"
    assert top(index, "where can i watch recordings", lang="en") == "en-recordings"


def test_misspelled_word_still_finds_item(index: SearchIndex) -> None:
    assert top(index, "webinra", lang="en") == "en-webinar"


def test_spanish_plural_and_verb_forms_match_by_stem(index: SearchIndex) -> None:
    assert top(index, "grabación de una sesión", lang="es") == "es-grabaciones"
    assert top(index, "quiero inscribirme", lang="es") == "es-inscripcion"


def test_portuguese_word_forms_match_by_stem(index: SearchIndex) -> None:
    assert top(index, "registar associações", lang="pt") == "pt-registo"
    assert top(index, "pagamentos", lang="pt") == "pt-pagamentos"


def test_portuguese_old_and_new_spelling_match(index: SearchIndex) -> None:
    assert top(index, "que atos posso pedir", lang="pt") == "pt-actos"


def test_each_item_is_stemmed_in_its_own_language(index: SearchIndex) -> None:
    # "sesiones" only reaches the Spanish item through the Spanish stemmer ("sesion").
    assert top(index, "sesión grabada", lang="es") == "es-grabaciones"
    assert top(index, "recorded session", lang="en") == "en-recordings"


def test_language_is_guessed_when_not_given(index: SearchIndex) -> None:
    assert top(index, "¿Cómo me inscribo en los talleres?") == "es-inscripcion"


def test_alternate_phrasing_is_searchable(index: SearchIndex) -> None:
    assert top(index, "receive a diploma when I finish", lang="en") == "en-certificate"


def test_answer_text_is_searchable(index: SearchIndex) -> None:
    assert top(index, "forgot password link on the login page", lang="en") == "en-password"


def test_added_item_is_found_by_next_search(index: SearchIndex) -> None:
    index.add(Document("en-parking", "en", "Is there parking near the venue?", body="Yes."))
    assert top(index, "parking near the venue", lang="en") == "en-parking"
    assert len(index) == len(BANK) + 1


def test_edited_item_is_found_by_its_new_text_only(index: SearchIndex) -> None:
    index.add(Document("en-webinar", "en", "How do I join the quarterly assembly?"))
    assert top(index, "quarterly assembly", lang="en") == "en-webinar"
    assert "en-webinar" not in {h.id for h in index.search("monthly webinar", lang="en")}
    assert len(index) == len(BANK)


def test_removed_item_is_not_returned(index: SearchIndex) -> None:
    index.remove("en-password")
    assert "en-password" not in {h.id for h in index.search("reset my password", lang="en")}
    assert len(index) == len(BANK) - 1


def test_removing_unknown_id_is_ignored(index: SearchIndex) -> None:
    index.remove("no-such-item")
    assert len(index) == len(BANK)


def test_updates_beyond_the_merge_threshold_stay_visible() -> None:
    idx = SearchIndex(SearchConfig(merge_min_pending=8, merge_pending_ratio=0.0))
    idx.bulk_load(BANK)
    for i in range(30):
        idx.add(Document(f"extra-{i}", "en", f"Question number {i} about gardening tools"))
    for i in range(0, 30, 2):
        idx.remove(f"extra-{i}")
    ids = {h.id for h in idx.search("gardening tools", lang="en", limit=50)}
    assert ids == {f"extra-{i}" for i in range(1, 30, 2)}
    assert top(idx, "monthly webinar", lang="en") == "en-webinar"


def test_bulk_load_replaces_items_with_the_same_id(index: SearchIndex) -> None:
    index.bulk_load([Document("en-webinar", "en", "Volunteer shifts calendar")])
    assert len(index) == len(BANK)
    assert top(index, "volunteer shifts", lang="en") == "en-webinar"


def test_type_filter_keeps_only_requested_types(index: SearchIndex) -> None:
    hits = index.search("community budget planning", lang="en", types={"faq"})
    assert "en-lesson-budget" not in {h.id for h in hits}
    assert top(index, "community budget planning", lang="en", types={"lesson"}) == (
        "en-lesson-budget"
    )


def test_theme_filter_keeps_only_that_theme(index: SearchIndex) -> None:
    hits = index.search("sessions recordings webinar", lang="en", theme="courses")
    assert hits == [] or all(h.id in {"en-certificate", "en-lesson-budget"} for h in hits)
    assert top(index, "recordings", lang="en", theme="events") == "en-recordings"


@pytest.mark.parametrize(
    "query",
    ["asdf qwerty zzz", "blorp fnord", "chocolate cake recipe with butter", "volcano lava"],
)
def test_nonsense_query_has_low_confidence(index: SearchIndex, query: str) -> None:
    hits = index.search(query, lang="en")
    assert all(h.confidence < SUGGEST_THRESHOLD for h in hits)


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_returns_nothing(index: SearchIndex, query: str) -> None:
    assert index.search(query) == []


def test_empty_index_returns_nothing() -> None:
    assert SearchIndex().search("webinar") == []


def test_very_long_query_is_answered_without_error(index: SearchIndex) -> None:
    query = "How do I join the monthly webinar? " + "lorem ipsum dolor " * 600
    assert len(query) > 10_000
    hits = index.search(query, lang="en")
    assert hits and hits[0].id == "en-webinar"


def test_hits_are_ordered_and_confidence_never_rises(index: SearchIndex) -> None:
    hits = index.search("session recordings", lang="en", limit=5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert [h.confidence for h in hits] == sorted((h.confidence for h in hits), reverse=True)
    assert all(0.0 <= h.confidence <= 1.0 for h in hits)


def test_limit_bounds_the_number_of_hits(index: SearchIndex) -> None:
    assert len(index.search("how", lang="en", limit=2)) <= 2
    assert index.search("webinar", lang="en", limit=0) == []


def test_thresholds_are_ordered_and_exposed_on_the_config() -> None:
    config = SearchConfig()
    assert 0 < config.suggest_threshold < config.answer_threshold < 1
    assert (config.suggest_threshold, config.answer_threshold) == (
        SUGGEST_THRESHOLD,
        ANSWER_THRESHOLD,
    )
