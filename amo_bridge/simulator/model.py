"""Records of the simulated amoCRM: accounts, actors and the operations that change them.

Entity records are plain dicts in amoCRM's v4 vocabulary (``serialize`` adds links and
``_embedded``). Every change goes through an :class:`Operation`, which stamps the time from the
business clock, records an event for each change (AMOCRM.md "Events list": every event has its
own string id) and collects the webhook changes that are delivered when it ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from .config import FaultRule, LimitSettings
from .limits import RateLimiter
from .oauth import OAuthStore
from .stats import AccountStats

if TYPE_CHECKING:
    from .state import Simulator

Record = dict[str, Any]

# First ids handed out per kind when a seed has none (realistic magnitudes).
_ID_BASES = {
    "leads": 30_000_001,
    "contacts": 40_000_001,
    "companies": 50_000_001,
    "tasks": 60_000_001,
    "notes": 70_000_001,
    "tags": 500_001,
    "webhooks": 9_001,
    "catalog_elements": 800_001,
    "users": 10_000_001,
    "pipelines": 7_000_001,
    "statuses": 61_000_001,
    "fields": 900_001,
}


@dataclass
class Actor:
    """Who makes a change: ``via`` is "api" (a token's user), "ui" (a person) or "robot"."""

    user_id: int
    via: str = "api"


@dataclass
class HookChange:
    """One entity/action for the webhook body, in the old v2 shape (see ``webhook_payload``)."""

    entity: str  # "leads" | "contacts" | "task"
    action: str  # "add" | "update" | "status" | "delete" | "restore" | "responsible" | "note"
    data: Record
    skip: bool = False


@dataclass
class Account:
    id: int
    subdomain: str
    name: str
    timezone: str
    created_at: int
    currency: str = "RUB"
    country: str = "RU"
    users: dict[int, Record] = field(default_factory=dict)
    pipelines: dict[int, Record] = field(default_factory=dict)
    fields: dict[str, dict[int, Record]] = field(
        default_factory=lambda: {"leads": {}, "contacts": {}, "companies": {}}
    )
    loss_reasons: dict[int, Record] = field(default_factory=dict)
    catalogs: dict[int, Record] = field(default_factory=dict)
    catalog_elements: dict[int, Record] = field(default_factory=dict)
    leads: dict[int, Record] = field(default_factory=dict)
    contacts: dict[int, Record] = field(default_factory=dict)
    companies: dict[int, Record] = field(default_factory=dict)
    tasks: dict[int, Record] = field(default_factory=dict)
    notes: dict[int, Record] = field(default_factory=dict)
    tags: dict[str, dict[int, Record]] = field(
        default_factory=lambda: {"leads": {}, "contacts": {}, "companies": {}}
    )
    events: list[Record] = field(default_factory=list)
    webhooks: dict[int, Record] = field(default_factory=dict)
    limits: LimitSettings = field(default_factory=LimitSettings)
    faults: list[FaultRule] = field(default_factory=list)
    skip_webhooks: int = 0  # changes whose webhooks are skipped; -1 = all until cleared
    oauth: OAuthStore = field(default_factory=OAuthStore)
    stats: AccountStats = field(default_factory=AccountStats)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    _next_ids: dict[str, int] = field(default_factory=dict)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def new_id(self, kind: str) -> int:
        if kind not in self._next_ids:
            self._next_ids[kind] = _ID_BASES.get(kind, 1_000_001)
        value = self._next_ids[kind]
        self._next_ids[kind] = value + 1
        return value

    def reserve_ids(self, kind: str, used: int) -> None:
        """Make sure ids handed out later are above ``used`` (seeded entities)."""
        self._next_ids[kind] = max(self._next_ids.get(kind, _ID_BASES.get(kind, 1)), used + 1)

    def main_pipeline(self) -> Record:
        for pipeline in self.pipelines.values():
            if pipeline.get("is_main"):
                return pipeline
        return next(iter(self.pipelines.values()))

    def admin_user_id(self) -> int:
        for user in self.users.values():
            if user["rights"].get("is_admin"):
                return int(user["id"])
        return int(next(iter(self.users)))


class Operation:
    """One unit of change by one actor at one instant: events + webhook changes."""

    def __init__(self, sim: Simulator, account: Account, actor: Actor) -> None:
        self.sim = sim
        self.account = account
        self.actor = actor
        self.now = sim.clock.now()
        self.ts = int(self.now.timestamp())
        self.changes: list[HookChange] = []
        self.skip_webhooks = False

    def event(
        self,
        type_: str,
        entity_type: str,
        entity_id: int,
        *,
        before: list[Record] | None = None,
        after: list[Record] | None = None,
    ) -> Record:
        record = {
            "id": self.sim.new_event_id(self.now),
            "type": type_,
            "entity_id": entity_id,
            "entity_type": entity_type,
            "created_by": self.actor.user_id if self.actor.via != "robot" else 0,
            "created_at": self.ts,
            "value_after": after or [],
            "value_before": before or [],
            "account_id": self.account.id,
        }
        self.account.events.append(record)
        return record

    def hook(self, entity: str, action: str, data: Record) -> None:
        self.changes.append(HookChange(entity, action, data))
