"""Text analysis used by the lookup: folding, tokens, stemming and language guessing."""

from __future__ import annotations

import pytest

from facilitator.features.knowledge import text


def test_fold_removes_case_and_accents() -> None:
    assert text.fold("Cooperación ÇÃO Ñandú") == "cooperacion cao nandu"


def test_fold_keeps_letters_without_a_plain_form() -> None:
    assert text.fold("Ελληνικά") == "ελληνικα"


def test_words_split_on_punctuation_and_underscores() -> None:
    assert text.words("E-mail: the_file.txt, n.º 5!") == [
        "e",
        "mail",
        "the",
        "file",
        "txt",
        "n",
        "º",
        "5",
    ]


def test_analyse_drops_stopwords_and_stems_in_the_given_language() -> None:
    assert text.analyse("Las grabaciones de las sesiones", "es") == ["grabacion", "sesion"]
    assert text.analyse("The recordings of the sessions", "en") == ["record", "session"]


def test_questions_words_are_not_stopwords() -> None:
    assert text.analyse("quem pode pedir", "pt")[0] == "quem"
    assert text.analyse("how much", "en")[0] == "how"


def test_unknown_language_is_folded_but_not_stemmed() -> None:
    assert text.analyse("Grabaciones Sesiones", "xx") == ["grabaciones", "sesiones"]


def test_portuguese_old_spelling_is_respelled() -> None:
    assert text.respell("actos efectuar direcção adopção", "pt") == "atos efetuar direção adoção"
    assert text.respell("actor", "en") == "actor"


@pytest.mark.parametrize(
    ("sentence", "lang"),
    [
        ("How do I reset my password?", "en"),
        ("¿Dónde están las grabaciones de las sesiones?", "es"),
        ("Onde posso ver as gravações das sessões?", "pt"),
        ("Quais são os documentos necessários para a inscrição?", "pt"),
        ("¿Cuál es el horario del taller?", "es"),
    ],
)
def test_language_is_guessed_from_function_words(sentence: str, lang: str) -> None:
    assert text.guess_language(sentence) == lang


def test_language_guess_falls_back_to_default() -> None:
    assert text.guess_language("webinar zoom", default="pt") == "pt"


def test_char_ngrams_mark_word_boundaries() -> None:
    assert text.char_ngrams("ato", (3,)) == [" at", "ato", "to "]
