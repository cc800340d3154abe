"""Typed views of the account, its users (with rights), pipelines and field definitions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from amo_bridge.amocrm.entities import _embedded, _int, _str


@dataclass(frozen=True, slots=True)
class AccountInfo:
    id: int
    name: str
    subdomain: str
    timezone: str
    country: str | None
    currency: str | None
    current_user_id: int | None

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> AccountInfo:
        return cls(id=_int(raw.get("id")) or 0, name=_str(raw.get("name")),
                   subdomain=_str(raw.get("subdomain")),
                   # amoCRM returns an IANA name; Moscow is the sensible default for ru accounts.
                   timezone=_str(raw.get("timezone")) or "Europe/Moscow",
                   country=raw.get("country"), currency=raw.get("currency"),
                   current_user_id=_int(raw.get("current_user_id")))


@dataclass(frozen=True, slots=True)
class EntityRights:
    """Right letters: A all, G group, M own, D denied (AMOCRM.md "API v4", users)."""

    view: str = "D"
    edit: str = "D"
    add: str = "D"
    delete: str = "D"
    export: str = "D"

    @classmethod
    def from_api(cls, raw: Any) -> EntityRights:
        if not isinstance(raw, Mapping):
            return cls()
        return cls(**{k: _str(raw.get(k)) or "D" for k in ("view", "edit", "add", "delete",
                                                            "export")})


@dataclass(frozen=True, slots=True)
class UserRights:
    leads: EntityRights
    contacts: EntityRights
    companies: EntityRights
    is_admin: bool
    is_free: bool
    is_active: bool
    raw: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    email: str | None
    lang: str | None
    rights: UserRights

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> User:
        rights = raw.get("rights") if isinstance(raw.get("rights"), Mapping) else {}
        return cls(
            id=_int(raw.get("id")) or 0, name=_str(raw.get("name")), email=raw.get("email"),
            lang=raw.get("lang"),
            rights=UserRights(
                leads=EntityRights.from_api(rights.get("leads")),
                contacts=EntityRights.from_api(rights.get("contacts")),
                companies=EntityRights.from_api(rights.get("companies")),
                is_admin=bool(rights.get("is_admin")), is_free=bool(rights.get("is_free")),
                is_active=bool(rights.get("is_active", True)), raw=dict(rights)),
        )


@dataclass(frozen=True, slots=True)
class Status:
    id: int
    pipeline_id: int
    name: str
    sort: int | None
    type: int | None

    @property
    def key(self) -> tuple[int, int]:
        # 142 (won) and 143 (lost) exist in every pipeline: a status id alone is ambiguous.
        return (self.pipeline_id, self.id)

    @property
    def is_won(self) -> bool:
        return self.id == 142

    @property
    def is_lost(self) -> bool:
        return self.id == 143


@dataclass(frozen=True, slots=True)
class Pipeline:
    id: int
    name: str
    is_main: bool
    statuses: tuple[Status, ...]

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> Pipeline:
        pipeline_id = _int(raw.get("id")) or 0
        statuses = tuple(
            Status(id=_int(s.get("id")) or 0,
                   pipeline_id=_int(s.get("pipeline_id")) or pipeline_id,
                   name=_str(s.get("name")), sort=_int(s.get("sort")), type=_int(s.get("type")))
            for s in _embedded(raw, "statuses"))
        return cls(id=pipeline_id, name=_str(raw.get("name")), is_main=bool(raw.get("is_main")),
                   statuses=statuses)


@dataclass(frozen=True, slots=True)
class FieldEnum:
    id: int
    value: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class CustomField:
    """A field definition from ``GET /api/v4/{entity}/custom_fields``."""

    id: int
    name: str
    code: str | None
    type: str
    enums: tuple[FieldEnum, ...] = ()

    @classmethod
    def from_api(cls, raw: Mapping[str, Any]) -> CustomField:
        enums = tuple(FieldEnum(id=_int(e.get("id")) or 0, value=_str(e.get("value")),
                                code=e.get("code") or e.get("enum_code"))
                      for e in raw.get("enums") or [] if isinstance(e, Mapping))
        return cls(id=_int(raw.get("id")) or 0, name=_str(raw.get("name")),
                   code=raw.get("code") or None, type=_str(raw.get("type")), enums=enums)
