"""The account's renewal settings (section ``renewals``): base values and overrides.

Defaults live in ``config/defaults.toml`` (seeds 001/002: the renewal deal and task appear 45
days before the policy ends). A schedule override applies to a policy kind (``ours``,
``foreign`` or ``*``) and a product code (or ``*``); the most specific one wins —
kind+product, then kind, then product, then the base values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy.orm import Session

from amo_bridge.accounts import get_section
from amo_bridge.amocrm.fields import normalize_name
from amo_bridge.models import ANY

SECTION = "renewals"
#: What an override may change (everything that is per kind/product in the issue).
SCHEDULE_KEYS = ("enabled", "days_before", "pipeline", "status", "deal_name", "task_text",
                 "task_due_days_after_creation", "task_type_id", "copy_fields", "tag")
#: Ledger fields a renewal deal may copy from the old policy (through ``field_mapping.policy``).
COPYABLE = ("product", "insurer", "number", "starts_on", "ends_on", "premium", "sum_insured",
            "deductible", "make", "model", "year", "plate", "vin")


@dataclass(frozen=True, slots=True)
class Schedule:
    enabled: bool = True
    days_before: int = 45
    #: Pipeline and stage of the renewal deal: a name or an amoCRM id; an empty stage means the
    #: pipeline's first working stage.
    pipeline: str = "Пролонгации"
    status: str = ""
    deal_name: str = "Пролонгация: {{ product }} — {{ client_short }} — до {{ ends_on }}"
    task_text: str = "Пролонгация полиса {{ product }}, заканчивается {{ ends_on }}"
    task_due_days_after_creation: int = 1
    task_type_id: int = 1
    copy_fields: tuple[str, ...] = ()
    tag: str = "пролонгация"


@dataclass(frozen=True, slots=True)
class Override:
    kind: str
    product: str
    values: Mapping[str, Any]

    def rank(self) -> int:
        return (2 if self.kind != ANY else 0) + (1 if self.product != ANY else 0)


@dataclass(frozen=True, slots=True)
class RenewalConfig:
    base: Schedule = field(default_factory=Schedule)
    overrides: tuple[Override, ...] = ()
    #: A policy that ended up to this many days ago still gets its renewal (entered late).
    late_days: int = 7
    foreign_tag: str = "чужой полис"
    price_from_premium: bool = True
    #: A lead text field (name or id) for the marker; empty: the marker ends the deal name.
    marker_field: str = ""
    bind_client_to_seller: bool = True
    followups: bool = True
    cold_tag: str = "холодный"
    followup_task_text: str = "Повторный контакт с клиентом"
    followup_months: Mapping[str, int] = field(default_factory=lambda: {"default": 12})

    def schedule(self, kind: str, product: str) -> Schedule:
        """The schedule of one kind and product (most specific override wins)."""
        found = [o for o in self.overrides
                 if o.kind in (kind, ANY) and o.product in (product, ANY)]
        schedule = self.base
        for override in sorted(found, key=Override.rank):
            schedule = replace(schedule, **_schedule_values(override.values))
        return schedule

    def max_days_before(self) -> int:
        values = [self.base.days_before, *(int(o.values["days_before"]) for o in self.overrides
                                           if "days_before" in o.values)]
        return max(values)

    def months_after_loss(self, reason: str | None) -> int:
        """Seed 001: re-contact in 3, 6 or 12 months by loss reason; 0 means no reminder."""
        wanted = normalize_name(reason or "")
        for name, months in self.followup_months.items():
            if name != "default" and normalize_name(name) == wanted:
                return int(months)
        return int(self.followup_months.get("default", 12))


def _schedule_values(raw: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in SCHEDULE_KEYS:
        if key not in raw or raw[key] is None:
            continue
        value = raw[key]
        if key in ("days_before", "task_due_days_after_creation", "task_type_id"):
            value = int(value)
        elif key == "copy_fields":
            value = tuple(str(v) for v in value if str(v) in COPYABLE)
        elif key == "enabled":
            value = bool(value)
        else:
            value = str(value)
        values[key] = value
    return values


def parse_config(raw: Mapping[str, Any]) -> RenewalConfig:
    """The settings document → :class:`RenewalConfig` (unknown keys are ignored)."""
    overrides = tuple(
        Override(kind=str(item.get("kind") or ANY), product=str(item.get("product") or ANY),
                 values={k: v for k, v in item.items() if k in SCHEDULE_KEYS})
        for item in raw.get("schedules") or ()
    )
    months = {str(k): int(v) for k, v in (raw.get("lost_followup_months") or {}).items()}
    months.setdefault("default", 12)
    return RenewalConfig(
        base=replace(Schedule(), **_schedule_values(raw)),
        overrides=overrides,
        late_days=int(raw.get("late_days", 7)),
        foreign_tag=str(raw.get("foreign_tag", "чужой полис") or ""),
        price_from_premium=bool(raw.get("price_from_premium", True)),
        marker_field=str(raw.get("marker_field", "") or ""),
        bind_client_to_seller=bool(raw.get("bind_client_to_seller", True)),
        followups=bool(raw.get("followups", True)),
        cold_tag=str(raw.get("cold_tag", "холодный") or ""),
        followup_task_text=str(raw.get("followup_task_text") or "Повторный контакт с клиентом"),
        followup_months=months,
    )


def load_config(session: Session, account_id: int) -> RenewalConfig:
    return parse_config(get_section(session, account_id, SECTION) or {})
