"""Query parsing (PHP bracket keys) and list pagination (AMOCRM.md "API v4").

Lists take ``page`` and ``limit`` (more than the maximum is clamped, as amoCRM ignores it),
answer ``_page``, ``_links.self|next|prev|first`` and ``_embedded.<entity>``, and an empty
result — including the page after the last — is ``204 No Content`` with an empty body.
``next`` is present whenever a page is full: like amoCRM, the simulator does not promise that
the next page has items, so a client must handle the final 204.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from flask import Response, request

from .errors import ApiError, hal, no_content

Record = dict[str, Any]
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def parse_brackets(pairs: Iterable[tuple[str, str]]) -> Record:
    """``filter[statuses][0][status_id]=1`` → ``{"filter": {"statuses": {"0": {...}}}}``.

    ``key[]`` appends to a list; ``key[0]`` keeps the index as a dict key (filters use both).
    """
    out: Record = {}
    for key, value in pairs:
        m = _KEY.match(key)
        if not m:
            continue
        parts = [m.group(1)] + re.findall(r"\[([^\[\]]*)\]", m.group(2))
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_list = not last and parts[i + 1] == ""
            if part == "":
                if isinstance(node, list):
                    node.append(value)
                break
            if last:
                node[part] = value
            else:
                if part not in node or not isinstance(node[part], list | dict):
                    node[part] = [] if nxt_list else {}
                node = node[part]
    return out


def query() -> Record:
    return parse_brackets(request.args.items(multi=True))


def int_list(value: Any) -> list[int]:
    """A filter value: ``[1, 2]``, ``{"0": 1}``, ``"1,2"`` or ``"1"`` → ints."""
    if value is None:
        return []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, str):
        value = value.split(",")
    try:
        return [int(v) for v in value if str(v).strip() != ""]
    except (TypeError, ValueError) as exc:
        raise ApiError(400, f"Invalid filter value: {value!r}") from exc


def str_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, str):
        value = value.split(",")
    return [str(v) for v in value if str(v)]


def in_range(value: int | None, spec: Any) -> bool:
    """``filter[x][from]/[to]`` (inclusive) or a single value."""
    if spec is None:
        return True
    if value is None:
        return False
    if isinstance(spec, dict):
        lo, hi = spec.get("from"), spec.get("to")
        return (lo in (None, "") or value >= int(lo)) and (hi in (None, "") or value <= int(hi))
    return value == int(spec)


def page_and_limit(*, default: int, maximum: int) -> tuple[int, int]:
    try:
        page = max(1, int(request.args.get("page", 1)))
        limit = int(request.args.get("limit", default))
    except ValueError as exc:
        raise ApiError(400, "page and limit must be integers") from exc
    return page, min(max(1, limit), maximum)


def order(
    items: list[Record],
    spec: Any,
    allowed: tuple[str, ...],
    default: str = "id",
    default_dir: str = "asc",
) -> list[Record]:
    key, direction = default, default_dir
    if isinstance(spec, dict) and spec:
        key, direction = next(iter(spec.items()))
        if key not in allowed or direction not in ("asc", "desc"):
            raise ApiError(400, f"Unsupported order: {key}={direction}")
    return sorted(items, key=lambda r: (r.get(key) or 0, r["id"]), reverse=direction == "desc")


def _href(page: int, limit: int) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page", "limit")]
    return f"{request.base_url}?{urlencode(args + [('page', page), ('limit', limit)])}"


def page_response(
    key: str,
    items: list[Record],
    render: Callable[[Record], Record],
    *,
    default: int = 50,
    maximum: int = 250,
) -> Response:
    page, limit = page_and_limit(default=default, maximum=maximum)
    chunk = items[(page - 1) * limit : page * limit]
    if not chunk:
        return no_content()
    links: Record = {"self": {"href": _href(page, limit)}}
    if len(chunk) == limit:
        links["next"] = {"href": _href(page + 1, limit)}
    links["first"] = {"href": _href(1, limit)}
    if page > 1:
        links["prev"] = {"href": _href(page - 1, limit)}
    return hal({"_page": page, "_links": links, "_embedded": {key: [render(r) for r in chunk]}})


def with_set() -> set[str]:
    return {w.strip() for w in request.args.get("with", "").split(",") if w.strip()}
