"""Which unanswered lookups are worth a moderator's time: greetings, thanks, reactions,
acknowledgements, farewells, laughter and stray characters are not knowledge gaps.

The rule reads the words, not a model: a line is noise when nothing in it is about a topic
(every word is a social word or a stopword), when it is a thank-you that asks nothing, or when
it is one word typed to test the bot or mash the keyboard. A short line that names a topic
("indicadores?", "webinar recordings") is a real question. Measured on a labelled set of en/es/pt
lines in tests/unit/knowledge/test_noise.py.
"""

from __future__ import annotations

import re

from facilitator.features.knowledge import text as tx
from facilitator.text import fold


def _vocabulary(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Accent-folded, lower case. Phrases are matched word by word, so "muito obrigado" is two
# social words.
_SOCIAL = _vocabulary(
    """
    hi hello hey hiya yo howdy morning afternoon evening night good all everyone everybody
    guys folks team people dear welcome cheers thanks thank thx ty tks tnx appreciated
    appreciate much lot lots many so very great ok okay okey k kk sure yes yeah yep yup no
    nope nah fine cool nice awesome perfect excellent right alright gotcha got it
    understood noted agree agreed done lol lmao haha hahaha hehe bye goodbye later cya see
    soon take care regards best wishes ciao how are you doing whats up sup wow oh ah anyone
    anybody here there sounds talk tomorrow one oki okis hola buenas buenos dias tardes
    noches saludos holi que tal todos todas gente equipo gracias grax mil muchas muchisimas
    muchisimo agradecido agradecida agradezco vale dale listo perfecto genial excelente
    bueno buena bien claro entendido acuerdo si sip jaja jajaja jajajaja jeje jejeje xd
    chau chao adios hasta luego pronto manana nos vemos abrazo abrazos besos cuidate
    alguien aqui amable como estas estan esta andas va todo ola oi boa bom dia tarde noite
    pessoal galera turma gente obrigado obrigada obg brigado brigada valeu vlw muito muita
    agradeco beleza blz certo combinado otimo otima show legal top isso sim nao kkk kkkk
    kkkkk rsrs rsrsrs hehehe tchau ate logo mais abraco abracos beijos amanha tudo bem vai
    voce voces perfeito ta demais ai alguem
    """
)
# Thanks and praise: a line with one of these that asks nothing is a reaction, whatever topic
# it names ("gracias por la info sobre indicadores", "loved the webinar!").
_REACTING = _vocabulary(
    """
    thanks thank thx ty tks tnx appreciate appreciated congrats congratulations kudos loved
    love bravo gracias grax agradezco agradecido agradecida felicitaciones felicidades
    buenisimo buenisima encanto genial obrigado obrigada obg brigado brigada brigadao valeu
    vlw agradeco parabens adorei amei otimo otima
    """
)
# Words that make a line a question or a request even when everything else is social.
_ASKING = _vocabulary(
    """
    what how where why who when which whose can could would should do does is are any que
    como donde cual cuales quien quienes cuando cuanto cuanta cuantos cuantas puedo puede
    pueden podemos hay tienen tiene existe necesito busco onde qual quais quem quando
    quanto quanta quantos quantas posso pode podem tem preciso procuro need needs looking
    want send find quiero queria manden mandar envien enviar compartan quero mandem enviem
    compartilhem
    """
)
# One word typed to see whether the bot answers.
_TRIAL = _vocabulary(
    """
    test testing teste testando prueba probando hmm hm mmm ping asdf qwerty
    """
)
_VOWELS = re.compile(r"[aeiouy]")
_LAUGH = re.compile(r"^(?:(?:ja|ha|he|je|ka|rs|hi|k)+h?|x+d+|l+o+l+)$")


def is_noise(text: str, lang: str) -> bool:
    """True for a line that is not a question for the repository (see the module)."""
    folded = fold(text).lower()
    # "holaaa", "excelenteee", "graciasss": a letter held down is the same word.
    tokens = [_squeeze(t) for t in tx.words(folded)]
    if not tokens:
        return True  # punctuation, emoji, stray characters
    asks = "?" in text or "¿" in text or any(t in _ASKING for t in tokens)
    content = [
        t
        for t in tokens
        if t not in _SOCIAL
        and t not in _REACTING
        and not _LAUGH.match(t)
        and not tx.is_stopword(t, lang)
        and (len(t) > 1 or t.isdigit())
    ]
    if not content:
        return True
    if not asks and any(t in _REACTING for t in tokens):
        return True  # a thank-you or praise that asks nothing
    if len(tokens) == 1:
        word = tokens[0]
        if word in _TRIAL or not _VOWELS.search(word) or _mashed(word):
            return True
    return False


def _squeeze(word: str) -> str:
    squeezed = re.sub(r"([a-z])\1{2,}", r"\1", word)
    if squeezed in _SOCIAL or squeezed in _REACTING:
        return squeezed
    # A doubled last letter: "holaa", "okk".
    if len(squeezed) > 3 and squeezed[-1] == squeezed[-2] and squeezed[:-1] in _SOCIAL | _REACTING:
        return squeezed[:-1]
    return squeezed


def _mashed(word: str) -> bool:
    """ "aaaa", "asdasd", "jkjkjk": one to three letters repeated."""
    for size in (1, 2, 3):
        unit = word[:size]
        if (
            len(word) >= 2 * size + 1
            and unit * (len(word) // size) == word[: len(word) // size * size]
        ):
            return True
    return False
