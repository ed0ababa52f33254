"""Recognising questions in en/es/pt chat messages."""

from __future__ import annotations

import re
from functools import lru_cache

from facilitator.text import fold

# First words that make a sentence a question even without a question mark (folded: no
# accents, lower case).
_INTERROGATIVES = {
    "en": {
        "what",
        "how",
        "why",
        "when",
        "where",
        "who",
        "whom",
        "whose",
        "which",
        "can",
        "could",
        "does",
        "do",
        "did",
        "is",
        "are",
        "should",
        "would",
        "will",
        "anyone",
        "anybody",
        "has",
        "have",
    },
    "es": {
        "que",
        "como",
        "cuando",
        "donde",
        "quien",
        "quienes",
        "cual",
        "cuales",
        "cuanto",
        "cuanta",
        "cuantos",
        "cuantas",
        "alguien",
        "puedo",
        "podemos",
        "hay",
        "sabe",
        "saben",
        "conocen",
        "tienen",
        "existe",
    },
    "pt": {
        "que",
        "como",
        "quando",
        "onde",
        "quem",
        "qual",
        "quais",
        "quanto",
        "quanta",
        "quantos",
        "quantas",
        "alguem",
        "posso",
        "podemos",
        "existe",
        "sabe",
        "sabem",
        "conhecem",
        "tem",
        "voces",
    },
}
_ALL_INTERROGATIVES = set().union(*_INTERROGATIVES.values())
_PHRASES = ("por que", "por qué", "o que", "what about", "any idea", "alguna idea", "alguma ideia")
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)


@lru_cache(maxsize=256)  # asked of each message by the core and by the nudges' hook
def is_question(text: str) -> bool:
    """A question mark (or an opening ¿) anywhere, or an interrogative first word."""
    stripped = text.strip()
    if not stripped or stripped.startswith("/"):
        return False
    if "?" in stripped or "¿" in stripped:
        return True
    words = _WORD.findall(fold(stripped[:200]))
    if len(words) < 3:
        return False
    opening = " ".join(words[:2])
    return words[0] in _ALL_INTERROGATIVES or any(opening.startswith(p) for p in _PHRASES)
