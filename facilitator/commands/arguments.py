"""What a command's handler receives as arguments, and the error that explains wrong ones.

Each command declares its arguments twice, on purpose: as `Arg`s (`commands.spec`), which the
parser, /help and the platforms' menus read, and as a frozen dataclass with one field per
`Arg`, which the parser builds and the handler receives, so that mypy checks every use of an
argument. `tests/unit/test_command_declarations.py` keeps the two in step.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class NoArgs:
    """The arguments of a command that takes none."""


@dataclass(frozen=True)
class IdArgs:
    """The arguments of a command that takes one required number: what it acts on."""

    id: int


class ArgumentError(Exception):
    """A command's arguments are wrong; `key` names the prompt that explains it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


def fold(text: str) -> str:
    """A typed word as compared with the vocabulary: case, accents and `-`/`_` set aside, so
    `Anónima`, `anonima` and `ANÓNIMA` are one word, and `auto-answer` is `auto_answer`."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.casefold().replace("-", "_")


class Words:
    """The words a member may type for each fixed word of a command (a choice, a setting's
    name, a poll's flag), in every language at once: `week`, `semana`; `all`, `todo`, `tudo`.

    Declared once, in `prompts/<locale>/words.toml` as `<canonical> = "word|other word"` (the
    first word is the one shown in usage and errors). Every language is accepted whatever the
    member's own, and English (the canonical word itself) always; the handler only ever sees
    the canonical word."""

    def __init__(self, spellings: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
        # canonical -> locale -> the words of that language, the shown one first
        self._spellings = {
            canonical: {locale: tuple(words) for locale, words in by_locale.items() if words}
            for canonical, by_locale in spellings.items()
        }
        self._folded: dict[str, frozenset[str]] = {
            canonical: frozenset(
                {fold(canonical)} | {fold(w) for words in by_locale.values() for w in words}
            )
            for canonical, by_locale in self._spellings.items()
        }

    @classmethod
    def from_catalogue(cls, messages: Mapping[str, Mapping[str, object]]) -> Words:
        """The vocabulary from the catalogue's `words.*` entries, every locale's."""
        spellings: dict[str, dict[str, list[str]]] = {}
        for locale, entries in messages.items():
            for key, entry in entries.items():
                if key.startswith(_PREFIX) and isinstance(entry, str):
                    words = [w.strip() for w in entry.split("|") if w.strip()]
                    spellings.setdefault(key[len(_PREFIX) :], {})[locale] = words
        return cls(spellings)

    def canonical(self, choices: Iterable[str], text: str) -> str | None:
        """Which of `choices` the typed `text` means, in any of our languages; None if none."""
        typed = fold(text)
        for choice in choices:
            if typed == fold(choice) or typed in self._folded.get(choice, ()):
                return choice
        return None

    def shown(self, locale: str, canonical: str) -> str:
        """The word a member of that language reads for `canonical` (in usage and errors)."""
        words = self._spellings.get(canonical, {})
        return (words.get(locale) or (canonical,))[0]

    def spellings(self, canonical: str) -> frozenset[str]:
        """Every word (folded) that means `canonical`, in every language."""
        return self._folded.get(canonical, frozenset({fold(canonical)}))


_PREFIX = "words."
# Knows only the canonical words: what a parser uses when it is given no catalogue.
CANONICAL_ONLY = Words({})
