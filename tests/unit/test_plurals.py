"""Every plural prompt, rendered with counts 0, 1, 2, 5 and 1,000,000 in en, es and pt, against
golden files a native speaker of each language has read (tests/data/plurals/<locale>.txt).

A changed rendering fails until the golden file is written again, and read again:
`python -m tests.unit.test_plurals` rewrites them.
"""

from __future__ import annotations

import pytest

from facilitator.i18n import plural_form
from tests.conftest import REPO_ROOT, prompt_catalogue

COUNTS = (0, 1, 2, 5, 1_000_000)
GOLDEN = REPO_ROOT / "tests" / "data" / "plurals"
LOCALES = ("en", "es", "pt")


def rendered(locale: str) -> str:
    """One line per plural prompt and count; other placeholders stay as `{name}`."""
    catalogue = prompt_catalogue()
    lines = []
    for key, entry in sorted(catalogue.messages["en"].items()):
        if isinstance(entry, str):
            continue
        for count in COUNTS:
            text = catalogue.text(locale, key, count=count).strip("\n").replace("\n", " ⏎ ")
            lines.append(f"{key} [{count}] {text}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_plural_prompt_renders_as_a_native_speaker_checked_it(locale: str) -> None:
    assert rendered(locale) == (GOLDEN / f"{locale}.txt").read_text("utf-8")


@pytest.mark.parametrize(
    ("locale", "forms"),
    [
        ("en", ["zero", "one", "other", "other", "other"]),
        ("es", ["zero", "one", "other", "other", "many"]),
        # CLDR's Portuguese rule (i = 0..1) would put 0 in `one`; a whole zero takes the plural.
        ("pt", ["zero", "one", "other", "other", "many"]),
    ],
)
def test_plural_forms_follow_cldr(locale: str, forms: list[str]) -> None:
    assert [plural_form(locale, n) for n in COUNTS] == forms


def test_zero_and_many_fall_back_to_other() -> None:
    catalogue = prompt_catalogue()
    assert catalogue.text("pt", "polls.results.total", count=0) == "0 votos no total."
    assert catalogue.text("es", "polls.results.total", count=1_000_000) == (
        "1.000.000 votos en total."
    )


if __name__ == "__main__":
    for code in LOCALES:
        (GOLDEN / f"{code}.txt").write_text(rendered(code), "utf-8")
