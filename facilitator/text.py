"""Text compared regardless of case and accents: "Cooperación" and "cooperacion" are one word."""

from __future__ import annotations

import unicodedata


def _strip_marks(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


# Latin letters with diacritics folded by a translation table: the per-character Unicode path
# is the cost of indexing, and almost all text of en/es/pt is ASCII or Latin-1.
_FOLD_TABLE: dict[int, str] = {
    cp: _strip_marks(chr(cp)) for cp in range(0xC0, 0x250) if _strip_marks(chr(cp)) != chr(cp)
}


def fold(text: str) -> str:
    """Lower-case, case-fold and strip diacritics: "Cooperación" -> "cooperacion"."""
    folded = text.casefold()
    if folded.isascii():
        return folded
    folded = folded.translate(_FOLD_TABLE)
    return folded if folded.isascii() else _strip_marks(folded)
