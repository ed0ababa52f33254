"""Recognising thanks and welcomes in en/es/pt messages, and the reactions that credit."""

from __future__ import annotations

import re

from facilitator.text import fold

# Folded (no accents, lower case) words and phrases; matched as whole words.
_THANKS = (
    "thanks",
    "thank you",
    "thank u",
    "thx",
    "ty",
    "many thanks",
    "much appreciated",
    "gracias",
    "muchas gracias",
    "mil gracias",
    "te agradezco",
    "les agradezco",
    "agradecido",
    "agradecida",
    "obrigado",
    "obrigada",
    "obrigadao",
    "muito obrigado",
    "valeu",
    "agradeco",
)
_WELCOME = (
    "welcome",
    "welcome aboard",
    "bienvenido",
    "bienvenida",
    "bienvenidos",
    "bienvenidas",
    "bem vindo",
    "bem vinda",
    "bem vindos",
    "bem vindas",
    "boas vindas",
)
_THANKS_PATTERN = re.compile(r"\b(?:" + "|".join(map(re.escape, _THANKS)) + r")\b")
_WELCOME_PATTERN = re.compile(r"\b(?:" + "|".join(map(re.escape, _WELCOME)) + r")\b")
_THANKS_EMOJI = ("🙏", "🙌")
_SKIN_TONE = re.compile(r"::skin-tone-\d$|[\U0001F3FB-\U0001F3FF]")
# Thanks is something said in a short reply; a long message that merely contains "thanks" is
# mostly something else.
_MAX_THANKS_WORDS = 40


def _folded(text: str) -> str:
    return re.sub(r"[-_]", " ", fold(text[:1000]))


def is_thanks(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped.startswith("/"):
        return False
    if len(stripped.split()) > _MAX_THANKS_WORDS:
        return False
    if any(emoji in stripped for emoji in _THANKS_EMOJI):
        return True
    return _THANKS_PATTERN.search(_folded(stripped)) is not None


def is_welcome(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped.startswith("/"):
        return False
    return _WELCOME_PATTERN.search(_folded(stripped)) is not None


def normalize_reaction(emoji: str) -> str:
    """`+1::skin-tone-3` -> `+1`, 👍🏽 -> 👍, `:heart:` -> `heart`."""
    return _SKIN_TONE.sub("", emoji.strip().strip(":"))
