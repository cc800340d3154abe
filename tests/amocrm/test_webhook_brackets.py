"""The PHP bracket-key decoder/encoder, including a seeded property-style round trip.

hypothesis is not a project dependency, so the generator is a plain ``random.Random`` with fixed
seeds: every run checks the same few hundred trees, and a failure names its seed.
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import parse_qsl

import pytest

from amo_bridge.amocrm.webhook import parse_webhook
from amo_bridge.amocrm.webhook_php import (
    FormDecodeError,
    decode_form,
    decode_pairs,
    encode_form,
    flatten,
    split_key,
)


@pytest.mark.parametrize(
    ("key", "segments"),
    [
        ("account", ["account"]),
        ("leads[add][0][id]", ["leads", "add", "0", "id"]),
        ("a[]", ["a", ""]),
        ("a[b c][Вид страхования]", ["a", "b c", "Вид страхования"]),
        ("a[x=y&z]", ["a", "x=y&z"]),
    ],
)
def test_split_key(key: str, segments: list[str]) -> None:
    assert split_key(key) == segments


def test_php_rules() -> None:
    assert decode_pairs([("a[]", "x"), ("a[]", "y"), ("a[7]", "z"), ("a[]", "w")]) == {
        "a": {"0": "x", "1": "y", "7": "z", "8": "w"}
    }
    assert decode_pairs([("a", "1"), ("a", "2")]) == {"a": "2"}  # last one wins
    assert decode_pairs([("a", "1"), ("a[b]", "2")]) == {"a": {"b": "2"}}
    assert decode_pairs([("a[b]", "2"), ("a", "1")]) == {"a": "1"}
    assert decode_form("a%5Bb%5D=%D0%9A%D0%90%D0%A1%D0%9A%D0%9E+1&&c=") == {
        "a": {"b": "КАСКО 1"},
        "c": "",
    }


def test_truncation_is_flagged_only_on_the_last_pair() -> None:
    with pytest.raises(FormDecodeError) as caught:
        decode_form("a=1&b=%D0")
    assert caught.value.truncated
    with pytest.raises(FormDecodeError) as caught:
        decode_form("a=%D0&b=1")
    assert not caught.value.truncated
    with pytest.raises(FormDecodeError) as caught:
        decode_form("lonely")  # a single pair cannot tell truncation from junk
    assert not caught.value.truncated


def test_encode_form_matches_phps_http_build_query() -> None:
    tree = {"leads": {"status": [{"id": 1, "name": "КАСКО Иванов"}]}, "account": {"id": "7"}}
    assert encode_form(tree) == (
        "leads%5Bstatus%5D%5B0%5D%5Bid%5D=1"
        "&leads%5Bstatus%5D%5B0%5D%5Bname%5D=%D0%9A%D0%90%D0%A1%D0%9A%D0%9E"
        "+%D0%98%D0%B2%D0%B0%D0%BD%D0%BE%D0%B2"
        "&account%5Bid%5D=7"
    )


# Everything a key or value may hold except the brackets PHP reserves for structure.
KEY_CHARS = "abcxyz_019 -.+&=%#?/:;@!$'\"АБВгдеЁё€—"
VALUE_CHARS = KEY_CHARS + "[]{}\\\t\r\n"


def random_text(rng: random.Random, chars: str, low: int, high: int) -> str:
    return "".join(rng.choice(chars) for _ in range(rng.randint(low, high)))


def random_tree(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    """A PHP-representable tree: non-empty keys, no empty containers, string leaves."""
    tree: dict[str, Any] = {}
    for _ in range(rng.randint(1, 4)):
        key = str(rng.randrange(5)) if rng.random() < 0.3 else random_text(rng, KEY_CHARS, 1, 8)
        if depth < 4 and rng.random() < 0.45:
            tree[key] = random_tree(rng, depth + 1)
        else:
            tree[key] = random_text(rng, VALUE_CHARS, 0, 12)
    return tree


def test_random_trees_round_trip() -> None:
    for seed in range(500):
        tree = random_tree(random.Random(seed))
        encoded = encode_form(tree)
        assert decode_form(encoded) == tree, f"seed {seed}: {encoded}"
        # The stdlib agrees on the transport layer: same flat pairs, same order.
        assert parse_qsl(encoded, keep_blank_values=True) == list(flatten(tree)), f"seed {seed}"


def test_random_items_survive_the_whole_parser() -> None:
    for seed in range(10_000, 10_100):
        rng = random.Random(seed)
        items = {str(i): {**random_tree(rng), "id": str(i + 1)} for i in range(rng.randint(1, 3))}
        tree = {"leads": {"update": items}, "account": {"id": "29085712"}}
        parsed = parse_webhook(encode_form(tree).encode(), None)
        assert [event.entity_id for event in parsed.events] == [int(i) + 1 for i in items]
        assert [event.raw for event in parsed.events] == list(items.values()), f"seed {seed}"
