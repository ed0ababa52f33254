"""Request bodies of the webhook routes, read only up to a limit."""

from __future__ import annotations

import re

from starlette.requests import Request

_LENGTH = re.compile(r"[0-9]{1,18}")


async def read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is longer than `limit` bytes.

    A declared length over the limit is refused before anything is read; a body without one
    (chunked) is read only until it passes the limit, so that nobody can make the process
    hold an endless body in memory."""
    declared = request.headers.get("content-length", "")
    if _LENGTH.fullmatch(declared) and int(declared) > limit:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


# Platform payloads nest a few levels (Slack's blocks in a view in a payload: about a dozen).
MAX_DEPTH = 64
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether JSON text nests arrays and objects deeper than `limit`, found without parsing
    it (Python's parser recurses, and a few kilobytes of brackets exhaust its stack)."""
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False
