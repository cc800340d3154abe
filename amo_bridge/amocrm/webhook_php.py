"""PHP-style form bodies: ``a[b][0][c]=x`` keys to nested dicts, and back.

amoCRM's account webhooks are produced by PHP's ``http_build_query`` and meant to be read with
``parse_str``/``$_POST`` (AMOCRM.md "Webhooks"), so this module reproduces the parts of PHP's
rules that such bodies use:

- a key is a base name followed by ``[segment]`` groups; ``[]`` appends (next integer index);
- PHP "arrays" become ``dict[str, ...]`` keyed by the segment text, in order of first appearance
  (indices stay strings: ``"0"``, ``"1"`` — amoCRM also keys by entity id, e.g.
  ``linked_leads_id[35144366][ID]``);
- a repeated key overwrites the earlier value, as in PHP (last one wins);
- unlike PHP, a base name keeps ``.`` and spaces (amoCRM never sends them) and a malformed key
  is an error instead of being silently mangled: in practice it means the body was cut.

Decoding is strict about the transport (percent-escapes, UTF-8) and leaves all meaning to the
caller; encoding is the inverse, used by tests and by anything that must speak amoCRM's format.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote_plus, unquote_to_bytes

MAX_DEPTH = 32
_BROKEN_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class FormDecodeError(ValueError):
    """The body is not a well-formed PHP-style form; ``truncated`` says it looks cut short."""

    def __init__(self, message: str, *, truncated: bool = False) -> None:
        super().__init__(message)
        self.truncated = truncated


def split_pairs(text: str) -> list[tuple[str, str]]:
    """``k=v&k2=v2`` → decoded ``[(k, v), …]``; ``+`` is a space; empty pairs are skipped."""
    chunks = [chunk for chunk in text.split("&") if chunk]
    pairs: list[tuple[str, str]] = []
    for number, chunk in enumerate(chunks, start=1):
        # Only the final pair of a multi-pair body can have been cut in transit.
        last = number == len(chunks) > 1
        key, sep, value = chunk.partition("=")
        if not sep:
            raise FormDecodeError(f"pair #{number} {_clip(chunk)!r} has no '='", truncated=last)
        pairs.append((_unquote(key, number, last), _unquote(value, number, last)))
    return pairs


def split_key(key: str) -> list[str]:
    """``leads[add][0][id]`` → ``["leads", "add", "0", "id"]``; ``a[]`` → ``["a", ""]``."""
    opening = key.find("[")
    if opening == -1:
        if "]" in key:
            raise FormDecodeError(f"key {_clip(key)!r} has ']' without '['")
        return [key]
    if opening == 0:
        raise FormDecodeError(f"key {_clip(key)!r} has no name before '['")
    segments = [key[:opening]]
    position = opening
    while position < len(key):
        if key[position] != "[":
            raise FormDecodeError(f"key {_clip(key)!r} has text after a closing ']'")
        closing = key.find("]", position)
        if closing == -1:
            raise FormDecodeError(f"key {_clip(key)!r} has an unclosed '['")
        segments.append(key[position + 1 : closing])
        position = closing + 1
    if len(segments) > MAX_DEPTH:
        raise FormDecodeError(f"key {_clip(key)!r} nests deeper than {MAX_DEPTH} levels")
    return segments


def decode_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Build the nested dict PHP's ``parse_str`` would, from already-decoded pairs."""
    tree: dict[str, Any] = {}
    for key, value in pairs:
        segments = split_key(key)
        node = tree
        for depth, segment in enumerate(segments):
            name = _next_index(node) if segment == "" else segment
            if depth == len(segments) - 1:
                node[name] = value
                break
            child = node.get(name)
            if not isinstance(child, dict):
                # PHP turns a scalar into an array when a deeper key arrives later.
                child = node[name] = {}
            node = child
    return tree


def decode_form(text: str) -> dict[str, Any]:
    """Decode a whole ``application/x-www-form-urlencoded`` body with PHP's bracket rules."""
    return decode_pairs(split_pairs(text))


def flatten(tree: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """The inverse of :func:`decode_pairs`: nested mapping → ``("a[b][c]", "x")`` pairs.

    Lists and tuples are written with their positions as indices; empty containers vanish, as
    they do in PHP's ``http_build_query``.
    """
    for name, value in tree.items():
        yield from _flatten(str(name), value)


def encode_form(tree: Mapping[str, Any]) -> str:
    """Encode like PHP's ``http_build_query``: brackets as ``%5B``/``%5D``, spaces as ``+``."""
    return "&".join(f"{quote_plus(key)}={quote_plus(value)}" for key, value in flatten(tree))


def _flatten(prefix: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, Mapping):
        for name, child in value.items():
            yield from _flatten(f"{prefix}[{name}]", child)
    elif isinstance(value, list | tuple):
        for position, child in enumerate(value):
            yield from _flatten(f"{prefix}[{position}]", child)
    elif value is None:
        yield prefix, ""
    else:
        yield prefix, str(value)


def _next_index(node: Mapping[str, Any]) -> str:
    numbers = [int(name) for name in node if name.isdigit()]
    return str(max(numbers) + 1 if numbers else 0)


def _unquote(component: str, number: int, last: bool) -> str:
    broken = _BROKEN_ESCAPE.search(component)
    if broken:
        raise FormDecodeError(
            f"pair #{number} has a broken percent-escape at {_clip(component[broken.start() :])!r}",
            truncated=last and broken.start() >= len(component) - 2,
        )
    raw = unquote_to_bytes(component.replace("+", " "))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise FormDecodeError(
            f"pair #{number} is not valid UTF-8 once decoded ({error.reason})",
            truncated=last and error.end >= len(raw),
        ) from None


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
