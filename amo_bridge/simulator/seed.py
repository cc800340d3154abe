"""Seed files (TOML or JSON) → in-memory accounts.

A seed is ``{"accounts": [...]}`` (or one account table). Besides amoCRM's own v4 keys, leads,
contacts and companies accept friendly keys: ``fields = {"<field name or code>" = value}``
(dates as "YYYY-MM-DD", stored as account-local midnight, AMOCRM.md "API v4"), ``phones`` /
``emails`` (``[{value, enum_code}]``), ``contacts`` (lead → contact ids, first is main),
``company_id`` and ``tags`` (names). See ``default_seed.toml``.
"""

from __future__ import annotations

import json
import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import records
from .errors import ApiError, Validation
from .fields import apply_values
from .model import Account, Actor, Operation
from .oauth import Integration

if TYPE_CHECKING:
    from .state import Simulator

Record = dict[str, Any]
DEFAULT_SEED = Path(__file__).with_name("default_seed.toml")
WON, LOST = 142, 143
FULL_RIGHTS = {"view": "A", "edit": "A", "add": "A", "delete": "A", "export": "A"}
MANAGER_RIGHTS = {"view": "A", "edit": "A", "add": "A", "delete": "M", "export": "D"}


def read_seed(source: str | Path | Record) -> Record:
    if isinstance(source, dict):
        return source
    path = Path(source)
    if path.suffix == ".json":
        return json.loads(path.read_text(encoding="utf-8"))
    return tomllib.loads(path.read_text(encoding="utf-8"))


def to_ts(value: Any, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    if isinstance(value, date):
        return int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp())
    if isinstance(value, str) and not value.isdigit():
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    return int(value)


def load_seed(source: str | Path | Record, sim: Simulator) -> list[Account]:
    doc = read_seed(source)
    tables = doc.get("accounts", [doc] if "subdomain" in doc else [])
    return [_account(table, sim) for table in tables]


def _account(t: Record, sim: Simulator) -> Account:
    now = sim.clock.now()
    ts_now = int(now.timestamp())
    account = Account(
        id=int(t["id"]),
        subdomain=t["subdomain"],
        name=t.get("name", t["subdomain"]),
        timezone=t.get("timezone", "Europe/Moscow"),
        created_at=to_ts(t.get("created_at"), ts_now),
        currency=t.get("currency", "RUB"),
        country=t.get("country", "RU"),
    )
    for u in t.get("users", []):
        _add_user(account, u)
    for p in t.get("pipelines", []):
        _add_pipeline(account, p)
    for kind, key in (
        ("leads", "lead_fields"),
        ("contacts", "contact_fields"),
        ("companies", "company_fields"),
    ):
        for sort, f in enumerate(t.get(key, []), start=1):
            _add_field(account, kind, f, sort)
    for r in t.get("loss_reasons", []):
        account.loss_reasons[int(r["id"])] = {
            "id": int(r["id"]),
            "name": r["name"],
            "sort": r.get("sort", 1),
            "created_at": account.created_at,
            "updated_at": account.created_at,
        }
    for c in t.get("catalogs", []):
        _add_catalog(account, c)
    for i in t.get("integrations", []):
        account.oauth.integrations[i["client_id"]] = Integration(
            client_id=i["client_id"],
            client_secret=i["client_secret"],
            redirect_uri=i["redirect_uri"],
            name=i.get("name", "amo-bridge"),
            disable_hook_url=i.get("disable_hook_url"),
        )
    for tok in t.get("tokens", []):
        expires = to_ts(tok.get("expires_at"), int((now + timedelta(days=5 * 365)).timestamp()))
        account.oauth.add_access_token(
            tok["access_token"], int(tok["user_id"]), datetime.fromtimestamp(expires, UTC)
        )
    for kind in ("companies", "contacts", "leads", "tasks"):
        for item in t.get(kind, []):
            created = to_ts(item.get("created_at"), ts_now)
            actor = Actor(int(item.get("created_by") or account.admin_user_id()), via="ui")
            op = Operation(sim, account, actor)
            op.now = datetime.fromtimestamp(created, UTC)
            op.ts = created
            _add_entity(op, kind, item)
    for kind in ("companies", "contacts", "leads", "tasks", "notes", "catalog_elements"):
        store = getattr(account, kind)
        if store:
            account.reserve_ids(kind, max(store))
    for kind in ("leads", "contacts", "companies"):
        if account.tags[kind]:
            account.reserve_ids("tags", max(max(account.tags[k] or [0]) for k in account.tags))
    account.events.sort(key=lambda e: (e["created_at"], e["id"]))
    return account


def _add_user(account: Account, u: Record) -> None:
    admin = bool(u.get("is_admin", False))
    base = FULL_RIGHTS if admin else MANAGER_RIGHTS
    rights = {
        "leads": dict(base),
        "contacts": dict(base),
        "companies": dict(base),
        "tasks": {"edit": "A", "delete": "A" if admin else "M"},
        "mail_access": True,
        "catalog_access": True,
        "files_access": True,
        "status_rights": [],
        "catalog_rights": None,
        "custom_fields_rights": None,
        "oper_day_reports_view_access": admin,
        "oper_day_user_tracking": admin,
        "is_admin": admin,
        "is_free": False,
        "is_active": bool(u.get("is_active", True)),
        "group_id": u.get("group_id"),
        "role_id": u.get("role_id"),
    }
    rights.update(u.get("rights", {}))
    account.users[int(u["id"])] = {
        "id": int(u["id"]),
        "name": u["name"],
        "email": u.get("email", ""),
        "lang": u.get("lang", "ru"),
        "rights": rights,
    }


def _add_pipeline(account: Account, p: Record) -> None:
    statuses = []
    for sort, s in enumerate(p.get("statuses", []), start=1):
        statuses.append(
            {
                "id": int(s["id"]),
                "name": s["name"],
                "sort": s.get("sort", sort * 10),
                "is_editable": int(s["id"]) not in (WON, LOST) and s.get("type", 0) != 1,
                "color": s.get("color", "#99ccff"),
                "type": s.get("type", 0),
                "account_id": account.id,
                "descriptions": [],
            }
        )
    # AMOCRM.md: statuses 142 (won) and 143 (lost) exist in every pipeline.
    present = {s["id"] for s in statuses}
    for sid, name, sort, color in (
        (WON, "Успешно реализовано", 10000, "#CCFF66"),
        (LOST, "Закрыто и не реализовано", 11000, "#D5D8DB"),
    ):
        if sid not in present:
            statuses.append(
                {
                    "id": sid,
                    "name": name,
                    "sort": sort,
                    "is_editable": False,
                    "color": color,
                    "type": 0,
                    "account_id": account.id,
                    "descriptions": [],
                }
            )
    account.pipelines[int(p["id"])] = {
        "id": int(p["id"]),
        "name": p["name"],
        "sort": p.get("sort", len(account.pipelines) + 1),
        "is_main": bool(p.get("is_main", False)),
        "is_unsorted_on": True,
        "is_archive": False,
        "account_id": account.id,
        "statuses": statuses,
    }


def _add_field(account: Account, kind: str, f: Record, sort: int) -> None:
    enums = f.get("enums")
    account.fields[kind][int(f["id"])] = {
        "id": int(f["id"]),
        "name": f["name"],
        "type": f["type"],
        "account_id": account.id,
        "code": f.get("code"),
        "sort": f.get("sort", sort * 10),
        "is_api_only": False,
        "enums": [
            {
                "id": int(e["id"]),
                "value": e["value"],
                "sort": e.get("sort", (n + 1) * 10),
                **({"code": e["code"]} if e.get("code") else {}),
            }
            for n, e in enumerate(enums)
        ]
        if enums
        else None,
        "group_id": None,
        "required_statuses": [],
        "is_deletable": not f.get("code"),
        "is_predefined": bool(f.get("code")),
        "entity_type": kind,
        "remind": None,
        "settings": None,
    }


def _add_catalog(account: Account, c: Record) -> None:
    cid = int(c["id"])
    account.catalogs[cid] = {
        "id": cid,
        "name": c["name"],
        "type": c.get("type", "products"),
        "sort": c.get("sort", 10),
        "can_add_elements": True,
        "can_show_in_cards": True,
        "can_link_multiple": True,
        "can_be_deleted": False,
        "sdk_widget_code": None,
        "account_id": account.id,
        "created_at": account.created_at,
        "updated_at": account.created_at,
        "created_by": 0,
        "updated_by": 0,
    }
    for e in c.get("elements", []):
        account.catalog_elements[int(e["id"])] = {
            "id": int(e["id"]),
            "name": e["name"],
            "catalog_id": cid,
            "created_by": 0,
            "updated_by": 0,
            "created_at": account.created_at,
            "updated_at": account.created_at,
            "is_deleted": False,
            "custom_fields_values": e.get("custom_fields_values"),
            "account_id": account.id,
        }


def friendly_fields(account: Account, kind: str, item: Record) -> list[Record]:
    """Seed shorthand → v4 ``custom_fields_values`` items."""
    out = list(item.get("custom_fields_values") or [])
    fields = account.fields[kind]
    by_name = {f["name"]: f for f in fields.values()} | {
        f["code"]: f for f in fields.values() if f.get("code")
    }
    for name, value in (item.get("fields") or {}).items():
        field = by_name[name]
        values = value if isinstance(value, list) else [value]
        if field["type"] in ("select", "radiobutton", "multiselect"):
            values = [{"value": v} for v in values]
        out.append({"field_id": field["id"], "values": values})
    for code, key in (("PHONE", "phones"), ("EMAIL", "emails")):
        if item.get(key):
            out.append({"field_code": code, "values": list(item[key])})
    return out


def _add_entity(op: Operation, kind: str, item: Record) -> None:
    item = dict(item)
    for key in ("created_at", "updated_at", "closed_at", "complete_till"):
        if item.get(key) is not None:
            item[key] = to_ts(item[key], op.ts)
    if kind in ("leads", "contacts", "companies"):
        # Validate friendly values early so a broken seed fails with a clear message.
        check = Validation()
        apply_values(
            op.account.fields[kind],
            None,
            friendly_fields(op.account, kind, item),
            op.account.tz,
            check,
            "seed",
        )
        if check:
            raise ValueError(f"seed {kind} {item.get('id')}: invalid custom fields")
        item["custom_fields_values"] = friendly_fields(op.account, kind, item)
        item.pop("fields", None)
        item.pop("phones", None)
        item.pop("emails", None)
    try:
        records.seed_entity(op, kind, item)
    except ApiError as exc:
        raise ValueError(f"seed {kind} {item.get('id')}: {exc.validation_errors}") from exc
