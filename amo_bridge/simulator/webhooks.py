"""Webhook subscriptions, delivery queue, retries and switch-off (AMOCRM.md "Webhooks").

Delivery never happens on the request thread: changes are queued when an operation ends and
are sent either by the background dispatcher thread or by :meth:`WebhookDispatcher.flush`
(``POST /_sim/webhooks/flush``) for deterministic tests. Retry times and the switch-off window
use the simulator's business clock, so a test moves the clock instead of waiting an hour.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from . import webhook_payload

if TYPE_CHECKING:
    from .state import Account, Operation, Simulator

Record = dict[str, Any]
USER_AGENT = "amoCRM-Webhooks/3.0"
# AMOCRM.md: after a failure retry at +5 min and +15 min (any failure), then +15 min and +1 h
# only when the answer was 499 or 5xx.
RETRY_DELAYS = [
    (timedelta(minutes=5), False),
    (timedelta(minutes=15), False),
    (timedelta(minutes=15), True),
    (timedelta(hours=1), True),
]
SWITCH_OFF_FAILURES = 100  # more than this many failures ...
SWITCH_OFF_WINDOW = timedelta(hours=2)  # ... within this window, the latest failed → off
ALL_SETTINGS = [
    "add_lead",
    "update_lead",
    "status_lead",
    "delete_lead",
    "restore_lead",
    "responsible_lead",
    "note_lead",
    "add_contact",
    "update_contact",
    "delete_contact",
    "restore_contact",
    "responsible_contact",
    "note_contact",
    "add_company",
    "update_company",
    "delete_company",
    "restore_company",
    "responsible_company",
    "note_company",
    "add_task",
    "update_task",
    "delete_task",
]


def setting_for(entity: str, action: str, data: Record) -> str:
    if entity == "leads":
        return f"{action}_lead"
    if entity == "contacts":
        return f"{action}_{'company' if data.get('type') == 'company' else 'contact'}"
    return f"{action}_task"


def is_success(status: int) -> bool:
    return 100 <= status <= 299


def retries_after(attempt: int, status: int) -> timedelta | None:
    """Delay before the next try after failed attempt number ``attempt`` (1-based), or None."""
    if attempt > len(RETRY_DELAYS):
        return None
    delay, server_errors_only = RETRY_DELAYS[attempt - 1]
    if server_errors_only and not (status == 499 or status >= 500):
        return None
    return delay


class WebhookDispatcher:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.deliveries: list[Record] = []
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- subscriptions ----------------------------------------------------------------------
    def subscribe(
        self,
        account: Account,
        destination: str,
        settings: list[str] | None = None,
        *,
        created_by: int = 0,
        sort: int = 1,
    ) -> Record:
        with self.sim.lock:
            ts = self.sim.clock.timestamp()
            for hook in account.webhooks.values():
                if hook["destination"] == destination:  # amoCRM keeps one hook per URL
                    hook.update(
                        settings=list(settings or ALL_SETTINGS), updated_at=ts, disabled=False
                    )
                    return hook
            hook = {
                "id": account.new_id("webhooks"),
                "destination": destination,
                "created_at": ts,
                "updated_at": ts,
                "account_id": account.id,
                "created_by": created_by,
                "sort": sort,
                "disabled": False,
                "settings": list(settings or ALL_SETTINGS),
                "_failures": [],
            }
            account.webhooks[hook["id"]] = hook
            return hook

    def enable(self, account: Account, hook_id: int) -> Record:
        with self.sim.lock:
            hook = account.webhooks[hook_id]
            hook["disabled"] = False
            hook["_failures"] = []
            return hook

    # -- queueing ---------------------------------------------------------------------------
    def enqueue(self, account: Account, op: Operation) -> None:
        """Turn an operation's changes into one delivery per interested subscription."""
        skip = op.skip_webhooks or account.skip_webhooks != 0
        if account.skip_webhooks > 0:
            account.skip_webhooks -= 1
        base = self.sim.base_url(account)
        for hook in list(account.webhooks.values()):
            if hook["disabled"]:
                continue
            grouped: dict[str, dict[str, list[Record]]] = {}
            for change in op.changes:
                if setting_for(change.entity, change.action, change.data) in hook["settings"]:
                    grouped.setdefault(change.entity, {}).setdefault(change.action, []).append(
                        change.data
                    )
            if not grouped:
                continue
            self.deliveries.append(
                {
                    "id": next(self._ids),
                    "account": account.subdomain,
                    "webhook_id": hook["id"],
                    "destination": hook["destination"],
                    "created_at": op.ts,
                    "body": webhook_payload.body(account, base, grouped),
                    "state": "skipped" if skip else "pending",
                    "attempts": [],
                    "next_at": None if skip else op.now,
                    "_in_flight": False,
                }
            )

    # -- delivery ---------------------------------------------------------------------------
    def _claim_due(self, now: datetime) -> list[Record]:
        with self.sim.lock:
            due = [
                d
                for d in self.deliveries
                if d["state"] == "pending" and not d["_in_flight"] and d["next_at"] <= now
            ]
            for d in due:
                d["_in_flight"] = True
            return due

    def deliver_due(self) -> list[Record]:
        """Send every delivery that is due now (business clock); returns them."""
        due = self._claim_due(self.sim.clock.now())
        for delivery in due:
            self._attempt(delivery)
        return due

    def flush(self, *, max_rounds: int = 100) -> list[Record]:
        """Deliver until nothing is due (retries scheduled in the future stay queued)."""
        done: list[Record] = []
        for _ in range(max_rounds):
            batch = self.deliver_due()
            if not batch:
                break
            done.extend(batch)
        return done

    def _attempt(self, delivery: Record) -> None:
        request_id = str(uuid.uuid4())  # AMOCRM.md: not promised to survive retries
        timeout = self.sim.config.webhook_timeout
        started = time.monotonic()
        status, error = 0, None
        try:
            answer = requests.post(
                delivery["destination"],
                data=delivery["body"].encode(),
                timeout=timeout,
                allow_redirects=False,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "User-Agent": USER_AGENT,
                    "x-amocrm-requestid": request_id,
                },
            )
            status = answer.status_code
        except requests.RequestException as exc:  # timeout, refused, reset: status 0
            error = f"{type(exc).__name__}: {exc}"
        elapsed = time.monotonic() - started
        if elapsed > timeout and is_success(status):  # a slow 2xx is a failure (AMOCRM.md)
            status, error = 0, "timeout"
        self._record(delivery, status, error, elapsed, request_id)

    def _record(
        self, delivery: Record, status: int, error: str | None, elapsed: float, request_id: str
    ) -> None:
        with self.sim.lock:
            now = self.sim.clock.now()
            account = self.sim.accounts.get(delivery["account"])
            hook = account.webhooks.get(delivery["webhook_id"]) if account else None
            delivery["attempts"].append(
                {
                    "at": int(now.timestamp()),
                    "status": status,
                    "error": error,
                    "duration_ms": round(elapsed * 1000),
                    "request_id": request_id,
                }
            )
            delivery["_in_flight"] = False
            if is_success(status):
                delivery["state"], delivery["next_at"] = "delivered", None
                return
            delay = retries_after(len(delivery["attempts"]), status)
            delivery["state"] = "pending" if delay else "failed"
            delivery["next_at"] = now + delay if delay else None
            if hook is not None:
                self._count_failure(hook, now)

    def _count_failure(self, hook: Record, now: datetime) -> None:
        failures: list[datetime] = hook["_failures"]
        failures.append(now)
        cutoff = now - SWITCH_OFF_WINDOW
        failures[:] = [f for f in failures if f > cutoff]
        if len(failures) > SWITCH_OFF_FAILURES and not hook["disabled"]:
            hook["disabled"] = True
            hook["switched_off_at"] = int(now.timestamp())
            for d in self.deliveries:
                if d["webhook_id"] == hook["id"] and d["state"] == "pending":
                    d["state"], d["next_at"] = "cancelled", None

    # -- background thread ------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="amocrm-sim-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            self.deliver_due()
            self._stop.wait(self.sim.config.dispatcher_interval)

    def log(self, account: Account | None = None) -> list[Record]:
        with self.sim.lock:
            return [
                {
                    **{k: v for k, v in d.items() if not k.startswith("_")},
                    "next_at": int(d["next_at"].timestamp()) if d["next_at"] else None,
                }
                for d in self.deliveries
                if account is None or d["account"] == account.subdomain
            ]
