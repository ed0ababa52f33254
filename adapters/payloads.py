"""Inbound payloads that adapters parse before storing them, written back as JSON text."""

from __future__ import annotations

import json
import re

_SURROGATE = re.compile(r"[\ud800-\udfff]")


def stored_json(value: object) -> str:
    """`value` as compact JSON for the inbox, non-ASCII characters as they are.

    Half of a surrogate pair, escaped in the platform's JSON (`\\ud83d` alone), decodes to a
    code point that no UTF-8 store can take; a payload holding one stays ASCII-escaped, and
    decoding it later drops the surrogate (`facilitator.domain.text.printable`)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    if _SURROGATE.search(text):
        return json.dumps(value, separators=(",", ":"))
    return text
