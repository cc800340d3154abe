"""The product dictionary: stable codes with Russian and English names and aliases.

Products are a dictionary, not free strings (DESIGN.md): schedules, targets, rates and salary
rules are keyed by code. The defaults come from ``config/defaults.toml``; each account keeps its
own editable copy in its settings.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

DEFAULTS_PATH = Path(__file__).resolve().parent.parent / "config" / "defaults.toml"

_NOISE = re.compile(r"[\s\-_.,;:«»\"'()/]+")


def fold(text: str) -> str:
    """Normalise a product name for matching: case, ё→е, punctuation and spaces dropped."""
    return _NOISE.sub("", text.casefold().replace("ё", "е"))


@dataclass(frozen=True, slots=True)
class Product:
    code: str
    name_ru: str
    name_en: str
    aliases: tuple[str, ...] = field(default=())

    def name(self, lang: str = "ru") -> str:
        return self.name_en if lang == "en" else self.name_ru


class UnknownProduct(LookupError):
    def __init__(self, value: str) -> None:
        super().__init__(f"unknown product {value!r}")
        self.value = value


class ProductDictionary:
    def __init__(self, products: Iterable[Product]) -> None:
        self._by_code: dict[str, Product] = {}
        self._by_alias: dict[str, Product] = {}
        for product in products:
            if product.code in self._by_code:
                raise ValueError(f"duplicate product code {product.code!r}")
            self._by_code[product.code] = product
            for alias in (product.code, product.name_ru, product.name_en, *product.aliases):
                key = fold(alias)
                other = self._by_alias.get(key)
                if other is not None and other.code != product.code:
                    raise ValueError(f"alias {alias!r} names both {other.code} and {product.code}")
                self._by_alias[key] = product

    @classmethod
    def from_config(cls, items: Iterable[Mapping[str, Any]]) -> ProductDictionary:
        return cls(
            Product(
                code=str(item["code"]),
                name_ru=str(item["name_ru"]),
                name_en=str(item.get("name_en") or item["name_ru"]),
                aliases=tuple(str(a) for a in item.get("aliases", ())),
            )
            for item in items
        )

    def __iter__(self):
        return iter(self._by_code.values())

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def get(self, code: str) -> Product:
        return self._by_code[code]

    def resolve(self, value: str) -> Product:
        """A product by code, name or alias; raises :class:`UnknownProduct` naming the value."""
        product = self._by_alias.get(fold(value or ""))
        if product is None:
            raise UnknownProduct(value)
        return product

    def to_config(self) -> list[dict[str, Any]]:
        return [
            {"code": p.code, "name_ru": p.name_ru, "name_en": p.name_en, "aliases": list(p.aliases)}
            for p in self
        ]


@lru_cache(maxsize=4)
def load_defaults(path: Path = DEFAULTS_PATH) -> dict[str, Any]:
    """The default business settings (a fresh copy is made by callers that edit it)."""
    with path.open("rb") as handle:
        return tomllib.load(handle)


def default_products() -> ProductDictionary:
    return ProductDictionary.from_config(load_defaults()["products"])
