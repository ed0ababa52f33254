"""Text analysis for lookup: words, stopwords, stemming and the language of a text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import Stemmer

from facilitator.text import fold

SUPPORTED_LANGS: tuple[str, ...] = ("en", "es", "pt")

_SNOWBALL_NAMES = {"en": "english", "es": "spanish", "pt": "portuguese"}

# Letters and digits; "_" is excluded so that snake_case and file names split into words.
_TOKEN_RE = re.compile(r"[^\W_]+")

# Stopword lists are small on purpose: interrogatives ("how", "who", "quem", "onde", "cuanto",
# "donde") are kept as terms, because in an FAQ bank they separate "how much does X cost" from
# "who can ask for X". "como" stays a stopword: it is also "as"/"like" and starts most questions.
_STOPWORDS_RAW: dict[str, str] = {
    "en": """
        a about above after again against all am an and any are as at be been before being
        below between both but by can could did do does doing down during each few for from
        further had has have having he her here hers herself him himself his i if in into is it
        its itself just me more most my myself no nor not now of off on once only or other our
        ours ourselves out over own same she should so some such than that the their theirs them
        themselves then there these they this those through to too under until up very was we
        were while will with would you your yours yourself yourselves s t d ll m re ve
        im ive id dont doesnt didnt cant isnt
    """,
    "es": """
        a al algo algunas algunos ante antes como con contra de del desde durante e el
        ella ellas ellos en entre era erais eramos eran eras eres es esa esas ese eso esos esta
        estaba estado estais estamos estan estar estas este esto estos estoy fue fueron fui
        fuimos ha habeis haber habia habian hace han has hasta hay he la las le les lo los me mi
        mis mucho muchos muy nada ni no nos nosotros o os otra otras otro otros para pero poco
        por porque que se sea sean ser si sido sin sobre sois somos son soy su sus suya suyas suyo
        suyos tambien te tengo ti tiene tienen todo todos tu tus un una uno unos usted ustedes
        vosotros
        y ya yo
    """,
    "pt": """
        a ao aos aquela aquelas aquele aqueles aquilo as ate com como da das de dela delas dele
        deles depois do dos e ela elas ele eles em entre era eram essa essas esse esses esta
        estamos estao estas estava estavam este esteja estejam estes esteve estive estivemos eu
        foi fomos for foram fosse fossem fui ha isso isto ja lhe lhes mais mas me mesmo meu meus
        minha minhas muito na nao nas nem no nos nossa nossas nosso nossos num numa o os ou para
        pela pelas pelo pelos por que se seja sejam sem ser sera seu seus so somos sou sua suas
        tambem te tem temos tenho ter teu teus tu tua tuas um uma umas uns voce voces vos
    """,
}


STOPWORDS: dict[str, frozenset[str]] = {
    lang: frozenset(fold(w) for w in words.split()) for lang, words in _STOPWORDS_RAW.items()
}


# ASCII text (most of it, and all folded text) splits faster by translation than by regex.
_ASCII_SEPARATORS = str.maketrans({c: " " for c in map(chr, range(128)) if not c.isalnum()})


def words(text: str) -> list[str]:
    """Case-folded words of `text`, accents kept (the stemmers need them)."""
    folded = text.casefold()
    if folded.isascii():
        return folded.translate(_ASCII_SEPARATORS).split()
    return _TOKEN_RE.findall(unicodedata.normalize("NFC", folded))


def is_stopword(word: str, lang: str) -> bool:
    """Whether the (folded) word is a stopword of `lang`; unknown languages have none."""
    stops = STOPWORDS.get(lang)
    return stops is not None and word in stops


@lru_cache(maxsize=8)
def _stemmer(lang: str) -> Stemmer.Stemmer | None:
    name = _SNOWBALL_NAMES.get(lang)
    return Stemmer.Stemmer(name) if name else None


# Portuguese before the 1990 spelling agreement writes silent consonants ("actos", "efectuar",
# "direcção", "adopção"); banks and users mix both spellings, so both are reduced to the new one.
_PT_SILENT = re.compile(r"c(?=[tç])|p(?=ç)")


def respell(word: str, lang: str) -> str:
    """Spelling variants of one language mapped to a single form (Portuguese silent c/p)."""
    return _PT_SILENT.sub("", word) if lang == "pt" else word


def stem_words(tokens: list[str], lang: str) -> list[str]:
    """Snowball stems of accented, case-folded words, then accent-folded.

    Stemming before folding keeps Portuguese suffixes such as "-ções" recognisable; languages
    without a stemmer keep the folded word.
    """
    stemmer = _stemmer(lang)
    if stemmer is None:
        return [fold(t) for t in tokens]
    return [fold(s) for s in stemmer.stemWords([respell(t, lang) for t in tokens])]


def stem_folded(word: str, lang: str) -> str:
    """Stem of an already accent-folded word (how a query typed without accents is stemmed)."""
    stemmer = _stemmer(lang)
    return word if stemmer is None else str(stemmer.stemWord(respell(word, lang)))


def analyse(text: str, lang: str, *, max_terms: int | None = None) -> list[str]:
    """Terms of `text`: words without stopwords or single letters, stemmed for `lang`."""
    kept = [w for w in words(text) if not _skip(fold(w), lang)]
    if max_terms is not None:
        kept = kept[:max_terms]
    return stem_words(kept, lang)


def _skip(folded: str, lang: str) -> bool:
    return (len(folded) < 2 and not folded.isdigit()) or is_stopword(folded, lang)


# Words that are frequent in one language and rare in the other two; accent-folded.
_LANG_MARKERS_RAW: dict[str, str] = {
    "en": """the and is are how what which who where when why can do does i my to of with for
        you it this that from have be not""",
    "es": """el la los las es y como que cual quien donde cuando por para con mi puedo una del
        esta hay pero muy tengo hacer se""",
    "pt": """o os as e um uma como que qual quem onde quando por para com meu posso do da dos
        das nao sao ao pelo pela tenho fazer esta""",
}
_LANG_MARKERS: dict[str, frozenset[str]] = {
    lang: frozenset(text.split()) for lang, text in _LANG_MARKERS_RAW.items()
}
_LANG_LETTERS: dict[str, frozenset[str]] = {
    "es": frozenset("ñ¿¡"),
    "pt": frozenset("ãõç"),
}


def guess_language(text: str, default: str = "en") -> str:
    """Best guess among en/es/pt from function words and a few letters; `default` on a tie."""
    folded_words = [fold(w) for w in words(text)[:200]]
    scores = {
        lang: sum(w in markers for w in folded_words) for lang, markers in _LANG_MARKERS.items()
    }
    lowered = text[:2000].casefold()
    for lang, letters in _LANG_LETTERS.items():
        scores[lang] += 2 * sum(ch in letters for ch in lowered)
    best = max(scores.values())
    if best == 0:
        return default
    leaders = [lang for lang in SUPPORTED_LANGS if scores[lang] == best]
    return default if default in leaders else leaders[0]


def char_ngrams(word: str, sizes: Iterable[int] = (3, 4, 5)) -> list[str]:
    """Character n-grams of a word padded with spaces: "ato" -> " at", "ato", "to ", " ato"..."""
    padded = f" {word} "
    return [padded[i : i + n] for n in sizes for i in range(max(1, len(padded) - n + 1))]
