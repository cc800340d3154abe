"""The simulator's Python API (mixed into :class:`~amo_bridge.simulator.state.Simulator`).

The same operations are exposed over HTTP under ``/_sim`` (see ``control*.py``). "UI" writes
act as a person in amoCRM's interface: they record events and fire webhooks like API writes,
but ``modified_user_id`` in the webhook is the person, not 0.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from . import records, records_leads, records_notes, records_people, records_tasks
from .config import FaultRule
from .errors import ApiError
from .model import Actor
from .oauth import Integration, disable_hook_signature

if TYPE_CHECKING:
    from .state import Account, Simulator

Record = dict[str, Any]
KINDS = ("leads", "contacts", "companies", "tasks")


class SimulatorOps:
    # -- entities as a UI user ------------------------------------------------------------
    def _actor(self: Simulator, account: Account, user_id: int | None) -> Actor:
        uid = user_id if user_id is not None else account.admin_user_id()
        if uid not in account.users:
            raise ApiError(400, f"Unknown user {uid}")
        return Actor(uid, via="ui")

    def ui_create(
        self: Simulator,
        subdomain: str,
        kind: str,
        items: list[Record] | Record,
        *,
        user_id: int | None = None,
        skip_webhooks: bool = False,
    ) -> list[int]:
        """Create leads/contacts/companies/tasks; returns the new ids."""
        return self._ui_write(subdomain, kind, items, 0, user_id, skip_webhooks)

    def ui_update(
        self: Simulator,
        subdomain: str,
        kind: str,
        items: list[Record] | Record,
        *,
        user_id: int | None = None,
        skip_webhooks: bool = False,
    ) -> list[int]:
        """Update entities (each item carries ``id``): move stages, edit fields, complete tasks."""
        return self._ui_write(subdomain, kind, items, 1, user_id, skip_webhooks)

    def _ui_write(
        self: Simulator,
        subdomain: str,
        kind: str,
        items: list[Record] | Record,
        which: int,  # 0 create, 1 update (a column of _UI_WRITERS)
        user_id: int | None,
        skip_webhooks: bool,
    ) -> list[int]:
        account = self.account(subdomain)
        batch = records.check_batch(items, limit=10_000, allow_object=True)
        with self.operation(
            account, self._actor(account, user_id), skip_webhooks=skip_webhooks
        ) as op:
            writers = _UI_WRITERS.get(kind)
            if writers is None:
                raise ApiError(404, f"Unknown kind {kind!r}")
            rows = writers[which](op, kind, batch)
        return [row["id"] for row in rows]

    def ui_delete(
        self: Simulator,
        subdomain: str,
        kind: str,
        entity_id: int,
        *,
        user_id: int | None = None,
        skip_webhooks: bool = False,
        restore: bool = False,
    ) -> None:
        """Move a lead/contact/company to the trash (or back with ``restore=True``)."""
        account = self.account(subdomain)
        store = getattr(account, kind, None)
        if kind not in ("leads", "contacts", "companies") or entity_id not in store:
            raise ApiError(404, f"{kind} {entity_id} not found")
        record = store[entity_id]
        if record["is_deleted"] != restore:
            raise ApiError(400, f"{kind} {entity_id} is {'not ' if restore else ''}deleted")
        with self.operation(
            account, self._actor(account, user_id), skip_webhooks=skip_webhooks
        ) as op:
            if kind == "leads":
                (records_leads.restore_lead if restore else records_leads.delete_lead)(op, record)
            else:
                (records_people.restore if restore else records_people.delete)(op, kind, record)

    def ui_add_notes(
        self: Simulator,
        subdomain: str,
        kind: str,
        items: list[Record],
        *,
        user_id: int | None = None,
        skip_webhooks: bool = False,
    ) -> list[int]:
        account = self.account(subdomain)
        with self.operation(
            account, self._actor(account, user_id), skip_webhooks=skip_webhooks
        ) as op:
            rows = records_notes.create_notes(
                op, kind, records.check_batch(items, limit=10_000, allow_object=True)
            )
        return [row["id"] for row in rows]

    # -- limits, stats, faults ------------------------------------------------------------
    def set_limits(self: Simulator, subdomain: str, **changes: Any) -> Record:
        """``enabled``, ``per_second``, ``block_after``, ``block_window`` (see LimitSettings)."""
        limits = self.account(subdomain).limits
        for key, value in changes.items():
            if not hasattr(limits, key):
                raise ApiError(400, f"Unknown limit setting {key!r}")
            setattr(limits, key, type(getattr(limits, key))(value))
        return asdict(limits)

    def reset_limits(self: Simulator, subdomain: str) -> None:
        """Lift a block (amoCRM: "only through support")."""
        self.account(subdomain).limiter.reset()

    def stats(self: Simulator, subdomain: str) -> Record:
        account = self.account(subdomain)
        return account.stats.snapshot(blocked=account.limiter.blocked)

    def reset_stats(self: Simulator, subdomain: str) -> None:
        self.account(subdomain).stats.reset()

    def add_fault(
        self: Simulator, subdomain: str, rule: FaultRule | None = None, **fields: Any
    ) -> FaultRule:
        rule = rule or FaultRule(**fields)
        with self.lock:
            self.account(subdomain).faults.append(rule)
        return rule

    def clear_faults(self: Simulator, subdomain: str) -> None:
        with self.lock:
            self.account(subdomain).faults.clear()

    # -- OAuth ----------------------------------------------------------------------------
    def add_integration(
        self: Simulator,
        subdomain: str,
        client_id: str,
        client_secret: str,
        redirect_uri: str,
        *,
        disable_hook_url: str | None = None,
    ) -> None:
        self.account(subdomain).oauth.integrations[client_id] = Integration(
            client_id, client_secret, redirect_uri, disable_hook_url=disable_hook_url
        )

    def issue_code(
        self: Simulator, subdomain: str, client_id: str, user_id: int | None = None
    ) -> str:
        """An authorization code (lives 20 min) as if ``user_id`` approved the integration."""
        account = self.account(subdomain)
        uid = user_id if user_id is not None else account.admin_user_id()
        if client_id not in account.oauth.integrations:
            raise ApiError(400, f"Unknown client_id {client_id!r}")
        return account.oauth.issue_code(client_id, uid, self.clock.now())

    def issue_token(
        self: Simulator,
        subdomain: str,
        user_id: int | None = None,
        *,
        days: float = 365,
        client_id: str | None = None,
    ) -> str:
        """A long-lived access token (1 day – 5 years, no refresh token)."""
        account = self.account(subdomain)
        uid = user_id if user_id is not None else account.admin_user_id()
        if uid not in account.users:
            raise ApiError(400, f"Unknown user {uid}")
        return account.oauth.issue_long_lived(
            uid, self.clock.now(), ttl=timedelta(days=days), client_id=client_id
        )

    def disable_integration(
        self: Simulator, subdomain: str, client_id: str | None = None, *, call_hook: bool = True
    ) -> Record:
        """Revoke the tokens (all, or one integration's) and call its disable hook:
        GET ``?client_uuid=&account_id=&signature=HMAC-SHA256(secret, "uuid|account_id")``."""
        account = self.account(subdomain)
        with self.lock:
            revoked = account.oauth.revoke(client_id)
        result: Record = {"revoked": revoked, "hooks": []}
        targets = [
            i
            for i in account.oauth.integrations.values()
            if client_id is None or i.client_id == client_id
        ]
        for integration in targets if call_hook else []:
            if not integration.disable_hook_url:
                continue
            params = {
                "client_uuid": integration.client_id,
                "account_id": account.id,
                "signature": disable_hook_signature(
                    integration.client_secret, integration.client_id, account.id
                ),
            }
            try:
                answer = requests.get(
                    integration.disable_hook_url, params=params, timeout=self.config.webhook_timeout
                )
                result["hooks"].append({"url": answer.url, "status": answer.status_code})
            except requests.RequestException as exc:
                result["hooks"].append(
                    {"url": integration.disable_hook_url, "status": 0, "error": str(exc)}
                )
        return result

    # -- webhooks -------------------------------------------------------------------------
    def subscribe(
        self: Simulator, subdomain: str, destination: str, settings: list[str] | None = None
    ) -> Record:
        return self.webhooks.subscribe(self.account(subdomain), destination, settings)

    def flush_webhooks(self: Simulator) -> list[Record]:
        return self.webhooks.flush()

    def skip_webhooks(self: Simulator, subdomain: str, count: int = 1) -> None:
        """Skip the webhooks of the next ``count`` changes (-1: all until set to 0)."""
        with self.lock:
            self.account(subdomain).skip_webhooks = count

    def deliveries(self: Simulator, subdomain: str | None = None) -> list[Record]:
        return self.webhooks.log(self.account(subdomain) if subdomain else None)

    # -- clock ----------------------------------------------------------------------------
    def advance(self: Simulator, delta: timedelta | None = None, **kwargs: float) -> datetime:
        return self.clock.advance(delta if delta is not None else timedelta(**kwargs))


#: Dispatch by table: kind → (create, update), each taking (operation, kind, batch).
_UI_WRITERS = {
    "leads": (lambda op, _kind, batch: records_leads.create_leads(op, batch),
              lambda op, _kind, batch: records_leads.update_leads(op, batch)),
    "contacts": (records_people.create, records_people.update),
    "companies": (records_people.create, records_people.update),
    "tasks": (lambda op, _kind, batch: records_tasks.create_tasks(op, batch),
              lambda op, _kind, batch: records_tasks.update_tasks(op, batch)),
}
